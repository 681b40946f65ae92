using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Policies;

/// <summary>
/// A policy: per category the review band, the automatic action above it and what the recommender is told in each
/// band. It is the document of a policy version (<see cref="PolicyVersions"/>); bound from <c>Moderation:Policy</c>, it
/// seeds the first version of an empty database and is not read again. A category uses its own thresholds, else its
/// parent's (<c>harm.hate</c> falls back to <c>harm</c>), else the default; an upload whose locale has thresholds of its
/// own in <see cref="Locales"/> (<c>pt-BR</c>, else <c>pt</c>) uses those first.
/// </summary>
public sealed partial class RoutingPolicyOptions : IValidatableObject
{
    public const string Section = "Moderation:Policy";

    /// <summary>The version's name: in configuration, the name of the seeded first version; in a stored document, the row's (not stored in it).</summary>
    [Required, StringLength(128, MinimumLength = 1)]
    [System.Text.Json.Serialization.JsonIgnore]
    public string Version { get; set; } = "config-default";

    /// <summary>Enforce routes items to review and action; Observe only scores them and emits signals with no action.</summary>
    public PolicyMode Mode { get; set; } = PolicyMode.Enforce;

    public CategoryThresholds Default { get; set; } = new();

    public Dictionary<string, CategoryThresholds> Categories { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per locale (<c>pt-BR</c> or a language, <c>pt</c>), categories whose thresholds differ there.</summary>
    public Dictionary<string, Dictionary<string, CategoryThresholds>> Locales { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Where an upload goes when a scorer declined to score it, by abstention code (<c>Allow</c> or <c>Review</c>).
    /// A code not listed is recorded and shown but not routed (<c>no_text</c>: there was nothing to judge). By default
    /// a text in a language the text models do not read goes to a person, since no model has looked at its words.
    /// </summary>
    public Dictionary<string, UnscoredOutcome> Unscored { get; set; } = new(StringComparer.Ordinal)
    {
        [Scoring.AbstentionCodes.LanguageUnsupported] = UnscoredOutcome.Review,
    };

    /// <summary>The lowest multiplier a provisional demotion applies (at the action threshold).</summary>
    [Range(0.0, 1.0)]
    public double DemotionFloor { get; set; } = 0.2;

    /// <summary>
    /// Models shipped review-only (a score at or above the action threshold sends the upload to review, not to action)
    /// that this policy lets act: registry versions, or a name followed by <c>-*</c> for every version of it
    /// (<c>nsfwjs-mobilenet-v2-*</c>).
    /// </summary>
    public List<string> ActOnModels { get; set; } = [];

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    private static partial System.Text.RegularExpressions.Regex LocalePattern();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var code in Unscored.Keys.Where(c => !Scoring.ScorerOutput.IsValidCategory(c)))
            yield return new ValidationResult($"Policy Unscored code '{code}' is not a dotted lower-case name (e.g. language_unsupported).", [nameof(Unscored)]);
        var all = Categories.Prepend(new("default", Default))
            .Concat(Locales.SelectMany(l => l.Value.Select(c => new KeyValuePair<string, CategoryThresholds>($"{c.Key} in {l.Key}", c.Value))));
        foreach (var (name, thresholds) in all)
        {
            if (thresholds is null)
            {
                yield return new ValidationResult($"Policy thresholds for '{name}' are missing.", [nameof(Categories)]);
                continue;
            }
            if (thresholds.Review is < 0 or > 1 || thresholds.Action is < 0 or > 1 || thresholds.Review > thresholds.Action)
                yield return new ValidationResult(
                    $"Policy thresholds for '{name}' must satisfy 0 <= Review <= Action <= 1 (got Review={thresholds.Review}, Action={thresholds.Action}).",
                    [nameof(Categories)]);
            if (thresholds.DemotionFloor is < 0 or > 1)
                yield return new ValidationResult($"Policy DemotionFloor for '{name}' must be between 0 and 1 (got {thresholds.DemotionFloor}).", [nameof(Categories)]);
        }
        foreach (var name in Categories.Keys.Concat(Locales.Values.SelectMany(l => l.Keys)).Where(c => !Scoring.ScorerOutput.IsValidCategory(c)))
            yield return new ValidationResult($"Policy category '{name}' is not a dotted lower-case name (e.g. harm.hate).", [nameof(Categories)]);
        foreach (var locale in Locales.Keys.Where(l => !LocalePattern().IsMatch(l)))
            yield return new ValidationResult($"Policy locale '{locale}' is not a language tag (e.g. pt or pt-BR).", [nameof(Locales)]);
    }
}

/// <summary>The policy's validation as messages, for a document that arrives by API rather than configuration.</summary>
public static class RoutingPolicyValidation
{
    /// <summary>Each field at fault (camel-cased, as a document names it: <c>categories</c>, <c>locales</c>) and its messages.</summary>
    public static IReadOnlyDictionary<string, string[]> Errors(RoutingPolicyOptions policy)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(policy, new ValidationContext(policy), results, validateAllProperties: true);
        return results
            .SelectMany(r => (r.MemberNames.Any() ? r.MemberNames : ["document"]).Select(m => (Field: char.ToLowerInvariant(m[0]) + m[1..], Message: r.ErrorMessage ?? "invalid")))
            .GroupBy(e => e.Field)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Message).Distinct().ToArray());
    }
}

/// <summary>What the policy does with an upload a scorer declined to score.</summary>
public enum UnscoredOutcome
{
    Allow,
    Review,
}

public enum PolicyMode
{
    Enforce,
    Observe,
}

/// <summary>Below <see cref="Review"/>: allow. From Review to below <see cref="Action"/>: human review. From Action: automatic action.</summary>
public sealed class CategoryThresholds
{
    public double Review { get; set; } = 0.5;
    public double Action { get; set; } = 0.9;

    /// <summary>The signal an automatic action sends to the recommender.</summary>
    public SignalActionSetting OnAction { get; set; } = SignalActionSetting.Ineligible;

    /// <summary>What the recommender is told while an item waits in the review band: a provisional demotion (the default) or nothing.</summary>
    public ReviewBandSetting OnReview { get; set; } = ReviewBandSetting.Demote;

    /// <summary>This category's lowest provisional multiplier (at its action threshold); unset: the policy's <see cref="RoutingPolicyOptions.DemotionFloor"/>.</summary>
    public double? DemotionFloor { get; set; }
}

/// <summary>The recommender's side of the review band.</summary>
public enum ReviewBandSetting
{
    /// <summary>A provisional demotion from 1 at the review threshold down to the floor at the action threshold.</summary>
    Demote,

    /// <summary>Full reach until a person decides.</summary>
    None,
}

public enum SignalActionSetting
{
    Label,
    Interstitial,
    Ineligible,
}
