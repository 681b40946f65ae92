using SkiaSharp;

namespace Moderation.Core.Media;

/// <summary>How one transformation moved the hashes: how many copies still match, and the distances.</summary>
/// <param name="Key">The transformation's name in the summary line (e.g. <c>crop5_edge</c>).</param>
/// <param name="Target">Whether the target (95% of copies match) applies to it; the others are reported only.</param>
public sealed record TransformRobustness(string Transform, string Key, bool Target, int Matched, int Total, double MeanDistance, int MaxDistance)
{
    public double MatchRate => Total == 0 ? 0 : (double)Matched / Total;
}

/// <summary>The robustness check's outcome: per transformation, and the false matches among different photos.</summary>
/// <param name="LowQuality">Photos whose hash quality is under 50 (the scorer records but does not match those); they are counted all the same.</param>
public sealed record RobustnessReport(int Photos, IReadOnlyList<TransformRobustness> Transforms, long Pairs, long FalseMatches, int MinPairDistance, int LowQuality = 0)
{
    public double FalseMatchRate => Pairs == 0 ? 0 : (double)FalseMatches / Pairs;
}

/// <summary>
/// The robustness check for the perceptual hash, on any set of photographs: each is resized to half, saved
/// as JPEG quality 50, cropped by 5% (read three ways: 2.5% off every edge; 5% off one edge; 5% off two adjacent
/// edges, a corner), mirrored, and put through all four at once; a 10% crop off one edge is reported beside them.
/// The edge or corner cut is the photo's number modulo 4, so every side is exercised. Each copy is decoded and hashed
/// the way an upload is, and counts as matched when one of its search variants (rotations, mirrors and crop
/// hypotheses, as the matcher searches) is within the match distance of the original's hash. Pairs of different
/// photos show the false matches, measured the same way.
/// </summary>
public static class HashRobustness
{
    private sealed record Kind(string Name, string Key, bool Target);

    private static readonly Kind[] Kinds =
    [
        new("half size", "half_size", true),
        new("JPEG q50", "jpeg_q50", true),
        new("5% crop, centred", "crop5_centred", true),
        new("5% crop, one edge", "crop5_edge", true),
        new("5% crop, corner", "crop5_corner", true),
        new("mirror", "mirror", true),
        new("all four", "all_four", true),
        new("10% crop, one edge", "crop10_edge", false),
    ];

    public static IReadOnlyList<string> TransformNames { get; } = Kinds.Select(k => k.Name).ToList();

    public static RobustnessReport Measure(IReadOnlyList<byte[]> photos, int maxDistance = PerceptualHash.DefaultMatchDistance)
    {
        var originals = new HashResult[photos.Count];
        var copies = new HashResult[photos.Count, Kinds.Length];
        Parallel.For(0, photos.Count, i =>
        {
            originals[i] = HashFile(photos[i]);
            using var bitmap = SKBitmap.Decode(photos[i]) ?? throw new MediaRejectedException($"photo {i} cannot be decoded");
            for (var t = 0; t < Kinds.Length; t++) copies[i, t] = HashFile(Transform(bitmap, t, side: i % 4));
        });

        var transforms = new List<TransformRobustness>();
        for (var t = 0; t < Kinds.Length; t++)
        {
            var distances = Enumerable.Range(0, photos.Count).Select(i => Nearest(originals[i].Hash, copies[i, t])).ToList();
            transforms.Add(new TransformRobustness(Kinds[t].Name, Kinds[t].Key, Kinds[t].Target, distances.Count(d => d <= maxDistance), distances.Count,
                distances.Count == 0 ? 0 : distances.Average(), distances.Count == 0 ? 0 : distances.Max()));
        }

        long pairs = 0, falseMatches = 0;
        var minPair = PerceptualHash.Bits;
        for (var i = 0; i < photos.Count; i++)
            for (var j = i + 1; j < photos.Count; j++)
            {
                var d = Nearest(originals[i].Hash, originals[j]);
                pairs++;
                if (d <= maxDistance) falseMatches++;
                minPair = Math.Min(minPair, d);
            }
        return new RobustnessReport(photos.Count, transforms, pairs, falseMatches, minPair, originals.Count(o => o.Quality < 50));
    }

    /// <summary>Hashes a file as the scorer does: decoded (first frame), luminance, PDQ-style hash.</summary>
    public static HashResult HashFile(byte[] file)
    {
        var frame = ImageDecoder.DecodeLuma(file, new DecodeLimits(MaxBytes: Math.Max(file.Length, 1), MaxFrames: 1))[0];
        return CropRobustHasher.Hash(frame.Luma, frame.Width, frame.Height);
    }

    /// <summary>The distance a search would find: the nearest of the copy's search variants to the original.</summary>
    private static int Nearest(PerceptualHash original, HashResult copy) => copy.Variants.Min(original.DistanceTo);

    /// <param name="side">Which edge (0 left, 1 right, 2 top, 3 bottom) or corner (0 top left, 1 top right, 2 bottom left, 3 bottom right) a crop cuts.</param>
    private static byte[] Transform(SKBitmap source, int transform, int side)
    {
        switch (transform)
        {
            case 0:
                return Encode(Half(source), SKEncodedImageFormat.Png, 100, dispose: true);
            case 1:
                return Encode(source, SKEncodedImageFormat.Jpeg, 50);
            case 2:
                return Encode(Crop(source, 0.025, 0.025, 0.025, 0.025), SKEncodedImageFormat.Png, 100, dispose: true);
            case 3:
                return Encode(CropEdge(source, 0.05, side), SKEncodedImageFormat.Png, 100, dispose: true);
            case 4:
            {
                var (left, top) = (side % 2 == 0, side < 2);
                return Encode(Crop(source, left ? 0.05 : 0, top ? 0.05 : 0, left ? 0 : 0.05, top ? 0 : 0.05), SKEncodedImageFormat.Png, 100, dispose: true);
            }
            case 5:
                return Encode(Mirror(source), SKEncodedImageFormat.Png, 100, dispose: true);
            case 6:
            {
                using var half = Half(source);
                using var cropped = CropEdge(half, 0.05, side);
                return Encode(Mirror(cropped), SKEncodedImageFormat.Jpeg, 50, dispose: true);
            }
            default:
                return Encode(CropEdge(source, 0.10, side), SKEncodedImageFormat.Png, 100, dispose: true);
        }
    }

    private static SKBitmap Half(SKBitmap source) =>
        source.Resize(new SKImageInfo(Math.Max(1, source.Width / 2), Math.Max(1, source.Height / 2)),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));

    private static SKBitmap CropEdge(SKBitmap source, double share, int side) => side switch
    {
        0 => Crop(source, share, 0, 0, 0),
        1 => Crop(source, 0, 0, share, 0),
        2 => Crop(source, 0, share, 0, 0),
        _ => Crop(source, 0, 0, 0, share),
    };

    /// <summary>A copy without the given shares of the width (left, right) and height (top, bottom).</summary>
    private static SKBitmap Crop(SKBitmap source, double left, double top, double right, double bottom)
    {
        int l = (int)Math.Round(source.Width * left), t = (int)Math.Round(source.Height * top);
        int r = source.Width - (int)Math.Round(source.Width * right), b = source.Height - (int)Math.Round(source.Height * bottom);
        var cropped = new SKBitmap();
        if (!source.ExtractSubset(cropped, new SKRectI(l, t, Math.Max(l + 1, r), Math.Max(t + 1, b))))
            throw new InvalidOperationException($"SkiaSharp could not crop a {source.Width}×{source.Height} bitmap.");
        return cropped;
    }

    private static SKBitmap Mirror(SKBitmap source)
    {
        var mirrored = source.Copy();
        var pixels = mirrored.GetPixelSpan();
        var bytesPerPixel = mirrored.BytesPerPixel;
        var row = new byte[mirrored.RowBytes];
        for (var y = 0; y < mirrored.Height; y++)
        {
            var line = pixels.Slice(y * mirrored.RowBytes, mirrored.RowBytes);
            line.CopyTo(row);
            for (var x = 0; x < mirrored.Width; x++)
                row.AsSpan((mirrored.Width - 1 - x) * bytesPerPixel, bytesPerPixel).CopyTo(line.Slice(x * bytesPerPixel, bytesPerPixel));
        }
        mirrored.NotifyPixelsChanged();
        return mirrored;
    }

    /// <summary>JPEG at the quality given, or PNG (lossless; fast compression, as only the pixels matter here).</summary>
    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality, bool dispose = false)
    {
        using var owned = dispose ? bitmap : null;
        using var pixmap = bitmap.PeekPixels();
        using var data = format == SKEncodedImageFormat.Png
            ? pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.NoFilters, 1))
            : pixmap.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore));
        return data?.ToArray() ?? throw new InvalidOperationException($"SkiaSharp could not encode a {bitmap.Width}×{bitmap.Height} {format}.");
    }
}
