using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary>Admins create users, set their roles, disable them and reset passwords; each change is audited.</summary>
public sealed class UsersModel(WorkbenchUsers users, OpenIdConnectSignIn external) : PageModel, IShowsRefusals
{
    /// <summary>The OpenID Connect provider's role claim decides its users' roles (an admin's change lasts until their next sign-in).</summary>
    public bool RolesFromProvider => external.Enabled && !string.IsNullOrWhiteSpace(external.Settings.RoleClaim);
    public IReadOnlyList<WorkbenchAccount> Accounts { get; private set; } = [];
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }
    public string? Message { get; private set; }

    public async Task OnGetAsync(string? message, CancellationToken ct)
    {
        Message = message;
        Accounts = await users.ListAsync(ct);
    }

    public Task<IActionResult> OnPostCreateAsync(string? userName, string? password, string[]? roles, CancellationToken ct) =>
        ChangeAsync(() => users.CreateAsync(Actor, userName ?? "", password ?? "", roles ?? [], ct), $"Created {userName}.", ct);

    public Task<IActionResult> OnPostRolesAsync(string id, string[]? roles, CancellationToken ct) =>
        ChangeAsync(() => users.SetRolesAsync(User.ToReviewer().Id, Actor, id, roles ?? [], ct), "Roles saved.", ct);

    public Task<IActionResult> OnPostDisableAsync(string id, bool disabled, CancellationToken ct) =>
        ChangeAsync(() => users.SetDisabledAsync(User.ToReviewer().Id, Actor, id, disabled, ct), disabled ? "User disabled." : "User enabled.", ct);

    public Task<IActionResult> OnPostPasswordAsync(string id, string? password, CancellationToken ct) =>
        ChangeAsync(() => users.ResetPasswordAsync(Actor, id, password ?? "", ct), "Password reset.", ct);

    private string Actor => AuditActors.User(User.ToReviewer().Name);

    private async Task<IActionResult> ChangeAsync(Func<Task> change, string done, CancellationToken ct)
    {
        await change();
        return Redirect("/review/users?message=" + Uri.EscapeDataString(done));
    }

    /// <summary>A refused change shows the list again with the reason beside the field (the status is the refusal's).</summary>
    public async Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct)
    {
        Error = refusal.Message;
        ErrorField = refusal.Field;
        Accounts = await users.ListAsync(ct);
        return Page();
    }
}
