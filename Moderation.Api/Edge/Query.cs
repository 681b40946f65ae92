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

    /// <summary>An ISO 8601 time (<c>2026-12-01T00:00:00Z</c>; without an offset, UTC); absent or empty is null.</summary>
    public static DateTimeOffset? Time(string name, string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        return DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : throw Refusal.Invalid(name, "must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z");
    }
}
