using System.Globalization;
using FluentAssertions;
using Microsoft.Extensions.Options;
using Moderation.Core.Media;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>Pictures with text drawn on them: several fonts (Debian's DejaVu), sizes and backgrounds.</summary>
internal static class TextPictures
{
    public static readonly string[] Fonts =
        ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerifCondensed.ttf"];

    public static readonly string[] Sentences =
    [
        "The quick brown fox jumps over the lazy dog",
        "Meet me at the station at 7 tonight",
        "Pack my box with five dozen liquor jugs",
        "Sphinx of black quartz, judge my vow",
        "We will share the results on Friday",
    ];

    private static string FontPath(string file) => Path.Combine("/usr/share/fonts/truetype/dejavu", file);

    public enum Background { White, Dark, Gradient, Photo }

    /// <summary>A picture with <paramref name="lines"/> drawn at <paramref name="size"/> px: dark on light, light on dark, or white with a black outline on a photo (a meme).</summary>
    public static byte[] Render(IReadOnlyList<string> lines, string font, float size, Background background, string? saveTo = null)
    {
        using var typeface = SKTypeface.FromFile(FontPath(font)) ?? throw new InvalidOperationException($"font {font} is missing (Debian's fonts-dejavu-core)");
        using var skFont = new SKFont(typeface, size);
        var width = (int)(lines.Max(l => skFont.MeasureText(l)) + size * 1.2f);
        var lineHeight = size * 1.6f;
        var height = (int)(lineHeight * lines.Count + size * 2);
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            switch (background)
            {
                case Background.White: canvas.Clear(SKColors.White); break;
                case Background.Dark: canvas.Clear(new SKColor(20, 24, 40)); break;
                case Background.Gradient:
                    using (var paint = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height), [new SKColor(255, 236, 179), new SKColor(144, 202, 249)], SKShaderTileMode.Clamp) })
                        canvas.DrawRect(0, 0, width, height, paint);
                    break;
                case Background.Photo:
                    var photo = SyntheticPhotos.Photo(lines.Count + (int)size, width, height);
                    var pixels = bitmap.GetPixelSpan();
                    for (var i = 0; i < width * height; i++)
                    {
                        var v = (byte)Math.Clamp(photo.Luma[i], 0, 255);
                        bitmap.SetPixel(i % width, i / width, new SKColor(v, (byte)(v * 0.9), (byte)(v * 0.8)));
                    }
                    break;
            }
            var dark = background is Background.Dark or Background.Photo;
            using var fill = new SKPaint { Color = dark ? SKColors.White : new SKColor(30, 30, 30), IsAntialias = true };
            using var outline = new SKPaint { Color = SKColors.Black, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = Math.Max(2, size / 10) };
            for (var i = 0; i < lines.Count; i++)
            {
                var y = size * 1.4f + i * lineHeight;
                if (background == Background.Photo) canvas.DrawText(lines[i], size * 0.6f, y, SKTextAlign.Left, skFont, outline);
                canvas.DrawText(lines[i], size * 0.6f, y, SKTextAlign.Left, skFont, fill);
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        if (saveTo is not null) File.WriteAllBytes(saveTo, data.ToArray());
        return data.ToArray();
    }

    /// <summary>Levenshtein distance over characters.</summary>
    public static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }

    public static string Squeeze(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}

/// <summary>Real Tesseract (Debian's tesseract-ocr with tesseract-ocr-eng) run as the scorer runs it.</summary>
public sealed class OcrTests(ITestOutputHelper output) : IDisposable
{
    private readonly string scratch = Directory.CreateTempSubdirectory("moderation-ocr-").FullName;

    private static TesseractRunner Runner(OcrOptions? options = null) => new(Options.Create(options ?? new OcrOptions()));

    private static (byte[] Luma, int Width, int Height) Grey(byte[] png)
    {
        var frame = ImageDecoder.DecodeLuma(png).Single();
        return (frame.Luma.Select(v => (byte)Math.Clamp(MathF.Round(v), 0, 255)).ToArray(), frame.Width, frame.Height);
    }

    [Fact]
    public async Task Text_of_24_px_and_up_in_five_fonts_on_four_backgrounds_is_read_with_a_character_error_rate_of_at_most_5_percent()
    {
        var runner = Runner();
        int errors = 0, characters = 0, pictures = 0;
        var perBackground = new Dictionary<TextPictures.Background, (int Errors, int Characters)>();
        var worst = new List<string>();
        foreach (var (font, f) in TextPictures.Fonts.Select((font, f) => (font, f)))
            foreach (var size in new[] { 24f, 32f, 48f })
                foreach (var background in Enum.GetValues<TextPictures.Background>())
                {
                    var lines = new[] { TextPictures.Sentences[(f + (int)size) % 5], TextPictures.Sentences[(f + (int)background + 1) % 5] };
                    var (luma, width, height) = Grey(TextPictures.Render(lines, font, size, background,
                        Environment.GetEnvironmentVariable("MODERATION_OCR_SAMPLES") is { } dir ? Path.Combine(dir, $"{font}-{size}-{background}.png") : null));
                    var (read, problem) = await runner.ReadPictureAsync(luma, width, height, CancellationToken.None);
                    problem.Should().BeNull();
                    var expected = TextPictures.Squeeze(string.Join(' ', lines));
                    var got = TextPictures.Squeeze(read!.Text);
                    var distance = TextPictures.EditDistance(expected, got);
                    errors += distance;
                    characters += expected.Length;
                    var (e, c) = perBackground.GetValueOrDefault(background);
                    perBackground[background] = (e + distance, c + expected.Length);
                    pictures++;
                    if (distance > 0) worst.Add(string.Create(CultureInfo.InvariantCulture, $"{font} {size}px {background}: {distance} ('{got}')"));
                }
        var cer = (double)errors / characters;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CER {cer:P2}: {errors} edits in {characters} characters over {pictures} pictures"));
        foreach (var (background, (e, c)) in perBackground)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{background}: CER {(double)e / c:P2} ({e} edits in {c} characters)"));
        foreach (var line in worst) output.WriteLine(line);
        cer.Should().BeLessThanOrEqualTo(0.05);
    }

    private string Script(string name, string body)
    {
        var path = Path.Combine(scratch, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public async Task A_tesseract_that_hangs_crashes_or_floods_its_output_is_an_outcome_with_its_reason_and_a_missing_one_is_a_fault()
    {
        var (luma, width, height) = Grey(TextPictures.Render(["hello"], TextPictures.Fonts[0], 32, TextPictures.Background.White));
        var quick = new OcrOptions { Timeout = TimeSpan.FromSeconds(2) };

        var hang = await Runner(new OcrOptions { Timeout = TimeSpan.FromSeconds(2), TesseractPath = Script("hang.sh", "exec sleep 60") }).ReadAsync(luma, width, height, CancellationToken.None);
        hang.Problem.Should().Contain("took longer than 2 s and was stopped");

        var crash = await Runner(new OcrOptions { Timeout = quick.Timeout, TesseractPath = Script("crash.sh", "cat > /dev/null; echo 'Segmentation fault' >&2; kill -SEGV $$") })
            .ReadAsync(luma, width, height, CancellationToken.None);
        crash.Problem.Should().StartWith("tesseract failed (exit code");

        var flood = await Runner(new OcrOptions { Timeout = quick.Timeout, TesseractPath = Script("flood.sh", "cat > /dev/null; yes 5 | head -c 8000000") })
            .ReadAsync(luma, width, height, CancellationToken.None);
        flood.Problem.Should().Contain("printed more than");

        var missing = async () => await Runner(new OcrOptions { TesseractPath = Path.Combine(scratch, "no-such-tesseract") }).ReadAsync(luma, width, height, CancellationToken.None);
        (await missing.Should().ThrowAsync<TesseractUnavailableException>()).Which.Message.Should().Contain("tesseract-ocr");

        var noLanguage = async () => await Runner(new OcrOptions { Language = "xyz" }).ReadAsync(luma, width, height, CancellationToken.None);
        await noLanguage.Should().ThrowAsync<TesseractUnavailableException>();
    }

    [Fact]
    public async Task A_blank_picture_reads_as_no_text()
    {
        var blank = new byte[400 * 300];
        Array.Fill(blank, (byte)255);
        var (read, problem) = await Runner().ReadAsync(blank, 400, 300, CancellationToken.None);
        problem.Should().BeNull();
        read!.Text.Should().BeEmpty();
        read.Confidence.Should().BeNull();
    }

    public void Dispose()
    {
        try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
    }
}
