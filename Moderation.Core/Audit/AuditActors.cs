using Moderation.Core.Refusals;

namespace Moderation.Core.Audit;

/// <summary>
/// Who an audit event names as its actor, in one place: <c>api_key:{key id}</c> for an API key (the subject id of its
/// <c>api_key.created</c> event), <c>user:{name}</c> for a workbench user, <c>oidc:{provider}</c> for a sign-in provider, <c>cli:{os user}@{machine}</c> for the
/// worker's commands, <c>system:{component}</c> for the service itself. Every audited store checks the name it is given
/// here, so none is empty, over-long or carries control characters.
/// </summary>
public static class AuditActors
{
    public const int MaxLength = 256;

    public const string Bootstrap = "system:bootstrap";
    public const string Scoring = "system:scoring";
    public const string ShippedModels = "system:shipped-models";

    /// <summary>The first policy version, seeded from the configuration.</summary>
    public const string PolicySeed = "system:policy-seed";

    public static string ApiKey(string keyId) => "api_key:" + keyId;

    public static string User(string userName) => "user:" + userName;

    /// <summary>An OpenID Connect provider acting at sign-in (creating the account, setting its roles from the role claim).</summary>
    public static string Provider(string providerName) => "oidc:" + providerName;

    /// <summary>The operating-system user and machine running a worker command.</summary>
    public static string Cli() => $"cli:{Environment.UserName}@{Environment.MachineName}";

    public static string System(string component) => "system:" + component;

    /// <summary>Refuses (invalid, field <c>actor</c>) a name that is empty, longer than <see cref="MaxLength"/>, has control characters or white space at either end.</summary>
    public static string Check(string? actor)
    {
        if (string.IsNullOrWhiteSpace(actor)) throw Refusal.Invalid("actor", "The actor (who makes the change) is required.");
        if (actor.Length > MaxLength) throw Refusal.Invalid("actor", $"The actor is {actor.Length} characters long; the limit is {MaxLength}.");
        if (actor.Any(char.IsControl)) throw Refusal.Invalid("actor", "The actor contains control characters.");
        if (actor.Trim().Length != actor.Length) throw Refusal.Invalid("actor", $"The actor '{actor}' has leading or trailing white space.");
        return actor;
    }
}
