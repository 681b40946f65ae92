using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Storage;
using Moderation.Core.Refusals;

namespace Moderation.Core.Review;

/// <summary>One upload's cumulative view count as the platform counts it now.</summary>
public sealed record ReachUpdate(string Upload, long Views);

/// <summary>What a batch did: uploads whose count rose, those already at or above it, and ids that match no upload.</summary>
public sealed record ReachOutcome(int Updated, int Unchanged, IReadOnlyList<string> Unknown);

/// <summary>
/// Reach: cumulative view counts that the platform pushes in batches (the way view counters are exported: periodic
/// snapshots of many items at once, not one call per view). A count only ever rises (a late or repeated batch
/// changes nothing), and the priority of the open review tasks it touches is recomputed in the same transaction.
/// </summary>
public sealed class UploadReach(ModerationDatabase database, IOptions<ReviewOptions> options, TimeProvider time)
{
    public const int MaxBatch = 1000;

    private static readonly DialectSql SelectUploads = DialectSql.WithList("""
        SELECT id, external_id FROM uploads WHERE id IN @Ids OR external_id IN @Ids
        """);

    private static readonly DialectSql RaiseViews = DialectSql.Portable("""
        UPDATE uploads SET views = @Views, views_at_ms = @Now WHERE id = @Id AND views < @Views
        """);

    public async Task<ReachOutcome> RecordAsync(IReadOnlyList<ReachUpdate> updates, CancellationToken ct)
    {
        if (updates.Count > MaxBatch) throw Refusal.Invalid("items", $"At most {MaxBatch} uploads per batch.");
        for (var i = 0; i < updates.Count; i++) TextInput.NoNul(updates[i].Upload, $"items[{i}].uploadId");
        // The same upload twice in one batch: the higher count wins, as it would over two batches.
        var wanted = updates.GroupBy(u => u.Upload, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Max(u => u.Views), StringComparer.Ordinal);
        if (wanted.Count == 0) return new ReachOutcome(0, 0, []);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return await WriteGate.RunAsync(database, () => database.InTransactionAsync(async (connection, transaction) =>
        {
            var rows = (await connection.QueryAsync<UploadRow>(new CommandDefinition(database.Sql(SelectUploads),
                new { Ids = wanted.Keys.ToArray() }, transaction, cancellationToken: ct))).ToList();
            var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var r in rows) byKey[r.ExternalId] = r.Id;
            foreach (var r in rows) byKey[r.Id] = r.Id; // an id wins over another upload's external id that happens to equal it
            var views = new Dictionary<string, long>(StringComparer.Ordinal);
            var unknown = new List<string>();
            foreach (var (key, count) in wanted)
            {
                if (!byKey.TryGetValue(key, out var id)) { unknown.Add(key); continue; }
                views[id] = Math.Max(count, views.GetValueOrDefault(id));
            }
            // In id order, so two batches touching the same uploads lock them in the same order.
            var changed = new List<string>();
            foreach (var (id, count) in views.OrderBy(v => v.Key, StringComparer.Ordinal))
                if (await connection.ExecuteAsync(new CommandDefinition(database.Sql(RaiseViews), new { Id = id, Views = count, Now = now }, transaction, cancellationToken: ct)) == 1)
                    changed.Add(id);
            await QueuePriority.RecomputeAsync(database, connection, transaction, changed, options.Value.Priority, ct);
            return new ReachOutcome(changed.Count, views.Count - changed.Count, unknown);
        }, ct), ct);
    }

    private sealed class UploadRow
    {
        public string Id { get; init; } = "";
        public string ExternalId { get; init; } = "";
    }
}
