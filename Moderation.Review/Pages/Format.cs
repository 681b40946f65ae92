using System.Globalization;

namespace Moderation.Review.Pages;

/// <summary>Small display helpers (the output is still HTML-encoded by Razor).</summary>
public static class Format
{
    public static string Age(TimeSpan span)
    {
        if (span < TimeSpan.Zero) span = -span;
        if (span.TotalMinutes < 1) return $"{(int)span.TotalSeconds}s";
        if (span.TotalHours < 1) return $"{(int)span.TotalMinutes}m";
        if (span.TotalDays < 1) return $"{(int)span.TotalHours}h {span.Minutes}m";
        return $"{(int)span.TotalDays}d {span.Hours}h";
    }

    public static string Excerpt(string? text, int length) =>
        text is null ? "" : text.Length <= length ? text : text[..length] + "…";

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Score(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);
}
