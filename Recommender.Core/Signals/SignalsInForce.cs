namespace Recommender.Core.Signals;

/// <summary>
/// Which of an item's signals are in force, and what they add up to before any viewer's settings: the one rule the
/// safety layer and the service's verdict feed (<c>GET /v1/verdicts</c>) share.
/// </summary>
public static class SignalsInForce
{
    /// <summary>
    /// The signal in force per category: human over hash match over model, then the latest; expired ones are skipped.
    /// <paramref name="validUntil"/> is when the first of those in force expires (so the answer may change then).
    /// </summary>
    public static List<RiskSignal> Effective(IEnumerable<RiskSignal>? signals, DateTimeOffset now, out DateTimeOffset validUntil)
    {
        validUntil = DateTimeOffset.MaxValue;
        // Items carry a handful of signals, so a list scan beats a dictionary here (this runs for every candidate on a cold cache).
        var effective = new List<RiskSignal>();
        foreach (var s in signals ?? [])
        {
            if (s.ExpiresAt is { } e)
            {
                if (e <= now) continue;
                if (e < validUntil) validUntil = e;
            }
            var index = effective.FindIndex(x => x.Category == s.Category);
            if (index < 0) effective.Add(s);
            else
            {
                var current = effective[index];
                if (SignalSources.Precedence(s.Source) > SignalSources.Precedence(current.Source)
                    || (SignalSources.Precedence(s.Source) == SignalSources.Precedence(current.Source) && s.Seq > current.Seq))
                    effective[index] = s;
            }
        }
        return effective;
    }

    /// <summary>
    /// The item's combined treatment as the service's policy and decisions ask for it: the most severe action in force,
    /// the product of the demotions' and labels' multipliers (0 when ineligible), and the labelled or interstitial
    /// categories. A viewer's sensitivity settings and minors' gates come on top, in the safety layer.
    /// </summary>
    public static (string Action, double Multiplier, IReadOnlyList<string> Labels) Combine(IReadOnlyList<RiskSignal> effective)
    {
        var action = SignalActions.None;
        var multiplier = 1.0;
        var labels = new List<string>();
        foreach (var s in effective)
        {
            if (SignalActions.Severity(s.Action) > SignalActions.Severity(action)) action = s.Action;
            if (s.Action is SignalActions.Demote or SignalActions.Label) multiplier *= Math.Clamp(s.DemotionMultiplier, 0, 1);
            if (s.Action is SignalActions.Label or SignalActions.Interstitial && !labels.Contains(s.Category)) labels.Add(s.Category);
        }
        if (SignalActions.Severity(action) >= 4) multiplier = 0;
        return (action, Math.Round(multiplier, 6), labels);
    }
}
