using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Evaluation;
using Moderation.Core.Models;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Fairness;

/// <summary>The unintended-bias AUCs of one identity group on the template set (null where the group lacks a class).</summary>
public sealed record TemplateGroup(string Group, int Sentences, double? SubgroupAuc, double? BpsnAuc, double? BnspAuc);

/// <summary>
/// The template audit of one text head: its own scores (the head alone, through <see cref="TextScorer"/>, as the model
/// card's audit is made) of every sentence of <see cref="FairnessTemplates"/>, and the Jigsaw metrics per group with
/// their generalised means (power −5).
/// </summary>
/// <param name="Source">
/// <c>scored</c>: computed by scoring the template set with this version's stored bytes (<see cref="ArtifactSha256"/>)
/// in this process; the same bytes and template set give the same figures on any host. Nothing is read from the
/// version's stored metrics (the shipped cards carry the audit as prose, not as figures a program can trust).
/// </param>
public sealed record TemplateAudit(
    string Source,
    string TemplatesSha256,
    string ArtifactSha256,
    int Sentences,
    int Scored,
    double? MeanSubgroupAuc,
    double? MeanBpsnAuc,
    double? MeanBnspAuc,
    IReadOnlyList<TemplateGroup> Groups,
    DateTimeOffset ComputedAt);

/// <summary>Whether a version's template audit meets <see cref="FairnessOptions"/>' floor.</summary>
/// <param name="Applies">False when no floor holds for the version (not a text head, a category the floor does not cover, no floor configured).</param>
/// <param name="FailingGroups">Groups whose BPSN AUC is below <see cref="MinGroupBpsn"/>, lowest first.</param>
public sealed record FairnessFloor(bool Applies, bool Passes, double? MinBpsnMean, double? MinGroupBpsn, bool MeanBelow, IReadOnlyList<string> FailingGroups, string Summary);

/// <summary>Real traffic of one identity group (or of the uploads that mention none, or all).</summary>
/// <param name="Uploads">Uploads received in the window that this version's score routed in its category, whose words mention the group.</param>
/// <param name="Flagged">Of those, routed to review or to an automatic action.</param>
/// <param name="Decided">Flagged uploads a person decided (review or appeal, not an escalation: <see cref="HumanLabels"/>).</param>
/// <param name="Overturned">Decided flagged uploads that did not end actioned: the person reversed the flag.</param>
/// <param name="FlagRate">Flagged / uploads, Wilson 95% interval.</param>
/// <param name="OverturnRate">Overturned / decided, Wilson 95% interval.</param>
public sealed record TrafficGroup(string Group, long Uploads, long Flagged, Estimate FlagRate, long Decided, long Overturned, Estimate OverturnRate);

/// <summary>The traffic part of the report over <c>[From, To)</c>.</summary>
public sealed record TrafficFairness(
    DateTimeOffset From,
    DateTimeOffset To,
    string TermListSha256,
    TrafficGroup All,
    TrafficGroup NoGroup,
    IReadOnlyList<TrafficGroup> Groups);

/// <summary>The fairness report of one model version: the template audit (text heads) with the floor, and real traffic.</summary>
/// <param name="TemplateAuditNote">Why there is no template audit, when there is none.</param>
public sealed record FairnessReport(
    string Category,
    string Version,
    string Scorer,
    string State,
    TemplateAudit? TemplateAudit,
    string? TemplateAuditNote,
    FairnessFloor Floor,
    TrafficFairness Traffic);

/// <summary>
/// The fairness report of a model version (issue 14, item 7): the template audit and, on real traffic in a window, flag
/// and overturn rates for uploads that mention each identity group against those that mention none. The audit is a
/// pure function of the version's bytes and the template set, so it is computed once per process and kept.
/// </summary>
public sealed class FairnessReports(ModerationDatabase database, ModelRegistry registry, IOptions<FairnessOptions> options,
    IOptions<TextScoringOptions> textOptions, TimeProvider time, IServiceProvider services)
{
    /// <summary>Audits by category, artifact hash and template set; shared by every instance (the bytes decide the result).</summary>
    private static readonly ConcurrentDictionary<string, Lazy<Task<TemplateAudit>>> Audits = new(StringComparer.Ordinal);

    private static readonly Lock EmbedderGate = new();
    private static TextEmbedder? ownEmbedder;

    public FairnessOptions Options => options.Value;

    /// <summary>The whole report; <paramref name="from"/>/<paramref name="to"/> default to <see cref="FairnessOptions.DefaultWindow"/> before now.</summary>
    /// <exception cref="Refusal">Not found: no such version; invalid: the window.</exception>
    public async Task<FairnessReport> ReportAsync(string category, string version, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct)
    {
        var info = await registry.FindAsync(category, version, ct) ?? throw ModelRegistry.NotFound(category, version);
        var end = to ?? time.GetUtcNow();
        var start = from ?? end - options.Value.DefaultWindow;
        var traffic = await TrafficAsync(category, version, start, end, ct);
        var (audit, note) = await TemplateAuditAsync(info, ct);
        return new FairnessReport(info.Category, info.Version, info.Scorer, info.State, audit, note, Floor(info, audit), traffic);
    }

    /// <summary>The template audit of a text head (null with the reason for any other scorer).</summary>
    public async Task<(TemplateAudit? Audit, string? Note)> TemplateAuditAsync(ModelVersionInfo info, CancellationToken ct)
    {
        if (info.Scorer != TextScorer.ScorerName)
            return (null, $"The template audit scores text; {info.Category}@{info.Version} is a '{info.Scorer}' model, which reads no text.");
        var key = $"{info.Category}|{info.ArtifactSha256}|{FairnessTemplates.Sha256}";
        var lazy = Audits.GetOrAdd(key, _ => new Lazy<Task<TemplateAudit>>(() => ScoreTemplatesAsync(info)));
        try
        {
            return (await lazy.Value.WaitAsync(ct), null);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            Audits.TryRemove(new KeyValuePair<string, Lazy<Task<TemplateAudit>>>(key, lazy)); // a failure is not remembered
            throw;
        }
    }

    /// <summary>Why no floor holds for this version (not a text head, a category the floor does not cover, no floor configured); null when one does.</summary>
    public string? NoFloorReason(ModelVersionInfo info)
    {
        var o = options.Value;
        if (info.Scorer != TextScorer.ScorerName) return "No floor: not a text head.";
        if (!o.FlooredCategories.Contains(info.Category, StringComparer.Ordinal))
            return $"No floor: Moderation:Fairness:Categories ({string.Join(", ", o.FlooredCategories)}) does not list {info.Category}.";
        if (o.MinBpsnMean is null && o.MinGroupBpsn is null) return "No floor is configured.";
        return null;
    }

    /// <summary>Whether the audit meets the floor for this version (see <see cref="FairnessFloor"/>).</summary>
    public FairnessFloor Floor(ModelVersionInfo info, TemplateAudit? audit)
    {
        var o = options.Value;
        if (NoFloorReason(info) is { } why) return new(false, true, o.MinBpsnMean, o.MinGroupBpsn, false, [], why);
        if (audit is null) throw new InvalidOperationException("A text head in a floored category needs its template audit.");
        var meanBelow = o.MinBpsnMean is { } minMean && !(audit.MeanBpsnAuc >= minMean);
        var failing = o.MinGroupBpsn is { } minGroup
            ? audit.Groups.Where(g => g.BpsnAuc is { } b && b < minGroup).OrderBy(g => g.BpsnAuc).Select(g => g.Group).ToList()
            : [];
        var passes = !meanBelow && failing.Count == 0;
        var parts = new List<string>();
        if (meanBelow) parts.Add($"the generalised mean of BPSN AUC is {F(audit.MeanBpsnAuc)}, below {F(o.MinBpsnMean)}");
        if (failing.Count > 0)
            parts.Add($"{failing.Count} group(s) below a BPSN AUC of {F(o.MinGroupBpsn)}: " +
                string.Join(", ", failing.Select(g => $"{g} {F(audit.Groups.First(x => x.Group == g).BpsnAuc)}")));
        return new(true, passes, o.MinBpsnMean, o.MinGroupBpsn, meanBelow, failing,
            passes ? $"Meets the floor (BPSN mean {F(audit.MeanBpsnAuc)} >= {F(o.MinBpsnMean)}, every group >= {F(o.MinGroupBpsn)})." : string.Join("; ", parts) + ".");
    }

    private static string F(double? value) => value is { } v ? v.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) : "none";

    private async Task<TemplateAudit> ScoreTemplatesAsync(ModelVersionInfo info)
    {
        var bytes = await registry.ArtifactAsync(info.Category, info.Version, CancellationToken.None)
            ?? throw new InvalidDataException($"The registry lists {info.Category}@{info.Version} but holds no artifact for it.");
        if (!Convert.ToHexStringLower(SHA256.HashData(bytes)).Equals(info.ArtifactSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"The artifact of {info.Category}@{info.Version} does not match its recorded SHA-256.");
        TextHead head;
        using (var stream = new MemoryStream(bytes, writable: false)) head = TextHead.Load(stream);
        var card = HeadFiles.ParseCard(info.Card) with { ModelVersion = info.Version, Category = info.Category };
        var scorer = new TextScorer(Embedder(), new FixedHeadSource([new LoadedHead(card, head)]));

        var sentences = FairnessTemplates.Sentences;
        var scores = new double[sentences.Count];
        // The scorer's own path, in the chunks train-defaults uses, off the request thread.
        await Task.Run(async () =>
        {
            for (var start = 0; start < sentences.Count; start += 2048)
            {
                var chunk = sentences.Skip(start).Take(2048).Select(s => s.Text).ToList();
                var verdicts = await scorer.ScoreTextsAsync(chunk);
                for (var i = 0; i < chunk.Count; i++)
                    scores[start + i] = verdicts[i].Scores.FirstOrDefault(s => s.Category == info.Category)?.Score ?? double.NaN;
            }
        });
        var kept = Enumerable.Range(0, sentences.Count).Where(i => !double.IsNaN(scores[i])).ToList();
        var report = BiasMetrics.Audit(kept.Select(i => scores[i]).ToList(), kept.Select(i => sentences[i].Harmful).ToList(),
            kept.Select(i => (IReadOnlySet<string>)new HashSet<string> { sentences[i].Group }).ToList());
        return new TemplateAudit("scored", FairnessTemplates.Sha256, info.ArtifactSha256, sentences.Count, kept.Count,
            Defined(report.MeanSubgroupAuc), Defined(report.MeanBpsnAuc), Defined(report.MeanBnspAuc),
            report.Groups.Select(g => new TemplateGroup(g.Group, g.Count, Defined(g.SubgroupAuc), Defined(g.BpsnAuc), Defined(g.BnspAuc))).ToList(),
            time.GetUtcNow());
    }

    private static double? Defined(double value) => double.IsNaN(value) ? null : value;

    /// <summary>The host's encoder when it scores text; otherwise one made on first use and kept for the process.</summary>
    private TextEmbedder Embedder()
    {
        if (services.GetService(typeof(TextEmbedder)) is TextEmbedder shared) return shared;
        lock (EmbedderGate) return ownEmbedder ??= new TextEmbedder(precision: textOptions.Value.Precision);
    }

    private static readonly DialectSql SelectTraffic = DialectSql.Portable($"""
        SELECT u.id, u.caption, u.hashtags, u.transcript, u.status,
               CASE WHEN EXISTS (SELECT 1 FROM routing_decisions f WHERE f.upload_id = u.id AND f.category = @Category
                                 AND f.model_version = @Version AND f.outcome IN ('review', 'action'))
                    THEN 1 ELSE 0 END AS flagged,
               {HumanLabels.Columns}
        FROM uploads u
        WHERE u.received_at_ms >= @From AND u.received_at_ms < @To
          AND EXISTS (SELECT 1 FROM routing_decisions r WHERE r.upload_id = u.id AND r.category = @Category AND r.model_version = @Version)
        """);

    /// <summary>
    /// Flag and overturn rates over <c>[from, to)</c> (by when the upload arrived) of the uploads this version's score
    /// routed in <paramref name="category"/>, per identity group their creator's words mention (caption, hashtags,
    /// transcript; not other people's comments), for those that mention none, and for all. Does not check that the
    /// version is registered (a scorer outside the registry routes too).
    /// </summary>
    public async Task<TrafficFairness> TrafficAsync(string category, string version, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        if (to <= from) throw Refusal.Invalid("from", $"The window is empty: from ({from:O}) must be before to ({to:O}).");
        var groups = IdentityGroups.Shipped;
        var counts = groups.Groups.ToDictionary(g => g, _ => new Counter(), StringComparer.Ordinal);
        var none = new Counter();
        var all = new Counter();
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<TrafficRow>(new CommandDefinition(database.Sql(SelectTraffic), new
        {
            Category = category, Version = version, From = from.ToUnixTimeMilliseconds(), To = to.ToUnixTimeMilliseconds(),
        }, cancellationToken: ct));
        foreach (var row in rows)
        {
            var mentioned = groups.Mentioned(row.Words());
            var flagged = row.Flagged == 1;
            var decided = flagged && row.Decided == 1;
            var overturned = decided && row.Status != UploadStatus.Actioned;
            all.Add(flagged, decided, overturned);
            if (mentioned.Count == 0) none.Add(flagged, decided, overturned);
            foreach (var g in mentioned) counts[g].Add(flagged, decided, overturned);
        }
        return new TrafficFairness(from, to, groups.Sha256, all.ToGroup("all"), none.ToGroup("none"),
            groups.Groups.Select(g => counts[g].ToGroup(g)).ToList());
    }

    private sealed class Counter
    {
        private long uploads, flagged, decided, overturned;

        public void Add(bool flag, bool decide, bool overturn)
        {
            uploads++;
            if (flag) flagged++;
            if (decide) decided++;
            if (overturn) overturned++;
        }

        public TrafficGroup ToGroup(string name) =>
            new(name, uploads, flagged, Estimate.From(flagged, uploads, uploads, uploads), decided, overturned, Estimate.From(overturned, decided, decided, decided));
    }

    private sealed class TrafficRow
    {
        public string Id { get; init; } = "";
        public string? Caption { get; init; }
        public string? Hashtags { get; init; }
        public string? Transcript { get; init; }
        public string Status { get; init; } = "";
        public long Flagged { get; init; }
        public long Decided { get; init; }
        public long ReviewRouted { get; init; }
        public double? AuditProbability { get; init; }

        /// <summary>The creator's own words: caption, hashtags, transcript.</summary>
        public string Words()
        {
            var tags = string.IsNullOrEmpty(Hashtags) ? [] : JsonSerializer.Deserialize<string[]>(Hashtags) ?? [];
            return string.Join('\n', new[] { Caption, string.Join(' ', tags), Transcript }.Where(s => !string.IsNullOrWhiteSpace(s)));
        }
    }
}
