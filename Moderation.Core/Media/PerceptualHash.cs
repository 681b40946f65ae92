using System.Globalization;
using System.Numerics;

namespace Moderation.Core.Media;

/// <summary>A 256-bit perceptual hash (PDQ-style): similar images have hashes a small Hamming distance apart.</summary>
public readonly record struct PerceptualHash(ulong W0, ulong W1, ulong W2, ulong W3)
{
    public const int Bits = 256;

    /// <summary>The distance below which PDQ's authors call two images the same (out of 256 bits).</summary>
    public const int DefaultMatchDistance = 31;

    public int DistanceTo(PerceptualHash other) =>
        BitOperations.PopCount(W0 ^ other.W0) + BitOperations.PopCount(W1 ^ other.W1)
        + BitOperations.PopCount(W2 ^ other.W2) + BitOperations.PopCount(W3 ^ other.W3);

    public bool this[int bit] => ((bit >> 6) switch { 0 => W0, 1 => W1, 2 => W2, _ => W3 } >> (bit & 63) & 1) == 1;

    /// <summary>The 16 bits starting at <paramref name="chunk"/> × 16 (the multi-index hashing substrings).</summary>
    public ushort Chunk(int chunk) => (ushort)((chunk >> 2) switch { 0 => W0, 1 => W1, 2 => W2, _ => W3 } >> ((chunk & 3) * 16));

    public static PerceptualHash FromBits(ReadOnlySpan<bool> bits)
    {
        if (bits.Length != Bits) throw new ArgumentException($"A perceptual hash has {Bits} bits, not {bits.Length}.", nameof(bits));
        Span<ulong> words = stackalloc ulong[4];
        for (var i = 0; i < Bits; i++)
            if (bits[i]) words[i >> 6] |= 1UL << (i & 63);
        return new PerceptualHash(words[0], words[1], words[2], words[3]);
    }

    /// <summary>64 lower-case hex digits, most significant word first.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{W3:x16}{W2:x16}{W1:x16}{W0:x16}");

    public static bool TryParse(string? hex, out PerceptualHash hash)
    {
        hash = default;
        if (hex is null) return false;
        hex = hex.Trim();
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit)) return false;
        ulong Word(int index) => ulong.Parse(hex.AsSpan(index * 16, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        hash = new PerceptualHash(Word(3), Word(2), Word(1), Word(0));
        return true;
    }

    public static PerceptualHash Parse(string hex) =>
        TryParse(hex, out var hash) ? hash : throw new FormatException($"'{hex}' is not a 256-bit hash (64 hex digits).");
}

/// <summary>The 64×64 luminance grid both 256-bit hashes project, seen turned or mirrored (their dihedral variants).</summary>
internal static class HashGrid
{
    public const int Side = 64;

    /// <summary>The grid transposed and/or flipped (flipping the rows turns it upside down, flipping the columns mirrors it).</summary>
    public static float[] Orient(float[] grid, bool transpose, bool flipRows, bool flipColumns)
    {
        var result = new float[Side * Side];
        for (var y = 0; y < Side; y++)
            for (var x = 0; x < Side; x++)
            {
                int sy = y, sx = x;
                if (transpose) (sy, sx) = (sx, sy);
                if (flipRows) sy = Side - 1 - sy;
                if (flipColumns) sx = Side - 1 - sx;
                result[y * Side + x] = grid[sy * Side + sx];
            }
        return result;
    }
}
