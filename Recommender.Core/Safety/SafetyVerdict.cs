using System.Globalization;
using Recommender.Core.Signals;

namespace Recommender.Core.Safety;

/// <summary>The safety layer's treatment of one item for one kind of viewer.</summary>
internal sealed class SafetyVerdict
{
    public static readonly SafetyVerdict Clear = new() { Why = [] };

    public bool Ineligible { get; init; }
    public bool Interstitial { get; init; }
    public double Multiplier { get; init; } = 1;
    public string[] Labels { get; init; } = [];
    /// <summary>The top-level category the item is sensitive for (diversity), or null.</summary>
    public string? SensitiveTopic { get; init; }
    /// <summary>What placed the verdict, formatted only for the items that reach a page.</summary>
    public required VerdictReason[] Why { get; init; }
    public IEnumerable<string> Reasons => Why.Select(r => r.ToString());
    /// <summary>The verdict may change at this time (a signal expires) even if no signal arrives.</summary>
    public DateTimeOffset ValidUntil { get; init; } = DateTimeOffset.MaxValue;
}

/// <summary>Applies a <see cref="SafetyPolicy"/> to an item's signals.</summary>
internal static class SafetyEvaluator
{
    // signals: the item's stored signals (expired ones included; they are skipped here), or null when it has none.
    public static SafetyVerdict Evaluate(SafetyPolicy policy, List<RiskSignal>? signals, DateTimeOffset now,
        SensitivityLevel level, bool minor, bool feedStale)
    {
        if (!policy.Enabled) return SafetyVerdict.Clear;
        var reasons = new List<VerdictReason>(2);
        var labels = new List<string>();
        bool ineligible = false, interstitial = false;
        double multiplier = 1;
        var validUntil = DateTimeOffset.MaxValue;
        string? topic = null;
        double topicScore = -1;

        // The signal in force per category: human over hash match over model, then the latest.
        var effective = SignalsInForce.Effective(signals, now, out var expires);
        if (expires < validUntil) validUntil = expires;

        foreach (var s in effective)
        {
            var rule = policy.RuleFor(s.Category);
            var t = rule.For(level);
            var severity = SignalActions.Severity(s.Action);
            var local = t.IneligibleFrom <= s.Score ? 4 : t.InterstitialFrom <= s.Score ? 3 : t.DemoteFrom <= s.Score ? 2 : 0;
            var stricter = local > severity;
            var treatment = Math.Max(severity, local);
            // A minor sees a sensitive category only once a human has reviewed it: until then it is gated.
            var gatedForMinor = minor && treatment < 3 && s.Source != SignalSources.Human && policy.IsSensitiveForMinors(s.Category)
                && (severity > 0 || s.Score >= policy.MinorGateFrom);
            if (gatedForMinor)
            {
                interstitial = true;
                if (!labels.Contains(s.Category)) labels.Add(s.Category);
                reasons.Add(new("interstitial for minors: not reviewed by a human yet", s, false));
            }
            switch (treatment)
            {
                case 4:
                    ineligible = true;
                    reasons.Add(new("ineligible", s, stricter));
                    break;
                case 3:
                    interstitial = true;
                    labels.Add(s.Category);
                    reasons.Add(new("interstitial", s, stricter));
                    break;
            }

            // A demotion's multiplier, and a label's: a label may carry reduced reach (the service's policy, e.g. misinformation).
            var m = s.Action is SignalActions.Demote or SignalActions.Label ? s.DemotionMultiplier : 1;
            if (local >= 2 && t.DemoteFrom is { } from)
            {
                var to = t.InterstitialFrom ?? 1;
                var curve = to > from ? 1 - (1 - policy.DemotionFloor) * Math.Clamp((s.Score - from) / (to - from), 0, 1) : policy.DemotionFloor;
                m = Math.Min(m, curve);
            }
            if (m < 1)
            {
                var applied = Math.Pow(m, policy.DemotionStrength * t.StrengthScale);
                multiplier *= applied;
                reasons.Add(new("demoted", s, s.Action != SignalActions.Demote && stricter, applied));
            }
            if (s.Action == SignalActions.Label && !labels.Contains(s.Category))
            {
                labels.Add(s.Category);
                reasons.Add(new("labelled", s, false));
            }
            if (rule.SensitiveTopic && s.Score >= policy.SensitiveTopicFrom && s.Score > topicScore)
            {
                topicScore = s.Score;
                var dot = s.Category.IndexOf('.');
                topic = dot > 0 ? s.Category[..dot] : s.Category;
            }
        }

        if (signals is null or { Count: 0 } && feedStale)
        {
            ineligible = true;
            reasons.Add(new("withheld: not scored yet and the signal feed is not current", null, false));
        }
        foreach (var (category, rule) in policy.MissingScore)
        {
            if (rule.Mode == MissingScoreMode.FailOpen || HasCategory(signals, category)) continue;
            if (rule.Mode == MissingScoreMode.Withhold)
            {
                ineligible = true;
                reasons.Add(new($"withheld: not scored for {category} yet", null, false));
            }
            else
            {
                multiplier *= rule.ProvisionalMultiplier;
                reasons.Add(new($"provisionally demoted x{rule.ProvisionalMultiplier.ToString("0.###", CultureInfo.InvariantCulture)}: not scored for {category} yet", null, false));
            }
        }
        if (interstitial && minor && !policy.MinorsSeeInterstitials && !ineligible)
        {
            ineligible = true;
            reasons.Add(new("ineligible: interstitial content is not shown to minors", null, false));
        }
        if (multiplier < policy.DemotionFloor) multiplier = policy.DemotionFloor;
        return new SafetyVerdict
        {
            Ineligible = ineligible,
            Interstitial = interstitial,
            Multiplier = multiplier,
            Labels = labels.ToArray(),
            SensitiveTopic = topic,
            Why = reasons.ToArray(),
            ValidUntil = validUntil,
        };
    }

    private static bool HasCategory(List<RiskSignal>? signals, string category)
    {
        if (signals is null) return false;
        foreach (var s in signals)
            if (s.Category == category || (s.Category.Length > category.Length && s.Category.StartsWith(category, StringComparison.Ordinal) && s.Category[category.Length] == '.'))
                return true;
        return false;
    }

}

/// <summary>One reason of a verdict: a kind, the signal behind it (if any), whether the user's setting made it stricter.</summary>
internal readonly record struct VerdictReason(string Kind, RiskSignal? Signal, bool Stricter, double Multiplier = 1)
{
    public override string ToString()
    {
        if (Signal is not { } s) return Kind;
        var head = Kind == "demoted" ? $"demoted x{Multiplier.ToString("0.###", CultureInfo.InvariantCulture)}" : Kind;
        return $"{head}: {s.Category} {s.Score.ToString("0.00", CultureInfo.InvariantCulture)} ({s.Source}{(s.ModelVersion is null ? "" : " " + s.ModelVersion)}, " +
            $"signal {s.Seq.ToString(CultureInfo.InvariantCulture)}){(Stricter ? " (your sensitivity setting)" : "")}";
    }
}
