namespace Moderation.Core.Access;

/// <summary>The roles of review-workbench users. A user holds any set of them (stored space separated).</summary>
public static class ReviewRoles
{
    /// <summary>Sorts items: allows, labels and escalates, but takes no removing action.</summary>
    public const string Triage = "triage";
    /// <summary>Claims items and takes every decision on them.</summary>
    public const string Moderator = "moderator";
    /// <summary>A moderator who also takes escalated items.</summary>
    public const string Senior = "senior";
    /// <summary>Reads queues, decisions, agreement statistics and the audit trail; decides nothing.</summary>
    public const string Policy = "policy";
    /// <summary>Operators: users, the audit trail and everything a senior moderator does.</summary>
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Triage, Moderator, Senior, Policy, Admin];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);

    public static IReadOnlyList<string> Parse(string? stored) =>
        (stored ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(IsKnown).Distinct().ToList();
}
