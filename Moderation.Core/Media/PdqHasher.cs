namespace Moderation.Core.Media;

/// <summary>A perceptual hash with its quality (0–100: how much detail the image has; below about 50 hashes match too easily).</summary>
public sealed record HashResult(PerceptualHash Hash, int Quality, IReadOnlyList<PerceptualHash> Dihedral);

/// <summary>
/// A PDQ-style perceptual hash, after the layout of Facebook's PDQ ("The PDQ and TMK+PDQF hashing algorithms", 2019):
/// luminance; a tent-filter (two box passes, Jarosz) downsample to 64×64; 16×16 projections onto cosines; one bit
/// per projection, set when it is above their median; quality from the gradient energy. It differs from PDQ in the
/// frequency band, for robustness to cropping (measured in docs/media.md): PDQ keeps the 16 lowest DCT frequencies
/// per axis (up to 16 half-cycles across the image), and a 5% crop, which rescales the picture by 5%, shifts the
/// highest of them by most of a half-cycle near the edges, flipping about 48 of 256 bits on photograph-like images.
/// Here the 16 frequencies per axis are spread evenly from 1 to 8 half-cycles, each cosine zero-mean (so a
/// brightness change moves no projection) and weighted by a Gaussian window centred on the image (σ = a quarter of
/// the side), which gives the centre, where a rescale moves content least, the most weight. Hashes are therefore not
/// interchangeable with PDQ's; they are with every hash this class makes. The eight dihedral variants (rotations and
/// mirrors) are hashed from the rotated and mirrored 64×64 grid, so a mirrored copy is matched without decoding it
/// again.
/// </summary>
public static class PdqHasher
{
    private const int Grid = 64;
    private const int Frequencies = 16;

    /// <summary>Lowest and highest frequency, in half-cycles across the image.</summary>
    private const double LowestFrequency = 1, HighestFrequency = 8;

    /// <summary>The window's standard deviation, as a share of the image's side.</summary>
    private const double WindowSigma = 0.25;

    /// <summary>B[i, j] = w(u_j) · (cos(π f_i u_j) − its mean), u_j = (2j + 1) / 128, f_i from 1 to 8.</summary>
    private static readonly float[,] Basis = BuildBasis();

    private static float[,] BuildBasis()
    {
        var basis = new float[Frequencies, Grid];
        for (var i = 0; i < Frequencies; i++)
        {
            var f = LowestFrequency + (HighestFrequency - LowestFrequency) * i / (Frequencies - 1);
            var row = new double[Grid];
            for (var j = 0; j < Grid; j++)
            {
                var u = (2 * j + 1) / (2.0 * Grid);
                var window = Math.Exp(-0.5 * Math.Pow((u - 0.5) / WindowSigma, 2));
                row[j] = window * Math.Cos(Math.PI * f * u);
            }
            var mean = row.Average();
            for (var j = 0; j < Grid; j++) basis[i, j] = (float)(row[j] - mean);
        }
        return basis;
    }

    /// <summary>Hashes an image given as luminance (0–255), row-major, <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static HashResult Hash(ReadOnlySpan<float> luma, int width, int height)
    {
        if (width < 1 || height < 1 || luma.Length != (long)width * height)
            throw new ArgumentException($"Expected {width}×{height} luminance values, got {luma.Length}.");
        var small = Downsample(luma, width, height);
        var quality = Quality(small);

        var variants = new List<PerceptualHash>(8);
        foreach (var transpose in new[] { false, true })
            foreach (var flipRows in new[] { false, true })
                foreach (var flipColumns in new[] { false, true })
                    variants.Add(Threshold(Project(small, transpose, flipRows, flipColumns)));
        return new HashResult(variants[0], quality, variants);
    }

    /// <summary>
    /// The 16×16 projections of the grid seen transposed and/or mirrored (flipping the rows turns the picture upside
    /// down, flipping the columns mirrors it left to right): C = B · A' · Bᵀ.
    /// </summary>
    private static float[] Project(float[] small, bool transpose, bool flipRows, bool flipColumns)
    {
        float Pixel(int y, int x)
        {
            if (transpose) (y, x) = (x, y);
            if (flipRows) y = Grid - 1 - y;
            if (flipColumns) x = Grid - 1 - x;
            return small[y * Grid + x];
        }

        // temp[i, y] = Σx B[i, x] · A'[y, x]: horizontal frequency i of row y.
        var temp = new float[Frequencies, Grid];
        for (var y = 0; y < Grid; y++)
            for (var x = 0; x < Grid; x++)
            {
                var v = Pixel(y, x);
                for (var i = 0; i < Frequencies; i++) temp[i, y] += Basis[i, x] * v;
            }
        // C[r, c] = Σy B[r, y] · temp[c, y]: vertical frequency r, horizontal frequency c.
        var values = new float[Frequencies * Frequencies];
        for (var r = 0; r < Frequencies; r++)
            for (var c = 0; c < Frequencies; c++)
            {
                float sum = 0;
                for (var y = 0; y < Grid; y++) sum += Basis[r, y] * temp[c, y];
                values[r * Frequencies + c] = sum;
            }
        return values;
    }

    /// <summary>One bit per projection: above the median of the 256.</summary>
    private static PerceptualHash Threshold(float[] values)
    {
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
