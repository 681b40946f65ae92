using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Review;
using Moderation.Core.Storage;

namespace Moderation.Tests.Review;

/// <summary>
/// Puts uploads straight into the state the scoring pipeline leaves them in when it routes them to review: status,
/// routing row and, in the same transaction, the review task (<see cref="ReviewTasks"/>, as routing opens it).
/// </summary>
public static class ReviewSeed
{
    private static readonly DialectSql InsertUpload = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, creator_id, caption, hashtags, transcript, comments, locale, status, policy_version,
                             received_at_ms, enqueued_at_ms, routed_at_ms, updated_at_ms)
        VALUES (@Id, @ExternalId, @CreatorId, @Caption, '[]', NULL, '[]', 'en', 'in_review', 'test-policy', @Now, @Now, @Now, @Now)
        """);

    private static readonly DialectSql InsertMedia = DialectSql.Portable("""
        INSERT INTO media (upload_id, ordinal, kind, file_name, content_type, size_bytes, sha256)
        VALUES (@UploadId, 0, 'image', 'seeded.png', 'image/png', 1024, @Sha256)
        """);

    private static readonly DialectSql InsertRoute = DialectSql.Portable("""
        INSERT INTO routing_decisions (upload_id, category, policy_version, outcome, score, model_version, reason, review_threshold, action_threshold, decided_at_ms)
        VALUES (@UploadId, @Category, 'test-policy', 'review', @Score, 'test-model', 'seeded', 0.5, 0.9, @Now)
        """);

    /// <param name="options">The review options the task is planned with (the defaults when null).</param>
    /// <param name="withMedia">Give each upload one image (a media row of its own; no file is stored).</param>
    public static async Task<List<string>> InReviewAsync(ModerationDatabase database, int count, string category = "misinformation",
        string? caption = null, double score = 0.7, long? routedAtMs = null, ReviewOptions? options = null, bool withMedia = false)
    {
        var now = routedAtMs ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var tasks = new ReviewTasks(database, Options.Create(options ?? new ReviewOptions()), TimeProvider.System);
        return await database.InTransactionAsync(async (connection, transaction) =>
        {
            var ids = await InsertAsync(database, connection, transaction, count, category, caption, score, now, withMedia);
            await tasks.OpenForReviewAsync(connection, transaction, ids, TaskOrigin.Routed, now, CancellationToken.None);
            return ids;
        }, CancellationToken.None);
    }

    private static readonly DialectSql MarkActioned = DialectSql.Portable("""
        UPDATE uploads SET status = 'actioned' WHERE id = @Id
        """);

    private static readonly DialectSql RouteToAction = DialectSql.Portable("""
        UPDATE routing_decisions SET outcome = 'action' WHERE upload_id = @Id
        """);

    /// <summary>
    /// Uploads the policy actioned on its own, as routing leaves them: status <c>actioned</c>, an <c>action</c> routing
    /// row for <paramref name="category"/>, its model signal (<c>ineligible</c>) and a model signal with no action for
    /// <c>bias</c> (a category scored clean); no task. Returns (upload id, seq of the acting signal).
    /// </summary>
    public static async Task<List<(string Id, long ActingSeq)>> ActionedAutomaticallyAsync(ModerationDatabase database, int count, string category = "harm",
        double score = 0.95)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ids = await database.InTransactionAsync(async (connection, transaction) =>
        {
            var ids = await InsertAsync(database, connection, transaction, count, category, null, score, now, withMedia: false);
            foreach (var id in ids)
            {
                await connection.ExecuteAsync(database.Sql(MarkActioned), new { Id = id }, transaction);
                await connection.ExecuteAsync(database.Sql(RouteToAction), new { Id = id }, transaction);
                await Moderation.Core.Signals.SignalFeed.AppendAsync(connection, transaction, database.Dialect,
                [
                    new($"model:{id}:{category}", id, "seed-" + id, category, score, Moderation.Core.Signals.SignalAction.Ineligible, 0.0,
                        Moderation.Core.Signals.SignalSource.Model, "test-model", "test-policy"),
                    new($"model:{id}:bias", id, "seed-" + id, "bias", 0.05, Moderation.Core.Signals.SignalAction.None, 1.0,
                        Moderation.Core.Signals.SignalSource.Model, "test-model", "test-policy"),
                ], now, CancellationToken.None);
            }
            return ids;
        }, CancellationToken.None);
        var page = await Moderation.Core.Signals.SignalFeed.ReadAsync(database, 0, 10_000, CancellationToken.None);
        return ids.Select(id => (id, page.Signals.Single(s => s.UploadId == id && s.Category == category).Seq)).ToList();
    }

    /// <summary>Uploads routed to review by a version from before tasks opened at routing: in review, with no task.</summary>
    public static Task<List<string>> InReviewWithoutTaskAsync(ModerationDatabase database, int count, string category = "misinformation",
        string? caption = null, double score = 0.7, long? routedAtMs = null, bool withMedia = false) =>
        database.InTransactionAsync((connection, transaction) =>
            InsertAsync(database, connection, transaction, count, category, caption, score, routedAtMs ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), withMedia),
            CancellationToken.None);

    private static async Task<List<string>> InsertAsync(ModerationDatabase database, System.Data.Common.DbConnection connection,
        System.Data.Common.DbTransaction transaction, int count, string category, string? caption, double score, long now, bool withMedia)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var id = Guid.CreateVersion7().ToString();
            await connection.ExecuteAsync(database.Sql(InsertUpload), new
            {
                Id = id, ExternalId = "seed-" + id, CreatorId = "creator-1", Caption = caption ?? $"seeded item {id}", Now = now,
            }, transaction);
            await connection.ExecuteAsync(database.Sql(InsertRoute), new { UploadId = id, Category = category, Score = score, Now = now }, transaction);
            if (withMedia)
                await connection.ExecuteAsync(database.Sql(InsertMedia), new { UploadId = id, Sha256 = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + new string('0', 32) }, transaction);
            ids.Add(id);
        }
        return ids;
    }
}

/// <summary>A clock the test moves by hand, to let leases expire without waiting.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;
    public override DateTimeOffset GetUtcNow() => Now;
}
