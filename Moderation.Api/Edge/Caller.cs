using System.Security.Claims;
using Moderation.Core.Audit;

namespace Moderation.Api.Edge;

/// <summary>Who is calling, as the API's endpoints pass it on: the API key's id, and the audit actor it appears as.</summary>
public static class Caller
{
    /// <summary>The id of the calling API key (the subject id of its <c>api_key.created</c> event).</summary>
    public static string KeyId(ClaimsPrincipal user) =>
        user.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("The caller is not an authenticated API key.");

    /// <summary>How the calling key appears in the audit trail: <see cref="AuditActors.ApiKey"/>, <c>api_key:{id}</c>.</summary>
    public static string Actor(ClaimsPrincipal user) => AuditActors.ApiKey(KeyId(user));
}
