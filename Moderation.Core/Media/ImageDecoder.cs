using SkiaSharp;

namespace Moderation.Core.Media;

/// <summary>Limits checked before any pixel is decoded: a 60-byte PNG may declare ten billion pixels.</summary>
public sealed record DecodeLimits(long MaxBytes = 50L * 1024 * 1024, long MaxPixels = 40_000_000, int MaxFrames = 8);

/// <summary>A file refused as an image, with the reason a person can act on.</summary>
public sealed class MediaRejectedException(string reason) : Exception(reason);

/// <summary>One decoded frame as luminance (0–255, row-major), upright (EXIF orientation applied).</summary>
/// <param name="Partial">The file ended early; the frame holds what could be read (the rest is blank).</param>
public sealed record LumaFrame(int Index, int Width, int Height, float[] Luma, bool Partial);

/// <summary>
/// Decodes still and animated images with SkiaSharp. The container's header is read first (SKCodec), and the
/// byte, pixel and frame limits are applied before pixels are decoded; what Skia cannot identify as an image (HTML
/// or a zip named .jpg, SVG, truncated headers) is refused with the reason. Animated images are sampled evenly.
/// </summary>
public static class ImageDecoder
{
    public static IReadOnlyList<LumaFrame> DecodeLuma(byte[] bytes, DecodeLimits? limits = null)
    {
        limits ??= new DecodeLimits();
        if (bytes.Length == 0) throw new MediaRejectedException("the file is empty");
        if (bytes.Length > limits.MaxBytes) throw new MediaRejectedException($"the file is {bytes.Length} bytes; the limit is {limits.MaxBytes}");
        using var codec = SKCodec.Create(new MemoryStream(bytes, writable: false), out var result)
            ?? throw new MediaRejectedException($"not an image this service decodes (PNG, JPEG, GIF, WebP, BMP, ICO, WBMP, HEIF where supported): {result}");
        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0) throw new MediaRejectedException($"the image declares {info.Width}×{info.Height} pixels");
        if ((long)info.Width * info.Height > limits.MaxPixels)
            throw new MediaRejectedException($"the image declares {info.Width}×{info.Height} pixels; the limit is {limits.MaxPixels}");
        var frameCount = Math.Max(1, codec.FrameCount);
        if ((long)info.Width * info.Height * Math.Min(frameCount, limits.MaxFrames) > limits.MaxPixels * 2)
            throw new MediaRejectedException($"{frameCount} frames of {info.Width}×{info.Height} pixels exceed the decoding budget");

        var frames = new List<LumaFrame>();
        var sampled = frameCount <= limits.MaxFrames
            ? Enumerable.Range(0, frameCount)
            : Enumerable.Range(0, limits.MaxFrames).Select(i => (int)Math.Round(i * (frameCount - 1) / (double)(limits.MaxFrames - 1))).Distinct();
        var target = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        foreach (var index in sampled)
        {
            using var bitmap = new SKBitmap(target);
            bitmap.Erase(SKColors.White);
            var decoded = codec.GetPixels(target, bitmap.GetPixels(), new SKCodecOptions(index));
            if (decoded is not (SKCodecResult.Success or SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput))
                throw new MediaRejectedException($"frame {index} could not be decoded: {decoded}");
            var (luma, width, height) = Upright(Luma(bitmap), info.Width, info.Height, codec.EncodedOrigin);
            frames.Add(new LumaFrame(index, width, height, luma, decoded != SKCodecResult.Success));
        }
        return frames;
    }

    /// <summary>Luminance (Rec. 601 weights) over white where the image is transparent.</summary>
    private static float[] Luma(SKBitmap bitmap)
    {
        var pixels = bitmap.GetPixelSpan();
        var luma = new float[bitmap.Width * bitmap.Height];
        for (var i = 0; i < luma.Length; i++)
        {
            int r = pixels[4 * i], g = pixels[4 * i + 1], b = pixels[4 * i + 2];
            var a = pixels[4 * i + 3] / 255f;
            luma[i] = (0.299f * r + 0.587f * g + 0.114f * b) * a + 255f * (1 - a);
        }
        return luma;
    }

    /// <summary>Applies the EXIF orientation, so a photo taken sideways hashes like its upright copy.</summary>
    private static (float[] Luma, int Width, int Height) Upright(float[] luma, int width, int height, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or (SKEncodedOrigin)0) return (luma, width, height);
        var swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int w = swap ? height : width, h = swap ? width : height;
        var result = new float[luma.Length];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                // (sx, sy): where the upright pixel (x, y) lies in the stored image.
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (width - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (width - 1 - x, height - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, height - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, height - 1 - x),
                    SKEncodedOrigin.RightBottom => (width - 1 - y, height - 1 - x),
                    SKEncodedOrigin.LeftBottom => (width - 1 - y, x),
                    _ => (x, y),
                };
                result[y * w + x] = luma[sy * width + sx];
            }
        return (result, w, h);
    }
}
