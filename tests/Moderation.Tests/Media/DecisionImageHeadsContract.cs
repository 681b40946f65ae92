using System.Collections.Concurrent;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Media;
using Moderation.Core.Review;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Review;

namespace Moderation.Tests.Media;

/// <summary>One upload to seed: a warm (1) or cool (0) generated scene, shown in <see cref="Frames"/> frames; the decision taken on it.</summary>
public sealed record DecidedScene(bool Warm, int Seed, int Frames, string Queue, string Action, string ReasonCode, string? EmbeddingModel = ImageEmbedder.EmbeddingModel);

/// <summary>
/// Decided uploads put in a real database through the real paths: the upload routed to review (<see cref="ReviewSeed"/>),
/// the ResNet18 embedding of every frame stored by <see cref="UploadEmbeddings"/> as the image scorer's writer stores
/// them, the task claimed and decided by a moderator through <see cref="ReviewQueue"/> and <see cref="ReviewDecisions"/>.
/// </summary>
public sealed class DecisionSeeder
{
    public static readonly Reviewer Alice = new("u-alice", "alice", [ReviewRoles.Moderator]);
    public static readonly Reviewer Bob = new("u-bob", "bob", [ReviewRoles.Moderator]);
    public static readonly Reviewer Sam = new("u-sam", "sam", [ReviewRoles.Senior]);

    private static readonly ConcurrentDictionary<(bool Warm, int Seed), float[]> Vectors = new();
    private static readonly Lock EmbedLock = new();

    public DecisionSeeder(ModerationDatabase database)
    {
        Database = database;
        var options = Options.Create(new ReviewOptions { QualitySampleRate = 0, ExposureCapPerDay = 0 });
        Queue = new ReviewQueue(database, options, Clock);
        Decisions = new ReviewDecisions(database, options, new ReviewTasks(database, options, Clock), Clock);
        Embeddings = new UploadEmbeddings(database, Clock);
    }

    public ModerationDatabase Database { get; }
    public ManualClock Clock { get; } = new(new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero));
    public ReviewQueue Queue { get; }
    public ReviewDecisions Decisions { get; }
    public UploadEmbeddings Embeddings { get; }

    public static async Task<DecisionSeeder> MigratedAsync(TestDatabase test)
    {
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return new DecisionSeeder(test.Database);
    }

    /// <summary>Real ResNet18 embeddings (L2-normalised, as stored) of generated scenes, each embedded once per test run.</summary>
    public static IReadOnlyList<float[]> Embed(IReadOnlyList<(bool Warm, int Seed)> scenes)
    {
        lock (EmbedLock)
        {
            var missing = scenes.Distinct().Where(s => !Vectors.ContainsKey(s)).ToList();
            if (missing.Count > 0)
            {
                using var embedder = new ImageEmbedder();
                var vectors = embedder.EmbedFiles(missing.Select(s => TestImageModels.Scene(s.Warm, s.Seed)).ToList());
                for (var i = 0; i < missing.Count; i++) Vectors[missing[i]] = ImageEmbedder.Normalized(vectors[i]);
            }
        }
        return scenes.Select(s => Vectors[s]).ToList();
    }

    /// <summary>Seeds the uploads, then decides each in order, a minute apart; returns their ids in the same order.</summary>
    public async Task<List<string>> DecideAsync(IReadOnlyList<DecidedScene> scenes)
    {
        var vectors = Embed(scenes.SelectMany(FrameScenes).ToList());
        var ids = new List<string>();
        var next = 0;
        foreach (var scene in scenes)
        {
            var id = (await ReviewSeed.InReviewAsync(Database, 1, scene.Queue, routedAtMs: Clock.Now.ToUnixTimeMilliseconds())).Single();
            var frames = vectors.Skip(next).Take(scene.Frames).ToList();
            next += scene.Frames;
            if (scene.EmbeddingModel is { } model)
                await Embeddings.StoreAsync(id, frames.Select((v, f) => new UploadEmbedding("image", model, 0, scene.Frames > 1 ? f : null, v)).ToList(),
                    CancellationToken.None);
            ids.Add(id);
        }
        for (var i = 0; i < scenes.Count; i++)
        {
            Clock.Now += TimeSpan.FromMinutes(1);
            await DecideOneAsync(Alice, ids[i], ReviewTaskKind.Review, scenes[i].Action, scenes[i].ReasonCode);
        }
        return ids;
    }

    public async Task DecideOneAsync(Reviewer reviewer, string uploadId, string kind, string action, string reasonCode)
    {
        var lease = await Queue.ClaimAsync(reviewer, uploadId, kind, CancellationToken.None);
        lease.Should().NotBeNull($"{reviewer.Name} can claim {kind} {uploadId}");
        await Decisions.DecideAsync(reviewer, uploadId, kind, action, reasonCode, null, null, CancellationToken.None);
    }

    /// <summary>A removal appealed, then upheld or overturned by someone else.</summary>
    public async Task AppealAsync(string uploadId, bool overturn)
    {
        Clock.Now += TimeSpan.FromMinutes(1);
        await Decisions.SubmitAppealAsync("key-creator", uploadId, "This is a film set, not real violence.", CancellationToken.None);
        Clock.Now += TimeSpan.FromMinutes(1);
        await DecideOneAsync(Bob, uploadId, ReviewTaskKind.Appeal, overturn ? ReviewAction.Overturn : ReviewAction.Uphold,
            overturn ? "new-context" : "decision-correct");
    }

    /// <summary>The scenes of an upload's frames: frame f of a multi-frame upload is its own picture of the same class.</summary>
    private static IEnumerable<(bool, int)> FrameScenes(DecidedScene scene) => Enumerable.Range(0, scene.Frames).Select(f => (scene.Warm, scene.Seed * 10 + f));

    public static DecidedScene Violent(int seed, int frames = 1) => new(true, seed, frames, "harm.violence", ReviewAction.Remove, "graphic-violence");
    public static DecidedScene Calm(int seed, int frames = 1) => new(false, seed, frames, "harm.violence", ReviewAction.Allow, "no-violation");

    /// <summary>30 violent and 30 calm uploads, every fourth shown in three frames (a video's), interleaved in decision order.</summary>
    public static List<DecidedScene> Balanced(int perClass = 30, int seed = 1000) =>
        Enumerable.Range(0, perClass).SelectMany(i => new[] { Violent(seed + i, i % 4 == 0 ? 3 : 1), Calm(seed + i, i % 4 == 1 ? 3 : 1) }).ToList();
}

/// <summary>
/// <c>train-images --from-decisions</c> in the library: which decision stands on an upload (appeals, escalations, other
/// categories), training per category on stored ResNet18 embeddings with the split by upload, and a clear refusal when
/// nothing can be trained. Against a real database, once per provider.
/// </summary>
public abstract class DecisionImageHeadsContract(DatabaseProvider provider) : IDisposable
{
    private readonly string output = Directory.CreateTempSubdirectory("moderation-decision-heads-").FullName;

    [Fact]
    public async Task A_head_trained_from_decisions_separates_held_back_uploads_and_never_splits_an_upload()
    {
        await using var test = await TestDatabase.CreateAsync(provider);
        var seed = await DecisionSeeder.MigratedAsync(test);
        var scenes = DecisionSeeder.Balanced();
        // Three hate-speech removals: too few for a harm.hate head, and not examples for harm.violence either way.
        scenes.AddRange(Enumerable.Range(0, 3).Select(i => new DecidedScene(true, 2000 + i, 1, "harm.hate", ReviewAction.Remove, "hate-speech")));
        var ids = await seed.DecideAsync(scenes);
        var multiFrame = ids.Where((_, i) => scenes[i].Frames > 1).ToHashSet();

        var set = await new DecidedImageExamples(test.Database).LoadAsync(null, CancellationToken.None);
        set.DecidedUploads.Should().Be(63);
        set.Uploads.Should().HaveCount(63);
        var outcome = ImageHeadsFromDecisions.Train(set, output);

        var head = outcome.Trained.Should().ContainSingle().Subject;
        head.Report.Category.Should().Be("harm.violence");
        outcome.Skipped.Should().ContainSingle().Which.Should().Be(
            "harm.hate: 3 positive and 30 negative uploads (30 actioned for other categories only, left out): needs at least 20 of each (--min-examples)");

        // Split by upload: every fifth of each class held back with all its frames; the hate removals are in neither.
        head.ValidationUploads.Should().HaveCount(12).And.NotIntersectWith(head.TrainingUploads);
        head.TrainingUploads.Concat(head.ValidationUploads).Should().BeEquivalentTo(ids.Take(60));
        head.ValidationUploads.Should().Contain(u => multiFrame.Contains(u), "a video's frames are held back together");
        (head.TrainingFrames + head.ValidationFrames).Should().Be(scenes.Take(60).Sum(s => s.Frames));
        head.ValidationFrames.Should().Be(scenes.Take(60).Where((_, i) => head.ValidationUploads.Contains(ids[i])).Sum(s => s.Frames));
        head.Report.ValidationPositives.Should().Be(6);
        head.Report.RocAuc.Should().BeGreaterThanOrEqualTo(0.95, head.Report.Format());

        // The files models register reads, with a card that says where the head came from.
        var package = HeadFiles.ReadPackage(output, "harm.violence");
        package.Card.TrainingFile.Should().Be("moderator decisions");
        package.Card.Embedder.Should().Be(ImageEmbedder.ModelName);
        package.Card.ModelVersion.Should().MatchRegex(@"^harm\.violence-image-\d{8}-[0-9a-f]{8}$");
        package.Card.Decisions!.PositiveUploads.Should().Be(30);
        package.Card.Decisions.NegativeUploads.Should().Be(30);
        package.Card.Decisions.EmbeddingModel.Should().Be("resnet18");
        package.Card.Decisions.FirstDecision.Should().Be(seed.Clock.Now - TimeSpan.FromMinutes(62));
        package.Card.Decisions.LastDecision.Should().Be(seed.Clock.Now - TimeSpan.FromMinutes(3));
        JsonDocument.Parse(package.CardJson).RootElement.GetProperty("decisions").GetProperty("positiveUploads").GetInt32().Should().Be(30);
        using var zip = new MemoryStream(package.Artifact);
        var loaded = ImageHead.Load(zip);
        var fresh = DecisionSeeder.Embed([(true, 90_001), (false, 90_001)]);
        loaded.Predict(fresh[0]).Should().BeGreaterThan(loaded.Predict(fresh[1]), "a new violent scene scores above a new calm one");

        // --category: only the named ones; a parent category takes its sub-categories' violations (harm.hate is harm).
        var chosen = ImageHeadsFromDecisions.Train(set, Path.Combine(output, "chosen"), only: ["harm", "harm.sexual"]);
        chosen.Trained.Should().ContainSingle().Which.Card.Decisions!.PositiveUploads.Should().Be(33);
        chosen.Skipped.Should().Equal("harm.sexual: no standing decision on an upload with images found a violation of it");

        // --since keeps only uploads whose standing decision is that recent.
        var recent = await new DecidedImageExamples(test.Database).LoadAsync(seed.Clock.Now - TimeSpan.FromMinutes(9.5), CancellationToken.None);
        recent.Uploads.Select(u => u.Verdict.UploadId).Should().BeEquivalentTo(ids.TakeLast(10));
        var future = await new DecidedImageExamples(test.Database).LoadAsync(seed.Clock.Now + TimeSpan.FromDays(1), CancellationToken.None);
        var none = () => ImageHeadsFromDecisions.Train(future, output);
        none.Should().Throw<DecisionTrainingException>().WithMessage("There are no moderator decisions decided since 2026-*");
    }

    [Fact]
    public async Task The_standing_decision_labels_an_upload_after_appeals_escalations_and_for_other_categories()
    {
        await using var test = await TestDatabase.CreateAsync(provider);
        var seed = await DecisionSeeder.MigratedAsync(test);
        var ids = await seed.DecideAsync([
            DecisionSeeder.Violent(1), // 0: removed, appeal overturned: allowed
            DecisionSeeder.Violent(2), // 1: removed, appeal upheld: a violation
            DecisionSeeder.Calm(3), // 2: allowed
            new DecidedScene(true, 4, 1, "harm.hate", ReviewAction.Label, "sensitive-content"), // 3: actioned for harm.hate only
            new DecidedScene(true, 5, 2, "harm.violence", ReviewAction.AgeRestrict, "mild-violence", EmbeddingModel: null), // 4: no image embeddings
            new DecidedScene(true, 6, 1, "harm.violence", ReviewAction.Remove, "graphic-violence", EmbeddingModel: "clip-vit-b32"), // 5: another model only
        ]);
        await seed.AppealAsync(ids[0], overturn: true);
        await seed.AppealAsync(ids[1], overturn: false);
        // 6: escalated by a moderator, then removed by a senior; 7: escalated and never decided.
        var escalated = (await ReviewSeed.InReviewAsync(seed.Database, 2, "harm.violence", routedAtMs: seed.Clock.Now.ToUnixTimeMilliseconds())).ToList();
        foreach (var id in escalated)
            await seed.Embeddings.StoreAsync(id, [new UploadEmbedding("image", ImageEmbedder.EmbeddingModel, 0, null, DecisionSeeder.Embed([(true, 7)])[0])], CancellationToken.None);
        foreach (var id in escalated) await seed.DecideOneAsync(DecisionSeeder.Alice, id, ReviewTaskKind.Review, ReviewAction.Escalate, "unsure");
        await seed.DecideOneAsync(DecisionSeeder.Sam, escalated[0], ReviewTaskKind.Review, ReviewAction.Remove, "graphic-violence");

        var set = await new DecidedImageExamples(test.Database).LoadAsync(null, CancellationToken.None);

        set.DecidedUploads.Should().Be(7, "every upload but the one still escalated");
        set.WithoutImages.Should().Be(1);
        set.OnlyOtherModels.Should().Equal(new Dictionary<string, int> { ["clip-vit-b32"] = 1 });
        var verdicts = set.Uploads.ToDictionary(u => u.Verdict.UploadId, u => u.Verdict);
        verdicts.Keys.Should().BeEquivalentTo([ids[0], ids[1], ids[2], ids[3], escalated[0]]);
        bool? Violence(string id) => StandingVerdicts.Label(verdicts[id], "harm.violence");
        Violence(ids[0]).Should().BeFalse("the overturn is the standing decision: the item is fine");
        verdicts[ids[0]].Action.Should().Be(ReviewAction.Overturn);
        Violence(ids[1]).Should().BeTrue("an upheld removal stands");
        verdicts[ids[1]].Action.Should().Be(ReviewAction.Remove);
        Violence(ids[2]).Should().BeFalse();
        Violence(ids[3]).Should().BeNull("a harm.hate label says nothing about violence");
        StandingVerdicts.Label(verdicts[ids[3]], "harm.hate").Should().BeTrue();
        StandingVerdicts.Label(verdicts[ids[3]], "harm").Should().BeTrue("harm.hate is harm");
        Violence(escalated[0]).Should().BeTrue("the senior's removal after the escalation stands");
        verdicts[escalated[0]].Categories.Should().Equal("harm.violence");
        StandingVerdicts.Categories(verdicts.Values).Should().Equal("harm.hate", "harm.violence");

        var small = () => ImageHeadsFromDecisions.Train(set, output, minExamples: 3);
        small.Should().Throw<DecisionTrainingException>().Which.Message.Should().Be(string.Join("\n  ",
            "No image head was trained from 5 decided uploads with images:",
            "harm.hate: 1 positive and 2 negative uploads (2 actioned for other categories only, left out): needs at least 3 of each (--min-examples)",
            "harm.violence: 2 positive and 2 negative uploads (1 actioned for other categories only, left out): needs at least 3 of each (--min-examples)",
            "1 decided upload(s) have no image embeddings (no images, or not scored by the image scorer): left out",
            "1 decided upload(s) have image embeddings only from model 'clip-vit-b32', not 'resnet18' (the running embedder): left out, since vectors of different models are never mixed; rescore them to use them"));
    }

    [Fact]
    public async Task Nothing_to_train_on_is_refused_with_the_reason()
    {
        await using var test = await TestDatabase.CreateAsync(provider);
        var seed = await DecisionSeeder.MigratedAsync(test);
        var examples = new DecidedImageExamples(test.Database);
        async Task<string> RefusalAsync(int minExamples = 2)
        {
            var set = await examples.LoadAsync(null, CancellationToken.None);
            var train = () => ImageHeadsFromDecisions.Train(set, output, minExamples);
            return train.Should().Throw<DecisionTrainingException>().Which.Message;
        }

        (await RefusalAsync()).Should().StartWith("There are no moderator decisions to train on");

        // Decided uploads whose vectors come from another model only: named, never mixed in.
        await seed.DecideAsync([DecisionSeeder.Violent(1) with { EmbeddingModel = "clip-vit-b32" }, DecisionSeeder.Calm(1) with { EmbeddingModel = "clip-vit-b32" }]);
        (await RefusalAsync()).Should().Be("None of the 2 uploads with a standing decision has resnet18 image embeddings.\n  "
            + "2 decided upload(s) have image embeddings only from model 'clip-vit-b32', not 'resnet18' (the running embedder): left out, since vectors of different models are never mixed; rescore them to use them");

        // Only allowed uploads: no category to train.
        await seed.DecideAsync([DecisionSeeder.Calm(2), DecisionSeeder.Calm(3)]);
        (await RefusalAsync()).Should().StartWith("All 2 decided uploads with images were allowed: no decision found a violation");

        // Violations of a category, and no upload with images ever allowed alongside: one class.
        await using var other = await TestDatabase.CreateAsync(provider);
        var onlyViolations = await DecisionSeeder.MigratedAsync(other);
        await onlyViolations.DecideAsync([DecisionSeeder.Violent(4), DecisionSeeder.Violent(5), DecisionSeeder.Violent(6)]);
        var set = await new DecidedImageExamples(other.Database).LoadAsync(null, CancellationToken.None);
        var oneClass = () => ImageHeadsFromDecisions.Train(set, output, 2);
        oneClass.Should().Throw<DecisionTrainingException>().Which.Message.Should().Be(
            "No image head was trained from 3 decided uploads with images:\n  harm.violence: 3 positive and 0 negative uploads: a head needs both classes, and no decided upload with images was allowed");
        Directory.EnumerateFiles(output).Should().BeEmpty("nothing is written when nothing is trained");
    }

    public void Dispose()
    {
        try { Directory.Delete(output, recursive: true); } catch (IOException) { }
    }
}

public sealed class SqliteDecisionImageHeadsTests() : DecisionImageHeadsContract(DatabaseProvider.Sqlite);
public sealed class PostgresDecisionImageHeadsTests() : DecisionImageHeadsContract(DatabaseProvider.Postgres);

/// <summary>The split and labelling rules on their own.</summary>
public sealed class DecisionSplitTests
{
    private static DecidedUpload Upload(string id, int minute, bool violation, int frames) =>
        new(new StandingVerdict(id, "d-" + id, violation ? ReviewAction.Remove : ReviewAction.Allow, violation, ["harm.violence"],
            DateTimeOffset.UnixEpoch.AddMinutes(minute)), Enumerable.Range(0, frames).Select(_ => new float[ImageEmbedder.Dimensions]).ToList());

    [Fact]
    public void Every_fifth_upload_of_each_class_is_held_back_with_all_its_frames()
    {
        var uploads = Enumerable.Range(0, 23).Select(i => (Upload($"u{i:00}", 100 - i, i % 2 == 0, 1 + i % 3), i % 2 == 0)).ToList();
        var (train, validation) = ImageHeadsFromDecisions.SplitByUpload(uploads);
        train.Count.Should().Be(23 - validation.Count);
        validation.Select(v => v.Upload.Verdict.UploadId).Should().NotIntersectWith(train.Select(t => t.Upload.Verdict.UploadId));
        // In decision order (the latest upload, u22, was decided first): positives u22, u12, u02; negatives u21, u11, u01.
        validation.Select(v => v.Upload.Verdict.UploadId).Should().BeEquivalentTo("u22", "u12", "u02", "u21", "u11", "u01");
    }

    [Fact]
    public void A_frame_weight_counts_as_the_frame_repeated()
    {
        var scenes = Enumerable.Range(0, 8).SelectMany(i => new[] { (true, 500 + i), (false, 500 + i) }).ToList();
        var vectors = DecisionSeeder.Embed(scenes);
        var labels = scenes.Select(s => s.Item1).ToList();
        var weighted = ImageHead.Train(vectors, labels, weights: vectors.Select((_, i) => i == 0 ? 3f : 1f).ToList());
        var repeated = ImageHead.Train([vectors[0], vectors[0], .. vectors], [labels[0], labels[0], .. labels]);
        var plain = ImageHead.Train(vectors, labels);
        var probes = DecisionSeeder.Embed([(true, 600), (false, 600), (true, 601)]).Append(vectors[0]).ToList();
        foreach (var probe in probes)
            weighted.Predict(probe).Should().BeApproximately(repeated.Predict(probe), 1e-3);
        Math.Abs(weighted.Predict(vectors[0]) - plain.Predict(vectors[0])).Should().BeGreaterThan(1e-3, "the weight changes the head");
    }

    [Fact]
    public void An_overturned_decision_gives_way_to_the_overturn_and_an_upheld_one_stands()
    {
        var t0 = DateTimeOffset.UnixEpoch;
        HumanDecision D(string id, string upload, string kind, string action, int minute, bool retracted = false) =>
            new(id, upload, kind, action, t0.AddMinutes(minute), retracted, ["harm.violence"]);
        var verdicts = StandingVerdicts.From([
            D("a1", "a", ReviewTaskKind.Review, ReviewAction.Remove, 1, retracted: true), D("a2", "a", ReviewTaskKind.Appeal, ReviewAction.Overturn, 2),
            D("b1", "b", ReviewTaskKind.Review, ReviewAction.Remove, 1), D("b2", "b", ReviewTaskKind.Appeal, ReviewAction.Uphold, 2),
            D("c1", "c", ReviewTaskKind.Review, ReviewAction.Escalate, 1),
            D("d1", "d", ReviewTaskKind.Review, ReviewAction.Allow, 1), D("d2", "d", ReviewTaskKind.Quality, ReviewAction.Remove, 2),
        ]).ToDictionary(v => v.UploadId);
        verdicts.Keys.Should().BeEquivalentTo("a", "b", "d");
        verdicts["a"].Violation.Should().BeFalse();
        verdicts["b"].DecisionId.Should().Be("b1");
        verdicts["d"].Violation.Should().BeFalse("a blind quality sample is never applied");
    }
}
