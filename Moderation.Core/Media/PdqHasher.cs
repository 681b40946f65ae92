namespace Moderation.Core.Media;

/// <summary>A perceptual hash with its quality (0–100: how much detail the image has; below about 50 hashes match too easily).</summary>
public sealed record HashResult(PerceptualHash Hash, int Quality, IReadOnlyList<PerceptualHash> Dihedral);

/// <summary>
/// A PDQ-style perceptual hash, written from the algorithm's published description (Facebook's "The PDQ and
/// TMK+PDQF hashing algorithms", 2019): luminance; a tent-filter (two box passes, Jarosz) downsample to 64×64;
/// the 16×16 lowest non-constant frequencies of the 2-D DCT; one bit per coefficient, set when it is above their
/// median. Quality is the image's gradient energy on the 64×64 grid. The eight dihedral variants (rotations and
/// mirrors) come from the same DCT by sign flips and a transpose, so a mirrored copy is matched without hashing it
/// again.
/// </summary>
public static class PdqHasher
{
    private const int Grid = 64;
    private const int Frequencies = 16;

    /// <summary>DCT basis without the constant row: D[i, j] = sqrt(2/64) · cos(π (i+1) (2j+1) / 128).</summary>
    private static readonly float[,] Dct = BuildDct();

    private static float[,] BuildDct()
    {
        var d = new float[Frequencies, Grid];
        var scale = Math.Sqrt(2.0 / Grid);
        for (var i = 0; i < Frequencies; i++)
            for (var j = 0; j < Grid; j++)
                d[i, j] = (float)(scale * Math.Cos(Math.PI / 2 / Grid * (i + 1) * (2 * j + 1)));
        return d;
    }

    /// <summary>Hashes an image given as luminance (0–255), row-major, <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static HashResult Hash(ReadOnlySpan<float> luma, int width, int height)
    {
        if (width < 1 || height < 1 || luma.Length != (long)width * height)
            throw new ArgumentException($"Expected {width}×{height} luminance values, got {luma.Length}.");
        var small = Downsample(luma, width, height);
        var quality = Quality(small);

        // B = D · A · Dᵀ, 16×16.
        var temp = new float[Frequencies, Grid];
        for (var i = 0; i < Frequencies; i++)
            for (var y = 0; y < Grid; y++)
            {
                float sum = 0;
                for (var x = 0; x < Grid; x++) sum += Dct[i, x] * small[x * Grid + y];
                temp[i, y] = sum;
            }
        var coefficients = new float[Frequencies, Frequencies];
        for (var i = 0; i < Frequencies; i++)
            for (var j = 0; j < Frequencies; j++)
            {
                float sum = 0;
                for (var y = 0; y < Grid; y++) sum += temp[i, y] * Dct[j, y];
                coefficients[i, j] = sum;
            }

        var variants = new List<PerceptualHash>(8);
        foreach (var transpose in new[] { false, true })
            foreach (var flipRows in new[] { false, true })
                foreach (var flipColumns in new[] { false, true })
                    variants.Add(Threshold(coefficients, transpose, flipRows, flipColumns));
        return new HashResult(variants[0], quality, variants);
    }

    /// <summary>
    /// The hash of the image mirrored and/or transposed: mirroring the rows negates the odd-order (here: even
    /// index, as the constant row is skipped) row frequencies; mirroring the columns likewise; transposing swaps them.
    /// </summary>
    private static PerceptualHash Threshold(float[,] b, bool transpose, bool flipRows, bool flipColumns)
    {
        var values = new float[Frequencies * Frequencies];
        for (var i = 0; i < Frequencies; i++)
            for (var j = 0; j < Frequencies; j++)
            {
                var (r, c) = transpose ? (j, i) : (i, j);
                var v = b[r, c];
                if (flipRows && r % 2 == 0) v = -v;
                if (flipColumns && c % 2 == 0) v = -v;
                values[i * Frequencies + j] = v;
            }
        var sorted = (float[])values.Clone();
        Array.Sort(sorted);
        var median = (sorted[127] + sorted[128]) / 2;
        Span<bool> bits = stackalloc bool[PerceptualHash.Bits];
        for (var k = 0; k < values.Length; k++) bits[k] = values[k] > median;
        return PerceptualHash.FromBits(bits);
    }

    /// <summary>Two box-filter passes per axis (a tent filter) of a window matched to the scale, then 64×64 samples.</summary>
    private static float[] Downsample(ReadOnlySpan<float> luma, int width, int height)
    {
        var buffer = luma.ToArray();
        var windowX = Math.Max(1, (width + 2 * Grid - 1) / (2 * Grid));
        var windowY = Math.Max(1, (height + 2 * Grid - 1) / (2 * Grid));
        var scratch = new float[buffer.Length];
        for (var pass = 0; pass < 2; pass++)
        {
            BoxRows(buffer, scratch, width, height, windowX);
            BoxColumns(scratch, buffer, width, height, windowY);
        }
        var result = new float[Grid * Grid];
        for (var gy = 0; gy < Grid; gy++)
        {
            var y = Math.Min(height - 1, (int)((gy + 0.5) * height / Grid));
            for (var gx = 0; gx < Grid; gx++)
            {
                var x = Math.Min(width - 1, (int)((gx + 0.5) * width / Grid));
                result[gy * Grid + gx] = buffer[y * width + x];
            }
        }
        return result;
    }

    /// <summary>Mean over a window along each row, with a running sum (linear in the image, whatever the window).</summary>
    private static void BoxRows(float[] source, float[] target, int width, int height, int window) =>
        Box(source, target, count: width, lines: height, step: 1, lineStride: width, window);

    private static void BoxColumns(float[] source, float[] target, int width, int height, int window) =>
        Box(source, target, count: height, lines: width, step: width, lineStride: 1, window);

    private static void Box(float[] source, float[] target, int count, int lines, int step, int lineStride, int window)
    {
        var half = window / 2;
        var prefix = new double[count + 1];
        for (var line = 0; line < lines; line++)
        {
            var start = line * lineStride;
            for (var k = 0; k < count; k++) prefix[k + 1] = prefix[k] + source[start + k * step];
            for (var k = 0; k < count; k++)
            {
                int from = Math.Max(0, k - half), to = Math.Min(count - 1, k + (window - 1 - half));
                target[start + k * step] = (float)((prefix[to + 1] - prefix[from]) / (to - from + 1));
            }
        }
    }

    /// <summary>Sum of absolute neighbour differences on the 64×64 grid, scaled to 0–100 as PDQ scales it.</summary>
    private static int Quality(float[] small)
    {
        double gradient = 0;
        for (var y = 0; y < Grid; y++)
            for (var x = 0; x < Grid; x++)
            {
                var v = small[y * Grid + x];
                if (x + 1 < Grid) gradient += Math.Abs(small[y * Grid + x + 1] - v);
                if (y + 1 < Grid) gradient += Math.Abs(small[(y + 1) * Grid + x] - v);
            }
        return (int)Math.Clamp(gradient / 90, 0, 100);
    }
}
