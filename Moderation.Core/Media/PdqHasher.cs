namespace Moderation.Core.Media;

/// <summary>
/// PDQ as Facebook published it ("The PDQ and TMK+PDQF hashing algorithms", 2019) and as its reference
/// <c>pdq-photo-hasher</c> computes it, so that hashes exchanged with other platforms (industry hash-sharing
/// programmes, partners, Meta's HMA) match ours: on the same decoded pixels the bits are the same.
/// <list type="number">
/// <item>An image larger than 512 pixels on a side is first point-sampled to 512×512 (the reference does this for speed
/// with a nearest-neighbour resize, aspect ratio not kept).</item>
/// <item>Luminance Y = 0.299 R + 0.587 G + 0.114 B, in single precision.</item>
/// <item>Two passes of a box filter along rows then columns (Jarosz: a tent filter) with windows of ⌈side / 128⌉,
/// then the 64×64 pixels at the centres of a 64×64 grid.</item>
/// <item>Quality: the sum of |Δ|·100/255 (each truncated) over neighbouring pixels of the 64×64 grid, / 90, at most 100.</item>
/// <item>The 2-D DCT's frequencies 1–16 on each axis (16×16, the DC left out), one bit per coefficient, set when it is
/// above the median (the 128th smallest); bit i·16 + j for vertical frequency i and horizontal frequency j.</item>
/// </list>
/// Every sum runs in single precision in the reference's order, so ties at the median fall the same way.
/// <para>
/// Search variants (<see cref="HashResult.Variants"/>, what a match looks up; stored hashes are always the plain one):
/// the eight rotations and mirrors, each also under the same ten crop hypotheses as <see cref="CropRobustHasher"/>
/// (5% off one edge, two adjacent edges, or 2.5% off every edge), computed in PDQ's own frequency space: the DCT's
/// cosines sampled where the frame's pixels would lie in the uncropped original. A bank of PDQ hashes made elsewhere is
/// therefore matched by plain copies bit for bit, and by mirrored, rotated and slightly cropped copies as well.
/// </para>
/// </summary>
public static class PdqHasher
{
    private const int Grid = 64;
    private const int Frequencies = 16;

    /// <summary>Images larger than this on either side are first point-sampled to this square, as the reference does.</summary>
    public const int ResampleSide = 512;

    /// <summary>Smaller than this on a side and the reference gives an all-zero hash of quality 0.</summary>
    public const int MinSide = 5;

    private const double CropShare = 0.05;

    private static readonly (double Before, double After)[] AxisCrops = [(0, 0), (CropShare, 0), (0, CropShare), (CropShare / 2, CropShare / 2)];

    /// <summary>Crop hypotheses as (horizontal, vertical) indexes into <see cref="AxisCrops"/>; the first is none.</summary>
    private static readonly (int X, int Y)[] Hypotheses =
        [(0, 0), (1, 0), (2, 0), (0, 1), (0, 2), (1, 1), (2, 1), (1, 2), (2, 2), (3, 3)];

    /// <summary>Per axis crop, D[i, j] = √(2/64) · cos(π (i + 1) u_j) with u_j where sample j lies in the original (0–1).</summary>
    private static readonly float[][] Bases = AxisCrops.Select(c => Basis(c.Before, c.After)).ToArray();

    private static float[] Basis(double before, double after)
    {
        // The reference's constant is a float; the cosine is double and the product is rounded to float.
        var scale = (float)Math.Sqrt(2.0 / Grid);
        var basis = new float[Frequencies * Grid];
        for (var i = 0; i < Frequencies; i++)
            for (var j = 0; j < Grid; j++)
            {
                var u = before + (2 * j + 1) / (2.0 * Grid) * (1 - before - after);
                basis[i * Grid + j] = (float)(scale * Math.Cos(Math.PI * (i + 1) * u));
            }
        return basis;
    }

    /// <summary>Luminance as the reference computes it from 8-bit RGB.</summary>
    public static float Luma(byte r, byte g, byte b) => 0.299f * r + 0.587f * g + 0.114f * b;

    /// <summary>Hashes an image given as luminance (0–255), row-major, <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static HashResult Hash(ReadOnlySpan<float> luma, int width, int height)
    {
        if (width < 1 || height < 1 || luma.Length != (long)width * height)
            throw new ArgumentException($"Expected {width}×{height} luminance values, got {luma.Length}.");
        if (width < MinSide || height < MinSide)
        {
            // What the reference answers for a picture too small to hash: zero bits, quality 0 (never matched).
            var zero = Enumerable.Repeat(default(PerceptualHash), 8).ToList();
            return new HashResult(default, 0, zero, Enumerable.Repeat(default(PerceptualHash), 8 * Hypotheses.Length).ToList());
        }
        // A 64×64 picture is taken as the grid itself, as the reference takes it (video frames ffmpeg already shrank).
        return FromGrid(width == Grid && height == Grid ? luma.ToArray() : Downsample(luma, width, height));
    }

    /// <summary>The hash of a 64×64 luminance grid (already downsampled, as the reference takes video frames).</summary>
    public static HashResult FromGrid(float[] grid)
    {
        if (grid.Length != Grid * Grid) throw new ArgumentException($"A PDQ grid has {Grid * Grid} values, not {grid.Length}.", nameof(grid));
        var quality = Quality(grid);
        var dihedral = new List<PerceptualHash>(8);
        var variants = new List<PerceptualHash>(8 * Hypotheses.Length);
        var coefficients = new float[Frequencies * Frequencies];
        foreach (var transpose in new[] { false, true })
            foreach (var flipRows in new[] { false, true })
                foreach (var flipColumns in new[] { false, true })
                {
                    var oriented = transpose || flipRows || flipColumns ? HashGrid.Orient(grid, transpose, flipRows, flipColumns) : grid;
                    // T_k = D_k A (vertical frequencies under vertical crop k), then B = T D_hᵀ.
                    var vertical = new float[AxisCrops.Length][];
                    foreach (var (x, y) in Hypotheses)
                    {
                        vertical[y] ??= Vertical(oriented, Bases[y]);
                        Horizontal(vertical[y], Bases[x], coefficients);
                        variants.Add(Threshold(coefficients));
                    }
                    dihedral.Add(variants[^Hypotheses.Length]);
                }
        return new HashResult(dihedral[0], quality, dihedral, variants);
    }

    /// <summary>T[i, j] = Σk D[i, k] · A[k, j], summed over k in order (the reference's order).</summary>
    private static float[] Vertical(float[] a, float[] d)
    {
        var t = new float[Frequencies * Grid];
        for (var i = 0; i < Frequencies; i++)
            for (var j = 0; j < Grid; j++)
            {
                var sum = 0f;
                for (var k = 0; k < Grid; k++) sum += d[i * Grid + k] * a[k * Grid + j];
                t[i * Grid + j] = sum;
            }
        return t;
    }

    /// <summary>B[i, j] = Σk T[i, k] · D[j, k].</summary>
    private static void Horizontal(float[] t, float[] d, float[] b)
    {
        for (var i = 0; i < Frequencies; i++)
            for (var j = 0; j < Frequencies; j++)
            {
                var sum = 0f;
                for (var k = 0; k < Grid; k++) sum += t[i * Grid + k] * d[j * Grid + k];
                b[i * Frequencies + j] = sum;
            }
    }

    /// <summary>One bit per coefficient: above the median, which for 256 values is the 128th smallest (Torben's median).</summary>
    private static PerceptualHash Threshold(float[] values)
    {
        Span<float> sorted = stackalloc float[values.Length];
        values.CopyTo(sorted);
        sorted.Sort();
        var median = sorted[(values.Length - 1) / 2];
        Span<ulong> words = stackalloc ulong[4];
        for (var k = 0; k < values.Length; k++)
            if (values[k] > median) words[k >> 6] |= 1UL << (k & 63);
        return new PerceptualHash(words[0], words[1], words[2], words[3]);
    }

    /// <summary>The 512×512 point sample (when larger), the two-pass tent filter, and the 64×64 grid of centres.</summary>
    private static float[] Downsample(ReadOnlySpan<float> luma, int width, int height)
    {
        float[] buffer;
        if (width > ResampleSide || height > ResampleSide)
        {
            buffer = new float[ResampleSide * ResampleSide];
            for (var y = 0; y < ResampleSide; y++)
            {
                var sy = (int)((long)y * height / ResampleSide);
                for (var x = 0; x < ResampleSide; x++)
                    buffer[y * ResampleSide + x] = luma[sy * width + (int)((long)x * width / ResampleSide)];
            }
            width = height = ResampleSide;
        }
        else buffer = luma.ToArray();

        var scratch = new float[buffer.Length];
        int windowAlongRows = WindowSize(width), windowAlongColumns = WindowSize(height);
        for (var pass = 0; pass < 2; pass++)
        {
            for (var row = 0; row < height; row++) Box(buffer, scratch, row * width, width, 1, windowAlongRows);
            for (var column = 0; column < width; column++) Box(scratch, buffer, column, height, width, windowAlongColumns);
        }

        var grid = new float[Grid * Grid];
        for (var i = 0; i < Grid; i++)
        {
            var y = (int)((i + 0.5) * height / Grid);
            for (var j = 0; j < Grid; j++) grid[i * Grid + j] = buffer[y * width + (int)((j + 0.5) * width / Grid)];
        }
        return grid;
    }

    /// <summary>Half of a 64th of the side, rounded up: two passes then cover a whole grid cell.</summary>
    private static int WindowSize(int side) => (side + 2 * Grid - 1) / (2 * Grid);

    /// <summary>
    /// A running-sum box filter along one line, in single precision, with the reference's phases: the window grows to
    /// full size at the start and shrinks at the end, and each output is the mean of what the window holds.
    /// </summary>
    private static void Box(float[] input, float[] output, int start, int length, int stride, int window)
    {
        var half = (window + 2) / 2;
        int growing = half - 1, firstWrites = window - half + 1, full = length - window, shrinking = half - 1;
        int left = start, right = start, at = start, size = 0;
        var sum = 0f;
        for (var i = 0; i < growing; i++, right += stride, size++) sum += input[right];
        for (var i = 0; i < firstWrites; i++, right += stride, at += stride)
        {
            sum += input[right];
            size++;
            output[at] = sum / size;
        }
        for (var i = 0; i < full; i++, left += stride, right += stride, at += stride)
        {
            sum += input[right];
            sum -= input[left];
            output[at] = sum / size;
        }
        for (var i = 0; i < shrinking; i++, left += stride, at += stride)
        {
            sum -= input[left];
            size--;
            output[at] = sum / size;
        }
    }

    private static int Quality(float[] grid)
    {
        var gradients = 0;
        for (var i = 0; i < Grid - 1; i++)
            for (var j = 0; j < Grid; j++)
                gradients += Math.Abs((int)((grid[i * Grid + j] - grid[(i + 1) * Grid + j]) * 100 / 255));
        for (var i = 0; i < Grid; i++)
            for (var j = 0; j < Grid - 1; j++)
                gradients += Math.Abs((int)((grid[i * Grid + j] - grid[i * Grid + j + 1]) * 100 / 255));
        return Math.Min(100, gradients / 90);
    }
}
