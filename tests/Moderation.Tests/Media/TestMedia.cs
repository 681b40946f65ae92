using System.Diagnostics;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>Test images and videos made at test time: photograph-like scenes encoded with SkiaSharp, videos with ffmpeg.</summary>
internal static class TestMedia
{
    /// <summary>Grey luminance encoded as JPEG or PNG.</summary>
    public static byte[] Encode((float[] Luma, int Width, int Height) image, SKEncodedImageFormat format, int quality = 90)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        for (var i = 0; i < image.Luma.Length; i++) pixels[i] = (byte)Math.Clamp(Math.Round(image.Luma[i]), 0, 255);
        bitmap.NotifyPixelsChanged();
        using var encoded = bitmap.Encode(format, quality);
        return encoded.ToArray();
    }

    public static (float[] Luma, int Width, int Height) HalfSize((float[] Luma, int Width, int Height) image)
    {
        int w = image.Width / 2, h = image.Height / 2;
        var result = new float[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                result[y * w + x] = (image.Luma[2 * y * image.Width + 2 * x] + image.Luma[2 * y * image.Width + 2 * x + 1]
                    + image.Luma[(2 * y + 1) * image.Width + 2 * x] + image.Luma[(2 * y + 1) * image.Width + 2 * x + 1]) / 4;
        return (result, w, h);
    }

    /// <summary>Runs Debian's ffmpeg with the arguments; fails the test with its output if it fails.</summary>
    public static void Ffmpeg(params string[] args)
    {
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-hide_banner", "-loglevel", "error", "-nostdin", "-y" }.Concat(args)) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(60_000)) { process.Kill(); throw new TimeoutException("ffmpeg did not finish in 60 s"); }
        if (process.ExitCode != 0) throw new InvalidOperationException($"ffmpeg {string.Join(' ', args)} failed: {error.Result}");
    }

    /// <summary>An H.264 MP4 showing the still image for <paramref name="seconds"/>, at 10 frames a second.</summary>
    public static byte[] StillVideo(byte[] png, double seconds, string directory)
    {
        var input = Path.Combine(directory, $"{Guid.NewGuid():N}.png");
        var output = Path.Combine(directory, $"{Guid.NewGuid():N}.mp4");
        File.WriteAllBytes(input, png);
        Ffmpeg("-loop", "1", "-i", input, "-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-r", "10",
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p", output);
        return File.ReadAllBytes(output);
    }

    /// <summary>An MP4 of ffmpeg's test pattern (lavfi testsrc), with the given size and length.</summary>
    public static string TestPattern(string directory, double seconds, string size = "320x240", string codec = "libx264")
    {
        var output = Path.Combine(directory, $"{Guid.NewGuid():N}.mp4");
        Ffmpeg("-f", "lavfi", "-i", $"testsrc=duration={seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}:size={size}:rate=10",
            "-c:v", codec, "-pix_fmt", "yuv420p", output);
        return output;
    }
}
