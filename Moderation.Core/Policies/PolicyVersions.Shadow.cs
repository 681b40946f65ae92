using Dapper;
using Moderation.Core.Storage;

namespace Moderation.Core.Policies;

public sealed partial class PolicyVersions
{
    private static readonly DialectSql SelectRouting = DialectSql.Portable(
        "SELECT version, state FROM policy_versions WHERE state IN ('live', 'shadow') ORDER BY version");

    // Whether a version was ever in shadow: its state now, or a state change into shadow in the audit trail (a version
    // that left shadow keeps its shadow rows, and its diff stays readable).
    private static readonly DialectSql SelectWasShadow = DialectSql.Portable("""
        SELECT COUNT(*) FROM audit_events
        WHERE subject_id = @Version AND subject_type = 'policy' AND action = 'policy.state_changed' AND after_state LIKE '{"state":"shadow"%'
        """);

    /// <summary>
    /// The live version and every version in shadow, in one indexed read per call (so a scoring batch sees one
    /// consistent moment: a version going live leaves the shadows in the same instant). Nothing remembers which version
    /// is live between calls; only the parsed documents are kept, because a version's document never changes after
    /// draft. Going live therefore reaches a worker with its next batch.
    /// </summary>
    public async Task<RoutingPolicies> CurrentAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = (await connection.QueryAsync<(string Version, string State)>(new CommandDefinition(database.Sql(SelectRouting), cancellationToken: ct))).ToList();
        var live = rows.Where(r => r.State == PolicyStates.Live).Select(r => r.Version).SingleOrDefault()
            ?? throw new InvalidOperationException("No policy version is live. A host seeds one from Moderation:Policy at start-up; has it started against this database?");
        async Task<RoutingPolicy> Load(string name)
        {
            if (parsed.TryGetValue(name, out var policy)) return policy;
            var row = await connection.QuerySingleAsync<Row>(new CommandDefinition(database.Sql(SelectOne), new { Version = name }, cancellationToken: ct));
            return parsed.GetOrAdd(name, _ => ToPolicy(row.ToVersion()));
        }
        var shadows = new List<RoutingPolicy>();
        foreach (var (version, state) in rows.Where(r => r.State == PolicyStates.Shadow)) shadows.Add(await Load(version));
        return new RoutingPolicies(await Load(live), shadows);
    }

    /// <summary>Whether <paramref name="version"/> is in shadow now or was at some time (its shadow rows are its history).</summary>
    public async Task<bool> WasShadowAsync(PolicyVersion version, CancellationToken ct)
    {
        if (version.State == PolicyStates.Shadow) return true;
        if (version.State == PolicyStates.Draft) return false;
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(SelectWasShadow), new { version.Version }, cancellationToken: ct)) > 0;
    }
}
