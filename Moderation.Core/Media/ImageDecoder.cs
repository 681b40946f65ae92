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
    /// <summary>Opens the container and applies the limits from its header, before any pixel is decoded.</summary>
    private static SKCodec Open(byte[] bytes, DecodeLimits limits)
    {
        if (bytes.Length == 0) throw new MediaRejectedException("the file is empty");
        if (bytes.Length > limits.MaxBytes) throw new MediaRejectedException($"the file is {bytes.Length} bytes; the limit is {limits.MaxBytes}");
        var codec = SKCodec.Create(new MemoryStream(bytes, writable: false), out var result)
            ?? throw new MediaRejectedException($"not an image this service decodes (PNG, JPEG, GIF, WebP, BMP, ICO, WBMP, HEIF where supported): {result}");
        var info = codec.Info;
        var frameCount = Math.Max(1, codec.FrameCount);
        string? problem = null;
        if (info.Width <= 0 || info.Height <= 0) problem = $"the image declares {info.Width}×{info.Height} pixels";
        else if ((long)info.Width * info.Height > limits.MaxPixels)
            problem = $"the image declares {info.Width}×{info.Height} pixels; the limit is {limits.MaxPixels}";
        else if ((long)info.Width * info.Height * Math.Min(frameCount, limits.MaxFrames) > limits.MaxPixels * 2)
            problem = $"{frameCount} frames of {info.Width}×{info.Height} pixels exceed the decoding budget";
        if (problem is null) return codec;
        codec.Dispose();
        throw new MediaRejectedException(problem);
    }

    /// <summary>
    /// The first frame as planar RGB (0–255: all red, then green, then blue), stretched to
    /// <paramref name="size"/>×<paramref name="size"/>, upright, transparent areas over white: the input of an image model.
    /// </summary>
    public static float[] DecodeRgbSquare(byte[] bytes, int size, DecodeLimits? limits = null)
    {
        using var codec = Open(bytes, limits ?? new DecodeLimits());
        var info = codec.Info;
        var target = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(target);
        bitmap.Erase(SKColors.White);
        var decoded = codec.GetPixels(target, bitmap.GetPixels());
        if (decoded is not (SKCodecResult.Success or SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput))
            throw new MediaRejectedException($"the image could not be decoded: {decoded}");
        // Mipmaps only pay when shrinking by more than half; below that a bilinear sample is enough and much cheaper.
        var shrink = Math.Max(info.Width, info.Height) > 2 * size;
        using var square = bitmap.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul),
            new SKSamplingOptions(SKFilterMode.Linear, shrink ? SKMipmapMode.Linear : SKMipmapMode.None))
            ?? throw new MediaRejectedException("the image could not be resized");
        var pixels = square.GetPixelSpan();
        var plane = size * size;
        var result = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        {
            var a = pixels[4 * i + 3] / 255f;
            var white = 255f * (1 - a);
            result[i] = pixels[4 * i] * a + white;
            result[plane + i] = pixels[4 * i + 1] * a + white;
            result[2 * plane + i] = pixels[4 * i + 2] * a + white;
        }
        if (codec.EncodedOrigin is SKEncodedOrigin.TopLeft or (SKEncodedOrigin)0) return result;
        // A square stays a square whatever the orientation: only the mapping of pixels changes.
        for (var c = 0; c < 3; c++)
            Upright(result.AsSpan(c * plane, plane).ToArray(), size, size, codec.EncodedOrigin).Luma.CopyTo(result, c * plane);
        return result;
    }

    public static IReadOnlyList<LumaFrame> DecodeLuma(byte[] bytes, DecodeLimits? limits = null)
    {
        limits ??= new DecodeLimits();
        using var codec = Open(bytes, limits);
        var info = codec.Info;
        var frameCount = Math.Max(1, codec.FrameCount);

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
