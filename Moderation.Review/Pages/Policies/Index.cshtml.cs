using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Policies;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;
using Moderation.Review.Security;

namespace Moderation.Review.Pages.Policies;

/// <summary>
/// The policy versions, newest first: their states, who moved them and a live request waiting for a second approver;
/// a new draft based on any version; rollback in one step. Every change goes through <see cref="PolicyVersions"/>, as
/// <c>/v1/policies</c> does, audited with the signed-in user as the actor.
/// </summary>
public sealed class PolicyListModel(PolicyVersions policies, IOptions<PolicyVersionOptions> options) : PageModel, IShowsRefusals
{
    public IReadOnlyList<PolicyVersion> Versions { get; private set; } = [];
    public PolicyVersion? Live => Versions.FirstOrDefault(v => v.State == PolicyStates.Live);
    public bool RequireSecondApprover => options.Value.RequireSecondApprover;
    public string? Message { get; private set; }
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }

    /// <summary>What the forms held when a change was refused, to show them again.</summary>
    public string? Name { get; private set; }
    public string? BasedOn { get; private set; }
    public string? Note { get; private set; }

    public async Task OnGetAsync(string? message, string? basedOn, CancellationToken ct)
    {
        Message = message;
        BasedOn = basedOn;
        Versions = await policies.ListAsync(ct);
    }

    public async Task<IActionResult> OnPostCreateAsync(string? name, string? basedOn, string? note, CancellationToken ct)
    {
        (Name, BasedOn, Note) = (name, basedOn, note);
        if (string.IsNullOrWhiteSpace(basedOn)) throw Refusal.Invalid("basedOn", "is required: the version the draft starts from");
        var created = await policies.CreateDraftAsync(name ?? "", basedOn, new JsonObject(), note, Actor, ct);
        return Redirect($"/review/policies/version/{Uri.EscapeDataString(created.Version)}?message=created");
    }

    public async Task<IActionResult> OnPostRollbackAsync(string? reason, CancellationToken ct)
    {
        var live = await policies.RollbackAsync(Actor, reason, ct);
        return Redirect("/review/policies?message=" + Uri.EscapeDataString($"Rolled back: {live.Version} is live again."));
    }

    private string Actor => AuditActors.User(User.ToReviewer().Name);

    public async Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct)
    {
        Error = refusal.Message;
        ErrorField = refusal.Field;
        Versions = await policies.ListAsync(ct);
        return Page();
    }
}
