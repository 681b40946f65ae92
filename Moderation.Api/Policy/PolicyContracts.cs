using System.Text.Json;
using Moderation.Core.Claims;
using Moderation.Core.Models;

namespace Moderation.Api.Policy;

/// <summary>The body of <c>POST /v1/claims</c>.</summary>
public sealed record ClaimRequest
{
    /// <summary>The known false claim, 10 to 1,000 characters on one line.</summary>
    public string? Text { get; init; }

    /// <summary>An absolute http(s) link to the fact-check that refutes it.</summary>
    public string? SourceUrl { get; init; }

    /// <summary>Optional context for reviewers.</summary>
    public string? Note { get; init; }
}

/// <summary>The body of <c>POST /v1/claims/{id}/retire</c>.</summary>
public sealed record RetireClaimRequest
{
    /// <summary>Why the claim no longer applies; required, recorded in the audit trail.</summary>
    public string? Reason { get; init; }
}

/// <summary>The body of <c>POST /v1/models/{category}/{version}/state</c>.</summary>
public sealed record ModelStateRequest
{
    /// <summary><c>live</c>, <c>shadow</c> or <c>retired</c>. Promoting to live retires the category's previous live version.</summary>
    public string? State { get; init; }

    /// <summary>Why; recorded in the audit trail.</summary>
    public string? Reason { get; init; }

    /// <summary>
    /// Going live below the fairness floor: why it should go live anyway. Without it such a promotion is refused; with it
    /// the override is an audit event of its own (<c>model.fairness_override</c>).
    /// </summary>
    public string? FairnessOverride { get; init; }
}

public sealed record ClaimListResponse(IReadOnlyList<Claim> Claims);

/// <summary>A registered model version; its card and metrics as JSON objects, its artifact by hash only.</summary>
public sealed record ModelVersionResponse(
    string Category,
    string Version,
    string Scorer,
    string State,
    JsonElement Card,
    JsonElement Metrics,
    string ArtifactSha256,
    string RegisteredBy,
    DateTimeOffset RegisteredAt,
    DateTimeOffset StateChangedAt)
{
    public static ModelVersionResponse From(ModelVersionInfo m) => new(m.Category, m.Version, m.Scorer, m.State,
        Parse(m.Card), Parse(m.Metrics), m.ArtifactSha256, m.RegisteredBy, m.RegisteredAt, m.StateChangedAt);

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}

public sealed record ModelListResponse(IReadOnlyList<ModelVersionResponse> Models);

/// <summary>
/// The body of <c>POST /v1/policies</c>: a new draft named <see cref="Name"/>, its document fields at the top level
/// (<c>mode</c>, <c>default</c>, <c>categories</c>, <c>locales</c>, <c>unscored</c>, <c>demotionFloor</c>, <c>actOnModels</c>;
/// see docs/policies.md). With <see cref="BasedOn"/> they change a copy of that version's document: a category (or
/// locale, or unscored code) given replaces the copy's, the others stay.
/// </summary>
public sealed record PolicyDraftRequest
{
    /// <summary>The new version's name and id (letters, digits, '.', '_', '-'; never reused), e.g. <c>2026-12-06-harm-tighter</c>.</summary>
    public string? Name { get; init; }

    /// <summary>A version to start from.</summary>
    public string? BasedOn { get; init; }

    /// <summary>What the draft changes and why.</summary>
    public string? Note { get; init; }

    public string? Mode { get; init; }
    public JsonElement? Default { get; init; }
    public JsonElement? Categories { get; init; }
    public JsonElement? Locales { get; init; }
    public JsonElement? Unscored { get; init; }
    public double? DemotionFloor { get; init; }
    public IReadOnlyList<string>? ActOnModels { get; init; }
}

/// <summary>The body of <c>POST /v1/policies/{version}/state</c>.</summary>
public sealed record PolicyStateRequest
{
    /// <summary><c>shadow</c>, <c>live</c> or <c>retired</c>.</summary>
    public string? State { get; init; }

    /// <summary>Why; required, recorded in the audit trail.</summary>
    public string? Reason { get; init; }
}

/// <summary>The body of <c>POST /v1/policies/rollback</c>.</summary>
public sealed record PolicyRollbackRequest
{
    /// <summary>Why; required, recorded in the audit trail.</summary>
    public string? Reason { get; init; }
}

/// <summary>A policy version (<see cref="Id"/> is its name, the <c>policyVersion</c> of the routing and signals it decides) with its document.</summary>
public sealed record PolicyVersionResponse(
    string Id,
    string State,
    JsonElement Document,
    string? BasedOn,
    string? Note,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string StateChangedBy,
    DateTimeOffset StateChangedAt,
    string? LiveRequestedBy,
    DateTimeOffset? LiveRequestedAt,
    DateTimeOffset? WentLiveAt)
{
    public static PolicyVersionResponse From(Moderation.Core.Policies.PolicyVersion p)
    {
        using var document = JsonDocument.Parse(Moderation.Core.Policies.PolicyVersions.Serialize(p.Document));
        return new(p.Version, p.State, document.RootElement.Clone(), p.BasedOn, p.Note, p.CreatedBy, p.CreatedAt, p.UpdatedAt,
            p.StateChangedBy, p.StateChangedAt, p.LiveRequestedBy, p.LiveRequestedAt, p.WentLiveAt);
    }
}

public sealed record PolicyListResponse(IReadOnlyList<PolicyVersionResponse> Policies);

/// <summary>The body of <c>POST /v1/policies/{id}/backtest</c>; every field optional.</summary>
public sealed record PolicyBacktestRequest
{
    /// <summary>The window's start (uploads received from then); default 7 days before <see cref="To"/>.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>The window's end (exclusive); default now.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>The version to compare with; default the live one.</summary>
    public string? Against { get; init; }

    /// <summary>The changed items after this cursor (<c>nextChangesAfter</c> of the previous answer).</summary>
    public string? ChangesAfter { get; init; }

    /// <summary>Changed items to list, 0 to 1,000; default 100.</summary>
    public int? ChangesLimit { get; init; }
}

/// <summary>The body of <c>POST /v1/policies/explore</c>.</summary>
public sealed record ThresholdExploreRequest
{
    /// <summary>The category to explore (required).</summary>
    public string? Category { get; init; }

    /// <summary>The window; default the 7 days before <see cref="To"/> (default now).</summary>
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }

    /// <summary>The thresholds to size the review load for; default the live version's for the category.</summary>
    public double? Review { get; init; }
    public double? Action { get; init; }

    /// <summary>Reviewers on the queue (default 10) and hours each works a day (default 8).</summary>
    public int? Reviewers { get; init; }
    public double? HoursPerDay { get; init; }
}
