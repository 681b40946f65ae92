using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Policies;

/// <summary>
/// Bound from <c>Moderation:Policy</c>: the thresholds used until policy versions are managed in the database.
/// A category uses its own thresholds, else its parent's (<c>harm.hate</c> falls back to <c>harm</c>), else the default.
/// </summary>
public sealed class RoutingPolicyOptions : IValidatableObject
{
    public const string Section = "Moderation:Policy";

    [Required, StringLength(128, MinimumLength = 1)]
    public string Version { get; set; } = "config-default";

    /// <summary>Enforce routes items to review and action; Observe only scores them and emits signals with no action.</summary>
    public PolicyMode Mode { get; set; } = PolicyMode.Enforce;

    public CategoryThresholds Default { get; set; } = new();

    public Dictionary<string, CategoryThresholds> Categories { get; set; } = new(StringComparer.Ordinal);

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

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var code in Unscored.Keys.Where(c => !Scoring.ScorerOutput.IsValidCategory(c)))
            yield return new ValidationResult($"Policy Unscored code '{code}' is not a dotted lower-case name (e.g. language_unsupported).", [nameof(Unscored)]);
        foreach (var (name, thresholds) in Categories.Prepend(new("default", Default)))
        {
            if (thresholds.Review is < 0 or > 1 || thresholds.Action is < 0 or > 1 || thresholds.Review > thresholds.Action)
                yield return new ValidationResult(
                    $"Policy thresholds for '{name}' must satisfy 0 <= Review <= Action <= 1 (got Review={thresholds.Review}, Action={thresholds.Action}).",
                    [nameof(Categories)]);
        }
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
}

public enum SignalActionSetting
{
    Label,
    Interstitial,
    Ineligible,
}
