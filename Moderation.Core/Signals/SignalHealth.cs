using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Signals;

/// <summary>
/// What signal health flags (<c>Moderation:SignalHealth</c>). Drift compares the score distribution of the last 7 days
/// before the window's end with that of the <see cref="DriftBaselineWeeks"/> weeks before them; a flood is a source's
/// share of a review queue's intake, or its volume against its own past, over the last day before the window's end.
/// </summary>
public sealed class SignalHealthOptions
{
    public const string Section = "Moderation:SignalHealth";

    /// <summary>The window <c>GET /v1/signal-health</c> reads when <c>from</c> is not given: this many days before <c>to</c>.</summary>
    [Range(1, 400)]
    public int DefaultWindowDays { get; set; } = 28;

    /// <summary>Weeks before the current week that make the baseline a source's scores are compared with.</summary>
    [Range(1, 52)]
    public int DriftBaselineWeeks { get; set; } = 4;

    /// <summary>
    /// The population stability index above which a source is flagged <c>drifting</c>. The usual reading: below 0.1 no
    /// real change, 0.1 to 0.25 a moderate shift worth watching, above 0.25 a large shift.
    /// </summary>
    [Range(0.0, 100.0)]
    public double DriftThreshold { get; set; } = 0.25;

    /// <summary>Scores each side (this week and the baseline) needs before a PSI is computed; with fewer it is not (null), and nothing is flagged.</summary>
    [Range(1, 1_000_000)]
    public int DriftMinScores { get; set; } = 100;

    /// <summary>A source is <c>flooding</c> when it sent at least this share of a review queue's intake in the last day ...</summary>
    [Range(0.0, 1.0)]
    public double FloodQueueShare { get; set; } = 0.5;

    /// <summary>... and at least this many uploads to that queue (a quiet queue is not flooded by a handful).</summary>
    [Range(1, 1_000_000)]
    public int FloodMinReviews { get; set; } = 50;

    /// <summary>Or when its volume in the last day is more than this many times its daily mean over the baseline weeks ...</summary>
    [Range(1.0, 1_000_000.0)]
    public double FloodVolumeJump { get; set; } = 5;

    /// <summary>... and at least this many scores (or matches) that day.</summary>
    [Range(1, 10_000_000)]
    public int FloodMinVolume { get; set; } = 200;
}

/// <summary>One day of a source: its scores (or matches), how many of them routed the upload to review or to an action, and precision that day.</summary>
public sealed record SourceDay(string Day, long Volume, long Reviewed, long Actioned, Estimate Precision);

/// <summary>A source's share of one review queue's intake in the last day.</summary>
public sealed record QueueShare(string Queue, long FromSource, long Intake, double Share);

/// <summary>The score distribution of the current week against the baseline weeks, and its PSI (null with too few scores).</summary>
public sealed record SourceDrift(double? Psi, long Current, long Baseline, IReadOnlyList<double> CurrentShares, IReadOnlyList<double> BaselineShares);

/// <summary>
/// One signal source over the window: volume (scores or matches, and how many of them sent the upload to review or
/// to an action), precision against human decisions with its 95% interval, per day and overall, drift, the flags
/// and whether it is quarantined.
/// </summary>
public sealed record SourceHealth(
    string Source,
    string Kind,
    string? Category,
    bool Shadow,
    long Volume,
    long Reviewed,
    long Actioned,
    Estimate Precision,
    IReadOnlyList<SourceDay> Days,
    SourceDrift Drift,
    long LastDayVolume,
    double BaselineDailyVolume,
    IReadOnlyList<QueueShare> Queues,
    IReadOnlyList<string> Flags,
    IReadOnlyList<string> Notes,
    SourceQuarantine? Quarantine);

public sealed record SignalHealthReport(DateTimeOffset From, DateTimeOffset To, DateTimeOffset CurrentWeekFrom, DateTimeOffset BaselineFrom,
    IReadOnlyList<double> DriftBins, IReadOnlyList<SourceHealth> Sources);

public static class SignalHealthFlags
{
    public const string Flooding = "flooding";
    public const string Drifting = "drifting";
}

/// <summary>
/// Signal health (issue 14, item 6): per signal source (each model head and version, each hash bank, each claim),
/// over a window of uploads bucketed by day (UTC, by when the upload arrived):
/// <list type="bullet">
/// <item>volume: the source's scores (a hash bank's matches; a claim: the misinformation scores it raised), and how
///   many of those uploads the source's own routing row sent to review or to an action;</item>
/// <item>precision against human decisions, with a 95% Wilson interval: of the uploads the source flagged (its routing
///   row said review or action; a shadow model, which never routes, flags at the live policy's review threshold)
///   that a person decided (<see cref="HumanLabels"/>), the share that ended actioned. Where the window holds audited
///   labels the estimate is weighted by the audit design, as the threshold explorer's is;</item>
/// <item>drift: the population stability index of the source's scores in the last 7 days before the window's end
///   against the <see cref="SignalHealthOptions.DriftBaselineWeeks"/> weeks before them, over <see cref="Bins"/>
///   fixed equal bins of [0, 1];</item>
/// <item>flags: <c>drifting</c> (PSI above the threshold) and <c>flooding</c> (its share of a review queue's intake in
///   the last day, or its last day's volume against its baseline daily mean, above the thresholds).</item>
/// </list>
/// </summary>
public sealed class SignalHealth(ModerationDatabase database, PolicyVersions policies, SignalQuarantines quarantines, IOptions<SignalHealthOptions> options)
{
    /// <summary>Fixed PSI bins: ten of equal width over [0, 1], the last closed ([0.9, 1.0]).</summary>
    public const int Bins = 10;

    /// <summary>What an empty bin's share is taken as, so that ln(a / e) stays finite (a common choice; it caps one empty bin's term).</summary>
    public const double EmptyBinShare = 0.0001;

    private static readonly TimeSpan Week = TimeSpan.FromDays(7);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    // Every score of the uploads that arrived in the span read, with how the source's own routing row routed the
    // category, the upload's status and its human label (HumanLabels).
    private static readonly DialectSql SelectScores = DialectSql.Portable($"""
        SELECT s.upload_id, s.category, s.model_version, s.score,
               CASE WHEN s.shadow = @Shadow THEN 1 ELSE 0 END AS shadow,
               CASE WHEN s.category = 'misinformation' THEN s.explanation ELSE NULL END AS explanation,
               u.status, u.received_at_ms,
               (SELECT MAX(CASE WHEN r.outcome = 'action' THEN 2 WHEN r.outcome = 'review' THEN 1 ELSE 0 END) FROM routing_decisions r
                WHERE r.upload_id = s.upload_id AND r.category = s.category AND r.model_version = s.model_version) AS routed,
               {HumanLabels.Columns}
        FROM scores s JOIN uploads u ON u.id = s.upload_id
        WHERE u.received_at_ms >= @From AND u.received_at_ms < @To AND u.status NOT IN ('queued', 'failed')
        """);

    // Review intake per queue in the last day: review tasks the routing opened.
    private static readonly DialectSql SelectIntake = DialectSql.Portable("""
        SELECT upload_id, queue FROM review_tasks WHERE kind = 'review' AND entered_at_ms >= @From AND entered_at_ms < @To
        """);

    public SignalHealthOptions Options => options.Value;

    public async Task<SignalHealthReport> ReadAsync(DateTimeOffset? fromOrNull, DateTimeOffset to, CancellationToken ct)
    {
        var o = options.Value;
        var from = fromOrNull ?? to.AddDays(-o.DefaultWindowDays);
        if (to <= from) throw Refusal.Invalid("to", "must be after from");
        if (to - from > PolicyBacktest.MaxWindow) throw Refusal.Invalid("from", $"the window may span at most {PolicyBacktest.MaxWindow.TotalDays:0} days");
        var weekFrom = to - Week;
        var baselineFrom = weekFrom - Week * o.DriftBaselineWeeks;
        var dayFrom = to - Day;
        var readFrom = from < baselineFrom ? from : baselineFrom;

        var live = await policies.LiveAsync(ct);
        List<Row> rows;
        List<IntakeRow> intake;
        await using (var connection = await database.OpenAsync(ct))
        {
            rows = (await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(SelectScores),
                new { From = readFrom.ToUnixTimeMilliseconds(), To = to.ToUnixTimeMilliseconds(), Shadow = true }, cancellationToken: ct))).ToList();
            intake = (await connection.QueryAsync<IntakeRow>(new CommandDefinition(database.Sql(SelectIntake),
                new { From = dayFrom.ToUnixTimeMilliseconds(), To = to.ToUnixTimeMilliseconds() }, cancellationToken: ct))).ToList();
        }
        var quarantined = (await quarantines.ListAsync(ct)).ToDictionary(q => q.Source, StringComparer.Ordinal);
        var queueOf = intake.GroupBy(i => i.UploadId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(i => i.Queue).ToList(), StringComparer.Ordinal);
        var intakePerQueue = intake.GroupBy(i => i.Queue, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);

        var bySource = new Dictionary<string, (SignalSourceId Source, List<Row> Rows)>(StringComparer.Ordinal);
        foreach (var row in rows)
            foreach (var source in SignalSourceId.OfScore(row.Category, row.ModelVersion, row.Explanation))
            {
                if (!bySource.TryGetValue(source.Name, out var entry)) bySource[source.Name] = entry = (source, []);
                entry.Rows.Add(row);
            }
        // A quarantined source with no score in the span is still listed, so that it can be released.
        foreach (var name in quarantined.Keys)
            if (!bySource.ContainsKey(name) && SignalSourceId.TryParse(name, out var source))
                bySource[name] = (source, []);

        long fromMs = from.ToUnixTimeMilliseconds(), toMs = to.ToUnixTimeMilliseconds(), weekMs = weekFrom.ToUnixTimeMilliseconds(),
            baselineMs = baselineFrom.ToUnixTimeMilliseconds(), dayMs = dayFrom.ToUnixTimeMilliseconds();
        var days = new List<string>();
        for (var d = from.UtcDateTime.Date; d < to.UtcDateTime; d = d.AddDays(1)) days.Add(DayOf(d));

        var sources = new List<SourceHealth>();
        foreach (var (name, (source, all)) in bySource.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var inWindow = all.Where(r => r.ReceivedAtMs >= fromMs && r.ReceivedAtMs < toMs).ToList();
            var shadow = all.Count > 0 && all.All(r => r.Shadow == 1);
            bool Flagged(Row r) => r.Shadow == 1 ? r.Score >= live.ThresholdsFor(r.Category).Review : r.Routed >= 1;
            var design = inWindow.Any(r => r.Decided == 1 && r.AuditProbability is not null);

            Estimate PrecisionOf(IEnumerable<Row> subset)
            {
                var estimator = new AuditEstimator();
                foreach (var r in subset.Where(r => r.Decided == 1 && Flagged(r)))
                {
                    if (!design) estimator.Add(r.Status == UploadStatus.Actioned, 1.0);
                    else if (r.DesignProbability is { } p) estimator.Add(r.Status == UploadStatus.Actioned, p);
                }
                return estimator.Estimate();
            }

            var perDay = inWindow.GroupBy(r => DayOf(DateTimeOffset.FromUnixTimeMilliseconds(r.ReceivedAtMs).UtcDateTime), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var dayRows = days.Select(d =>
            {
                var list = perDay.GetValueOrDefault(d) ?? [];
                return new SourceDay(d, list.Count, list.LongCount(r => r.Routed == 1), list.LongCount(r => r.Routed == 2), PrecisionOf(list));
            }).ToList();

            var current = all.Where(r => r.ReceivedAtMs >= weekMs && r.ReceivedAtMs < toMs).Select(r => r.Score).ToList();
            var baseline = all.Where(r => r.ReceivedAtMs >= baselineMs && r.ReceivedAtMs < weekMs).Select(r => r.Score).ToList();
            var currentShares = Shares(current);
            var baselineShares = Shares(baseline);
            double? psi = current.Count >= o.DriftMinScores && baseline.Count >= o.DriftMinScores
                ? Math.Round(Psi(currentShares, baselineShares), 6) : null;
            var drift = new SourceDrift(psi, current.Count, baseline.Count, currentShares.Select(s => Math.Round(s, 6)).ToList(),
                baselineShares.Select(s => Math.Round(s, 6)).ToList());

            var lastDay = all.Where(r => r.ReceivedAtMs >= dayMs && r.ReceivedAtMs < toMs).ToList();
            var baselineDaily = baseline.Count / (7.0 * o.DriftBaselineWeeks);
            var queues = lastDay.Where(r => r.Routed == 1 && queueOf.ContainsKey(r.UploadId))
                .SelectMany(r => queueOf[r.UploadId].Select(q => (r.UploadId, Queue: q)))
                .Distinct()
                .GroupBy(x => x.Queue, StringComparer.Ordinal)
                .Select(g => new QueueShare(g.Key, g.Count(), intakePerQueue[g.Key], Math.Round((double)g.Count() / intakePerQueue[g.Key], 6)))
                .OrderByDescending(q => q.Share).ThenBy(q => q.Queue, StringComparer.Ordinal).ToList();

            var flags = new List<string>();
            var notes = new List<string>();
            var floodedQueue = queues.FirstOrDefault(q => q.FromSource >= o.FloodMinReviews && q.Share >= o.FloodQueueShare);
            long lastDayVolume = lastDay.Count;
            var jump = lastDayVolume / Math.Max(baselineDaily, 1.0);
            if (floodedQueue is not null)
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"sent {floodedQueue.FromSource} of the {floodedQueue.Intake} uploads queue {floodedQueue.Queue} took in over the last day ({floodedQueue.Share:P0})"));
            if (lastDayVolume >= o.FloodMinVolume && jump > o.FloodVolumeJump)
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{lastDayVolume} in the last day against a baseline mean of {baselineDaily:0.#} a day ({jump:0.#}x)"));
            if (notes.Count > 0) flags.Add(SignalHealthFlags.Flooding);
            if (psi is { } value && value > o.DriftThreshold)
            {
                flags.Add(SignalHealthFlags.Drifting);
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"PSI {value:0.000} of this week's {current.Count} scores against the previous {o.DriftBaselineWeeks} weeks' {baseline.Count} is above {o.DriftThreshold:0.###}"));
            }
            else if (psi is null)
                notes.Add($"too few scores for drift ({current.Count} this week, {baseline.Count} in the baseline; {o.DriftMinScores} each needed)");

            sources.Add(new SourceHealth(name, source.Kind, source.Category ?? all.FirstOrDefault()?.Category, shadow,
                inWindow.Count, inWindow.LongCount(r => r.Routed == 1), inWindow.LongCount(r => r.Routed == 2), PrecisionOf(inWindow), dayRows, drift,
                lastDayVolume, Math.Round(baselineDaily, 3), queues, flags, notes, quarantined.GetValueOrDefault(name)));
        }
        var bins = Enumerable.Range(0, Bins + 1).Select(i => (double)i / Bins).ToList();
        return new SignalHealthReport(from, to, weekFrom, baselineFrom, bins, sources);
    }

    /// <summary>The bin of a score: ten equal bins of [0, 1], 1.0 in the last.</summary>
    public static int BinOf(double score) => Math.Clamp((int)Math.Floor(score * Bins), 0, Bins - 1);

    /// <summary>The share of the scores in each bin (all zero for no scores).</summary>
    public static double[] Shares(IReadOnlyCollection<double> scores)
    {
        var shares = new double[Bins];
        if (scores.Count == 0) return shares;
        foreach (var s in scores) shares[BinOf(s)]++;
        for (var i = 0; i < Bins; i++) shares[i] /= scores.Count;
        return shares;
    }

    /// <summary>
    /// The population stability index of <paramref name="actual"/> against <paramref name="expected"/> (shares per bin,
    /// each summing to 1): Σ (a − e) · ln(a / e), an empty bin's share taken as <see cref="EmptyBinShare"/>. Symmetric,
    /// zero for equal distributions.
    /// </summary>
    public static double Psi(IReadOnlyList<double> actual, IReadOnlyList<double> expected)
    {
        if (actual.Count != expected.Count) throw new ArgumentException("both distributions need the same bins", nameof(expected));
        var psi = 0.0;
        for (var i = 0; i < actual.Count; i++)
        {
            var a = Math.Max(actual[i], EmptyBinShare);
            var e = Math.Max(expected[i], EmptyBinShare);
            psi += (a - e) * Math.Log(a / e);
        }
        return psi;
    }

    private static string DayOf(DateTime utc) => utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private sealed class IntakeRow
    {
        public string UploadId { get; init; } = "";
        public string Queue { get; init; } = "";
    }

    private sealed class Row
    {
        public string UploadId { get; init; } = "";
        public string Category { get; init; } = "";
        public string ModelVersion { get; init; } = "";
        public double Score { get; init; }
        public long Shadow { get; init; }
        public string? Explanation { get; init; }
        public string Status { get; init; } = "";
        public long ReceivedAtMs { get; init; }
        public long? Routed { get; init; }
        public long Decided { get; init; }
        public long ReviewRouted { get; init; }
        public double? AuditProbability { get; init; }
        public double? DesignProbability => HumanLabels.DesignProbability(ReviewRouted, AuditProbability);
    }
}
