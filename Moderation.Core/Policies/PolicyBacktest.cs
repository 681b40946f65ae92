using System.Globalization;
using System.Threading.Channels;
using Dapper;
using Moderation.Core.Refusals;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Policies;

/// <summary>Uploads per outcome (of a category, or of whole uploads: allowed, review, actioned).</summary>
public sealed record OutcomeCounts(long Allow, long Review, long Action)
{
    public static OutcomeCounts operator +(OutcomeCounts a, OutcomeCounts b) => new(a.Allow + b.Allow, a.Review + b.Review, a.Action + b.Action);
}

/// <summary>
/// A proportion estimated from human labels, with its 95% interval (Wilson, on the effective number of labels), the
/// labels behind it and Kish's effective number of labels (equal to the count while every label weighs the same).
/// <see cref="FewLabels"/>: fewer than 30 effective labels stand behind it; do not lean on it.
/// </summary>
public sealed record Estimate(double? Value, double? Low, double? High, long Labels, double EffectiveLabels, bool FewLabels)
{
    public const double MinEffectiveLabels = 30;

    public static Estimate From(double weightedYes, double weightSum, double weightSquares, long labels)
    {
        if (labels == 0 || weightSum <= 0) return new(null, null, null, 0, 0, true);
        var p = weightedYes / weightSum;
        var n = weightSum * weightSum / weightSquares;
        var (low, high) = Wilson(p, n);
        return new(p, low, high, labels, Math.Round(n, 2), n < MinEffectiveLabels);
    }

    /// <summary>The Wilson score interval at 95% for a proportion <paramref name="p"/> from <paramref name="n"/> (effective) trials.</summary>
    public static (double Low, double High) Wilson(double p, double n, double z = 1.959963984540054)
    {
        var z2 = z * z;
        var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}

/// <summary>One category under the candidate policy and under the one it is compared with.</summary>
public sealed record CategoryBacktest(
    string Category,
    OutcomeCounts Candidate,
    OutcomeCounts Against,
    long Changed,
    Estimate CandidateActionPrecision,
    Estimate AgainstActionPrecision,
    Estimate CandidateReviewPrecision,
    Estimate AgainstReviewPrecision);

/// <summary>Uploads per outcome of one category on one day (UTC, by when the upload arrived).</summary>
public sealed record DayCounts(string Day, string Category, OutcomeCounts Candidate, OutcomeCounts Against);

/// <summary>An upload whose routing of a category the candidate would change; <see cref="Label"/> is the human decision's outcome, if any.</summary>
public sealed record BacktestChange(string UploadId, string ExternalId, string Category, double Score, string AgainstOutcome, string CandidateOutcome, string? Label);

/// <summary>What routing by <see cref="Candidate"/> instead of <see cref="Against"/> would have done to the uploads of a window.</summary>
public sealed record BacktestResult(
    string Candidate,
    string Against,
    DateTimeOffset From,
    DateTimeOffset To,
    long Uploads,
    long Labelled,
    OutcomeCounts CandidateUploads,
    OutcomeCounts AgainstUploads,
    long ChangedUploads,
    Estimate CandidateActionRecall,
    Estimate AgainstActionRecall,
    Estimate CandidateRecall,
    Estimate AgainstRecall,
    bool SelectionBiased,
    string LabelSource,
    IReadOnlyList<CategoryBacktest> Categories,
    IReadOnlyList<DayCounts> Days,
    IReadOnlyList<BacktestChange> Changes,
    string? NextChangesAfter);

/// <summary>
/// Backtests a policy version: routes the stored scores of every upload received in a window by the candidate and by
/// the version it is compared with (the live one by default) with the production <see cref="RoutingPolicy"/>, and
/// counts outcomes per category and day, the uploads that would change, and the precision of each automatic action
/// and of review routing against human decisions, with 95% intervals.
/// <para>
/// Labels are the standing human decisions: an upload a person decided (review or appeal; escalations and blind
/// quality checks do not count) is <c>violating</c> when it ended actioned, <c>allowed</c> otherwise. Only items some
/// policy sent to people have labels, so these estimates are selection-biased (<see cref="BacktestResult.SelectionBiased"/>):
/// an automatic action's precision rests on the appealed few. The audit sample (issue 14, item 3) will weigh labels by
/// their inclusion probability; until then every label weighs 1 and each estimate says how many labels stand behind it.
/// </para>
/// </summary>
public sealed class PolicyBacktest(ModerationDatabase database, PolicyVersions policies)
{
    public const int MaxChanges = 1000;
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(400);

    private static readonly DialectSql SelectUploads = DialectSql.Portable($"""
        SELECT u.id, u.external_id, u.locale, u.received_at_ms, u.status,
               {HumanLabels.Columns}
        FROM uploads u
        WHERE u.received_at_ms >= @From AND u.received_at_ms < @To AND u.status NOT IN ('queued', 'failed')
        """);

    // Grouped by upload (the reader routes an upload when the next one starts). Ordered by arrival first: SQLite then walks
    // ix_uploads_received in order and sorts only the uploads of one millisecond, not all 800,000 rows of a week by id.
    private static readonly DialectSql SelectScores = DialectSql.Portable("""
        SELECT s.upload_id, s.category, s.model_version, s.score, s.match_source, s.match_action, s.review_only
        FROM scores s JOIN uploads u ON u.id = s.upload_id
        WHERE u.received_at_ms >= @From AND u.received_at_ms < @To AND u.status NOT IN ('queued', 'failed') AND s.shadow = @NotShadow
        ORDER BY u.received_at_ms, s.upload_id
        """);

    private static readonly DialectSql SelectAbstentions = DialectSql.Portable("""
        SELECT a.upload_id, a.scorer, a.code, a.reason, a.model_version, a.confidence
        FROM abstentions a JOIN uploads u ON u.id = a.upload_id
        WHERE u.received_at_ms >= @From AND u.received_at_ms < @To AND u.status NOT IN ('queued', 'failed')
        """);

    public async Task<BacktestResult> RunAsync(string candidate, string? against, DateTimeOffset from, DateTimeOffset to,
        string? changesAfter, int changesLimit, CancellationToken ct)
    {
        if (to <= from) throw Refusal.Invalid("to", "must be after from");
        if (to - from > MaxWindow) throw Refusal.Invalid("from", $"the window may span at most {MaxWindow.TotalDays:0} days");
        if (changesLimit is < 0 or > MaxChanges) throw Refusal.Invalid("changesLimit", $"must be between 0 and {MaxChanges}");
        var candidateVersion = await policies.FindAsync(candidate, ct) ?? throw PolicyVersions.NotFound(candidate);
        var againstVersion = against is null
            ? await policies.LiveVersionAsync(ct) ?? throw Refusal.Conflict("No policy version is live to compare with; name one in `against`.")
            : await policies.FindAsync(against, ct) ?? throw Refusal.NotFound($"Policy version '{against}' does not exist.", "against");
        var draft = PolicyVersions.ToPolicy(candidateVersion);
        var live = PolicyVersions.ToPolicy(againstVersion);

        // The window in slices, each read on its own connection (SQLite's WAL and PostgreSQL both serve concurrent
        // readers) by one thread while another routes what it read: two threads a slice, a slice per two cores.
        var slices = Math.Clamp(Environment.ProcessorCount / 2, 1, 8);
        long fromMs = from.ToUnixTimeMilliseconds(), toMs = to.ToUnixTimeMilliseconds();
        var bounds = Enumerable.Range(0, slices + 1).Select(i => fromMs + (toMs - fromMs) * i / slices).ToArray();
        var tallies = await Task.WhenAll(Enumerable.Range(0, slices).Select(i => Task.Run(() =>
            RouteSliceAsync(bounds[i], bounds[i + 1], draft, live, changesAfter, changesLimit, ct), ct)));
        var total = tallies[0];
        foreach (var tally in tallies.Skip(1)) total.Add(tally);
        if (total.Uploads == 0)
            throw Refusal.Invalid("from", $"no scored upload arrived between {from:u} and {to:u}: nothing to backtest");
        return total.Result(candidateVersion.Version, againstVersion.Version, from, to, changesLimit);
    }

    private async Task<Tally> RouteSliceAsync(long fromMs, long toMs, RoutingPolicy draft, RoutingPolicy live, string? changesAfter, int changesLimit, CancellationToken ct)
    {
        var window = new { From = fromMs, To = toMs, NotShadow = false };
        await using var connection = await database.OpenAsync(ct);
        var uploads = (await connection.QueryAsync<UploadRow>(new CommandDefinition(database.Sql(SelectUploads), window, cancellationToken: ct)))
            .ToDictionary(u => u.Id, StringComparer.Ordinal);
        var tally = new Tally(changesAfter, changesLimit);
        if (uploads.Count == 0) return tally;

        var abstentions = new Dictionary<string, List<AttributedAbstention>>(StringComparer.Ordinal);
        foreach (var a in await connection.QueryAsync<AbstentionRow>(new CommandDefinition(database.Sql(SelectAbstentions), window, cancellationToken: ct)))
        {
            if (!abstentions.TryGetValue(a.UploadId, out var list)) abstentions[a.UploadId] = list = [];
            list.Add(new AttributedAbstention(a.Scorer, new Abstention(a.Code, a.Reason, a.ModelVersion ?? "", a.Confidence)));
        }

        // Scores arrive grouped by upload; each upload is routed on a second thread while the next ones are read.
        var ready = Channel.CreateBounded<(UploadRow Upload, List<CategoryScore> Scores)>(new BoundedChannelOptions(4096) { SingleReader = true, SingleWriter = true });
        var routing = Task.Run(async () =>
        {
            await foreach (var (upload, uploadScores) in ready.Reader.ReadAllAsync(ct))
            {
                var declined = abstentions.GetValueOrDefault(upload.Id) ?? [];
                tally.Add(upload, draft.Route(uploadScores, declined, upload.Locale, explain: false), live.Route(uploadScores, declined, upload.Locale, explain: false));
            }
        }, ct);
        try
        {
            // Read by hand rather than mapped: 800,000 rows for a week of 100,000 uploads, the backtest's main cost.
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            string Shared(string value) => names.TryGetValue(value, out var shared) ? shared : names[value] = value;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = database.Sql(SelectScores);
                foreach (var (name, value) in new (string, object)[] { ("@From", fromMs), ("@To", toMs), ("@NotShadow", false) })
                {
                    var parameter = command.CreateParameter();
                    parameter.ParameterName = name;
                    parameter.Value = value;
                    command.Parameters.Add(parameter);
                }
                await using var reader = await command.ExecuteReaderAsync(ct);
                List<CategoryScore>? current = null;
                UploadRow? currentUpload = null;
                while (await reader.ReadAsync(ct))
                {
                    var uploadId = reader.GetString(0);
                    if (currentUpload is null || !string.Equals(uploadId, currentUpload.Id, StringComparison.Ordinal))
                    {
                        if (currentUpload is not null) await ready.Writer.WriteAsync((currentUpload, current!), ct);
                        // An upload routed between the two reads is not in this backtest: skip its rows.
                        if (!uploads.TryGetValue(uploadId, out var found)) { currentUpload = null; current = null; continue; }
                        currentUpload = found;
                        seen.Add(uploadId);
                        current = new List<CategoryScore>(8);
                    }
                    var match = reader.IsDBNull(4) || reader.IsDBNull(5) ? null : new MatchVerdict(Shared(reader.GetString(4)), Shared(reader.GetString(5)));
                    current!.Add(new CategoryScore(Shared(reader.GetString(1)), reader.GetDouble(3), Shared(reader.GetString(2)), [], Match: match,
                        ReviewOnly: Convert.ToBoolean(reader.GetValue(6), CultureInfo.InvariantCulture)));
                }
                if (currentUpload is not null) await ready.Writer.WriteAsync((currentUpload, current!), ct);
            }
            // Uploads with no score (every scorer declined) are routed too.
            foreach (var upload in uploads.Values.Where(u => !seen.Contains(u.Id)))
                await ready.Writer.WriteAsync((upload, []), ct);
        }
        finally
        {
            ready.Writer.TryComplete();
        }
        await routing;
        return tally;
    }

    /// <summary>The counts and label sums a backtest adds up, one upload at a time.</summary>
    private sealed class Tally(string? changesAfter, int changesLimit)
    {
        private long uploads, labelled, audited, changedUploads;

        public long Uploads => uploads;
        private OutcomeCounts candidateUploads = new(0, 0, 0), againstUploads = new(0, 0, 0);
        private readonly Dictionary<string, CategoryTally> categories = new(StringComparer.Ordinal);
        private readonly Dictionary<(string Day, string Category), (OutcomeCounts Candidate, OutcomeCounts Against)> days = [];
        private readonly Proportion candidateActionRecall = new(), againstActionRecall = new(), candidateRecall = new(), againstRecall = new();
        // The first changes by cursor, up to one more than the page, so that the page knows whether more follow.
        private readonly SortedList<string, BacktestChange> changes = new(StringComparer.Ordinal);

        /// <summary>Adds another slice's tally (of a disjoint set of uploads).</summary>
        public void Add(Tally other)
        {
            uploads += other.uploads;
            labelled += other.labelled;
            audited += other.audited;
            changedUploads += other.changedUploads;
            candidateUploads += other.candidateUploads;
            againstUploads += other.againstUploads;
            foreach (var (name, c) in other.categories)
            {
                if (!categories.TryGetValue(name, out var mine)) categories[name] = mine = new CategoryTally();
                mine.Add(c);
            }
            foreach (var (key, value) in other.days)
            {
                var mine = days.GetValueOrDefault(key, (new OutcomeCounts(0, 0, 0), new OutcomeCounts(0, 0, 0)));
                days[key] = (mine.Item1 + value.Candidate, mine.Item2 + value.Against);
            }
            candidateActionRecall.Add(other.candidateActionRecall);
            againstActionRecall.Add(other.againstActionRecall);
            candidateRecall.Add(other.candidateRecall);
            againstRecall.Add(other.againstRecall);
            foreach (var (cursor, change) in other.changes) Keep(cursor, change);
        }

        public void Add(UploadRow upload, RoutingDecision candidate, RoutingDecision against)
        {
            uploads++;
            bool? violating = upload.Decided == 1 ? upload.Status == UploadStatus.Actioned : null;
            var design = upload.DesignProbability;
            if (violating is not null) labelled++;
            if (violating is not null && upload.AuditProbability is not null) audited++;
            candidateUploads += Count(OutcomeOf(candidate.Status));
            againstUploads += Count(OutcomeOf(against.Status));
            if (candidate.Status != against.Status) changedUploads++;
            if (violating == true)
            {
                candidateActionRecall.Add(candidate.Status == UploadStatus.Actioned, design);
                againstActionRecall.Add(against.Status == UploadStatus.Actioned, design);
                candidateRecall.Add(candidate.Status is UploadStatus.Actioned or UploadStatus.InReview, design);
                againstRecall.Add(against.Status is UploadStatus.Actioned or UploadStatus.InReview, design);
            }

            var day = DateTimeOffset.FromUnixTimeMilliseconds(upload.ReceivedAtMs).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var byCategory = against.Categories.ToDictionary(c => c.Category, StringComparer.Ordinal);
            foreach (var route in candidate.Categories)
            {
                var before = byCategory.GetValueOrDefault(route.Category);
                var beforeOutcome = before?.Outcome ?? RouteOutcome.Allow;
                if (!categories.TryGetValue(route.Category, out var c)) categories[route.Category] = c = new CategoryTally();
                c.Candidate += Count(route.Outcome);
                c.Against += Count(beforeOutcome);
                if (violating is { } v)
                {
                    if (route.Outcome == RouteOutcome.Action) c.CandidateAction.Add(v, design);
                    if (beforeOutcome == RouteOutcome.Action) c.AgainstAction.Add(v, design);
                    if (route.Outcome == RouteOutcome.Review) c.CandidateReview.Add(v, design);
                    if (beforeOutcome == RouteOutcome.Review) c.AgainstReview.Add(v, design);
                }
                var key = (day, route.Category);
                var counts = days.GetValueOrDefault(key, (new OutcomeCounts(0, 0, 0), new OutcomeCounts(0, 0, 0)));
                days[key] = (counts.Item1 + Count(route.Outcome), counts.Item2 + Count(beforeOutcome));
                if (route.Outcome == beforeOutcome) continue;
                c.Changed++;
                var cursor = Cursor(upload.Id, route.Category);
                if (changesAfter is not null && string.CompareOrdinal(cursor, changesAfter) <= 0) continue;
                Keep(cursor, new BacktestChange(upload.Id, upload.ExternalId, route.Category, route.Score, beforeOutcome, route.Outcome,
                    violating is null ? null : violating.Value ? "violating" : "allowed"));
            }
        }

        private static string Cursor(string uploadId, string category) => $"{uploadId}|{category}";

        private void Keep(string cursor, BacktestChange change)
        {
            if (changes.Count > changesLimit && string.CompareOrdinal(cursor, changes.Keys[^1]) >= 0) return;
            changes[cursor] = change;
            if (changes.Count > changesLimit + 1) changes.RemoveAt(changes.Count - 1);
        }

        public BacktestResult Result(string candidate, string against, DateTimeOffset from, DateTimeOffset to, int changesLimit)
        {
            // Slices hold their first changes each; the page is the first of them all, in cursor order.
            var ordered = changes.Values.ToList();
            var page = ordered.Take(changesLimit).ToList();
            var nextAfter = ordered.Count > changesLimit && page.Count > 0 ? Cursor(page[^1].UploadId, page[^1].Category) : null;
            return Build(candidate, against, from, to, page, nextAfter);
        }

        private BacktestResult Build(string candidate, string against, DateTimeOffset from, DateTimeOffset to, List<BacktestChange> page, string? nextAfter)
        {
            // With audited labels in the window, estimate from the audit design (inverse-probability weighted); without,
            // from every label, and say that they are biased to what people were sent.
            var useDesign = audited > 0;
            Estimate E(Proportion p) => useDesign ? p.Design() : p.Estimate();
            return new(
            candidate, against, from, to, uploads, labelled, candidateUploads, againstUploads, changedUploads,
            E(candidateActionRecall), E(againstActionRecall), E(candidateRecall), E(againstRecall),
            SelectionBiased: !useDesign,
            LabelSource: useDesign
                ? $"the audit design: decisions on uploads the policy sent to review (weight 1) and on the {audited} audited uploads it allowed or actioned (weight 1 / inclusion probability); reports and appeals left out"
                : "standing human decisions on uploads that a policy, a report or an appeal sent to people (no audit sample in this window): every label weighs 1",
            categories.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new CategoryBacktest(c.Key, c.Value.Candidate, c.Value.Against, c.Value.Changed,
                E(c.Value.CandidateAction), E(c.Value.AgainstAction), E(c.Value.CandidateReview), E(c.Value.AgainstReview))).ToList(),
            days.OrderBy(d => d.Key.Day, StringComparer.Ordinal).ThenBy(d => d.Key.Category, StringComparer.Ordinal)
                .Select(d => new DayCounts(d.Key.Day, d.Key.Category, d.Value.Candidate, d.Value.Against)).ToList(),
            page, nextAfter);
        }

        private static string OutcomeOf(string status) => status switch
        {
            UploadStatus.Actioned => RouteOutcome.Action,
            UploadStatus.InReview => RouteOutcome.Review,
            _ => RouteOutcome.Allow,
        };

        private static OutcomeCounts Count(string outcome) => outcome switch
        {
            RouteOutcome.Action => new(0, 0, 1),
            RouteOutcome.Review => new(0, 1, 0),
            _ => new(1, 0, 0),
        };
    }

    private sealed class CategoryTally
    {
        public OutcomeCounts Candidate = new(0, 0, 0), Against = new(0, 0, 0);
        public long Changed;
        public readonly Proportion CandidateAction = new(), AgainstAction = new(), CandidateReview = new(), AgainstReview = new();

        public void Add(CategoryTally other)
        {
            Candidate += other.Candidate;
            Against += other.Against;
            Changed += other.Changed;
            CandidateAction.Add(other.CandidateAction);
            AgainstAction.Add(other.AgainstAction);
            CandidateReview.Add(other.CandidateReview);
            AgainstReview.Add(other.AgainstReview);
        }
    }

    /// <summary>
    /// A proportion two ways: over every label, each weighing 1 (biased to what people were sent), and over the audit
    /// design's labels, each weighing the inverse of its inclusion probability (<see cref="AuditEstimator"/>).
    /// </summary>
    private sealed class Proportion
    {
        private double yes, sum, squares;
        private long count;
        private readonly AuditEstimator design = new();

        public void Add(bool outcome, double? designProbability)
        {
            count++;
            sum += 1;
            squares += 1;
            if (outcome) yes += 1;
            if (designProbability is { } p) design.Add(outcome, p);
        }

        public Estimate Design() => design.Estimate();

        public void Add(Proportion other)
        {
            yes += other.yes;
            sum += other.sum;
            squares += other.squares;
            count += other.count;
            design.Add(other.design);
        }

        public Estimate Estimate() => Policies.Estimate.From(yes, sum, squares, count);
    }

    private sealed class UploadRow
    {
        public string Id { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string? Locale { get; init; }
        public long ReceivedAtMs { get; init; }
        public string Status { get; init; } = "";
        public long Decided { get; init; }
        public long ReviewRouted { get; init; }
        public double? AuditProbability { get; init; }

        /// <summary>
        /// In the audit design: the probability the upload was going to be labelled by design (1 when the policy sent it to
        /// review, its draw's when the audit sample picked it); null when only a report or an appeal brought it to people.
        /// </summary>
        public double? DesignProbability => HumanLabels.DesignProbability(ReviewRouted, AuditProbability);
    }

    private sealed class ScoreRow
    {
        public string UploadId { get; init; } = "";
        public string Category { get; init; } = "";
        public string ModelVersion { get; init; } = "";
        public double Score { get; init; }
        public string? MatchSource { get; init; }
        public string? MatchAction { get; init; }
        public bool ReviewOnly { get; init; }
    }

    private sealed class AbstentionRow
    {
        public string UploadId { get; init; } = "";
        public string Scorer { get; init; } = "";
        public string Code { get; init; } = "";
        public string Reason { get; init; } = "";
        public string? ModelVersion { get; init; }
        public double Confidence { get; init; }
    }
}
