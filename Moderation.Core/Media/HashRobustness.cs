using SkiaSharp;

namespace Moderation.Core.Media;

/// <summary>How one transformation moved the hashes: how many copies still match, and the distances.</summary>
public sealed record TransformRobustness(string Transform, int Matched, int Total, double MeanDistance, int MaxDistance)
{
    public double MatchRate => Total == 0 ? 0 : (double)Matched / Total;
}

/// <summary>The robustness check's outcome: per transformation, and the false matches among different photos.</summary>
public sealed record RobustnessReport(int Photos, IReadOnlyList<TransformRobustness> Transforms, long Pairs, long FalseMatches, int MinPairDistance)
{
    public double FalseMatchRate => Pairs == 0 ? 0 : (double)FalseMatches / Pairs;
}

/// <summary>
/// The robustness check for the perceptual hash, on any set of photographs: each is resized to half, saved
/// as JPEG quality 50, cropped by 5% (2.5% off every edge), and mirrored; each copy is decoded and hashed the way an
/// upload is, and counts as matched when it is within the match distance of the original (over the eight rotations
/// and mirrors, as the matcher searches). Pairs of different photos show the false matches.
/// </summary>
public static class HashRobustness
{
    public static readonly IReadOnlyList<string> TransformNames = ["half size", "JPEG q50", "5% crop", "mirror"];

    public static RobustnessReport Measure(IReadOnlyList<byte[]> photos, int maxDistance = PerceptualHash.DefaultMatchDistance)
    {
        var originals = new HashResult[photos.Count];
        var copies = new HashResult[photos.Count, TransformNames.Count];
        Parallel.For(0, photos.Count, i =>
        {
            originals[i] = HashFile(photos[i]);
            using var bitmap = SKBitmap.Decode(photos[i]) ?? throw new MediaRejectedException($"photo {i} cannot be decoded");
            for (var t = 0; t < TransformNames.Count; t++) copies[i, t] = HashFile(Transform(bitmap, t));
        });

        var transforms = new List<TransformRobustness>();
        for (var t = 0; t < TransformNames.Count; t++)
        {
            var distances = Enumerable.Range(0, photos.Count).Select(i => Nearest(originals[i].Hash, copies[i, t])).ToList();
            transforms.Add(new TransformRobustness(TransformNames[t], distances.Count(d => d <= maxDistance), distances.Count,
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
        return new RobustnessReport(photos.Count, transforms, pairs, falseMatches, minPair);
    }

    /// <summary>Hashes a file as the scorer does: decoded (first frame), luminance, PDQ-style hash.</summary>
    public static HashResult HashFile(byte[] file)
    {
        var frame = ImageDecoder.DecodeLuma(file, new DecodeLimits(MaxBytes: Math.Max(file.Length, 1), MaxFrames: 1))[0];
        return PdqHasher.Hash(frame.Luma, frame.Width, frame.Height);
    }

    private static int Nearest(PerceptualHash original, HashResult copy) => copy.Dihedral.Min(original.DistanceTo);

    private static byte[] Transform(SKBitmap source, int transform)
    {
        switch (transform)
        {
            case 0:
            {
                using var half = source.Resize(new SKImageInfo(Math.Max(1, source.Width / 2), Math.Max(1, source.Height / 2)),
                    new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
                return Encode(half, SKEncodedImageFormat.Png, 100);
            }
            case 1:
                return Encode(source, SKEncodedImageFormat.Jpeg, 50);
            case 2:
            {
                int dx = (int)Math.Round(source.Width * 0.025), dy = (int)Math.Round(source.Height * 0.025);
                using var cropped = new SKBitmap();
                source.ExtractSubset(cropped, new SKRectI(dx, dy, source.Width - dx, source.Height - dy));
                return Encode(cropped, SKEncodedImageFormat.Png, 100);
            }
            default:
            {
                using var mirrored = source.Copy();
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
                return Encode(mirrored, SKEncodedImageFormat.Png, 100);
            }
        }
    }

    /// <summary>JPEG at the quality given, or PNG (lossless; fast compression, as only the pixels matter here).</summary>
    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality)
    {
        using var pixmap = bitmap.PeekPixels();
        using var data = format == SKEncodedImageFormat.Png
            ? pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.NoFilters, 1))
            : pixmap.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore));
        return data?.ToArray() ?? throw new InvalidOperationException($"SkiaSharp could not encode a {bitmap.Width}×{bitmap.Height} {format}.");
    }
}
