namespace Moderation.Core.Media;

/// <summary>
/// A perceptual hash with its quality (0–100: how much detail the image has; below about 50 hashes match too easily),
/// the hashes of the image's eight rotations and mirrors (<see cref="Dihedral"/>, the first being <see cref="Hash"/>),
/// and <see cref="Variants"/>: what a search should look up, each rotation and mirror hashed as if the picture had
/// also been cut from a larger one (see <see cref="CropRobustHasher"/>).
/// </summary>
public sealed record HashResult(PerceptualHash Hash, int Quality, IReadOnlyList<PerceptualHash> Dihedral, IReadOnlyList<PerceptualHash> Variants);

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
/// <para>
/// A crop off one edge or a corner also shifts the picture, which a centred window cannot absorb (a 5% cut off the
/// left moves the centre by 2.6% of the width). So the query side hashes each dihedral variant under ten crop
/// hypotheses as well (<see cref="HashResult.Variants"/>): as it is; as if 5% had been cut off the left, the right,
/// the top or the bottom; off two adjacent edges (four corners); and 2.5% off every edge. A hypothesis maps the
/// cosines and the window onto the part of the original picture the query would show, so the projections are those
/// of the original measured on what is left of it. Stored hashes are always the plain <see cref="HashResult.Hash"/>;
/// only a search looks up the 80 variants, which finds cropped copies at a cost of 80 index lookups per frame and
/// more chances for a false match (measured in docs/media.md).
/// </para>
/// </summary>
public static class CropRobustHasher
{
    private const int Grid = 64;
    private const int Frequencies = 16;

    /// <summary>Lowest and highest frequency, in half-cycles across the image.</summary>
    private const double LowestFrequency = 1, HighestFrequency = 8;

    /// <summary>The window's standard deviation, as a share of the image's side.</summary>
    private const double WindowSigma = 0.25;

    /// <summary>The share of a side a crop hypothesis assumes was cut off.</summary>
    private const double CropShare = 0.05;

    /// <summary>
    /// Per axis, the share cut off before the first sample and after the last: none, the start, the end, both halves.
    /// </summary>
    private static readonly (double Before, double After)[] AxisCrops = [(0, 0), (CropShare, 0), (0, CropShare), (CropShare / 2, CropShare / 2)];

    /// <summary>The crop hypotheses as (horizontal, vertical) indexes into <see cref="AxisCrops"/>; the first is none.</summary>
    private static readonly (int X, int Y)[] Hypotheses =
        [(0, 0), (1, 0), (2, 0), (0, 1), (0, 2), (1, 1), (2, 1), (1, 2), (2, 2), (3, 3)];

    /// <summary>Bases[k][i, j]: B[i, j] = w(U_j) · cos(π f_i U_j) − mean, with U_j the original's coordinate of sample j under axis crop k.</summary>
    private static readonly float[][,] Bases = AxisCrops.Select(c => BuildBasis(c.Before, c.After)).ToArray();

    private static float[,] BuildBasis(double before, double after)
    {
        var basis = new float[Frequencies, Grid];
        for (var i = 0; i < Frequencies; i++)
        {
            var f = LowestFrequency + (HighestFrequency - LowestFrequency) * i / (Frequencies - 1);
            // The mean is the whole (uncropped) picture's, so that without a crop a flat image projects to zero.
            double mean = 0;
            for (var j = 0; j < Grid; j++) mean += Windowed(f, (2 * j + 1) / (2.0 * Grid));
            mean /= Grid;
            for (var j = 0; j < Grid; j++)
            {
                var u = before + (2 * j + 1) / (2.0 * Grid) * (1 - before - after);
                basis[i, j] = (float)(Windowed(f, u) - mean);
            }
        }
        return basis;
    }

    private static double Windowed(double frequency, double u) =>
        Math.Exp(-0.5 * Math.Pow((u - 0.5) / WindowSigma, 2)) * Math.Cos(Math.PI * frequency * u);

    /// <summary>Hashes an image given as luminance (0–255), row-major, <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static HashResult Hash(ReadOnlySpan<float> luma, int width, int height)
    {
        if (width < 1 || height < 1 || luma.Length != (long)width * height)
            throw new ArgumentException($"Expected {width}×{height} luminance values, got {luma.Length}.");
        var small = Downsample(luma, width, height);
        var quality = Quality(small);

        var dihedral = new List<PerceptualHash>(8);
        var variants = new List<PerceptualHash>(8 * Hypotheses.Length);
        foreach (var transpose in new[] { false, true })
            foreach (var flipRows in new[] { false, true })
                foreach (var flipColumns in new[] { false, true })
                {
                    var grid = HashGrid.Orient(small, transpose, flipRows, flipColumns);
                    // temp[k][i, y] = Σx Bases[k][i, x] · A[y, x]: horizontal frequency i of row y under horizontal crop k.
                    var temp = Bases.Select(basis => Rows(grid, basis)).ToArray();
                    foreach (var (x, y) in Hypotheses) variants.Add(Threshold(Columns(temp[x], Bases[y])));
                    dihedral.Add(variants[^Hypotheses.Length]);
                }
        return new HashResult(dihedral[0], quality, dihedral, variants);
    }

    private static float[,] Rows(float[] grid, float[,] basis)
    {
        var temp = new float[Frequencies, Grid];
        for (var y = 0; y < Grid; y++)
            for (var x = 0; x < Grid; x++)
            {
                var v = grid[y * Grid + x];
                for (var i = 0; i < Frequencies; i++) temp[i, y] += basis[i, x] * v;
            }
        return temp;
    }

    /// <summary>C[r, c] = Σy B[r, y] · temp[c, y]: vertical frequency r, horizontal frequency c.</summary>
    private static float[] Columns(float[,] temp, float[,] basis)
    {
        var values = new float[Frequencies * Frequencies];
        for (var r = 0; r < Frequencies; r++)
            for (var c = 0; c < Frequencies; c++)
            {
                float sum = 0;
                for (var y = 0; y < Grid; y++) sum += basis[r, y] * temp[c, y];
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
