using System.Text.Json;
using Dapper;
using Moderation.Core.Audit;
using Moderation.Core.Policies;
using Moderation.Core.Review;
using Moderation.Core.Signals;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Scoring;

/// <summary>
/// Stores what a scoring job decided, for a whole batch in one transaction: scores, the scorers' vectors (for
/// near-duplicate search, insert-if-absent like the scores), what the scorers declined to score, per-category routing
/// (and beside it, never acted on, the outcomes of the versions in shadow: <see cref="ShadowRouting"/>), the upload's
/// new state, the review task of each upload routed to review (<see cref="ReviewTasks"/>), one audit event
/// per upload and one risk signal per scored category. The state change (<see cref="UploadLifecycle"/>) is guarded on
/// <c>status = 'queued'</c>: an upload that another run already routed is left untouched.
/// </summary>
public sealed class ScoringOutcomeWriter(ModerationDatabase database, ReviewTasks reviewTasks, TimeProvider time, AuditSampler? audit = null)
{
    public const string Actor = AuditActors.Scoring;

    private const string ScoreColumns =
        "upload_id, category, model_version, score, scorer, explanation, shadow, match_source, match_action, review_only, created_at_ms";
    private const string ScoreValues =
        "@UploadId, @Category, @ModelVersion, @Score, @Scorer, @Explanation, @Shadow, @MatchSource, @MatchAction, @ReviewOnly, @Now";

    private static readonly DialectSql InsertScore =
        DialectSql.InsertIfAbsent("scores", ScoreColumns, ScoreValues, ["upload_id", "category", "model_version"]);

    private static readonly DialectSql InsertAbstention = DialectSql.InsertIfAbsent("abstentions",
        "upload_id, scorer, code, reason, model_version, confidence, created_at_ms",
        "@UploadId, @Scorer, @Code, @Reason, @ModelVersion, @Confidence, @Now", ["upload_id", "scorer", "code"]);

    private const string RouteColumns =
        "upload_id, category, policy_version, outcome, score, model_version, reason, review_threshold, action_threshold, decided_at_ms";
    private const string RouteValues =
        "@UploadId, @Category, @PolicyVersion, @Outcome, @Score, @ModelVersion, @Reason, @ReviewThreshold, @ActionThreshold, @Now";

    private static readonly DialectSql InsertRoute =
        DialectSql.InsertIfAbsent("routing_decisions", RouteColumns, RouteValues, ["upload_id", "category", "policy_version"]);

    private static readonly DialectSql InsertAuditSample = DialectSql.InsertIfAbsent("audit_samples",
        "upload_id, policy_version, outcome, stratum, highest_score, inclusion_probability, sampled_at_ms",
        "@UploadId, @PolicyVersion, @Outcome, @Stratum, @HighestScore, @InclusionProbability, @Now", ["upload_id"]);

    /// <summary>
    /// Writes the batch; returns the uploads this run routed (not those another run had already routed). With the audit
    /// sample on (<see cref="AuditSampleOptions"/>), an upload the policy allowed or actioned that the draw picks goes
    /// to review instead, blind (its task is a review task like any other), keeping the policy's routing rows and
    /// signals (an action stands until a person decides); the draw and its probability are kept in <c>audit_samples</c>.
    /// </summary>
    public async Task<IReadOnlyList<ScoredUpload>> WriteAsync(IReadOnlyList<ScoredUpload> batch, CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var draws = new Dictionary<string, (AuditDraw Draw, string Outcome, double Highest)>(StringComparer.Ordinal);
        if (audit is { Enabled: true })
        {
            var sampled = new List<ScoredUpload>(batch.Count);
            foreach (var upload in batch)
            {
                var outcome = upload.Decision.Status switch
                {
                    UploadStatus.Allowed => RouteOutcome.Allow,
                    UploadStatus.Actioned => RouteOutcome.Action,
                    _ => null,
                };
                var highest = upload.Scores.Where(a => !a.Score.Shadow).Select(a => a.Score.Score).DefaultIfEmpty(0).Max();
                if (outcome is not null && upload.Scores.Count > 0 && audit.Draw(upload.Content.Id, outcome, highest) is { Included: true } draw)
                {
                    draws[upload.Content.Id] = (draw, outcome, highest);
                    sampled.Add(upload with { Decision = upload.Decision with { Status = UploadStatus.InReview } });
                }
                else sampled.Add(upload);
            }
            batch = sampled;
        }
        return await database.InTransactionAsync<IReadOnlyList<ScoredUpload>>(async (connection, transaction) =>
        {
            // The append lock first: every writer that appends takes it before touching rows, so none can deadlock.
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.AppendLog, ct);

            var routed = new List<ScoredUpload>(batch.Count);
            foreach (var upload in batch.OrderBy(u => u.Content.Id, StringComparer.Ordinal))
            {
                var d = upload.Decision;
                if (await UploadLifecycle.RouteAsync(database, connection, transaction, upload.Content.Id, d.Status, d.Reason, d.PolicyVersion, now, ct))
                    routed.Add(upload);
            }

            await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertScore), routed.SelectMany(u => u.Scores.Select(a => new
            {
                UploadId = u.Content.Id, a.Score.Category, a.Score.ModelVersion, a.Score.Score, a.Scorer,
                Explanation = JsonSerializer.Serialize(a.Score.Explanations), a.Score.Shadow,
                MatchSource = a.Score.Match?.Source, MatchAction = a.Score.Match?.Action, a.Score.ReviewOnly, Now = now,
            })), transaction, cancellationToken: ct));

            await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertAbstention), routed.SelectMany(u => (u.Abstentions ?? []).Select(a => new
            {
                UploadId = u.Content.Id, a.Scorer, a.Abstention.Code, a.Abstention.Reason, a.Abstention.ModelVersion, a.Abstention.Confidence, Now = now,
            })), transaction, cancellationToken: ct));

            await Similarity.UploadEmbeddings.WriteAsync(connection, transaction, database.Dialect,
                routed.SelectMany(u => (u.Embeddings ?? []).Select(e => (u.Content.Id, e))), now, ct);

            await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertRoute), routed.SelectMany(u => u.Decision.Categories.Select(c => new
            {
                UploadId = u.Content.Id, c.Category, u.Decision.PolicyVersion, c.Outcome, c.Score, c.ModelVersion, c.Reason,
                c.ReviewThreshold, c.ActionThreshold, Now = now,
            })), transaction, cancellationToken: ct));

            // What each shadow version would have done, beside the live rows: nothing below reads it (no status, task,
            // signal or audit draw comes from a shadow).
            await ShadowRouting.WriteAsync(connection, transaction, database.Dialect,
                routed.Where(u => u.Shadows is { Count: > 0 }).Select(u => (u.Content.Id, u.Decision, u.Shadows!)), now, ct);

            await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertAuditSample), routed.Where(u => draws.ContainsKey(u.Content.Id)).Select(u =>
            {
                var (draw, outcome, highest) = draws[u.Content.Id];
                return new
                {
                    UploadId = u.Content.Id, u.Decision.PolicyVersion, Outcome = outcome, draw.Stratum, HighestScore = highest,
                    draw.InclusionProbability, Now = now,
                };
            }), transaction, cancellationToken: ct));

            // Routed to review means a task in a queue, in this transaction: no reader has to take it in later.
            await reviewTasks.OpenForReviewAsync(connection, transaction,
                routed.Where(u => u.Decision.Status == UploadStatus.InReview).Select(u => u.Content.Id).ToList(), TaskOrigin.Routed, now, ct);

            var signals = routed.SelectMany(u => u.Decision.Categories.Select(c => new NewRiskSignal(
                $"{c.Source}:{u.Content.Id}:{c.Category}:{c.ModelVersion}:{u.Decision.PolicyVersion}",
                u.Content.Id, u.Content.ExternalId, c.Category, c.Score, c.SignalAction, c.DemotionMultiplier,
                c.Source, c.ModelVersion, u.Decision.PolicyVersion))).ToList();
            await SignalFeed.AppendAsync(connection, transaction, database.Dialect, signals, now, ct);

            await AuditLog.AppendAsync(connection, transaction, database.Dialect, routed.Select(u => new AuditEntry(
                Actor, "upload.routed", "upload", u.Content.Id, u.Decision.Reason,
                BeforeState: JsonSerializer.Serialize(new { status = UploadStatus.Queued }),
                AfterState: JsonSerializer.Serialize(new
                {
                    status = u.Decision.Status,
                    policyVersion = u.Decision.PolicyVersion,
                    auditSample = draws.TryGetValue(u.Content.Id, out var sample)
                        ? new { sample.Draw.Stratum, sample.Draw.InclusionProbability, policyOutcome = sample.Outcome } : null,
                    categories = u.Decision.Categories.Select(c => new { c.Category, c.Outcome, c.Score, c.ModelVersion }),
                }))), now, ct);
            return routed;
        }, ct);
    }

    /// <summary>
    /// Takes <c>failed</c> uploads back to <c>queued</c> because their failed job was requeued, with an audit event
    /// each; returns those this call moved (not those another run moved first).
    /// </summary>
    public async Task<IReadOnlyList<string>> RequeueFailedAsync(IReadOnlyList<string> uploadIds, CancellationToken ct)
    {
        const string detail = "scoring job requeued";
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return await database.InTransactionAsync<IReadOnlyList<string>>(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.AppendLog, ct);
            var moved = new List<string>();
            foreach (var id in uploadIds.Order(StringComparer.Ordinal))
                if (await UploadLifecycle.MoveAsync(database, connection, transaction, id, UploadStatus.Failed, UploadStatus.Queued, detail, now, ct))
                    moved.Add(id);
            await AuditLog.AppendAsync(connection, transaction, database.Dialect, moved.Select(id => new AuditEntry(
                Actor, "upload.scoring_requeued", "upload", id, detail,
                BeforeState: JsonSerializer.Serialize(new { status = UploadStatus.Failed }),
                AfterState: JsonSerializer.Serialize(new { status = UploadStatus.Queued }))), now, ct);
            return moved;
        }, ct);
    }

    /// <summary>Gives up on an upload whose scoring failed on every attempt, and records why.</summary>
    public async Task MarkFailedAsync(string uploadId, int attempts, string? error, CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var detail = $"scoring failed on {attempts} attempts; requeue its job to score it again";
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.AppendLog, ct);
            if (!await UploadLifecycle.FailAsync(database, connection, transaction, uploadId, detail,
                    error is { Length: > 2000 } ? error[..2000] : error, attempts, now, ct))
                return;
            await AuditLog.AppendAsync(connection, transaction, database.Dialect,
                [new AuditEntry(Actor, "upload.scoring_failed", "upload", uploadId, error is null ? detail : $"{detail}: {error}")], now, ct);
        }, ct);
    }
}
