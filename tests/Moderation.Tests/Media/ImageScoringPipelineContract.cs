using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Media;
using Moderation.Core.Models;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Training.Images;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>The API host with both media scorers on (hash matching and image classification) and no other scorer.</summary>
public abstract class ImageApiFixture(DatabaseProvider provider) : ApiFixture(provider)
{
    protected override bool WithScorer => false;

    /// <summary>Whether the host registers the shipped nsfwjs model (off here: these tests check the mechanism with their own models).</summary>
    protected virtual bool ShippedModels => false;

    protected override IDictionary<string, string?> HostSettings => new Dictionary<string, string?>(Settings)
    {
        ["Moderation:Limits:MaxMediaBytes"] = "2097152",
        ["Moderation:Limits:MaxRequestBytes"] = "16777216",
        ["Moderation:Scoring:Media:Enabled"] = "true",
        ["Moderation:Scoring:Images:Enabled"] = "true",
        ["Moderation:Scoring:Images:RegisterShippedModels"] = ShippedModels ? "true" : "false",
        // Read the registry's change stamp on every batch, so a model registered by the test scores the next upload.
        ["Moderation:Scoring:Images:RefreshInterval"] = "00:00:00",
        ["Moderation:Scoring:Media:Video:FramesPerSecond"] = "2",
    };
}

public sealed class SqliteImageApiFixture() : ImageApiFixture(DatabaseProvider.Sqlite);
public sealed class PostgresImageApiFixture() : ImageApiFixture(DatabaseProvider.Postgres);

/// <summary>The same host with the shipped image models registered at start-up, as a deployment has them.</summary>
public sealed class SqliteShippedImageApiFixture() : ImageApiFixture(DatabaseProvider.Sqlite)
{
    protected override bool ShippedModels => true;
}

/// <summary>
/// Uploads with images and videos go through the real API host and the Hangfire job: frames are embedded with ResNet18
/// and scored by the registry's image heads and custom ONNX models (trained and built in the test: the mechanism, not a
/// shipped model), each category by its highest frame, with per-frame evidence in the upload's status. Once per provider.
/// </summary>
public abstract class ImageScoringPipelineContract<TFixture>(TFixture fixture) : IDisposable where TFixture : ImageApiFixture
{
    private readonly string scratch = Directory.CreateTempSubdirectory("moderation-image-pipeline-").FullName;

    private TestApi Api => fixture.Api;

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private static object Media(string kind, string fileName, byte[] bytes) => new { kind, fileName, contentBase64 = Convert.ToBase64String(bytes) };

    private async Task<JsonElement> UploadAndWaitAsync(params object[] media)
    {
        var id = (await Api.PostUploadAsync(new { externalId = Unique("image"), caption = "holiday", media })).GetProperty("id").GetString()!;
        var upload = await Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(180));
        upload.GetProperty("status").GetString().Should().NotBe("queued", upload.ToString());
        return upload;
    }

    /// <summary>A head for harm.violence trained with train-images on warm (1) and cool (0) scenes, registered live as models register does.</summary>
    private async Task<string> RegisterTrainedHeadAsync()
    {
        var csv = new StringBuilder("path,category,label\n");
        for (var i = 0; i < 10; i++)
            foreach (var warm in new[] { true, false })
            {
                var name = $"{(warm ? "warm" : "cool")}-{i}.jpg";
                await File.WriteAllBytesAsync(Path.Combine(scratch, name), TestImageModels.Scene(warm, 200 + i));
                csv.Append($"{name},harm.violence,{(warm ? 1 : 0)}\n");
            }
        var labels = Path.Combine(scratch, "labels.csv");
        await File.WriteAllTextAsync(labels, csv.ToString());
        var output = Path.Combine(scratch, "heads");
        using (var embedder = new ImageEmbedder()) ImageHeadTraining.Train(labels, output, embedder);
        var package = HeadFiles.ReadPackage(output, "harm.violence");
        var version = Unique("harm.violence-image");
        var registry = Api.Services.GetRequiredService<ModelRegistry>();
        await registry.RegisterAsync("harm.violence", version, ImageScorer.HeadKind, package.CardJson, package.MetricsJson, package.Artifact, ModelStates.Live,
            "tester", CancellationToken.None);
        return version;
    }

    private async Task<string> RegisterRedDetectorAsync()
    {
        var version = Unique("v");
        var manifest = TestImageModels.RedDetectorManifest(version: version);
        var parsed = ImageModelManifest.Parse(manifest);
        var registry = Api.Services.GetRequiredService<ModelRegistry>();
        await registry.RegisterAsync("harm.violence", parsed.RegistryVersion, ImageScorer.CustomKind, manifest, "{}",
            CustomImageModel.Package(TestImageModels.RedDetector(), manifest), ModelStates.Live, "tester", CancellationToken.None);
        return parsed.RegistryVersion;
    }

    [Fact]
    public async Task Image_heads_and_custom_models_score_every_frame_and_say_which_categories_have_no_image_model()
    {
        // Before any image model exists, nothing is scored from images and the evidence says so.
        var warm = TestImageModels.Scene(true, 900, 320, 240);
        var before = await UploadAndWaitAsync(Media("image", "warm.jpg", warm));
        before.GetProperty("scores").EnumerateArray().Should().NotContain(s => s.GetProperty("scorer").GetString() == ImageScorer.ScorerName);
        var itemNote = before.GetProperty("media")[0].GetProperty("frames").EnumerateArray().Single(f => f.GetProperty("frame").GetInt32() == -1);
        itemNote.GetProperty("scoringProblem").GetString().Should().Contain("no image head for harm.violence, harm.sexual, harm.hate");

        var head = await RegisterTrainedHeadAsync();
        var custom = await RegisterRedDetectorAsync();

        var cool = TestImageModels.Scene(false, 901, 320, 240, SKEncodedImageFormat.Png);
        var truncated = TestImageModels.Scene(true, 902, 320, 240);
        truncated = truncated[..(truncated.Length * 2 / 3)];
        var video = TestMedia.StillVideo(TestImageModels.Scene(true, 903, 320, 240, SKEncodedImageFormat.Png), 2, scratch);
        var upload = await UploadAndWaitAsync(Media("image", "cool.png", cool), Media("image", "warm.jpg", warm), Media("image", "cut.jpg", truncated),
            Media("video", "clip.mp4", video));

        var scores = upload.GetProperty("scores").EnumerateArray().Where(s => s.GetProperty("scorer").GetString() == ImageScorer.ScorerName).ToList();
        scores.Select(s => s.GetProperty("modelVersion").GetString()).Should().BeEquivalentTo([head, custom]);
        scores.Should().OnlyContain(s => s.GetProperty("category").GetString() == "harm.violence");
        foreach (var score in scores)
        {
            score.GetProperty("score").GetDouble().Should().BeGreaterThan(0.5, score.ToString());
            score.GetProperty("explanations")[0].GetString().Should().NotContain("media 0 (", "the cool picture is not the highest frame").And.MatchRegex(@"media [1-3] \((image|video)\)");
            score.GetProperty("explanations").EnumerateArray().Last().GetString().Should().Be("highest of 7 frames", "3 images and 4 video frames");
        }

        var media = upload.GetProperty("media").EnumerateArray().ToList();
        double FrameScore(JsonElement frame, string version) =>
            frame.GetProperty("scores").EnumerateArray().Single(s => s.GetProperty("modelVersion").GetString() == version).GetProperty("score").GetDouble();
        var coolFrame = media[0].GetProperty("frames").EnumerateArray().Single(f => f.GetProperty("frame").GetInt32() == 0);
        var warmFrame = media[1].GetProperty("frames").EnumerateArray().Single(f => f.GetProperty("frame").GetInt32() == 0);
        FrameScore(warmFrame, custom).Should().BeGreaterThan(FrameScore(coolFrame, custom));
        FrameScore(warmFrame, head).Should().BeGreaterThan(FrameScore(coolFrame, head));
        warmFrame.GetProperty("hash").GetString().Should().MatchRegex("^[0-9a-f]{64}$", "the hash-match scorer's evidence sits in the same frame");
        media[1].GetProperty("frames").EnumerateArray().Single(f => f.GetProperty("frame").GetInt32() == -1)
            .GetProperty("scoringProblem").GetString().Should().Be("no image head for harm.sexual, harm.hate: not scored from images");

        var cut = media[2].GetProperty("frames").EnumerateArray().Single(f => f.GetProperty("frame").GetInt32() == 0);
        cut.GetProperty("scoringProblem").GetString().Should().Contain("read only in part");
        cut.GetProperty("scores").GetArrayLength().Should().Be(2, "what could be read is still scored");

        var videoFrames = media[3].GetProperty("frames").EnumerateArray().Where(f => f.GetProperty("frame").GetInt32() >= 0).ToList();
        videoFrames.Select(f => f.GetProperty("positionMs").GetInt64()).Should().Equal(0, 500, 1000, 1500);
        videoFrames.Should().OnlyContain(f => f.GetProperty("scores").GetArrayLength() == 2);
    }

    [Fact]
    public async Task A_corrupt_video_is_recorded_with_its_reason_and_the_upload_is_still_routed()
    {
        var good = File.ReadAllBytes(TestMedia.TestPattern(scratch, 2));
        var corrupt = (byte[])good.Clone();
        new Random(9).NextBytes(corrupt.AsSpan(64));
        var upload = await UploadAndWaitAsync(Media("video", "broken.mp4", corrupt));
        var note = upload.GetProperty("media")[0].GetProperty("frames").EnumerateArray().First(f => f.GetProperty("frame").GetInt32() == -1);
        note.GetProperty("scoringProblem").GetString().Should().MatchRegex("could (not )?be read");
    }

    public void Dispose()
    {
        try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteImageScoringPipelineTests(SqliteImageApiFixture fixture)
    : ImageScoringPipelineContract<SqliteImageApiFixture>(fixture), IClassFixture<SqliteImageApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresImageScoringPipelineTests(PostgresImageApiFixture fixture)
    : ImageScoringPipelineContract<PostgresImageApiFixture>(fixture), IClassFixture<PostgresImageApiFixture>;
