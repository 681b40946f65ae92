using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Caching.Memory;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;
using Moderation.Review.Security;

namespace Moderation.Review.Pages;

/// <summary>
/// Admins make API keys (scopes, an optional last day), see them listed and revoke them; each change is audited with
/// the admin as the actor. A new key's secret is on the answer to its creation only.
/// </summary>
public sealed class ApiKeysModel(ApiKeyStore keys, IMemoryCache cache, TimeProvider time) : PageModel, IShowsRefusals
{
    public IReadOnlyList<ApiKeyInfo> Keys { get; private set; } = [];
    public IssuedApiKey? Issued { get; private set; }
    public DateTimeOffset Now { get; } = time.GetUtcNow();
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }
    public string? Message { get; private set; }

    public async Task OnGetAsync(string? message, CancellationToken ct)
    {
        Message = message;
        Keys = await keys.ListAsync(ct);
    }

    /// <summary>Answers with the page itself (not a redirect), so the secret is never in a URL or a later page.</summary>
    public async Task<IActionResult> OnPostCreateAsync(string? name, string[]? scopes, DateOnly? expiresOn, CancellationToken ct)
    {
        DateTimeOffset? expiresAt = expiresOn is { } day ? new DateTimeOffset(day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null;
        Issued = await keys.IssueAsync(Actor, name, scopes ?? [], expiresAt, ct);
        Keys = await keys.ListAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(string id, CancellationToken ct)
    {
        var key = await keys.RevokeAsync(Actor, id, null, ct);
        ApiKeyStore.Forget(cache, id);
        return Redirect("/review/apikeys?message=" + Uri.EscapeDataString($"Revoked {key.Name}."));
    }

    private string Actor => AuditActors.User(User.ToReviewer().Name);

    public async Task<IActionResult> ShowRefusalAsync(Refusal refusal, CancellationToken ct)
    {
        Error = refusal.Message;
        ErrorField = refusal.Field;
        Keys = await keys.ListAsync(ct);
        return Page();
    }
}
