namespace Recommender.Core.Safety;

/// <summary>How much sensitive content a user wants to see. Minors cannot choose <see cref="More"/>.</summary>
public enum SensitivityLevel
{
    /// <summary>Stricter than the service's policy: local thresholds hide, gate and demote more.</summary>
    Less,
    /// <summary>The default.</summary>
    Standard,
    /// <summary>Only the service's own decisions, with demotion softened. Adults only.</summary>
    More,
}

/// <summary>
/// Thresholds a sensitivity level adds on top of the service's signals, on the signal's score. The service's action
/// is always a floor: a level can make an item's treatment stricter, never lighter than the signal asks
/// (except the demotion strength, which scales how hard a demotion bites).
/// </summary>
public sealed record SensitivityThresholds
{
    /// <summary>From this score the item is demoted locally (multiplier 1 here, falling linearly to the policy floor at <see cref="InterstitialFrom"/>, or at 1 when that is unset); null: no local demotion.</summary>
    public double? DemoteFrom { get; init; }
    /// <summary>From this score the item is shown behind a warning; null: only when the signal says so.</summary>
    public double? InterstitialFrom { get; init; }
    /// <summary>From this score the item is never shown to this user; null: only when the signal says so.</summary>
    public double? IneligibleFrom { get; init; }
    /// <summary>Multiplies the policy's <see cref="SafetyPolicy.DemotionStrength"/> for this level.</summary>
    public double StrengthScale { get; init; } = 1;
}

/// <summary>What to do with an item that has no signal yet for a category.</summary>
public enum MissingScoreMode
{
    /// <summary>Show it as if scored clean.</summary>
    FailOpen,
    /// <summary>Demote it by <see cref="MissingScoreRule.ProvisionalMultiplier"/> until scored.</summary>
    ProvisionalDemotion,
    /// <summary>Do not show it until scored.</summary>
    Withhold,
}

/// <summary>The missing-score treatment of a category.</summary>
/// <param name="Mode">What to do.</param>
/// <param name="ProvisionalMultiplier">The demotion for <see cref="MissingScoreMode.ProvisionalDemotion"/>.</param>
public sealed record MissingScoreRule(MissingScoreMode Mode, double ProvisionalMultiplier = 0.5);

/// <summary>The safety layer's rules for one category (and its sub-categories unless they have their own).</summary>
public sealed record CategoryRule
{
    /// <summary>Local thresholds for <see cref="SensitivityLevel.Less"/>.</summary>
    public SensitivityThresholds Less { get; init; } = new() { DemoteFrom = 0.25, InterstitialFrom = 0.5, IneligibleFrom = 0.75, StrengthScale = 2 };
    /// <summary>Local thresholds for <see cref="SensitivityLevel.Standard"/> (by default none: the service's decisions).</summary>
    public SensitivityThresholds Standard { get; init; } = new();
    /// <summary>Local thresholds for <see cref="SensitivityLevel.More"/> (by default none, and demotion at half strength).</summary>
    public SensitivityThresholds More { get; init; } = new() { StrengthScale = 0.5 };
    /// <summary>Whether content of this category is a sensitive topic for diversity (no long runs of it).</summary>
    public bool SensitiveTopic { get; init; } = true;

    /// <summary>The thresholds of a level.</summary>
    public SensitivityThresholds For(SensitivityLevel level) => level switch
    {
        SensitivityLevel.Less => Less,
        SensitivityLevel.More => More,
        _ => Standard,
    };
}

/// <summary>
/// The safety layer's policy. Applied in order: ineligible (removed), interstitial (warning, no autoplay),
/// demotion (each category's multiplier raised to <see cref="DemotionStrength"/>, multiplied across categories,
/// never below <see cref="DemotionFloor"/>), labels.
/// </summary>
public sealed record SafetyPolicy
{
    // Before Default: static initialisers run in order, and Default reads it.
    private static readonly string[] MinorSensitive =
        ["harm.self_harm", "harm.suicide", "harm.eating_disorder", "harm.sexual", "sexual", "harm.violence", "harm.graphic"];

    /// <summary>The default policy: the service's decisions at full strength, harm provisionally demoted until scored.</summary>
    public static SafetyPolicy Default { get; } = new();

    /// <summary>No safety layer at all (the baseline of the recsim benchmark). Not for production.</summary>
    public static SafetyPolicy Off { get; } = new() { Enabled = false };

    /// <summary>False turns the whole layer off (benchmarks' baseline). User controls still apply.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Exponent applied to each demotion multiplier: 0 ignores demotions, 1 uses the service's curve as is, 2 squares it.</summary>
    public double DemotionStrength { get; init; } = 3;

    /// <summary>The lowest combined demotion multiplier: a demoted item sinks but is not removed.</summary>
    public double DemotionFloor { get; init; } = 0.01;

    /// <summary>From this score, a category counts as the item's sensitive topic for diversity.</summary>
    public double SensitiveTopicFrom { get; init; } = 0.4;

    /// <summary>Rules per category; a category without its own uses its parent's (<c>harm.hate</c> → <c>harm</c>), then <see cref="DefaultRule"/>.</summary>
    public IReadOnlyDictionary<string, CategoryRule> Categories { get; init; } = new Dictionary<string, CategoryRule>
    {
        ["bias"] = new() { SensitiveTopic = false },
    };

    /// <summary>The rule for categories with no rule of their own.</summary>
    public CategoryRule DefaultRule { get; init; } = new();

    /// <summary>Categories every item is expected to be scored for, with the treatment while a score is missing.</summary>
    public IReadOnlyDictionary<string, MissingScoreRule> MissingScore { get; init; } = new Dictionary<string, MissingScoreRule>
    {
        ["harm"] = new(MissingScoreMode.ProvisionalDemotion, 0.5),
        ["misinformation"] = new(MissingScoreMode.FailOpen),
        ["bias"] = new(MissingScoreMode.FailOpen),
    };

    /// <summary>
    /// When the feed has not been read to its end for this long (or never), items with no signal at all are
    /// withheld whatever <see cref="MissingScore"/> says: during an outage nothing new and unscored is shown.
    /// Null turns this off.
    /// </summary>
    public TimeSpan? WithholdUnscoredWhenFeedStaleFor { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether minors may see interstitial items (behind the warning); by default they are removed for minors.</summary>
    public bool MinorsSeeInterstitials { get; init; }

    /// <summary>
    /// The categories sensitive for minors, the one list (each also covers its sub-categories): self-harm and
    /// suicide, eating disorders, sexual content, violence and graphic content.
    /// </summary>
    public static IReadOnlyList<string> DefaultMinorSensitiveCategories => MinorSensitive;

    /// <summary>
    /// Categories (with their sub-categories) that a minor sees only after a human has reviewed the item: while the
    /// signal in force for such a category is a model's or a hash match's and asks for any action, or scores at least
    /// <see cref="MinorGateFrom"/>, the item is an interstitial for minors, so removed for them unless
    /// <see cref="MinorsSeeInterstitials"/>. A human signal for the category lifts the gate (its own action applies).
    /// </summary>
    public IReadOnlyList<string> MinorSensitiveCategories { get; init; } = DefaultMinorSensitiveCategories;

    /// <summary>From this score an unreviewed signal of a <see cref="MinorSensitiveCategories"/> category gates the item for minors.</summary>
    public double MinorGateFrom { get; init; } = 0.5;

    /// <summary>Whether <paramref name="category"/> is one of <see cref="MinorSensitiveCategories"/> or under one.</summary>
    public bool IsSensitiveForMinors(string category)
    {
        foreach (var c in MinorSensitiveCategories)
            if (category == c || (category.Length > c.Length && category.StartsWith(c, StringComparison.Ordinal) && category[c.Length] == '.'))
                return true;
        return false;
    }

    /// <summary>The rule of <paramref name="category"/>: its own, its nearest parent's, or the default.</summary>
    public CategoryRule RuleFor(string category)
    {
        var name = category;
        while (true)
        {
            if (Categories.TryGetValue(name, out var rule)) return rule;
            var dot = name.LastIndexOf('.');
            if (dot <= 0) return DefaultRule;
            name = name[..dot];
        }
    }

    /// <summary>Checks the numbers; throws naming the first bad one.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (!double.IsFinite(DemotionStrength) || DemotionStrength < 0) throw new ArgumentException($"DemotionStrength {DemotionStrength} must be a finite number >= 0.", nameof(DemotionStrength));
        if (!double.IsFinite(DemotionFloor) || DemotionFloor is < 0 or > 1) throw new ArgumentException($"DemotionFloor {DemotionFloor} must be from 0 to 1.", nameof(DemotionFloor));
        foreach (var (category, rule) in Categories.Append(new("(default)", DefaultRule)))
            foreach (var (level, t) in new[] { ("Less", rule.Less), ("Standard", rule.Standard), ("More", rule.More) })
            {
                foreach (var (name, value) in new[] { ("DemoteFrom", t.DemoteFrom), ("InterstitialFrom", t.InterstitialFrom), ("IneligibleFrom", t.IneligibleFrom) })
                    if (value is { } v && (!double.IsFinite(v) || v is < 0 or > 1))
                        throw new ArgumentException($"{category}.{level}.{name} {v} must be from 0 to 1.", nameof(Categories));
                if (!double.IsFinite(t.StrengthScale) || t.StrengthScale < 0)
                    throw new ArgumentException($"{category}.{level}.StrengthScale must be >= 0.", nameof(Categories));
            }
        if (!double.IsFinite(MinorGateFrom) || MinorGateFrom is < 0 or > 1) throw new ArgumentException($"MinorGateFrom {MinorGateFrom} must be from 0 to 1.", nameof(MinorGateFrom));
        if (MinorSensitiveCategories is null || MinorSensitiveCategories.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("MinorSensitiveCategories must be a list of category names.", nameof(MinorSensitiveCategories));
        foreach (var (category, rule) in MissingScore)
            if (!double.IsFinite(rule.ProvisionalMultiplier) || rule.ProvisionalMultiplier is < 0 or > 1)
                throw new ArgumentException($"MissingScore[{category}].ProvisionalMultiplier must be from 0 to 1.", nameof(MissingScore));
    }
}
