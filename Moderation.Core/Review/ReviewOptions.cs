using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Review;

/// <summary>Bound from <c>Moderation:Review</c>: leases, SLA clocks, priority, reason codes, quality sampling and exposure care.</summary>
public sealed class ReviewOptions : IValidatableObject
{
    public const string Section = "Moderation:Review";

    /// <summary>How long a claim holds an item; the open item page renews it every <see cref="LeaseRenewInterval"/>.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Time from entering a queue to a decision, per queue (category); others use <see cref="DefaultSla"/>.</summary>
    public TimeSpan DefaultSla { get; set; } = TimeSpan.FromHours(4);
    public Dictionary<string, TimeSpan> QueueSla { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Items this close to their SLA breach (or past it) are claimed before higher-scored ones.</summary>
    public TimeSpan NearBreach { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Categories whose media is graphic: counted per moderator per day and capped.</summary>
    public string[] GraphicCategories { get; set; } = ["harm"];

    /// <summary>Graphic items one moderator may open per UTC day before further graphic items go to others; 0: no cap.</summary>
    [Range(0, 100_000)]
    public int ExposureCapPerDay { get; set; } = 150;

    /// <summary>Categories whose media is shown unblurred by default (every other category starts blurred and greyscale).</summary>
    public string[] RevealMediaByDefault { get; set; } = [];

    /// <summary>Share of final decisions sent, blind, to a second reviewer.</summary>
    [Range(0.0, 1.0)]
    public double QualitySampleRate { get; set; } = 0.05;

    /// <summary>Reason codes per decision, from the policy; the first is the default the keyboard shortcut picks.</summary>
    public Dictionary<string, string[]> ReasonCodes { get; set; } = new(StringComparer.Ordinal)
    {
        [ReviewAction.Allow] = ["no-violation", "newsworthy", "satire-or-art", "counter-speech"],
        [ReviewAction.Remove] = ["graphic-violence", "hate-speech", "harassment", "self-harm-promotion", "dangerous-misinformation", "spam-scam"],
        [ReviewAction.AgeRestrict] = ["mature-themes", "mild-violence", "risky-activity"],
        [ReviewAction.Demote] = ["borderline-harm", "unverified-claim", "low-quality-repost"],
        [ReviewAction.Label] = ["disputed-claim", "sensitive-content", "altered-media"],
        [ReviewAction.Escalate] = ["needs-policy-call", "credible-threat", "legal-request", "unsure"],
        [ReviewAction.Uphold] = ["decision-correct"],
        [ReviewAction.Overturn] = ["misapplied-policy", "new-context", "wrong-item"],
    };

    /// <summary>
    /// The demotion multiplier of a reviewer's Demote decision (the signal's <c>demotionMultiplier</c>): the item stays
    /// eligible, ranked this much lower before the recommender's own strength. Above 0 (that would be removal) and below 1.
    /// </summary>
    public double DemoteMultiplier { get; set; } = 0.2;

    /// <summary>
    /// The multiplier a reviewer's Label decision carries, per category (and its sub-categories): a label alone keeps
    /// full reach (1) unless the policy lowers it here. By default a misinformation label halves reach.
    /// </summary>
    public Dictionary<string, double> LabelMultipliers { get; set; } = new(StringComparer.Ordinal)
    {
        ["misinformation"] = 0.5,
    };

    /// <summary>How priority weighs score, reach and reports (<c>Moderation:Review:Priority</c>); see <see cref="QueuePriority"/>.</summary>
    public QueuePriorityOptions Priority { get; set; } = new();

    public TimeSpan SlaFor(string queue)
    {
        for (var name = queue; ; name = name[..name.LastIndexOf('.')])
        {
            if (QueueSla.TryGetValue(name, out var sla)) return sla;
            if (!name.Contains('.')) return DefaultSla;
        }
    }

    public bool IsGraphic(string category) =>
        GraphicCategories.Any(g => category == g || category.StartsWith(g + ".", StringComparison.Ordinal));

    public bool RevealsByDefault(string category) =>
        RevealMediaByDefault.Any(g => category == g || category.StartsWith(g + ".", StringComparison.Ordinal));

    /// <summary>The label multiplier of <paramref name="category"/>: its own, its nearest parent's (<c>harm.hate</c> → <c>harm</c>), else 1.</summary>
    public double LabelMultiplierFor(string category)
    {
        for (var name = category; ; name = name[..name.LastIndexOf('.')])
        {
            if (LabelMultipliers.TryGetValue(name, out var multiplier)) return multiplier;
            if (!name.Contains('.')) return 1.0;
        }
    }

    public IReadOnlyList<string> ReasonCodesFor(string action) =>
        ReasonCodes.TryGetValue(action, out var codes) ? codes : [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LeaseDuration < TimeSpan.FromSeconds(10))
            yield return new ValidationResult("Moderation:Review:LeaseDuration must be at least 10 seconds.", [nameof(LeaseDuration)]);
        if (LeaseRenewInterval <= TimeSpan.Zero || LeaseRenewInterval >= LeaseDuration)
            yield return new ValidationResult("Moderation:Review:LeaseRenewInterval must be positive and shorter than LeaseDuration.", [nameof(LeaseRenewInterval)]);
        if (DefaultSla <= TimeSpan.Zero || QueueSla.Values.Any(s => s <= TimeSpan.Zero))
            yield return new ValidationResult("Moderation:Review SLAs must be positive.", [nameof(QueueSla)]);
        if (!double.IsFinite(DemoteMultiplier) || DemoteMultiplier is <= 0 or >= 1)
            yield return new ValidationResult("Moderation:Review:DemoteMultiplier must be above 0 and below 1 (0 is removal, 1 no demotion).", [nameof(DemoteMultiplier)]);
        foreach (var (category, multiplier) in LabelMultipliers)
            if (!double.IsFinite(multiplier) || multiplier is <= 0 or > 1)
                yield return new ValidationResult($"Moderation:Review:LabelMultipliers:{category} must be above 0 and at most 1.", [nameof(LabelMultipliers)]);
        foreach (var problem in Priority.Problems())
            yield return new ValidationResult(problem, [nameof(Priority)]);
        foreach (var action in ReviewAction.Decisions.Concat(ReviewAction.AppealOutcomes))
            if (ReasonCodesFor(action).Count == 0)
                yield return new ValidationResult($"Moderation:Review:ReasonCodes:{action} needs at least one reason code.", [nameof(ReasonCodes)]);
    }
}
