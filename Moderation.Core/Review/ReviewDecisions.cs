using System.Buffers.Binary;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Signals;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using Moderation.Core.Refusals;

namespace Moderation.Core.Review;

/// <summary>What a decision did: one decision id per item decided, and the cluster members left alone (held by others or gone).</summary>
public sealed record DecisionOutcome(IReadOnlyList<string> DecisionIds, IReadOnlyList<string> Skipped);

/// <summary>
/// Human decisions. Each one, in one transaction: the task closes (only for the reviewer whose lease is live),
/// a decision row, the item's new status, a human-sourced risk signal per reviewed category (which the
/// recommender prefers to the model's), and an audit event. Bulk decisions on a cluster repeat that per item.
/// Appeals reopen a decision for someone else, or the policy's automated action for any reviewer; an overturn retracts
/// the earlier human signals, or the automated action's model and hash-match signals. A reviewer who allows an item the
/// policy had actioned (re-queued by reports) retracts those too.
/// </summary>
/// <param name="nearDuplicates">Lets a bulk decision take in near-duplicates (embeddings, perceptual hashes) besides the exact cluster.</param>
public sealed class ReviewDecisions(ModerationDatabase database, IOptions<ReviewOptions> options, ReviewTasks reviewTasks, TimeProvider time,
    Similarity.NearDuplicates? nearDuplicates = null)
{
    private ReviewOptions O => options.Value;

    public const int MaxNoteLength = 2000;
    public const int MaxAppealLength = 4000;
    public const int MaxBulk = 200;

    private static readonly DialectSql SelectTaskForDecision = DialectSql.Portable("""
        SELECT t.upload_id, t.kind, t.queue, t.required_role, t.cluster_key, t.lease_holder, t.lease_until_ms, t.claimed_at_ms,
               u.external_id, u.status, u.policy_version
        FROM review_tasks t JOIN uploads u ON u.id = t.upload_id
        WHERE t.upload_id = @UploadId AND t.kind = @Kind AND t.state = 'open'
        """);

    private static readonly DialectSql Complete = DialectSql.Portable("""
        UPDATE review_tasks SET state = 'done', completed_by = @User, completed_at_ms = @Now, lease_holder = NULL, lease_until_ms = NULL
        WHERE upload_id = @UploadId AND kind = @Kind AND state = 'open'
          AND (lease_holder = @User AND lease_until_ms >= @Now OR @Bulk = 1 AND (lease_holder IS NULL OR lease_until_ms < @Now OR lease_holder = @User))
        """);

    private static readonly DialectSql EscalateTask = DialectSql.Portable("""
        UPDATE review_tasks SET required_role = @EscalatesTo, lease_holder = NULL, lease_until_ms = NULL
        WHERE upload_id = @UploadId AND kind = @Kind AND state = 'open'
          AND (lease_holder = @User AND lease_until_ms >= @Now OR @Bulk = 1 AND (lease_holder IS NULL OR lease_until_ms < @Now OR lease_holder = @User))
        """);

    private static readonly DialectSql InsertDecision = DialectSql.Portable("""
        INSERT INTO review_decisions (id, upload_id, kind, queue, decided_by, decided_by_name, action, reason_code, note, claimed_at_ms, decided_at_ms, bulk_anchor)
        VALUES (@Id, @UploadId, @Kind, @Queue, @DecidedBy, @DecidedByName, @Action, @ReasonCode, @Note, @ClaimedAtMs, @Now, @BulkAnchor)
        """);

    // The categories a review decision covers: those the policy sent to review, or acted on (an automated action
    // re-queued by reports).
    private static readonly DialectSql SelectReviewedCategories = DialectSql.Portable("""
        SELECT category FROM routing_decisions WHERE upload_id = @UploadId AND policy_version = @PolicyVersion AND outcome IN ('review', 'action') ORDER BY category
        """);

    // The automated action on an upload: the categories its routing acted on, highest score first.
    private static readonly DialectSql SelectActionedCategories = DialectSql.Portable("""
        SELECT category FROM routing_decisions WHERE upload_id = @UploadId AND policy_version = @PolicyVersion AND outcome = 'action' ORDER BY score DESC, category
        """);

    /// <summary>
    /// The automated action's signals still in force: model and hash-match signals of the upload's policy version
    /// that ask for anything, not themselves retractions and not yet retracted.
    /// </summary>
    internal static readonly DialectSql SelectAutomatedSignals = DialectSql.Portable("""
        SELECT s.seq, s.category FROM risk_signals s
        WHERE s.upload_id = @UploadId AND s.policy_version = @PolicyVersion AND s.source IN ('model', 'hash_match')
          AND s.action <> 'none' AND s.retracts_seq IS NULL
          AND NOT EXISTS (SELECT 1 FROM risk_signals r WHERE r.retracts_seq = s.seq)
        ORDER BY s.seq
        """);

    private static readonly DialectSql SelectStandingDecisions = DialectSql.Portable("""
        SELECT COUNT(*) FROM review_decisions
        WHERE upload_id = @UploadId AND kind IN ('review', 'appeal') AND action <> 'escalate' AND retracted_at_ms IS NULL
        """);

    private static readonly DialectSql SelectClusterMembers = DialectSql.WithList("""
        SELECT upload_id FROM review_tasks WHERE cluster_key = @ClusterKey AND kind = 'review' AND state = 'open' AND upload_id IN @Ids
        """);

    private static readonly DialectSql SelectLatestDecision = new(
        sqlite: "SELECT id, upload_id, kind, queue, decided_by, action, reason_code, retracted_at_ms FROM review_decisions WHERE upload_id = @UploadId AND kind IN ('review', 'appeal') AND action <> 'escalate' ORDER BY decided_at_ms DESC, id DESC LIMIT 1",
        postgres: "SELECT id, upload_id, kind, queue, decided_by, action, reason_code, retracted_at_ms FROM review_decisions WHERE upload_id = @UploadId AND kind IN ('review', 'appeal') AND action <> 'escalate' ORDER BY decided_at_ms DESC, id DESC LIMIT 1",
        sqlServer: "SELECT TOP (1) id, upload_id, kind, queue, decided_by, action, reason_code, retracted_at_ms FROM review_decisions WHERE upload_id = @UploadId AND kind IN ('review', 'appeal') AND action <> 'escalate' ORDER BY decided_at_ms DESC, id DESC");

    private static readonly DialectSql SelectUploadByAnyId = DialectSql.Portable("""
        SELECT id, external_id, status, policy_version FROM uploads WHERE id = @Id OR external_id = @Id
        """);

    private static readonly DialectSql InsertAppeal = DialectSql.Portable("""
        INSERT INTO appeals (id, upload_id, decision_id, policy_version, statement, submitted_by, state, created_at_ms)
        VALUES (@Id, @UploadId, @DecisionId, @PolicyVersion, @Statement, @SubmittedBy, 'open', @Now)
        """);

    private static readonly DialectSql SelectOpenAppeal = DialectSql.Portable("""
        SELECT id, decision_id, policy_version FROM appeals WHERE upload_id = @UploadId AND state = 'open'
        """);

    private static readonly DialectSql ResolveAppeal = DialectSql.Portable("""
        UPDATE appeals SET state = @State, resolved_by = @User, resolved_at_ms = @Now WHERE id = @Id AND state = 'open'
        """);

    private static readonly DialectSql SelectDecisionById = DialectSql.Portable("""
        SELECT id, upload_id, kind, queue, decided_by, action, reason_code, retracted_at_ms FROM review_decisions WHERE id = @Id
        """);

    private static readonly DialectSql SelectHumanSignals = DialectSql.Portable("""
        SELECT seq, category FROM risk_signals WHERE idempotency_key LIKE @Prefix AND retracts_seq IS NULL ORDER BY seq
        """);

    private static readonly DialectSql MarkRetracted = DialectSql.Portable("""
        UPDATE review_decisions SET retracted_at_ms = @Now WHERE id = @Id
        """);

    /// <summary>Decides the task the reviewer holds, and, for a bulk decision, the named members of its cluster.</summary>
    public async Task<DecisionOutcome> DecideAsync(Reviewer reviewer, string uploadId, string kind, string action, string reasonCode, string? note,
        IReadOnlyCollection<string>? clusterMembers, CancellationToken ct)
    {
        note = string.IsNullOrWhiteSpace(note) ? null : note.Trim();
        if (note is { Length: > MaxNoteLength })
            throw Refusal.Invalid("note", $"Notes are at most {MaxNoteLength} characters.");
        if (!O.ReasonCodesFor(action).Contains(reasonCode, StringComparer.Ordinal))
            throw Refusal.Invalid("reasonCode", $"'{reasonCode}' is not a reason code for {action}.");
        var bulk = (clusterMembers ?? []).Where(m => m != uploadId).Distinct(StringComparer.Ordinal).ToList();
        if (bulk.Count > MaxBulk) throw Refusal.Invalid("members", $"At most {MaxBulk} items are decided in one step.");

        // Near-duplicates are looked up before the transaction (an in-memory index); each member's task is still
        // checked to be open inside it.
        var near = bulk.Count > 0 && nearDuplicates is not null
            ? (await nearDuplicates.FindAsync(uploadId, ct)).ToDictionary(s => s.UploadId, s => s.Basis, StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return await WriteGate.RunAsync(database, () => database.InTransactionAsync(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.AppendLog, ct);
            var task = await connection.QueryFirstOrDefaultAsync<TaskRow>(new CommandDefinition(database.Sql(SelectTaskForDecision),
                new { UploadId = uploadId, Kind = kind }, transaction, cancellationToken: ct))
                ?? throw Refusal.Conflict("This item is no longer open for review.", "uploadId");
            if (task.LeaseHolder != reviewer.Id || task.LeaseUntilMs < now)
                throw Refusal.Conflict("Your claim on this item has expired or was never held; claim it again.", "lease");
            if (!ReviewAction.AllowedFor(reviewer.Roles, task.Kind, task.RequiredRole).Contains(action))
                throw Refusal.Forbidden($"Your roles do not allow '{action}' on this item.", "action");
            if (bulk.Count > 0 && (task.Kind != ReviewTaskKind.Review || task.ClusterKey is null && near.Count == 0))
                throw Refusal.Invalid("members", "Only review items in a cluster can be decided together.");

            var ids = new List<string> { (await DecideOneAsync(connection, transaction, reviewer, task, action, reasonCode, note, null, null, now, ct))! };
            var skipped = new List<string>();
            if (bulk.Count > 0)
            {
                var members = task.ClusterKey is null ? new Dictionary<string, string>(StringComparer.Ordinal)
                    : (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectClusterMembers),
                        new { task.ClusterKey, Ids = bulk.ToArray() }, transaction, cancellationToken: ct)))
                    .ToDictionary(m => m, _ => ClusterMember.SameKey, StringComparer.Ordinal);
                foreach (var (id, basis) in near) members.TryAdd(id, basis);
                foreach (var member in bulk)
                {
                    var memberTask = members.ContainsKey(member)
                        ? await connection.QueryFirstOrDefaultAsync<TaskRow>(new CommandDefinition(database.Sql(SelectTaskForDecision),
                            new { UploadId = member, Kind = ReviewTaskKind.Review }, transaction, cancellationToken: ct))
                        : null;
                    var id = memberTask is null ? null
                        : await DecideOneAsync(connection, transaction, reviewer, memberTask, action, reasonCode, note, uploadId, members[member], now, ct);
                    if (id is null) skipped.Add(member); else ids.Add(id);
                }
            }
            return new DecisionOutcome(ids, skipped);
        }, ct), ct);
    }

    /// <returns>The decision id, or null when a bulk member is held by someone else.</returns>
    /// <param name="bulkBasis">Why a bulk member belongs with the anchor (recorded in its audit event).</param>
    private async Task<string?> DecideOneAsync(DbConnection connection, DbTransaction transaction, Reviewer reviewer, TaskRow task,
        string action, string reasonCode, string? note, string? bulkAnchor, string? bulkBasis, long now, CancellationToken ct)
    {
        var escalatesTo = ReviewAction.EscalatesTo(reviewer.Roles);
        var guard = new { task.UploadId, task.Kind, User = reviewer.Id, Now = now, Bulk = bulkAnchor is null ? 0 : 1, EscalatesTo = escalatesTo };
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            database.Sql(action == ReviewAction.Escalate ? EscalateTask : Complete), guard, transaction, cancellationToken: ct));
        if (changed == 0)
        {
            if (bulkAnchor is not null) return null;
            throw Refusal.Conflict("Your claim on this item has expired; claim it again.", "lease");
        }

        var decisionId = Guid.CreateVersion7().ToString();
        await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertDecision), new
        {
            Id = decisionId, task.UploadId, task.Kind, task.Queue, DecidedBy = reviewer.Id, DecidedByName = reviewer.Name, Action = action,
            ReasonCode = reasonCode, Note = note, ClaimedAtMs = bulkAnchor is null ? task.ClaimedAtMs : null, Now = now, BulkAnchor = bulkAnchor,
        }, transaction, cancellationToken: ct));

        var actor = AuditActors.User(reviewer.Name);
        object decided = bulkBasis is null
            ? new { decisionId, kind = task.Kind, action, reasonCode, note, bulkAnchor }
            : new { decisionId, kind = task.Kind, action, reasonCode, note, bulkAnchor, bulkBasis };
        var audit = new List<AuditEntry>();
        var signals = new List<NewRiskSignal>();

        if (action == ReviewAction.Escalate)
        {
            audit.Add(new AuditEntry(actor, "review.escalated", "upload", task.UploadId, reasonCode,
                AfterState: JsonSerializer.Serialize(new { decided, requiredRole = escalatesTo })));
        }
        else if (task.Kind == ReviewTaskKind.Quality)
        {
            // A blind second opinion: measured against the first decision, never applied to the item.
            audit.Add(new AuditEntry(actor, "review.quality_decided", "upload", task.UploadId, reasonCode, AfterState: JsonSerializer.Serialize(decided)));
        }
        else if (task.Kind == ReviewTaskKind.Appeal)
        {
            var appeal = await connection.QueryFirstOrDefaultAsync<AppealRow>(new CommandDefinition(database.Sql(SelectOpenAppeal),
                new { task.UploadId }, transaction, cancellationToken: ct))
                ?? throw Refusal.Conflict("This item has no open appeal.", "uploadId");
            var overturn = action == ReviewAction.Overturn;
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(ResolveAppeal), new
            {
                appeal.Id, State = overturn ? "overturned" : "upheld", User = reviewer.Id, Now = now,
            }, transaction, cancellationToken: ct));
            object? retracted = null;
            if (overturn && appeal.DecisionId is null)
            {
                // An automated action overturned: the model's and hash matches' signals that acted are withdrawn.
                var automated = await AutomatedSignalsAsync(connection, transaction, task.UploadId, appeal.PolicyVersion ?? "", ct);
                signals.AddRange(Retractions(decisionId, task, automated));
                await MoveStatusAsync(connection, transaction, task, UploadStatus.Allowed, $"automated action overturned on appeal ({reasonCode})", now, ct);
                retracted = new { automated = true, policyVersion = appeal.PolicyVersion, signals = automated.Select(s => s.Seq) };
            }
            else if (overturn)
            {
                var earlier = await connection.QueryFirstAsync<DecisionRow>(new CommandDefinition(database.Sql(SelectDecisionById),
                    new { Id = appeal.DecisionId }, transaction, cancellationToken: ct));
                var earlierSignals = (await connection.QueryAsync<SignalRow>(new CommandDefinition(database.Sql(SelectHumanSignals),
                    new { Prefix = $"human:{earlier.Id}:%" }, transaction, cancellationToken: ct))).ToList();
                signals.AddRange(Retractions(decisionId, task, earlierSignals));
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(MarkRetracted), new { Id = earlier.Id, Now = now }, transaction, cancellationToken: ct));
                await MoveStatusAsync(connection, transaction, task, UploadStatus.Allowed, $"appeal overturned ({reasonCode})", now, ct);
                retracted = new { decisionId = earlier.Id, action = earlier.Action, signals = earlierSignals.Select(s => s.Seq) };
            }
            audit.Add(new AuditEntry(actor, overturn ? "appeal.overturned" : "appeal.upheld", "upload", task.UploadId, reasonCode,
                BeforeState: JsonSerializer.Serialize(new
                {
                    status = task.Status, appealId = appeal.Id, appealedDecision = appeal.DecisionId,
                    appealedAutomatedAction = appeal.DecisionId is null ? appeal.PolicyVersion : null,
                }),
                AfterState: JsonSerializer.Serialize(new { decided, status = overturn ? UploadStatus.Allowed : task.Status, retracted })));
        }
        else
        {
            var status = ReviewAction.StatusAfter(action);
            var categories = (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectReviewedCategories),
                new { task.UploadId, PolicyVersion = task.PolicyVersion ?? "" }, transaction, cancellationToken: ct))).ToList();
            if (categories.Count == 0) categories.Add(task.Queue);
            // Allowing an item the policy had acted on (re-queued by reports) reverses the automated action: its signals
            // are withdrawn, as an overturned appeal withdraws them.
            var reversed = action == ReviewAction.Allow && await ActionedAutomaticallyAsync(connection, transaction, task.UploadId, task.PolicyVersion ?? "", ct)
                ? await AutomatedSignalsAsync(connection, transaction, task.UploadId, task.PolicyVersion ?? "", ct)
                : [];
            signals.AddRange(reversed.Select(r => Retraction(decisionId, task, r)));
            signals.AddRange(categories.Select(c => HumanSignal(decisionId, task, c, action)));
            await MoveStatusAsync(connection, transaction, task, status, $"{action} by a reviewer ({reasonCode})", now, ct);
            audit.Add(new AuditEntry(actor, "review.decided", "upload", task.UploadId, reasonCode,
                BeforeState: JsonSerializer.Serialize(new { status = task.Status }),
                AfterState: reversed.Count == 0
                    ? JsonSerializer.Serialize(new { decided, status, categories })
                    : JsonSerializer.Serialize(new { decided, status, categories, retracted = new { automated = true, policyVersion = task.PolicyVersion, signals = reversed.Select(r => r.Seq) } })));

            if (Sampled(decisionId, O.QualitySampleRate))
                await reviewTasks.OpenQualitySampleAsync(connection, transaction, task.UploadId, task.Queue, categories, reviewer.Id, now, ct);
        }

        await SignalFeed.AppendAsync(connection, transaction, database.Dialect, signals, now, ct);
        await AuditLog.AppendAsync(connection, transaction, database.Dialect, audit, now, ct);
        return decisionId;
    }

    /// <summary>The item's new status, through the one writer of it; the task's row was read under the append lock, so its status still holds.</summary>
    private async Task MoveStatusAsync(DbConnection connection, DbTransaction transaction, TaskRow task, string to, string detail, long now, CancellationToken ct)
    {
        if (!await UploadLifecycle.MoveAsync(database, connection, transaction, task.UploadId, task.Status, to, detail, now, ct))
            throw Refusal.Conflict("This item's status changed meanwhile; open it again.", "uploadId");
    }

    private async Task<IReadOnlyList<SignalRow>> AutomatedSignalsAsync(DbConnection connection, DbTransaction transaction, string uploadId, string policyVersion,
        CancellationToken ct) =>
        (await connection.QueryAsync<SignalRow>(new CommandDefinition(database.Sql(SelectAutomatedSignals),
            new { UploadId = uploadId, PolicyVersion = policyVersion }, transaction, cancellationToken: ct))).ToList();

    private async Task<bool> ActionedAutomaticallyAsync(DbConnection connection, DbTransaction transaction, string uploadId, string policyVersion, CancellationToken ct) =>
        (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectActionedCategories),
            new { UploadId = uploadId, PolicyVersion = policyVersion }, transaction, cancellationToken: ct))).Any();

    /// <summary>A retraction of each signal, then, per category, the human judgement that the item is fine.</summary>
    private IEnumerable<NewRiskSignal> Retractions(string decisionId, TaskRow task, IReadOnlyList<SignalRow> withdrawn) =>
        withdrawn.Select(s => Retraction(decisionId, task, s))
            .Concat(withdrawn.Select(s => s.Category).Distinct(StringComparer.Ordinal).Select(c => HumanSignal(decisionId, task, c, ReviewAction.Allow)));

    private static NewRiskSignal Retraction(string decisionId, TaskRow task, SignalRow withdrawn) =>
        new($"retract:{decisionId}:{withdrawn.Seq}", task.UploadId, task.ExternalId, withdrawn.Category, 0.0,
            SignalAction.None, 1.0, SignalSource.Human, null, task.PolicyVersion, RetractsSeq: withdrawn.Seq);

    private NewRiskSignal HumanSignal(string decisionId, TaskRow task, string category, string action)
    {
        var (signalAction, multiplier, score) = ReviewAction.SignalFor(action, category, O);
        return new NewRiskSignal($"human:{decisionId}:{category}", task.UploadId, task.ExternalId, category, score, signalAction, multiplier,
            SignalSource.Human, null, task.PolicyVersion);
    }

    /// <summary>Deterministic sampling from the decision id, so a retried transaction samples the same way.</summary>
    public static bool Sampled(string decisionId, double rate)
    {
        if (rate <= 0) return false;
        if (rate >= 1) return true;
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(decisionId));
        return BinaryPrimitives.ReadUInt32BigEndian(bytes) / (double)uint.MaxValue < rate;
    }

    /// <summary>
    /// A creator's appeal of what restricts an upload (by id or external id): the latest standing reviewer decision
    /// that restricts it, or, when no reviewer has decided it, the policy's automated action on it (an upload routed to
    /// <c>actioned</c> on a model's or a hash match's signals). Either reopens as an appeal task for a human: one the
    /// original decider cannot take, and for an automated action anyone with the queue's role. The restriction stands
    /// while the appeal waits (the status stays <c>actioned</c>); an overturn retracts its signals. Returns the appeal id.
    /// </summary>
    public async Task<(string AppealId, string UploadId)> SubmitAppealAsync(string submittedBy, string upload, string statement, CancellationToken ct)
    {
        TextInput.NoNul(upload, "uploadId");
        TextInput.NoNul(statement, "statement");
        statement = statement.Trim();
        if (statement.Length == 0) throw Refusal.Invalid("statement", "Say why the decision is wrong.");
        if (statement.Length > MaxAppealLength) throw Refusal.Invalid("statement", $"Appeals are at most {MaxAppealLength} characters.");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return await WriteGate.RunAsync(database, () => database.InTransactionAsync(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.AppendLog, ct);
            var row = await connection.QueryFirstOrDefaultAsync<UploadRow>(new CommandDefinition(database.Sql(SelectUploadByAnyId),
                new { Id = upload }, transaction, cancellationToken: ct))
                ?? throw Refusal.NotFound("No upload has this id or external id.", "uploadId");
            var decision = await connection.QueryFirstOrDefaultAsync<DecisionRow>(new CommandDefinition(database.Sql(SelectLatestDecision),
                new { UploadId = row.Id }, transaction, cancellationToken: ct));
            var humanStands = decision is not null && decision.RetractedAtMs is null && ReviewAction.Restricts(decision.Action);

            // With no standing reviewer decision, an actioned upload was actioned by the policy: that is what is appealed.
            IReadOnlyList<string> actioned = [];
            if (!humanStands && row.Status == UploadStatus.Actioned && row.PolicyVersion is not null
                && await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(SelectStandingDecisions),
                    new { UploadId = row.Id }, transaction, cancellationToken: ct)) == 0)
                actioned = (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectActionedCategories),
                    new { UploadId = row.Id, row.PolicyVersion }, transaction, cancellationToken: ct))).ToList();
            if (!humanStands && actioned.Count == 0)
                throw Refusal.Conflict("This upload has no standing reviewer decision or automated action that restricts it, or its appeal was decided.", "uploadId");

            var appealId = Guid.CreateVersion7().ToString();
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertAppeal), new
                {
                    Id = appealId, UploadId = row.Id, DecisionId = humanStands ? decision!.Id : null, PolicyVersion = humanStands ? null : row.PolicyVersion,
                    Statement = statement, SubmittedBy = submittedBy, Now = now,
                }, transaction, cancellationToken: ct));
            }
            catch (Exception e) when (database.Dialect.IsUniqueViolation(e))
            {
                throw Refusal.Conflict(humanStands ? "This decision has already been appealed." : "This automated action has already been appealed.", "uploadId");
            }
            string after;
            if (humanStands)
            {
                await reviewTasks.OpenAppealAsync(connection, transaction, row.Id, decision!.Queue, decision.DecidedBy, now, ct);
                after = JsonSerializer.Serialize(new { appealId, decisionId = decision.Id, action = decision.Action });
            }
            else
            {
                // Nobody decided it, so nobody is kept from the appeal; it waits in the queue of the category acted on.
                await reviewTasks.OpenAppealAsync(connection, transaction, row.Id, actioned[0], null, now, ct);
                after = JsonSerializer.Serialize(new { appealId, automated = true, policyVersion = row.PolicyVersion, categories = actioned });
            }
            await AuditLog.AppendAsync(connection, transaction, database.Dialect,
                [new AuditEntry($"api:{submittedBy}", "appeal.submitted", "upload", row.Id, statement, AfterState: after)], now, ct);
            return (appealId, row.Id);
        }, ct), ct);
    }

    private sealed class TaskRow
    {
        public string UploadId { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Queue { get; init; } = "";
        public string RequiredRole { get; init; } = "";
        public string? ClusterKey { get; init; }
        public string? LeaseHolder { get; init; }
        public long? LeaseUntilMs { get; init; }
        public long? ClaimedAtMs { get; init; }
        public string ExternalId { get; init; } = "";
        public string Status { get; init; } = "";
        public string? PolicyVersion { get; init; }
    }

    private sealed class DecisionRow
    {
        public string Id { get; init; } = "";
        public string UploadId { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Queue { get; init; } = "";
        public string DecidedBy { get; init; } = "";
        public string Action { get; init; } = "";
        public string ReasonCode { get; init; } = "";
        public long? RetractedAtMs { get; init; }
    }

    private sealed class AppealRow
    {
        public string Id { get; init; } = "";
        /// <summary>The reviewer decision appealed; null for an automated action.</summary>
        public string? DecisionId { get; init; }
        /// <summary>For an automated action: the policy version whose routing actioned the upload.</summary>
        public string? PolicyVersion { get; init; }
    }

    private sealed class SignalRow
    {
        public long Seq { get; init; }
        public string Category { get; init; } = "";
    }

    private sealed class UploadRow
    {
        public string Id { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string Status { get; init; } = "";
        public string? PolicyVersion { get; init; }
    }
}
