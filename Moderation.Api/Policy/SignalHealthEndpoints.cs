using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Moderation.Api.Edge;
using Moderation.Core.Access;
using Moderation.Core.Refusals;
using Moderation.Core.Signals;

namespace Moderation.Api.Policy;

/// <summary>The body of a quarantine or a release.</summary>
public sealed record SignalSourceChangeRequest
{
    /// <summary>Why (required; recorded in the audit trail).</summary>
    public string? Reason { get; init; }
}

/// <summary>The sources in quarantine now.</summary>
public sealed record SignalQuarantineListResponse(IReadOnlyList<SourceQuarantine> Quarantined);

/// <summary>
/// Signal health (issue 14, item 6): per source, volume, precision against human decisions, drift and flags; quarantine
/// and release of a source. Reads need <c>policy:read</c>, changes <c>policy:write</c>, audited with the calling key
/// as the actor.
/// </summary>
public static class SignalHealthEndpoints
{
    public static IEndpointRouteBuilder MapSignalHealth(this IEndpointRouteBuilder routes)
    {
        var health = routes.MapGroup("/v1/signal-health").WithTags("Signal health");
        health.MapGet("/", GetSignalHealth)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetSignalHealth")
            .WithSummary("Per signal source: volume, precision, drift, flags")
            .WithDescription("Every model head and version, hash bank and claim that scored uploads received in [from, to) (ISO 8601; `to` defaults to now, `from` to `Moderation:SignalHealth:DefaultWindowDays` before it), by day: volume, uploads sent to review and to an action, precision against human decisions with 95% intervals, PSI of the last week's scores against the weeks before, the `flooding` and `drifting` flags, and any quarantine.")
            .Produces<SignalHealthReport>()
            .ProducesValidationProblem();
        health.MapGet("/quarantined", GetQuarantined)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetQuarantinedSignalSources")
            .WithSummary("The sources in quarantine");
        health.MapPost("/{source}/quarantine", PostQuarantine)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("QuarantineSignalSource")
            .WithSummary("Quarantine a signal source")
            .WithDescription("`source` is `model:{category}:{version}`, `hash-bank:{bank}` or `claim:{id}`. From now on routing ignores the source's scores (a claim stops being matched), and its signals still acting are retracted in the feed, except where a person already decided. A reason is required.")
            .AcceptsJson<SignalSourceChangeRequest>()
            .Produces<QuarantineResult>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        health.MapPost("/{source}/release", PostRelease)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("ReleaseSignalSource")
            .WithSummary("Release a quarantined signal source")
            .WithDescription("The source acts on new uploads again; the signals its quarantine retracted stay retracted. A reason is required.")
            .AcceptsJson<SignalSourceChangeRequest>()
            .Produces<SourceQuarantine>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return routes;
    }

    internal static async Task<Ok<SignalHealthReport>> GetSignalHealth(SignalHealth health, TimeProvider time, string? from, string? to, CancellationToken ct)
    {
        var end = Time("to", to) ?? time.GetUtcNow();
        return TypedResults.Ok(await health.ReadAsync(Time("from", from), end, ct));
    }

    internal static async Task<Ok<SignalQuarantineListResponse>> GetQuarantined(SignalQuarantines quarantines, CancellationToken ct) =>
        TypedResults.Ok(new SignalQuarantineListResponse(await quarantines.ListAsync(ct)));

    internal static async Task<Ok<QuarantineResult>> PostQuarantine(HttpRequest request, string source, SignalQuarantines quarantines, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<SignalSourceChangeRequest>(request, PolicyEndpoints.MaxBodyBytes, ct);
        return TypedResults.Ok(await quarantines.QuarantineAsync(source, Caller.Actor(request.HttpContext.User), body.Reason, ct));
    }

    internal static async Task<Ok<SourceQuarantine>> PostRelease(HttpRequest request, string source, SignalQuarantines quarantines, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<SignalSourceChangeRequest>(request, PolicyEndpoints.MaxBodyBytes, ct);
        return TypedResults.Ok(await quarantines.ReleaseAsync(source, Caller.Actor(request.HttpContext.User), body.Reason, ct));
    }

    private static DateTimeOffset? Time(string name, string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : throw Refusal.Invalid(name, "must be an ISO 8601 time, e.g. 2026-12-01 or 2026-12-01T12:00:00Z");
    }
}
