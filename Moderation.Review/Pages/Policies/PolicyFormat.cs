using System.Globalization;
using Moderation.Core.Policies;

namespace Moderation.Review.Pages.Policies;

/// <summary>
/// How the policy pages write numbers, one way everywhere: proportions as percentages with one decimal and their 95%
/// interval, thresholds with two decimals, counts with thousands separators, days as ISO dates (UTC).
/// </summary>
public static class PolicyFormat
{
    public static string Percent(double? value) => value is { } v ? (v * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "–";

    public static string Threshold(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    public static string Decimal(double? value) => value is { } v ? v.ToString("#,0.##", CultureInfo.InvariantCulture) : "–";

    public static string Count(long value) => Format.Count(value);

    /// <summary>"50.0% (29.9–70.1%)": the estimate and its interval; "no labels" without one.</summary>
    public static string Estimate(Estimate e) => e.Value is null
        ? "no labels"
        : $"{Percent(e.Value)} ({Percent(e.Low).TrimEnd('%')}–{Percent(e.High)})";

    /// <summary>"20 labels" or "20 labels, 12.5 effective" when weighting makes them count for less.</summary>
    public static string Labels(Estimate e)
    {
        if (e.Labels == 0) return "";
        var labels = e.Labels == 1 ? "1 label" : $"{Count(e.Labels)} labels";
        return Math.Abs(e.EffectiveLabels - e.Labels) < 0.005 ? labels : $"{labels}, {Decimal(e.EffectiveLabels)} effective";
    }

    public static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A <c>date</c> input's value (<c>yyyy-MM-dd</c>) as the start of that day, UTC; null when empty or not a date.</summary>
    public static DateTimeOffset? ParseDay(string? value) =>
        DateTime.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var day)
            ? new DateTimeOffset(day, TimeSpan.Zero)
            : null;
}
