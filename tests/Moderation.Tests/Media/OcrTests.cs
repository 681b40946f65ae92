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

        // (A long limit: the output cap, not the clock, must stop this one, however loaded the machine.)
        var flood = await Runner(new OcrOptions { Timeout = TimeSpan.FromSeconds(60), TesseractPath = Script("flood.sh", "cat > /dev/null; yes 5 | head -c 8000000") })
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

/// <summary>The API host with the real text scorer (MiniLM and the shipped heads) and OCR on, no other scorer.</summary>
public abstract class OcrApiFixture(Moderation.Core.Storage.DatabaseProvider provider) : Moderation.Tests.Infrastructure.ApiFixture(provider)
{
    protected override bool WithScorer => false;

    protected override IDictionary<string, string?> HostSettings => new Dictionary<string, string?>(Settings)
    {
        ["Moderation:Limits:MaxMediaBytes"] = "2097152",
        ["Moderation:Limits:MaxRequestBytes"] = "16777216",
        ["Moderation:Scoring:Text:Enabled"] = "true",
        ["Moderation:Scoring:Text:RefreshInterval"] = "00:00:00.100",
        ["Moderation:Scoring:Ocr:Enabled"] = "true",
        ["Moderation:Scoring:Media:Video:FramesPerSecond"] = "1",
    };
}

public sealed class SqliteOcrApiFixture() : OcrApiFixture(Moderation.Core.Storage.DatabaseProvider.Sqlite);
public sealed class PostgresOcrApiFixture() : OcrApiFixture(Moderation.Core.Storage.DatabaseProvider.Postgres);

/// <summary>
/// A threat written on a picture, uploaded with no caption at all, goes through OCR into the text scorer and to review,
/// with the read text and its frame in the upload's status. Once per provider.
/// </summary>
public abstract class OcrPipelineContract<TFixture>(TFixture fixture) : IDisposable where TFixture : OcrApiFixture
{
    private readonly string scratch = Directory.CreateTempSubdirectory("moderation-ocr-pipeline-").FullName;

    private async Task<System.Text.Json.JsonElement> UploadAndWaitAsync(string kind, string fileName, byte[] bytes)
    {
        var id = (await fixture.Api.PostUploadAsync(new
        {
            externalId = $"ocr-{Guid.NewGuid():N}"[..24],
            media = new[] { new { kind, fileName, contentBase64 = Convert.ToBase64String(bytes) } },
        })).GetProperty("id").GetString()!;
        var upload = await fixture.Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(180));
        upload.GetProperty("status").GetString().Should().NotBe("queued", upload.ToString());
        return upload;
    }

    private static System.Text.Json.JsonElement Violence(System.Text.Json.JsonElement upload) =>
        upload.GetProperty("scores").EnumerateArray().Single(s => s.GetProperty("category").GetString() == "harm.violence" && !s.GetProperty("shadow").GetBoolean());

    [Fact]
    public async Task A_threat_written_on_an_image_with_no_caption_reaches_review_through_the_text_scorer_with_the_read_text_as_the_reason()
    {
        var threat = TextPictures.Render(["I know where you live and", "I am going to stab you tonight"], "DejaVuSans-Bold.ttf", 36, TextPictures.Background.Photo);
        var upload = await UploadAndWaitAsync("image", "meme.png", threat);
        upload.GetProperty("status").GetString().Should().BeOneOf(["in_review", "actioned"], upload.ToString());
        // The category that sent it to review was scored by the text scorer, and its reason quotes the text read in the image.
        var routed = upload.GetProperty("routing").GetProperty("categories").EnumerateArray().Where(c => c.GetProperty("outcome").GetString() != "allow").ToList();
        routed.Should().NotBeEmpty(upload.ToString());
        foreach (var route in routed)
        {
            var score = upload.GetProperty("scores").EnumerateArray().Single(s => s.GetProperty("category").GetString() == route.GetProperty("category").GetString()
                && s.GetProperty("modelVersion").GetString() == route.GetProperty("modelVersion").GetString());
            score.GetProperty("scorer").GetString().Should().Be("text");
            // (A parent category's first line may say it was raised to its sub-category; the read text is named after it.)
            score.GetProperty("explanations").EnumerateArray().Select(e => e.GetString())
                .Should().Contain(e => e!.Contains("[text in image]") && e.Contains("stab you tonight"), score.ToString());
        }
        var frame = upload.GetProperty("media")[0].GetProperty("frames")[0];
        frame.GetProperty("frame").GetInt32().Should().Be(0);
        frame.GetProperty("text").GetString().Should().Contain("stab you tonight");
        frame.GetProperty("textConfidence").GetDouble().Should().BeGreaterThan(60);

        var calm = TextPictures.Render(["Lovely morning walk with", "my dog in the park"], "DejaVuSerif.ttf", 32, TextPictures.Background.Gradient);
        var allowed = await UploadAndWaitAsync("image", "walk.png", calm);
        allowed.GetProperty("status").GetString().Should().Be("allowed", allowed.ToString());
    }

    [Fact]
    public async Task Text_burnt_into_a_video_is_read_at_the_frame_it_appears_in()
    {
        var picture = TextPictures.Render(["I know where you live and", "I am going to stab you tonight"], "DejaVuSans.ttf", 40, TextPictures.Background.White);
        var video = TestMedia.StillVideo(picture, 2, scratch);
        var upload = await UploadAndWaitAsync("video", "clip.mp4", video);
        var frames = upload.GetProperty("media")[0].GetProperty("frames").EnumerateArray().ToList();
        frames.Where(f => f.TryGetProperty("text", out var t) && t.GetString() is { } s && s.Contains("stab you tonight"))
            .Select(f => f.GetProperty("positionMs").GetInt64()).Should().NotBeEmpty();
        Violence(upload).GetProperty("explanations")[0].GetString().Should().Contain("[text in image]");
        upload.GetProperty("status").GetString().Should().BeOneOf(["in_review", "actioned"], upload.ToString());
    }

    [Fact]
    public async Task An_upload_whose_media_says_nothing_gets_no_text_score_from_its_pictures()
    {
        var blank = TestMedia.Encode(SyntheticPhotos.Photo(31), SkiaSharp.SKEncodedImageFormat.Jpeg, 80);
        var upload = await UploadAndWaitAsync("image", "photo.jpg", blank);
        var frame = upload.GetProperty("media")[0].GetProperty("frames")[0];
        (frame.GetProperty("text").GetString() ?? "").Length.Should().BeLessThan(20, "a photograph without writing reads as (almost) nothing");
    }

    public void Dispose()
    {
        try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
    }
}

[Collection(Moderation.Tests.Infrastructure.HostCollection.Name)]
public sealed class SqliteOcrPipelineTests(SqliteOcrApiFixture fixture) : OcrPipelineContract<SqliteOcrApiFixture>(fixture), IClassFixture<SqliteOcrApiFixture>;

[Collection(Moderation.Tests.Infrastructure.HostCollection.Name)]
public sealed class PostgresOcrPipelineTests(PostgresOcrApiFixture fixture) : OcrPipelineContract<PostgresOcrApiFixture>(fixture), IClassFixture<PostgresOcrApiFixture>;

/// <summary>OCR on, Tesseract not installed and not required (the default on a machine with only the .NET SDK).</summary>
public sealed class MissingTesseractApiFixture() : Moderation.Tests.Infrastructure.ApiFixture(Moderation.Core.Storage.DatabaseProvider.Sqlite)
{
    protected override IDictionary<string, string?> HostSettings => new Dictionary<string, string?>(Settings)
    {
        ["Moderation:Limits:MaxMediaBytes"] = "2097152",
        ["Moderation:Limits:MaxRequestBytes"] = "16777216",
        ["Moderation:Scoring:Ocr:Enabled"] = "true",
        ["Moderation:Scoring:Ocr:TesseractPath"] = "/nonexistent/tesseract",
    };
}

/// <summary>Without Tesseract, media is still scored; each item says its text was not read, and readiness says OCR is degraded.</summary>
[Collection(Moderation.Tests.Infrastructure.HostCollection.Name)]
public sealed class MissingTesseractTests(MissingTesseractApiFixture fixture) : IClassFixture<MissingTesseractApiFixture>
{
    [Fact]
    public async Task An_image_is_scored_without_its_text_and_says_why_and_readiness_reports_OCR_degraded()
    {
        var picture = TextPictures.Render(["Meet me at the station"], "DejaVuSans.ttf", 32, TextPictures.Background.White);
        var id = (await fixture.Api.PostUploadAsync(new
        {
            externalId = $"no-ocr-{Guid.NewGuid():N}"[..24],
            caption = "station meetup",
            media = new[] { new { kind = "image", fileName = "sign.png", contentBase64 = Convert.ToBase64String(picture) } },
        })).GetProperty("id").GetString()!;
        var upload = await fixture.Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(120));
        upload.GetProperty("status").GetString().Should().NotBe("queued").And.NotBe("failed", upload.ToString());
        var frames = upload.GetProperty("media")[0].GetProperty("frames").EnumerateArray().ToList();
        frames.Select(f => f.TryGetProperty("textProblem", out var p) ? p.GetString() : null)
            .Should().Contain(p => p != null && p.StartsWith("text not read: tesseract is not at /nonexistent/tesseract"), upload.ToString());

        var ready = await fixture.Api.Client.GetAsync("/readyz");
        var body = await ready.Content.ReadAsStringAsync();
        body.Should().Contain("ocr").And.Contain("Degraded").And.Contain("text in images is not read");
    }
}
