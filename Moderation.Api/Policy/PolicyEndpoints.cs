using Microsoft.AspNetCore.Http.HttpResults;
using Moderation.Api.Edge;
using Moderation.Core.Access;
using Moderation.Core.Claims;
using Moderation.Core.Models;
using Moderation.Core.Policies;
using System.Text.Json;
using System.Text.Json.Nodes;
using Moderation.Core.Refusals;
using Moderation.Core.Scoring;
using Claim = Moderation.Core.Claims.Claim;

namespace Moderation.Api.Policy;

/// <summary>
/// The policy team's levers: policy versions (thresholds and actions), the misinformation claim bank and the model
/// registry's live/shadow/retired states.
/// Reads need <c>policy:read</c> (or <c>policy:write</c>), changes <c>policy:write</c>; every change is audited
/// with the calling key as the actor.
/// </summary>
public static class PolicyEndpoints
{
    /// <summary>Bodies here are a few kilobytes at most.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapPolicy(this IEndpointRouteBuilder routes)
    {
        var claims = routes.MapGroup("/v1/claims").WithTags("Claims");
        claims.MapGet("/", GetClaims)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetClaims")
            .WithSummary("The misinformation claim bank")
            .WithDescription("Active claims, oldest first; with `includeRetired=true` retired ones too.")
            .ProducesValidationProblem();
        claims.MapGet("/{id}", GetClaim)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetClaim")
            .WithSummary("One claim")
            .ProducesProblem(StatusCodes.Status404NotFound);
        claims.MapPost("/", PostClaim)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("PostClaim")
            .WithSummary("Add a known false claim")
            .WithDescription("The text (10 to 1,000 characters, one line) and an absolute http(s) link to the fact-check. An active claim with the same text (ignoring case, full-width forms, zero-width characters and white space) is a 409 naming it.")
            .AcceptsJson<ClaimRequest>()
            .Produces<Claim>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict);
        claims.MapPost("/{id}/retire", PostRetireClaim)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("RetireClaim")
            .WithSummary("Retire a claim")
            .WithDescription("The claim stops being matched; it stays in the bank for the record. A reason is required.")
            .AcceptsJson<RetireClaimRequest>()
            .Produces<Claim>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        var models = routes.MapGroup("/v1/models").WithTags("Models");
        models.MapGet("/", GetModels)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetModels")
            .WithSummary("Registered model versions")
            .WithDescription("Every version (or one category's, with `category=`) with its state, card and validation metrics, newest first.")
            .ProducesValidationProblem();
        models.MapPost("/{category}/{version}/state", PostModelState)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("SetModelState")
            .WithSummary("Make a model version live, shadow or retired")
            .WithDescription("Promoting to live retires the previous live version of the same category and scorer (text, image, image-onnx) in the same transaction; retiring the live version leaves the category without one of that kind. Setting the state a version already has changes nothing. A text head in a category under the fairness floor (`Moderation:Fairness`) whose template audit is below it is refused (409 naming the failing groups) unless `fairnessOverride` gives the reason to make it live anyway, which is audited (`model.fairness_override`).")
            .AcceptsJson<ModelStateRequest>()
            .Produces<ModelVersionResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        var policies = routes.MapGroup("/v1/policies").WithTags("Policies");
        policies.MapGet("/", GetPolicies)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetPolicies")
            .WithSummary("Every policy version")
            .WithDescription("Drafts, shadows, the live version and retired ones, newest first, each with its document.");
        policies.MapGet("/live", GetLivePolicy)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetLivePolicy")
            .WithSummary("The live policy version")
            .ProducesProblem(StatusCodes.Status404NotFound);
        policies.MapGet("/{id}", GetPolicy)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetPolicy")
            .WithSummary("One policy version")
            .ProducesProblem(StatusCodes.Status404NotFound);
        policies.MapPost("/", PostPolicy)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("PostPolicy")
            .WithSummary("Create a draft policy version")
            .WithDescription("A new version in `draft` named `name` (its `id`): the document fields at the top level (`categories: {harm: {review, action, onAction}}`, `default`, `locales`, ...), or a copy of `basedOn`'s document with the given categories, locales and fields replacing the copy's. Thresholds are validated (0 <= review <= action <= 1 per category and locale); an unknown field is refused. A name in use is a 409.")
            .AcceptsJson<PolicyDraftRequest>()
            .Produces<PolicyVersionResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict);
        policies.MapPut("/{id}", PutPolicy)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("PutPolicy")
            .WithSummary("Replace a draft's document")
            .WithDescription("The whole new document at the top level (and a `note`); fields left out take their defaults. Only a draft changes; a version past draft is frozen (409): create a new draft based on it.")
            .AcceptsJson<PolicyDraftRequest>()
            .Produces<PolicyVersionResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        policies.MapPost("/{id}/state", PostPolicyState)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("SetPolicyState")
            .WithSummary("Move a policy version: shadow, live or retired")
            .WithDescription("draft → shadow | live | retired, shadow → live | retired. Going live retires the live version in the same transaction; the next scoring batch routes by the new one. With the two-person rule on (`Moderation:PolicyVersions:RequireSecondApprover`), the first `live` records a request (`liveRequestedBy`) and a second policy user's `live` makes it live. A reason is required.")
            .AcceptsJson<PolicyStateRequest>()
            .Produces<PolicyVersionResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        policies.MapPost("/explore", PostExplore)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("ExploreThresholds")
            .WithSummary("One category's scores, for choosing its thresholds")
            .WithDescription("Over the uploads scored for `category` in `[from, to)` (default: the last 7 days): the score histogram (20 bins), the precision and recall of 'at or above t' for t = 0.05 … 0.95 against human labels with 95% intervals (weighted by the audit sample when the window has audited labels), and the review volume a pair of thresholds (default: the live version's) would send against `reviewers` × measured decisions per reviewer-hour × `hoursPerDay`: whether the queue would keep up, and its SLA.")
            .AcceptsJson<ThresholdExploreRequest>()
            .Produces<ExplorerResult>();
        policies.MapGet("/audit-sample", GetAuditSample)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetAuditSample")
            .WithSummary("The audit sample of a window, and what it estimates")
            .WithDescription("Over the uploads received in `[from, to)` (default: the last 7 days): per stratum the uploads the audit sample drew, how many a person has decided and how many still wait (the items stay blind in the queues), and per category the prevalence of violating uploads, the precision of the automatic action and of review routing and the recall, each from the design's labels weighted by the inverse inclusion probability, with 95% intervals. `selectionBiased` is true when no audited label stands behind them.")
            .Produces<AuditSampleSummary>()
            .ProducesValidationProblem();
        policies.MapPost("/{id}/backtest", PostPolicyBacktest)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("BacktestPolicy")
            .WithSummary("What a version would have done to the uploads of a window")
            .WithDescription("Routes the stored scores of every upload received in `[from, to)` (default: the last 7 days) by this version and by `against` (default: the live version), exactly as scoring routes: counts per outcome per category and per day, the uploads whose routing would change (a page of them, `changesAfter` for the next), and the precision of each automatic action and of review routing, and the recall of violating uploads, against human decisions with 95% intervals. Labels come only from items people were sent, so `selectionBiased` is true; an estimate with fewer than 30 effective labels says `fewLabels`. An empty window is a 400.")
            .AcceptsJson<PolicyBacktestRequest>()
            .Produces<BacktestResult>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        policies.MapPost("/rollback", PostPolicyRollback)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("RollbackPolicy")
            .WithSummary("Make the previous live version live again")
            .WithDescription("One step, not held by the two-person rule: the version live most recently before the live one goes live, and the live one is retired. A reason is required.")
            .AcceptsJson<PolicyRollbackRequest>()
            .Produces<PolicyVersionResponse>()
            .ProducesProblem(StatusCodes.Status409Conflict);
        return routes;
    }

    internal static async Task<Ok<PolicyListResponse>> GetPolicies(PolicyVersions policies, CancellationToken ct) =>
        TypedResults.Ok(new PolicyListResponse((await policies.ListAsync(ct)).Select(PolicyVersionResponse.From).ToList()));

    internal static async Task<Ok<PolicyVersionResponse>> GetLivePolicy(PolicyVersions policies, CancellationToken ct) =>
        TypedResults.Ok(PolicyVersionResponse.From(await policies.LiveVersionAsync(ct) ?? throw Refusal.NotFound("No policy version is live yet.")));

    internal static async Task<Ok<PolicyVersionResponse>> GetPolicy(PolicyVersions policies, string id, CancellationToken ct) =>
        TypedResults.Ok(PolicyVersionResponse.From(await policies.FindAsync(id, ct) ?? throw PolicyVersions.NotFound(id)));

    internal static async Task<IResult> PostPolicy(HttpRequest request, PolicyVersions policies, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<JsonObject>(request, MaxBodyBytes, ct);
        var name = Text(body, "name") ?? throw Refusal.Invalid("name", "is required: the new version's name");
        var basedOn = Text(body, "basedOn");
        var document = DocumentFields(body);
        if (basedOn is null && document.Count == 0) throw Refusal.Invalid("categories", "is required unless basedOn names a version to copy");
        var created = await policies.CreateDraftAsync(name, basedOn, document, Text(body, "note"), Caller.Actor(request.HttpContext.User), ct);
        return TypedResults.Created($"/v1/policies/{created.Version}", PolicyVersionResponse.From(created));
    }

    internal static async Task<IResult> PutPolicy(HttpRequest request, string id, PolicyVersions policies, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<JsonObject>(request, MaxBodyBytes, ct);
        var note = Text(body, "note");
        var updated = await policies.UpdateDraftAsync(id, PolicyVersions.ParseDocument(DocumentFields(body)), note, Caller.Actor(request.HttpContext.User), ct);
        return TypedResults.Ok(PolicyVersionResponse.From(updated));
    }

    private static readonly string[] RequestFields = ["name", "basedOn", "note"];

    /// <summary>The body's document fields (all but name, basedOn and note), as an object.</summary>
    private static JsonObject DocumentFields(JsonObject body)
    {
        var document = new JsonObject();
        foreach (var (name, value) in body.Where(f => !RequestFields.Contains(f.Key, StringComparer.OrdinalIgnoreCase)))
            document[name] = value?.DeepClone();
        return document;
    }

    private static string? Text(JsonObject body, string name)
    {
        var value = body.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
        if (value is null) return null;
        if (value.GetValueKind() != JsonValueKind.String) throw Refusal.Invalid(name, "must be a string");
        return value.GetValue<string>();
    }

    internal static async Task<IResult> PostPolicyState(HttpRequest request, string id, PolicyVersions policies, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<PolicyStateRequest>(request, MaxBodyBytes, ct);
        if (string.IsNullOrEmpty(body.State)) throw Refusal.Invalid("state", $"is required: one of {PolicyStates.Shadow}, {PolicyStates.Live}, {PolicyStates.Retired}");
        var moved = await policies.SetStateAsync(id, body.State, Caller.Actor(request.HttpContext.User), body.Reason, ct);
        return TypedResults.Ok(PolicyVersionResponse.From(moved));
    }

    internal static async Task<IResult> PostPolicyBacktest(HttpRequest request, string id, PolicyBacktest backtest, TimeProvider time, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<PolicyBacktestRequest>(request, MaxBodyBytes, ct);
        var to = body.To ?? time.GetUtcNow();
        var from = body.From ?? to.AddDays(-7);
        return TypedResults.Ok(await backtest.RunAsync(id, body.Against, from, to, body.ChangesAfter, body.ChangesLimit ?? 100, ct));
    }

    internal static async Task<IResult> PostExplore(HttpRequest request, ThresholdExplorer explorer, TimeProvider time, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ThresholdExploreRequest>(request, MaxBodyBytes, ct);
        var to = body.To ?? time.GetUtcNow();
        var from = body.From ?? to.AddDays(-7);
        return TypedResults.Ok(await explorer.ExploreAsync(body.Category ?? "", from, to, body.Review, body.Action, body.Reviewers ?? 10, body.HoursPerDay ?? 8, ct));
    }

    internal static async Task<IResult> GetAuditSample(AuditSampleReport report, TimeProvider time, string? from, string? to, CancellationToken ct)
    {
        var end = Query.Time("to", to) ?? time.GetUtcNow();
        return TypedResults.Ok(await report.ReportAsync(Query.Time("from", from) ?? end.AddDays(-7), end, ct));
    }

    internal static async Task<IResult> PostPolicyRollback(HttpRequest request, PolicyVersions policies, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<PolicyRollbackRequest>(request, MaxBodyBytes, ct);
        return TypedResults.Ok(PolicyVersionResponse.From(await policies.RollbackAsync(Caller.Actor(request.HttpContext.User), body.Reason, ct)));
    }

    internal static async Task<Ok<ClaimListResponse>> GetClaims(ClaimBank bank, string? includeRetired, CancellationToken ct) =>
        TypedResults.Ok(new ClaimListResponse(await bank.ListAsync(Query.Flag("includeRetired", includeRetired), ct)));

    internal static async Task<Ok<Claim>> GetClaim(ClaimBank bank, string id, CancellationToken ct) =>
        TypedResults.Ok(await bank.FindAsync(id, ct) ?? throw ClaimBank.NotFound(id));

    internal static async Task<IResult> PostClaim(HttpRequest request, ClaimBank bank, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ClaimRequest>(request, MaxBodyBytes, ct);
        var claim = await bank.AddAsync(body.Text ?? "", body.SourceUrl ?? "", body.Note, Caller.Actor(request.HttpContext.User), ct);
        return TypedResults.Created($"/v1/claims/{claim.Id}", claim);
    }

    internal static async Task<IResult> PostRetireClaim(HttpRequest request, string id, ClaimBank bank, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<RetireClaimRequest>(request, MaxBodyBytes, ct);
        return TypedResults.Ok(await bank.RetireAsync(id, Caller.Actor(request.HttpContext.User), body.Reason ?? "", ct));
    }

    internal static async Task<Ok<ModelListResponse>> GetModels(ModelRegistry registry, string? category, CancellationToken ct)
    {
        if (category is not null && (category.Length > ModelRegistry.MaxCategoryLength || !ScorerOutput.IsValidCategory(category)))
            throw Refusal.Invalid("category", "is not a category name (lower-case, dotted: harm, harm.hate, misinformation, bias)");
        var list = await registry.ListAsync(category, ct);
        return TypedResults.Ok(new ModelListResponse(list.Select(ModelVersionResponse.From).ToList()));
    }

    internal static async Task<IResult> PostModelState(HttpRequest request, string category, string version, Moderation.Core.Fairness.FairnessGate gate, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ModelStateRequest>(request, MaxBodyBytes, ct);
        if (string.IsNullOrEmpty(body.State)) throw Refusal.Invalid("state", $"is required: one of {string.Join(", ", ModelStates.All)}");
        if (!ModelStates.IsKnown(body.State)) throw Refusal.Invalid("state", $"'{body.State}' is not a model state; use one of {string.Join(", ", ModelStates.All)}");
        var updated = await gate.SetStateAsync(category, version, body.State, Caller.Actor(request.HttpContext.User), body.Reason, body.FairnessOverride, ct);
        return TypedResults.Ok(ModelVersionResponse.From(updated));
    }
}
