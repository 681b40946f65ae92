using System.Globalization;
using Moderation.Core.Scoring;
using Moderation.Core.Signals;
using Moderation.Core.Uploads;

namespace Moderation.Core.Policies;

public static class RouteOutcome
{
    public const string Allow = "allow";
    public const string Review = "review";
    public const string Action = "action";
}

/// <summary>How one category of one upload was routed, and the signal it sends.</summary>
public sealed record CategoryRoute(
    string Category,
    string Outcome,
    double Score,
    string ModelVersion,
    double ReviewThreshold,
    double ActionThreshold,
    string Reason,
    string SignalAction,
    double DemotionMultiplier,
    string Source = SignalSource.Model);

/// <summary>The routing of one upload under one policy version.</summary>
public sealed record RoutingDecision(string PolicyVersion, string Status, string Reason, IReadOnlyList<CategoryRoute> Categories);

/// <summary>
/// Routes scores by threshold: allow below Review, human review from Review, automatic action from Action.
/// The upload takes the most severe outcome of its categories. While an item waits for review the recommender
/// gets a provisional demotion that deepens linearly from 1 at the review threshold to the floor at the action
/// threshold, so borderline content does not spread before a person has looked at it.
/// </summary>
public sealed class RoutingPolicy(RoutingPolicyOptions options) : IRoutingPolicySource
{
    public string Version => options.Version;

    /// <summary>The policy's document (thresholds, actions, modes) as it routes.</summary>
    public RoutingPolicyOptions Options => options;

    /// <summary>A fixed policy is its own source (tests, commands that route by one given policy).</summary>
    public Task<RoutingPolicy> LiveAsync(CancellationToken ct) => Task.FromResult(this);

    /// <summary>
    /// A category's thresholds: the upload's locale first (<c>pt-BR</c>, then <c>pt</c>), each walking up the category
    /// (<c>harm.hate</c>, then <c>harm</c>), then the policy's categories the same way, then the default.
    /// </summary>
    public CategoryThresholds ThresholdsFor(string category, string? locale = null)
    {
        foreach (var tag in LocaleTags(locale))
            if (options.Locales.TryGetValue(tag, out var local) && Lookup(local, category) is { } found)
                return found;
        return Lookup(options.Categories, category) ?? options.Default;
    }

    private static CategoryThresholds? Lookup(Dictionary<string, CategoryThresholds> categories, string category)
    {
        for (var name = category; ; name = name[..name.LastIndexOf('.')])
        {
            if (categories.TryGetValue(name, out var thresholds)) return thresholds;
            if (!name.Contains('.')) return null;
        }
    }

    private static IEnumerable<string> LocaleTags(string? locale)
    {
        if (string.IsNullOrWhiteSpace(locale)) yield break;
        var tag = locale.Trim().Replace('_', '-');
        yield return tag;
        var dash = tag.IndexOf('-');
        if (dash > 0) yield return tag[..dash];
    }

    /// <param name="abstentions">
    /// What the scorers declined to score. A code listed in <see cref="RoutingPolicyOptions.Unscored"/> is routed as
    /// its own category (<c>language_unsupported</c> to review by default), with no demotion: a post is not held back
    /// for the language it is written in. Other codes (<c>no_text</c>) are recorded, not routed.
    /// </param>
    /// <param name="locale">The upload's locale, for thresholds the policy sets per locale.</param>
    /// <param name="explain">False leaves every reason empty (a backtest routing a million stored scores needs the outcomes only).</param>
    public RoutingDecision Route(IReadOnlyList<CategoryScore> scores, IReadOnlyList<AttributedAbstention>? abstentions = null, string? locale = null,
        bool explain = true)
    {
        // Several model versions may score one category; the highest score decides. Shadow scores never route.
        // A match against known content (a hash bank) outranks every estimate: its own action decides.
        var routes = scores
            .Where(s => !s.Shadow)
            .GroupBy(s => s.Category, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Where(s => s.Match is not null).MaxBy(s => ActionSeverity(s.Match!.Action)) is { } match
                ? RouteMatch(match, locale, explain)
                // Every model's route, then the most severe (a review-only model's high score may rank below another's action).
                : g.Select(s => RouteCategory(s, locale, explain)).OrderByDescending(r => Severity(r.Outcome)).ThenByDescending(r => r.Score).First())
            .ToList();
        abstentions ??= [];
        routes.AddRange(abstentions
            .Where(a => options.Unscored.ContainsKey(a.Abstention.Code) && routes.All(r => r.Category != a.Abstention.Code))
            .GroupBy(a => a.Abstention.Code, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => RouteUnscored(g.MaxBy(a => a.Abstention.Confidence)!, explain)));

        if (options.Mode == PolicyMode.Observe)
        {
            var observed = routes.Select(r => r with { SignalAction = SignalAction.None, DemotionMultiplier = 1.0 }).ToList();
            return new RoutingDecision(Version, UploadStatus.Scored,
                $"policy {Version} is in observe mode: scores are recorded and sent as signals without action", observed);
        }

        var worst = routes.OrderByDescending(r => Severity(r.Outcome)).ThenByDescending(r => r.Score).FirstOrDefault();
        if (worst is null)
            return new RoutingDecision(Version, UploadStatus.Allowed, !explain ? "" : abstentions.Count == 0
                ? $"no scorer produced a score for this upload (policy {Version})"
                : $"not scored: {string.Join("; ", abstentions.Select(a => $"{a.Scorer}: {a.Abstention.Reason}"))} (policy {Version})", routes);

        var status = worst.Outcome switch
        {
            RouteOutcome.Action => UploadStatus.Actioned,
            RouteOutcome.Review => UploadStatus.InReview,
            _ => UploadStatus.Allowed,
        };
        var reason = !explain ? "" : worst.Outcome == RouteOutcome.Allow
            ? $"every category is below its review threshold (policy {Version})"
            : worst.Reason;
        return new RoutingDecision(Version, status, reason, routes);
    }

    private CategoryRoute RouteCategory(CategoryScore score, string? locale, bool explain)
    {
        var t = ThresholdsFor(score.Category, locale);
        var floor = t.DemotionFloor ?? options.DemotionFloor;
        var s = score.Score;
        string outcome, reason, action;
        double multiplier;
        if (s >= t.Action && score.ReviewOnly && !ActsOn(score.ModelVersion))
        {
            outcome = RouteOutcome.Review;
            reason = !explain ? "" : $"{score.Category} scored {F(s)} >= action threshold {F(t.Action)}, but {score.ModelVersion} routes to review only until the policy lists it in ActOnModels (policy {Version})";
            (action, multiplier) = t.OnReview == ReviewBandSetting.None ? (SignalAction.None, 1.0) : (SignalAction.Demote, floor);
        }
        else if (s >= t.Action)
        {
            outcome = RouteOutcome.Action;
            reason = !explain ? "" : $"{score.Category} scored {F(s)} >= action threshold {F(t.Action)} (policy {Version})";
            action = t.OnAction switch
            {
                SignalActionSetting.Label => SignalAction.Label,
                SignalActionSetting.Interstitial => SignalAction.Interstitial,
                _ => SignalAction.Ineligible,
            };
            // A label or an interstitial informs the viewer; it does not demote by itself.
            multiplier = action == SignalAction.Ineligible ? 0.0 : 1.0;
        }
        else if (s >= t.Review)
        {
            outcome = RouteOutcome.Review;
            reason = !explain ? "" : $"{score.Category} scored {F(s)} >= review threshold {F(t.Review)} and < action threshold {F(t.Action)} (policy {Version})";
            var span = t.Action - t.Review;
            var depth = span <= 0 ? 1.0 : (s - t.Review) / span;
            (action, multiplier) = t.OnReview == ReviewBandSetting.None
                ? (SignalAction.None, 1.0)
                : (SignalAction.Demote, 1.0 - (1.0 - floor) * depth);
        }
        else
        {
            outcome = RouteOutcome.Allow;
            reason = !explain ? "" : $"{score.Category} scored {F(s)} < review threshold {F(t.Review)} (policy {Version})";
            action = SignalAction.None;
            multiplier = 1.0;
        }
        return new CategoryRoute(score.Category, outcome, s, score.ModelVersion, t.Review, t.Action, reason, action, Math.Round(multiplier, 6));
    }

    private bool ActsOn(string modelVersion) => options.ActOnModels.Any(m =>
        m.EndsWith("-*", StringComparison.Ordinal) ? modelVersion.StartsWith(m[..^1], StringComparison.Ordinal) : m == modelVersion);

    /// <summary>
    /// Known content: the match's action goes to the recommender as is. A match that asks for no action still sends
    /// the upload to a person (someone put it in a bank for a reason); any other action is automatic.
    /// </summary>
    private CategoryRoute RouteMatch(CategoryScore score, string? locale, bool explain)
    {
        var t = ThresholdsFor(score.Category, locale);
        var verdict = score.Match!;
        var outcome = verdict.Action == SignalAction.None ? RouteOutcome.Review : RouteOutcome.Action;
        var multiplier = verdict.Action switch
        {
            SignalAction.Ineligible => 0.0,
            SignalAction.Demote => t.DemotionFloor ?? options.DemotionFloor,
            _ => 1.0,
        };
        var reason = !explain ? "" : $"{score.Category}: {verdict.Source} {score.ModelVersion} asks for {verdict.Action} (policy {Version})";
        return new CategoryRoute(score.Category, outcome, score.Score, score.ModelVersion, t.Review, t.Action, reason, verdict.Action,
            multiplier, verdict.Source);
    }

    /// <summary>An abstention the policy routes: review or allow, with no demotion and no action on the recommender's side.</summary>
    private CategoryRoute RouteUnscored(AttributedAbstention declined, bool explain)
    {
        var a = declined.Abstention;
        var outcome = options.Unscored[a.Code] == UnscoredOutcome.Review ? RouteOutcome.Review : RouteOutcome.Allow;
        var reason = !explain ? "" : $"{a.Code}: {declined.Scorer} gave no score ({a.Reason}); policy {Version} routes it to {outcome}";
        return new CategoryRoute(a.Code, outcome, a.Confidence, a.ModelVersion, 0, 1, reason, SignalAction.None, 1.0);
    }

    /// <summary>How far an action goes, for choosing between two matches of one category.</summary>
    public static int ActionSeverity(string action) => action switch
    {
        SignalAction.Ineligible => 4,
        SignalAction.Interstitial => 3,
        SignalAction.Demote => 2,
        SignalAction.Label => 1,
        _ => 0,
    };

    private static int Severity(string outcome) => outcome switch
    {
        RouteOutcome.Action => 2,
        RouteOutcome.Review => 1,
        _ => 0,
    };

    private static string F(double value) => value.ToString("0.00##", CultureInfo.InvariantCulture);
}

/// <summary>Where routing gets the policy it routes by: the live version, read once per scoring batch.</summary>
public interface IRoutingPolicySource
{
    Task<RoutingPolicy> LiveAsync(CancellationToken ct);

    /// <summary>
    /// The live version and the versions in shadow, read together once per scoring batch: the live one routes, the
    /// shadows are only evaluated on the same scores and stored beside it (<see cref="ShadowRouting"/>). A source
    /// without versions has no shadows.
    /// </summary>
    async Task<RoutingPolicies> CurrentAsync(CancellationToken ct) => new(await LiveAsync(ct), []);
}

/// <summary>The live policy and the shadow policies of one moment.</summary>
public sealed record RoutingPolicies(RoutingPolicy Live, IReadOnlyList<RoutingPolicy> Shadows);
