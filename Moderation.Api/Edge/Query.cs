using Moderation.Core.Refusals;

namespace Moderation.Api.Edge;

/// <summary>Query-string values read by the same rules everywhere; a bad one is a refusal naming the parameter.</summary>
public static class Query
{
    /// <summary>A true/false flag; absent or empty is false.</summary>
    public static bool Flag(string name, string? value)
    {
        if (string.IsNullOrEmpty(value)) return false;
        return bool.TryParse(value, out var flag) ? flag : throw Refusal.Invalid(name, "must be true or false");
    }

    /// <summary>A point in time in ISO 8601 with an offset or <c>Z</c> (e.g. <c>2026-12-01T00:00:00Z</c>); absent or empty is null.</summary>
    public static DateTimeOffset? Time(string name, string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        return DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw Refusal.Invalid(name, $"'{value}' is not a time: use ISO 8601, e.g. 2026-12-01T00:00:00Z");
    }
}
