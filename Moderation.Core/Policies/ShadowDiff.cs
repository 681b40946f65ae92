using System.Globalization;
using Dapper;
using Moderation.Core.Refusals;
using Moderation.Core.Storage;

namespace Moderation.Core.Policies;

/// <summary>One category on one day (UTC, by routing time): the live outcomes and the shadow's, and how many differ.</summary>
public sealed record ShadowDay(string Day, string Category, OutcomeCounts Live, OutcomeCounts Shadow, long Changed);

/// <summary>One category over the whole window.</summary>
public sealed record ShadowCategory(string Category, OutcomeCounts Live, OutcomeCounts Shadow, long Changed);

/// <summary>The daily diff of a shadow version against the versions that routed live in a window.</summary>
public sealed record ShadowDiffSummary(
    string Version,
    string State,
    DateTimeOffset From,
    DateTimeOffset To,
    long Uploads,
    long ChangedUploads,
    IReadOnlyList<string> LiveVersions,
    IReadOnlyList<ShadowCategory> Categories,
    IReadOnlyList<ShadowDay> Days);

/// <summary>An upload whose outcome in a category the shadow version would have changed.</summary>
public sealed record ShadowChange(
    string UploadId,
    string ExternalId,
    string Category,
    double Score,
    string ModelVersion,
    string LiveVersion,
    string LiveOutcome,
    string ShadowOutcome,
    string ShadowSignalAction,
    double ShadowMultiplier,
    string Status,
    DateTimeOffset RoutedAt);

/// <summary>A page of changes; <see cref="NextAfter"/> continues it (null on the last page).</summary>
public sealed record ShadowChangePage(string Version, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<ShadowChange> Changes, string? NextAfter);

/// <summary>
/// Reads what a shadow version did beside live routing (<see cref="ShadowRouting"/>): per UTC day of routing and per
/// category, the uploads per outcome under the live version and under the shadow, and the uploads whose outcome the
/// shadow would change, a page at a time. A version keeps its shadow rows after it leaves shadow, so its diff can be
/// read as long as it was ever in shadow; a version that never was is refused (409), as is a bad window (400).
/// </summary>
public sealed class ShadowDiff(ModerationDatabase database, PolicyVersions policies)
{
    public const int MaxLimit = 1000;
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(400);
    private const long DayMs = 86_400_000;

    private static readonly DialectSql SelectCounts = DialectSql.Portable("""
        SELECT decided_at_ms / 86400000 AS day, category, live_outcome, outcome, COUNT(*) AS uploads
        FROM shadow_routing_decisions
        WHERE policy_version = @Version AND decided_at_ms >= @From AND decided_at_ms < @To
        GROUP BY decided_at_ms / 86400000, category, live_outcome, outcome
        """);

    private static readonly DialectSql SelectUploads = DialectSql.Portable("""
        SELECT COUNT(DISTINCT upload_id) AS uploads,
               COUNT(DISTINCT CASE WHEN outcome <> live_outcome THEN upload_id END) AS changed
        FROM shadow_routing_decisions
        WHERE policy_version = @Version AND decided_at_ms >= @From AND decided_at_ms < @To
        """);

    private static readonly DialectSql SelectLiveVersions = DialectSql.Portable("""
        SELECT DISTINCT live_policy_version FROM shadow_routing_decisions
        WHERE policy_version = @Version AND decided_at_ms >= @From AND decided_at_ms < @To
        """);

    private const string ChangeColumns = """
        s.upload_id, u.external_id, s.category, s.score, s.model_version, s.live_policy_version AS live_version, s.live_outcome,
        s.outcome AS shadow_outcome, s.signal_action AS shadow_signal_action, s.demotion_multiplier AS shadow_multiplier, u.status, s.decided_at_ms
        """;

    private const string ChangeWhere = """
        s.policy_version = @Version AND s.decided_at_ms >= @From AND s.decided_at_ms < @To AND s.outcome <> s.live_outcome
          AND (@Category = '' OR s.category = @Category)
          AND (s.upload_id > @AfterUpload OR (s.upload_id = @AfterUpload AND s.category > @AfterCategory))
        """;

    private static readonly DialectSql SelectChanges = new(
        sqlite: $"SELECT {ChangeColumns} FROM shadow_routing_decisions s JOIN uploads u ON u.id = s.upload_id WHERE {ChangeWhere} ORDER BY s.upload_id, s.category LIMIT @Take",
        postgres: $"SELECT {ChangeColumns} FROM shadow_routing_decisions s JOIN uploads u ON u.id = s.upload_id WHERE {ChangeWhere} ORDER BY s.upload_id, s.category LIMIT @Take",
        sqlServer: $"SELECT TOP (@Take) {ChangeColumns} FROM shadow_routing_decisions s JOIN uploads u ON u.id = s.upload_id WHERE {ChangeWhere} ORDER BY s.upload_id, s.category");

    /// <summary>Per day and category, live against shadow, over <c>[from, to)</c> of routing time.</summary>
    public async Task<ShadowDiffSummary> SummaryAsync(string version, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        CheckWindow(from, to);
        var found = await CheckVersionAsync(version, ct);
        var window = new { found.Version, From = from.ToUnixTimeMilliseconds(), To = to.ToUnixTimeMilliseconds() };
        await using var connection = await database.OpenAsync(ct);
        var counts = (await connection.QueryAsync<CountRow>(new CommandDefinition(database.Sql(SelectCounts), window, cancellationToken: ct))).ToList();
        var uploads = await connection.QuerySingleAsync<UploadsRow>(new CommandDefinition(database.Sql(SelectUploads), window, cancellationToken: ct));
        var live = (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectLiveVersions), window, cancellationToken: ct)))
            .Order(StringComparer.Ordinal).ToList();

        var days = new SortedDictionary<(string Day, string Category), (OutcomeCounts Live, OutcomeCounts Shadow, long Changed)>();
        foreach (var row in counts)
        {
            var day = DateTimeOffset.FromUnixTimeMilliseconds(row.Day * DayMs).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var key = (day, row.Category);
            var (l, s, c) = days.GetValueOrDefault(key, (Zero, Zero, 0));
            days[key] = (l + Count(row.LiveOutcome, row.Uploads), s + Count(row.Outcome, row.Uploads), c + (row.LiveOutcome == row.Outcome ? 0 : row.Uploads));
        }
        var byDay = days.Select(d => new ShadowDay(d.Key.Day, d.Key.Category, d.Value.Live, d.Value.Shadow, d.Value.Changed)).ToList();
        var categories = byDay.GroupBy(d => d.Category, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ShadowCategory(g.Key, g.Aggregate(Zero, (a, d) => a + d.Live), g.Aggregate(Zero, (a, d) => a + d.Shadow), g.Sum(d => d.Changed)))
            .ToList();
        return new ShadowDiffSummary(found.Version, found.State, from, to, uploads.Uploads, uploads.Changed, live, categories, byDay);
    }

    /// <summary>
    /// The uploads whose outcome in a category the shadow would change, in (upload, category) order, <paramref name="limit"/>
    /// at a time after <paramref name="after"/> (a previous page's <see cref="ShadowChangePage.NextAfter"/>).
    /// </summary>
    public async Task<ShadowChangePage> ChangesAsync(string version, DateTimeOffset from, DateTimeOffset to, string? category, string? after, int limit,
        CancellationToken ct)
    {
        CheckWindow(from, to);
        if (limit is < 1 or > MaxLimit) throw Refusal.Invalid("limit", $"must be between 1 and {MaxLimit}");
        string? afterUpload = null, afterCategory = null;
        if (!string.IsNullOrEmpty(after))
        {
            var bar = after.IndexOf('|');
            if (bar <= 0 || bar == after.Length - 1 || after.Length > 256)
                throw Refusal.Invalid("after", "must be a cursor returned as nextAfter by this endpoint");
            (afterUpload, afterCategory) = (after[..bar], after[(bar + 1)..]);
        }
        if (category is not null && (category.Length == 0 || category.Length > 64))
            throw Refusal.Invalid("category", "must be a category name of at most 64 characters");
        var found = await CheckVersionAsync(version, ct);
        await using var connection = await database.OpenAsync(ct);
        var rows = (await connection.QueryAsync<ChangeRow>(new CommandDefinition(database.Sql(SelectChanges), new
        {
            found.Version, From = from.ToUnixTimeMilliseconds(), To = to.ToUnixTimeMilliseconds(), Category = category ?? "",
            // No cursor: every upload id is after the empty one.
            AfterUpload = afterUpload ?? "", AfterCategory = afterCategory ?? "", Take = limit + 1,
        }, cancellationToken: ct))).ToList();
        var page = rows.Take(limit).Select(r => new ShadowChange(r.UploadId, r.ExternalId, r.Category, r.Score, r.ModelVersion, r.LiveVersion,
            r.LiveOutcome, r.ShadowOutcome, r.ShadowSignalAction, r.ShadowMultiplier, r.Status, DateTimeOffset.FromUnixTimeMilliseconds(r.DecidedAtMs))).ToList();
        var next = rows.Count > limit ? $"{page[^1].UploadId}|{page[^1].Category}" : null;
        return new ShadowChangePage(found.Version, from, to, page, next);
    }

    private static void CheckWindow(DateTimeOffset from, DateTimeOffset to)
    {
        if (to <= from) throw Refusal.Invalid("to", "must be after from");
        if (to - from > MaxWindow) throw Refusal.Invalid("from", $"the window may span at most {MaxWindow.TotalDays:0} days");
    }

    private async Task<PolicyVersion> CheckVersionAsync(string version, CancellationToken ct)
    {
        var found = await policies.FindAsync(version, ct) ?? throw PolicyVersions.NotFound(version);
        if (!await policies.WasShadowAsync(found, ct))
            throw Refusal.Conflict($"Policy version '{found.Version}' is {found.State} and was never in shadow, so nothing was computed beside live routing for it. Move a draft to shadow (POST /v1/policies/{{id}}/state {{\"state\":\"shadow\"}}) to compare it on live traffic, or backtest it.");
        return found;
    }

    private static readonly OutcomeCounts Zero = new(0, 0, 0);

    private static OutcomeCounts Count(string outcome, long n) => outcome switch
    {
        RouteOutcome.Action => new(0, 0, n),
        RouteOutcome.Review => new(0, n, 0),
        _ => new(n, 0, 0),
    };

    private sealed class CountRow
    {
        public long Day { get; init; }
        public string Category { get; init; } = "";
        public string LiveOutcome { get; init; } = "";
        public string Outcome { get; init; } = "";
        public long Uploads { get; init; }
    }

    private sealed class UploadsRow
    {
        public long Uploads { get; init; }
        public long Changed { get; init; }
    }

    private sealed class ChangeRow
    {
        public string UploadId { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string Category { get; init; } = "";
        public double Score { get; init; }
        public string ModelVersion { get; init; } = "";
        public string LiveVersion { get; init; } = "";
        public string LiveOutcome { get; init; } = "";
        public string ShadowOutcome { get; init; } = "";
        public string ShadowSignalAction { get; init; } = "";
        public double ShadowMultiplier { get; init; }
        public string Status { get; init; } = "";
        public long DecidedAtMs { get; init; }
    }
}
