namespace Moderation.Core.Refusals;

/// <summary>The ways Core says no. The hosts decide what each one looks like on the wire (Core knows no HTTP).</summary>
public enum RefusalKind
{
    /// <summary>An input is not acceptable: <see cref="Refusal.Errors"/> names each field and why.</summary>
    Invalid,

    /// <summary>What the request names does not exist.</summary>
    NotFound,

    /// <summary>The request contradicts what is stored (a duplicate, a state that moved on, a lease that lapsed).</summary>
    Conflict,

    /// <summary>The caller may not do this (their roles, their own account).</summary>
    Forbidden,

    /// <summary>The caller has too much in flight already (e.g. media bytes per API key): retry after <see cref="Refusal.RetryAfter"/>.</summary>
    TooMany,

    /// <summary>The service as a whole cannot take this now (e.g. media bytes per host): retry after <see cref="Refusal.RetryAfter"/>.</summary>
    Unavailable,
}

/// <summary>
/// Core's one refusal: a request that is refused for a reason the caller can act on. Every store and rule throws this
/// (never an exception of its own for the same purpose); the API maps it to RFC 7807 problem details and the review
/// workbench to a message on the page, each in one place. Anything else that escapes is a fault, not a refusal.
/// </summary>
public sealed class Refusal : Exception
{
    private Refusal(RefusalKind kind, string? field, string message, IReadOnlyDictionary<string, string[]> errors,
        IReadOnlyDictionary<string, object?> details, TimeSpan? retryAfter = null) : base(message)
    {
        Kind = kind;
        Field = field;
        Errors = errors;
        Details = details;
        RetryAfter = retryAfter;
    }

    public RefusalKind Kind { get; }

    /// <summary>The input at fault (a request field such as <c>reason</c> or <c>items[3].views</c>); null when no one field is.</summary>
    public string? Field { get; }

    /// <summary>For <see cref="RefusalKind.Invalid"/>: each field at fault and the reasons; empty for the other kinds.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    /// <summary>Facts a client can act on besides the message, e.g. <c>existingId</c> of the claim a new one duplicates.</summary>
    public IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>For <see cref="RefusalKind.TooMany"/> and <see cref="RefusalKind.Unavailable"/>: when trying again may succeed.</summary>
    public TimeSpan? RetryAfter { get; }

    private static readonly IReadOnlyDictionary<string, string[]> NoErrors = new Dictionary<string, string[]>();
    private static readonly IReadOnlyDictionary<string, object?> NoDetails = new Dictionary<string, object?>();

    /// <summary><paramref name="field"/> is not acceptable; <paramref name="reason"/> says what to change.</summary>
    public static Refusal Invalid(string field, string reason) =>
        new(RefusalKind.Invalid, field, reason, new Dictionary<string, string[]> { [field] = [reason] }, NoDetails);

    /// <summary>Several inputs are not acceptable at once (a whole upload, the rows of a CSV); <paramref name="summary"/> is the message, <see cref="Field"/> null.</summary>
    public static Refusal Invalid(IReadOnlyDictionary<string, string[]> errors, string summary)
    {
        ArgumentOutOfRangeException.ThrowIfZero(errors.Count, nameof(errors));
        return new(RefusalKind.Invalid, null, summary, errors, NoDetails);
    }

    public static Refusal NotFound(string message, string? field = null) => new(RefusalKind.NotFound, field, message, NoErrors, NoDetails);

    public static Refusal Conflict(string message, string? field = null, IReadOnlyDictionary<string, object?>? details = null) =>
        new(RefusalKind.Conflict, field, message, NoErrors, details ?? NoDetails);

    public static Refusal Forbidden(string message, string? field = null) => new(RefusalKind.Forbidden, field, message, NoErrors, NoDetails);

    /// <summary>The caller already has too much in flight; nothing was done, and the same request may succeed after <paramref name="retryAfter"/>.</summary>
    public static Refusal TooMany(string message, TimeSpan retryAfter) => new(RefusalKind.TooMany, null, message, NoErrors, NoDetails, retryAfter);

    /// <summary>The service cannot take this now, whoever asks; nothing was done, and the same request may succeed after <paramref name="retryAfter"/>.</summary>
    public static Refusal Unavailable(string message, TimeSpan retryAfter) => new(RefusalKind.Unavailable, null, message, NoErrors, NoDetails, retryAfter);
}
