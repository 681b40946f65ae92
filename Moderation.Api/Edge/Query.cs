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
}
