using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Media;
using Moderation.Core.Access;
using Moderation.Core.Policies;
using Moderation.Core.Review;
using Moderation.Core.Scoring;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Review;

namespace Moderation.Tests.Similarity;

/// <summary>Stored vectors and the near-duplicate search over them, against a real database, once per provider.</summary>
public abstract class UploadEmbeddingsContract(DatabaseProvider provider)
{
    private const string Resnet = "resnet18";
    private const string MiniLm = "all-MiniLM-L6-v2";

    private static readonly DialectSql InsertUpload = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, creator_id, caption, hashtags, transcript, comments, locale, status, policy_version,
                             received_at_ms, enqueued_at_ms, routed_at_ms, updated_at_ms)
        VALUES (@Id, @ExternalId, 'creator-1', 'a caption', '[]', NULL, '[]', 'en', @Status, @PolicyVersion, @Now, @Now, @RoutedAt, @Now)
        """);

    private static readonly DialectSql InsertAllowRoute = DialectSql.Portable("""
        INSERT INTO routing_decisions (upload_id, category, policy_version, outcome, score, model_version, reason, review_threshold, action_threshold, decided_at_ms)
        VALUES (@UploadId, 'harm', 'test-policy', 'allow', 0.1, 'test-model', 'seeded', 0.5, 0.9, @Now)
        """);

    private static readonly DialectSql InsertFrame = DialectSql.Portable("""
        INSERT INTO media_frames (upload_id, ordinal, frame, position_ms, hash, quality, matches, problem, created_at_ms)
        VALUES (@UploadId, @Ordinal, @Frame, NULL, @Hash, @Quality, '[]', NULL, @Now)
        """);

    private static readonly DialectSql CountEmbeddings = DialectSql.Portable("SELECT COUNT(*) FROM upload_embeddings WHERE upload_id = @UploadId");

    private async Task<TestDatabase> MigratedAsync()
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return test;
    }

    private static async Task<string> UploadAsync(ModerationDatabase database, string status)
    {
        var id = Guid.CreateVersion7().ToString();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync();
        await connection.ExecuteAsync(database.Sql(InsertUpload), new
        {
            Id = id, ExternalId = "ext-" + id, Status = status, PolicyVersion = status == "queued" ? null : "test-policy", Now = now,
            RoutedAt = status == "queued" ? (long?)null : now,
        });
        if (status == "allowed") await connection.ExecuteAsync(database.Sql(InsertAllowRoute), new { UploadId = id, Now = now });
        return id;
    }

    private static NearDuplicates Search(ModerationDatabase database, UploadEmbeddings store, Action<SimilarityOptions>? configure = null)
    {
        var options = new SimilarityOptions { RefreshInterval = TimeSpan.Zero };
        configure?.Invoke(options);
        return new NearDuplicates(database, store, Options.Create(options), TimeProvider.System, NullLogger<NearDuplicates>.Instance);
    }

    [Fact]
    public async Task Vectors_are_stored_once_per_upload_kind_model_media_and_frame_and_read_back_exactly()
    {
        await using var test = await MigratedAsync();
        var store = new UploadEmbeddings(test.Database, TimeProvider.System);
        var id = await UploadAsync(test.Database, "in_review");
        var random = new Random(1);
        UploadEmbedding[] vectors =
        [
            new("text", MiniLm, null, null, VectorIndexTests.Unit(random, 384)),
            new("image", Resnet, 0, null, VectorIndexTests.Unit(random, 512)),
            new("image", Resnet, 1, 0, VectorIndexTests.Unit(random, 512)),
            new("image", Resnet, 1, 7, VectorIndexTests.Unit(random, 512)),
        ];
        await store.StoreAsync(id, vectors, CancellationToken.None);
        await store.StoreAsync(id, vectors, CancellationToken.None); // a retry

        var read = await store.ForUploadAsync(id, CancellationToken.None);
        read.Should().HaveCount(4);
        foreach (var v in vectors)
        {
            var back = read.Single(r => r.Embedding.Kind == v.Kind && r.Embedding.MediaOrdinal == v.MediaOrdinal && r.Embedding.Frame == v.Frame);
            back.Embedding.Model.Should().Be(v.Model);
            back.Embedding.Vector.Should().Equal(v.Vector, "float32 bytes round-trip exactly");
            back.UploadId.Should().Be(id);
        }
        (await store.LatestSeqAsync("image", Resnet, CancellationToken.None)).Should().Be(read.Max(r => r.Seq));
    }

    [Fact]
    public async Task Bad_vectors_are_refused_with_the_reason()
    {
        await using var test = await MigratedAsync();
        var store = new UploadEmbeddings(test.Database, TimeProvider.System);
        var id = await UploadAsync(test.Database, "in_review");
        var act = () => store.StoreAsync(id, [new UploadEmbedding("text", MiniLm, null, null, [3f, 4f])], CancellationToken.None);
        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("*not L2-normalised*");
        act = () => store.StoreAsync(id, [new UploadEmbedding("audio", MiniLm, null, null, [1f])], CancellationToken.None);
        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("*kind 'audio'*");
        act = () => store.StoreAsync(id, [new UploadEmbedding("image", Resnet, null, null, [1f])], CancellationToken.None);
        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("*names its media item*");
        act = () => store.StoreAsync(id, [new UploadEmbedding("text", MiniLm, null, null, [float.NaN])], CancellationToken.None);
        (await act.Should().ThrowAsync<ArgumentException>()).WithMessage("*not finite*");
        (await store.ForUploadAsync(id, CancellationToken.None)).Should().BeEmpty();
    }

    [Fact]
    public async Task The_scoring_writer_stores_vectors_with_the_scores_and_a_retried_write_stores_nothing_twice()
    {
        await using var test = await MigratedAsync();
        var database = test.Database;
        var writer = new ScoringOutcomeWriter(database, new ReviewTasks(database, Options.Create(new ReviewOptions()), TimeProvider.System), TimeProvider.System);
        var policy = new RoutingPolicy(new RoutingPolicyOptions());
        var random = new Random(2);
        var first = await UploadAsync(database, "queued");
        var second = await UploadAsync(database, "queued");
        ScoredUpload Scored(string id, params UploadEmbedding[] vectors)
        {
            List<AttributedScore> scores = [new("test", new CategoryScore("harm", 0.7, "v1", ["why"]))];
            return new ScoredUpload(new UploadContent(id, "ext-" + id, null, "a caption", [], null, [], "en", []), scores,
                policy.Route(scores.Select(s => s.Score).ToList()), vectors);
        }
        var text = new UploadEmbedding("text", MiniLm, null, null, VectorIndexTests.Unit(random, 384));
        var frame = new UploadEmbedding("image", Resnet, 0, 3, VectorIndexTests.Unit(random, 512));
        // The second upload's text vector is already there (an earlier attempt's rows, or another producer's).
        await new UploadEmbeddings(database, TimeProvider.System).StoreAsync(second, [text], CancellationToken.None);

        var batch = new[] { Scored(first, text, frame), Scored(second, text) };
        (await writer.WriteAsync(batch, CancellationToken.None)).Should().HaveCount(2);
        (await writer.WriteAsync(batch, CancellationToken.None)).Should().BeEmpty("a retried job finds the uploads routed");

        await using var connection = await database.OpenAsync();
        (await connection.ExecuteScalarAsync<long>(database.Sql(CountEmbeddings), new { UploadId = first })).Should().Be(2);
        (await connection.ExecuteScalarAsync<long>(database.Sql(CountEmbeddings), new { UploadId = second })).Should().Be(1);
        var stored = await new UploadEmbeddings(database, TimeProvider.System).ForUploadAsync(first, CancellationToken.None);
        stored.Single(s => s.Embedding.Kind == "image").Embedding.Vector.Should().Equal(frame.Vector);
    }

    [Fact]
    public async Task Near_duplicate_search_finds_what_brute_force_finds_among_uploads_sent_to_review_and_keeps_up_with_new_ones()
    {
        await using var test = await MigratedAsync();
        var database = test.Database;
        var store = new UploadEmbeddings(database, TimeProvider.System);
        var search = Search(database, store);
        var random = new Random(5);
        var centres = Enumerable.Range(0, 6).Select(_ => VectorIndexTests.Unit(random, 512)).ToList();
        var textCentres = Enumerable.Range(0, 6).Select(_ => VectorIndexTests.Unit(random, 384)).ToList();

        var reviewed = await ReviewSeed.InReviewAsync(database, 48);
        var vectors = new Dictionary<string, List<UploadEmbedding>>();
        for (var i = 0; i < reviewed.Count; i++)
        {
            // Frames near one of a few pictures (or of none), at noise levels either side of the threshold; text likewise.
            var noise = 0.01 + i % 5 * 0.012;
            List<UploadEmbedding> own =
            [
                new("image", Resnet, 0, 0, i % 4 == 3 ? VectorIndexTests.Unit(random, 512) : VectorIndexTests.Near(random, centres[i % 6], noise)),
                new("image", Resnet, 0, 1, VectorIndexTests.Near(random, centres[(i + 1) % 6], noise * 2)),
                new("text", MiniLm, null, null, VectorIndexTests.Near(random, textCentres[i % 6], noise * 1.5)),
            ];
            vectors[reviewed[i]] = own;
            await store.StoreAsync(reviewed[i], own, CancellationToken.None);
        }
        // Uploads the policy allowed are never candidates, however close.
        var allowed = await UploadAsync(database, "allowed");
        await store.StoreAsync(allowed, [new UploadEmbedding("image", Resnet, 0, 0, centres[0])], CancellationToken.None);

        var options = new SimilarityOptions();
        HashSet<string> BruteForce(string id) => vectors.Where(kv => kv.Key != id && kv.Value.Any(theirs => vectors[id].Any(mine =>
                mine.Kind == theirs.Kind && mine.Model == theirs.Model
                && mine.Vector.Zip(theirs.Vector, (a, b) => (double)a * b).Sum() >= options.ThresholdFor(mine.Kind) + 1e-5)))
            .Select(kv => kv.Key).ToHashSet();

        var nonEmpty = 0;
        foreach (var id in reviewed)
        {
            var found = (await search.FindAsync(id, CancellationToken.None)).Select(s => s.UploadId).ToHashSet();
            var expected = BruteForce(id);
            found.Should().NotContain(allowed).And.NotContain(id);
            expected.Should().BeSubsetOf(found);
            // Anything more is within rounding of the threshold.
            foreach (var extra in found.Except(expected))
                vectors[extra].Max(theirs => vectors[id].Where(m => m.Kind == theirs.Kind).Select(m => m.Vector.Zip(theirs.Vector, (a, b) => (double)a * b).Sum() - options.ThresholdFor(m.Kind)).DefaultIfEmpty(-1).Max())
                    .Should().BeGreaterThan(-1e-5);
            if (expected.Count > 0) nonEmpty++;
        }
        nonEmpty.Should().BeGreaterThan(10, "the data has clusters to find");

        // A new upload sent to review is found on the next search, without a restart.
        var newcomer = (await ReviewSeed.InReviewAsync(database, 1))[0];
        await store.StoreAsync(newcomer, [new UploadEmbedding("text", MiniLm, null, null, vectors[reviewed[0]][2].Vector)], CancellationToken.None);
        var again = await search.FindAsync(reviewed[0], CancellationToken.None);
        again.Should().Contain(s => s.UploadId == newcomer && s.Similarity > 0.999 && s.Basis.StartsWith("text embedding (all-MiniLM-L6-v2) cosine 1.000"));
    }

    [Fact]
    public async Task Frames_whose_perceptual_hashes_are_close_make_their_uploads_near_duplicates()
    {
        await using var test = await MigratedAsync();
        var database = test.Database;
        var search = Search(database, new UploadEmbeddings(database, TimeProvider.System));
        var ids = await ReviewSeed.InReviewAsync(database, 4);
        var allowed = await UploadAsync(database, "allowed");
        var random = new Random(9);
        var bits = Enumerable.Range(0, 256).Select(_ => random.Next(2) == 1).ToArray();
        var original = PerceptualHash.FromBits(bits);
        var flipped = (bool[])bits.Clone();
        foreach (var b in new[] { 3, 40, 77, 90, 120, 150, 181, 200, 222, 255 }) flipped[b] = !flipped[b];
        var far = PerceptualHash.FromBits(bits.Select((x, i) => i % 3 == 0 ? !x : x).ToArray());

        await using (var connection = await database.OpenAsync())
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            async Task Frame(string upload, int ordinal, int frame, PerceptualHash hash, int quality) =>
                await connection.ExecuteAsync(database.Sql(InsertFrame), new { UploadId = upload, Ordinal = ordinal, Frame = frame, Hash = hash.ToString(), Quality = quality, Now = now });
            await Frame(ids[0], 0, 0, original, 90);
            await Frame(ids[1], 1, 4, PerceptualHash.FromBits(flipped), 90);  // 10 bits away
            await Frame(ids[2], 0, 0, far, 90);                                // about 85 bits away
            await Frame(ids[3], 0, 0, original, 20);                           // too flat to compare
            await Frame(allowed, 0, 0, original, 90);                          // not sent to review
        }

        var found = await search.FindAsync(ids[0], CancellationToken.None);
        found.Should().ContainSingle();
        found[0].UploadId.Should().Be(ids[1]);
        found[0].Basis.Should().Be("perceptual hash 10 of 256 bits apart (media 0 frame 0 ~ media 1 frame 4)");
        found[0].Similarity.Should().BeApproximately(1 - 10 / 256.0, 1e-9);
        (await search.FindAsync(ids[1], CancellationToken.None)).Select(s => s.UploadId).Should().Equal(ids[0]);
        (await search.FindAsync(ids[2], CancellationToken.None)).Should().BeEmpty();
    }

    [Fact]
    public async Task Near_duplicates_are_decided_together_each_audited_and_a_decided_one_becomes_the_suggestion()
    {
        await using var test = await MigratedAsync();
        var database = test.Database;
        var search = Search(database, new UploadEmbeddings(database, TimeProvider.System));
        var options = Options.Create(new ReviewOptions { QualitySampleRate = 0 });
        var queue = new ReviewQueue(database, options, TimeProvider.System);
        var decisions = new ReviewDecisions(database, options, new ReviewTasks(database, options, TimeProvider.System), TimeProvider.System, search);
        var ids = await ReviewSeed.InReviewAsync(database, 4); // distinct captions: no exact cluster
        var random = new Random(13);
        var photo = VectorIndexTests.Unit(random, 512);
        var store = new UploadEmbeddings(database, TimeProvider.System);
        for (var i = 0; i < 3; i++)
            await store.StoreAsync(ids[i], [new UploadEmbedding("image", Resnet, 0, null, VectorIndexTests.Near(random, photo, 0.005))], CancellationToken.None);
        await store.StoreAsync(ids[3], [new UploadEmbedding("image", Resnet, 0, null, VectorIndexTests.Unit(random, 512))], CancellationToken.None);
        var alice = new Reviewer("u-alice", "alice", [ReviewRoles.Moderator]);

        (await queue.ClaimAsync(alice, ids[0], ReviewTaskKind.Review, CancellationToken.None)).Should().NotBeNull();
        await decisions.DecideAsync(alice, ids[0], ReviewTaskKind.Review, ReviewAction.Remove, "spam-scam", "a scam", null, CancellationToken.None);

        var similar = await new ReviewSimilarity(database, search).ForItemAsync(ids[1], CancellationToken.None);
        var suggestion = similar.Decided.Should().ContainSingle().Subject;
        suggestion.UploadId.Should().Be(ids[0]);
        suggestion.Action.Should().Be(ReviewAction.Remove);
        suggestion.ReasonCode.Should().Be("spam-scam");
        suggestion.DecidedByName.Should().Be("alice");
        suggestion.Basis.Should().StartWith("image embedding (resnet18) cosine 0.9");
        similar.Open.Select(m => m.UploadId).Should().Equal(ids[2]);

        (await queue.ClaimAsync(alice, ids[1], ReviewTaskKind.Review, CancellationToken.None)).Should().NotBeNull();
        var outcome = await decisions.DecideAsync(alice, ids[1], ReviewTaskKind.Review, ReviewAction.Remove, "spam-scam", null, [ids[2], ids[3]], CancellationToken.None);
        outcome.DecisionIds.Should().HaveCount(2);
        outcome.Skipped.Should().Equal(ids[3]);
        await using var connection = await database.OpenAsync();
        var audit = (await connection.QueryAsync<string>(database.Sql(DialectSql.Portable(
            "SELECT after_state FROM audit_events WHERE action = 'review.decided' AND subject_id = @Id")), new { Id = ids[2] })).Single();
        audit.Should().Contain($"\"bulkAnchor\":\"{ids[1]}\"").And.Contain("\"bulkBasis\":\"image embedding (resnet18) cosine");
    }
    [Fact]
    public async Task An_exact_caption_twin_with_a_standing_decision_is_the_suggestion_and_after_an_overturned_appeal_it_is_allow()
    {
        await using var test = await MigratedAsync();
        var database = test.Database;
        var search = Search(database, new UploadEmbeddings(database, TimeProvider.System));
        var options = Options.Create(new ReviewOptions { QualitySampleRate = 0 });
        var queue = new ReviewQueue(database, options, TimeProvider.System);
        var decisions = new ReviewDecisions(database, options, new ReviewTasks(database, options, TimeProvider.System), TimeProvider.System, search);
        var similarity = new ReviewSimilarity(database, search);
        // The same caption up to case and spacing, no vectors and no frames: only the exact cluster joins them.
        var first = (await ReviewSeed.InReviewAsync(database, 1, caption: "Win a FREE phone,  click the link in bio")).Single();
        var twin = (await ReviewSeed.InReviewAsync(database, 1, caption: "win a free phone, click the link in bio")).Single();
        var alice = new Reviewer("u-alice", "alice", [ReviewRoles.Moderator]);
        var bob = new Reviewer("u-bob", "bob", [ReviewRoles.Moderator]);

        (await similarity.ForItemAsync(twin, CancellationToken.None)).Decided.Should().BeEmpty("nothing is decided yet");
        (await queue.ClaimAsync(alice, first, ReviewTaskKind.Review, CancellationToken.None)).Should().NotBeNull();
        await decisions.DecideAsync(alice, first, ReviewTaskKind.Review, ReviewAction.Remove, "spam-scam", null, null, CancellationToken.None);

        var suggestion = (await similarity.ForItemAsync(twin, CancellationToken.None)).Decided.Should().ContainSingle().Subject;
        suggestion.UploadId.Should().Be(first);
        suggestion.Action.Should().Be(ReviewAction.Remove);
        suggestion.ReasonCode.Should().Be("spam-scam");
        suggestion.Similarity.Should().Be(1.0);
        suggestion.Basis.Should().Be("same caption (normalised)");
        suggestion.ViaAppeal.Should().BeFalse();

        await decisions.SubmitAppealAsync("key-1", first, "it is a real giveaway", CancellationToken.None);
        var appeal = await queue.ClaimNextAsync(bob, null, CancellationToken.None);
        appeal!.Kind.Should().Be(ReviewTaskKind.Appeal);
        await decisions.DecideAsync(bob, first, appeal.Kind, ReviewAction.Overturn, "misapplied-policy", null, null, CancellationToken.None);

        var standing = (await similarity.ForItemAsync(twin, CancellationToken.None)).Decided.Should().ContainSingle().Subject;
        standing.Action.Should().Be(ReviewAction.Allow, "the overturn is the decision that stands");
        standing.ViaAppeal.Should().BeTrue();
        standing.Overturned.Should().Be(ReviewAction.Remove);
        standing.ReasonCode.Should().Be("misapplied-policy");
        standing.DecidedByName.Should().Be("bob");
    }
}

public sealed class SqliteUploadEmbeddingsContract() : UploadEmbeddingsContract(DatabaseProvider.Sqlite);
public sealed class PostgresUploadEmbeddingsContract() : UploadEmbeddingsContract(DatabaseProvider.Postgres);
