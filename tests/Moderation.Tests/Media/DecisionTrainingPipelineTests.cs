using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;
using Moderation.Core.Media;
using Moderation.Core.Models;
using Moderation.Core.Review;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Tests.Infrastructure;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>The image API host with a policy that sends every harm.violence score to review (nothing is actioned automatically).</summary>
public sealed class ReviewEverythingImageApiFixture() : ImageApiFixture(DatabaseProvider.Sqlite)
{
    protected override IDictionary<string, string?> HostSettings => new Dictionary<string, string?>(base.HostSettings)
    {
        ["Moderation:Policy:Categories:harm.violence:Review"] = "0",
        ["Moderation:Policy:Categories:harm.violence:Action"] = "1",
    };
}

/// <summary>
/// The whole loop once: uploads through the API, scored by the image scorer in the Hangfire job (which stores every
/// frame's ResNet18 embedding), routed to review, decided by a moderator, then a head trained from those decisions on
/// the stored embeddings alone.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class DecisionTrainingPipelineTests(ReviewEverythingImageApiFixture fixture) : IClassFixture<ReviewEverythingImageApiFixture>, IDisposable
{
    private readonly string scratch = Directory.CreateTempSubdirectory("moderation-decision-pipeline-").FullName;

    private static object Media(string kind, string fileName, byte[] bytes) => new { kind, fileName, contentBase64 = Convert.ToBase64String(bytes) };

    [Fact]
    public async Task Decisions_on_scored_uploads_train_a_head_from_the_embeddings_the_image_scorer_stored()
    {
        var api = fixture.Api;
        // A live custom model gives every upload a harm.violence score, so the policy sends each one to review.
        var manifest = TestImageModels.RedDetectorManifest(version: "e2e");
        await api.Services.GetRequiredService<ModelRegistry>().RegisterAsync("harm.violence", ImageModelManifest.Parse(manifest).RegistryVersion,
            ImageScorer.CustomKind, manifest, "{}", CustomImageModel.Package(TestImageModels.RedDetector(), manifest), ModelStates.Live, "tester", CancellationToken.None);

        var uploads = new List<(string Id, bool Warm)>();
        for (var i = 0; i < 6; i++)
            foreach (var warm in new[] { true, false })
            {
                var media = new List<object> { Media("image", "scene.jpg", TestImageModels.Scene(warm, 700 + i, 320, 240)) };
                // The first of each class also carries a 2-second video: 1 + 4 frames at 2 frames a second.
                if (i == 0) media.Add(Media("video", "clip.mp4", TestMedia.StillVideo(TestImageModels.Scene(warm, 750, 320, 240, SKEncodedImageFormat.Png), 2, scratch)));
                var body = new { externalId = $"e2e-{(warm ? "w" : "c")}{i}-{Guid.NewGuid():N}"[..30], caption = "clip", media };
                uploads.Add(((await api.PostUploadAsync(body)).GetProperty("id").GetString()!, warm));
            }
        foreach (var (id, _) in uploads)
        {
            var routed = await WaitUntilDecidedByPolicyAsync(api, id);
            routed.GetProperty("status").GetString().Should().Be(UploadStatus.InReview, routed.ToString());
        }
        var stored = await api.Services.GetRequiredService<UploadEmbeddings>().ForUploadAsync(uploads[0].Id, CancellationToken.None);
        stored.Where(e => e.Embedding.Kind == "image").Should().HaveCount(5).And.OnlyContain(e => e.Embedding.Model == ImageEmbedder.EmbeddingModel);

        var queue = api.Services.GetRequiredService<ReviewQueue>();
        var decisions = api.Services.GetRequiredService<ReviewDecisions>();
        var moderator = new Reviewer("u-e2e", "e2e", [ReviewRoles.Moderator]);
        foreach (var (id, warm) in uploads)
        {
            (await queue.ClaimAsync(moderator, id, ReviewTaskKind.Review, CancellationToken.None)).Should().NotBeNull();
            await decisions.DecideAsync(moderator, id, ReviewTaskKind.Review, warm ? ReviewAction.Remove : ReviewAction.Allow,
                warm ? "graphic-violence" : "no-violation", null, null, CancellationToken.None);
        }

        var set = await new DecidedImageExamples(api.Database).LoadAsync(null, CancellationToken.None);
        set.Uploads.Should().HaveCount(12);
        set.Uploads.Sum(u => u.Frames.Count).Should().Be(12 + 2 * 4);
        var outcome = ImageHeadsFromDecisions.Train(set, Path.Combine(scratch, "heads"), minExamples: 4);

        var head = outcome.Trained.Should().ContainSingle().Subject;
        head.ValidationUploads.Should().HaveCount(4).And.NotIntersectWith(head.TrainingUploads);
        head.Report.RocAuc.Should().Be(1.0, head.Report.Format());
        JsonDocument.Parse(HeadFiles.ReadPackage(Path.Combine(scratch, "heads"), "harm.violence").CardJson).RootElement
            .GetProperty("trainingFile").GetString().Should().Be("moderator decisions");
    }

    private static async Task<JsonElement> WaitUntilDecidedByPolicyAsync(TestApi api, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(180);
        while (true)
        {
            var upload = await api.GetUploadAsync(id);
            if (upload.GetProperty("status").GetString() is not (UploadStatus.Queued or UploadStatus.Scored) || DateTime.UtcNow > deadline) return upload;
            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
    }
}
