using Moderation.Core.Access;
using Moderation.Core.Signals;
using Moderation.Core.Uploads;

namespace Moderation.Core.Review;

/// <summary>What a reviewer can decide, and what each decision does to the item and to the signal feed.</summary>
public static class ReviewAction
{
    public const string Allow = "allow";
    public const string Remove = "remove";
    public const string AgeRestrict = "age_restrict";
    public const string Demote = "demote";
    public const string Label = "label";
    public const string Escalate = "escalate";

    /// <summary>Appeal outcomes: the earlier decision stands, or it is withdrawn.</summary>
    public const string Uphold = "uphold";
    public const string Overturn = "overturn";

    public static readonly IReadOnlyList<string> Decisions = [Allow, Remove, AgeRestrict, Demote, Label, Escalate];
    public static readonly IReadOnlyList<string> AppealOutcomes = [Uphold, Overturn];

    /// <summary>Triage sorts the obvious cases: it may allow, label or pass an item up, never restrict it.</summary>
    public static readonly IReadOnlyList<string> TriageDecisions = [Allow, Label, Escalate];

    /// <summary>The item's new status after a final decision (escalate has none).</summary>
    public static string StatusAfter(string action) => action switch
    {
        Allow => UploadStatus.Allowed,
        Remove or AgeRestrict or Demote or Label => UploadStatus.Actioned,
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, "Not a final decision."),
    };

    /// <summary>
    /// The human signal a final decision sends for one category. Demote ranks the item lower by the policy's
    /// <see cref="ReviewOptions.DemoteMultiplier"/> and leaves it eligible (reachable by link and on the profile,
    /// recommended less); a label carries the category's <see cref="ReviewOptions.LabelMultiplierFor"/> (1, full
    /// reach, unless the policy lowers it, as for misinformation by default).
    /// </summary>
    public static (string SignalAction, double Multiplier, double Score) SignalFor(string action, string category, ReviewOptions options) => action switch
    {
        Allow => (SignalAction.None, 1.0, 0.0),
        Remove => (SignalAction.Ineligible, 0.0, 1.0),
        AgeRestrict => (SignalAction.Interstitial, 1.0, 1.0),
        Demote => (SignalAction.Demote, options.DemoteMultiplier, 1.0),
        Label => (SignalAction.Label, options.LabelMultiplierFor(category), 1.0),
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, "Not a final decision."),
    };

    /// <summary>Whether a decision restricts the item (only those can be appealed).</summary>
    public static bool Restricts(string action) => action is Remove or AgeRestrict or Demote or Label;

    public static string Title(string action) => action switch
    {
        Allow => "Allow",
        Remove => "Remove",
        AgeRestrict => "Age-restrict",
        Demote => "Demote",
        Label => "Label",
        Escalate => "Escalate",
        Uphold => "Uphold",
        Overturn => "Overturn",
        _ => action,
    };

    /// <summary>
    /// Who an escalation passes the item to: one step up the ladder from the one escalating. Review tasks open for
    /// anyone who decides (<c>triage</c>); triage may only allow, label or escalate, so its escalation goes to
    /// moderators (who may restrict), and a moderator's to seniors, the top of the path (seniors do not escalate).
    /// </summary>
    public static string EscalatesTo(IReadOnlyCollection<string> roles) =>
        roles.Contains(ReviewRoles.Moderator) || roles.Contains(ReviewRoles.Senior) || roles.Contains(ReviewRoles.Admin)
            ? ReviewRoles.Senior
            : ReviewRoles.Moderator;

    /// <summary>The decisions a user with these roles may take on a task of this kind.</summary>
    public static IReadOnlyList<string> AllowedFor(IReadOnlyCollection<string> roles, string taskKind, string requiredRole)
    {
        var senior = roles.Contains(ReviewRoles.Senior) || roles.Contains(ReviewRoles.Admin);
        var moderator = senior || roles.Contains(ReviewRoles.Moderator);
        if (requiredRole == ReviewRoles.Senior && !senior) return [];
        if (requiredRole == ReviewRoles.Moderator && !moderator) return [];
        if (taskKind == ReviewTaskKind.Appeal) return moderator ? AppealOutcomes : [];
        if (moderator)
        {
            // Seniors are the top of the escalation path; quality samples are not escalated either.
            return Decisions.Where(d => d != Escalate || (!senior && taskKind == ReviewTaskKind.Review)).ToList();
        }
        if (roles.Contains(ReviewRoles.Triage) && taskKind == ReviewTaskKind.Review) return TriageDecisions;
        return [];
    }
}

public static class ReviewTaskKind
{
    public const string Review = "review";
    public const string Appeal = "appeal";
    public const string Quality = "quality";
}
