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
