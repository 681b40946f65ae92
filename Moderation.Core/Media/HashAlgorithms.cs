using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Moderation.Core.Media;

/// <summary>One frame of a vPDQ video hash: its number, PDQ quality, PDQ hash and time in the video.</summary>
public sealed record VpdqFrame(int Frame, int Quality, PerceptualHash Hash, double Seconds);

/// <summary>
/// The hash algorithms a bank can hold. Each bank declares one, and only hashes of that algorithm are matched against
/// it: a PDQ hash and a crop-robust hash of the same picture are unrelated bit strings.
/// <list type="bullet">
/// <item><c>pdq</c>: Facebook's PDQ (256 bits, 64 hex digits), bit-compatible with the reference (<see cref="PdqHasher"/>).</item>
/// <item><c>vpdq</c>: a video as the PDQ hashes of frames taken at a fixed rate (ThreatExchange's vPDQ); matched by the
/// share of frames that match in both directions (<see cref="VpdqMatcher"/>).</item>
/// <item><c>md5</c>, <c>sha256</c>: the exact file (32 and 64 hex digits).</item>
/// <item><c>crop-robust</c>: this service's own 256-bit hash (<see cref="CropRobustHasher"/>), more robust to crops than
/// PDQ but exchanged with no one.</item>
/// </list>
/// </summary>
public static class HashAlgorithms
{
    public const string Pdq = "pdq";
    public const string Vpdq = "vpdq";
    public const string Md5 = "md5";
    public const string Sha256 = "sha256";
    public const string CropRobust = "crop-robust";

    /// <summary>What a new bank holds when it does not say: what other platforms exchange for photos.</summary>
    public const string Default = Pdq;

    public static readonly IReadOnlyList<string> All = [Pdq, Vpdq, Md5, Sha256, CropRobust];

    /// <summary>Most frames one vPDQ entry may list (an hour at 1 frame per second, with room).</summary>
    public const int MaxVpdqFrames = 10_000;

    public static bool IsKnown(string? algorithm) => algorithm is not null && All.Contains(algorithm);

    /// <summary>Algorithms whose hashes are compared by Hamming distance, one per picture.</summary>
    public static bool IsPerceptual(string algorithm) => algorithm is Pdq or CropRobust;

    /// <summary>What a value of the algorithm looks like, for error messages.</summary>
    public static string Describe(string algorithm) => algorithm switch
    {
        Md5 => "32 hex digits (an MD5 digest)",
        Sha256 => "64 hex digits (a SHA-256 digest)",
        Vpdq => "vPDQ frames 'frame,quality,pdq-hash,seconds' separated by ';' (ThreatExchange's vPDQ lines)",
        _ => "64 hex digits (a 256-bit hash)",
    };

    /// <summary>
    /// Checks one value of <paramref name="algorithm"/> and gives its canonical text (lower-case hex; for vPDQ the SHA-256
    /// of the canonical frame list, with the list in <paramref name="frames"/>).
    /// </summary>
    public static bool TryNormalize(string algorithm, string? value, out string canonical, out string? frames, out string? error)
    {
        canonical = "";
        frames = null;
        error = null;
        var text = value?.Trim() ?? "";
        if (text.Length == 0)
        {
            error = "is empty";
            return false;
        }
        switch (algorithm)
        {
            case Md5:
                if (text.Length == 32 && text.All(char.IsAsciiHexDigit)) { canonical = text.ToLowerInvariant(); return true; }
                break;
            case Vpdq:
                if (!TryParseVpdq(text, out var parsed, out error)) return false;
                frames = FormatVpdq(parsed);
                canonical = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(frames)));
                return true;
            default:
                if (text.Length == 64 && text.All(char.IsAsciiHexDigit)) { canonical = text.ToLowerInvariant(); return true; }
                break;
        }
        error = $"'{(text.Length <= 80 ? text : text[..80] + "…")}' is not {Describe(algorithm)}";
        return false;
    }

    /// <summary>
    /// Reads vPDQ frames: records <c>frame,quality,hash[,seconds]</c> (what ThreatExchange's vPDQ tools write, one a
    /// line) separated by <c>;</c> or line breaks.
    /// </summary>
    public static bool TryParseVpdq(string text, out IReadOnlyList<VpdqFrame> frames, out string? error)
    {
        var list = new List<VpdqFrame>();
        frames = list;
        error = null;
        var records = text.Split([';', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (records.Length == 0) { error = "has no frames"; return false; }
        if (records.Length > MaxVpdqFrames) { error = $"has {records.Length} frames; the limit is {MaxVpdqFrames}"; return false; }
        foreach (var record in records)
        {
            var fields = record.Split(',', StringSplitOptions.TrimEntries);
            if (fields.Length is < 3 or > 4
                || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var frame)
                || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var quality) || quality > 100
                || !PerceptualHash.TryParse(fields[2], out var hash))
            {
                error = $"vPDQ frame '{(record.Length <= 100 ? record : record[..100] + "…")}' is not 'frame,quality(0-100),pdq-hash(64 hex)[,seconds]'";
                return false;
            }
            var seconds = 0.0;
            if (fields.Length == 4 && !(double.TryParse(fields[3], NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) && seconds >= 0 && double.IsFinite(seconds)))
            {
                error = $"vPDQ frame '{record}' has a time that is not a number of seconds";
                return false;
            }
            list.Add(new VpdqFrame(frame, quality, hash, seconds));
        }
        return true;
    }

    public static string FormatVpdq(IEnumerable<VpdqFrame> frames) =>
        string.Join(';', frames.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Frame},{f.Quality},{f.Hash},{f.Seconds:0.###}")));

    /// <summary>The value a file or picture has under an exact-file algorithm.</summary>
    public static string Digest(string algorithm, ReadOnlySpan<byte> bytes) => algorithm switch
    {
        Md5 => Convert.ToHexStringLower(MD5.HashData(bytes)),
        Sha256 => Convert.ToHexStringLower(SHA256.HashData(bytes)),
        _ => throw new ArgumentException($"{algorithm} is not an exact-file algorithm.", nameof(algorithm)),
    };
}
