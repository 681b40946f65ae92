using System.Text;
using Moderation.Api.Edge;
using Moderation.Api.Policy;
using Moderation.Core.Access;
using Moderation.Core.Media;
using Moderation.Core.Refusals;

namespace Moderation.Api.Media;

/// <summary>The body of <c>POST /v1/hashbanks</c>.</summary>
public sealed record HashBankRequest
{
    /// <summary>1 to 64 lower-case letters, digits, '-' or '_'.</summary>
    public string? Name { get; init; }

    /// <summary>The category a match scores, e.g. <c>harm.sexual</c>.</summary>
    public string? Category { get; init; }

    /// <summary>What a match asks of the recommender: none, label, demote, interstitial or ineligible.</summary>
    public string? Action { get; init; }

    public string? Description { get; init; }

    /// <summary>The hash algorithm of the bank's entries: pdq (the default), vpdq, md5, sha256 or crop-robust.</summary>
    public string? Algorithm { get; init; }
}

/// <summary>The body of <c>POST /v1/hashbanks/{name}/entries/{id}/release</c>.</summary>
public sealed record ReleaseHashEntryRequest
{
    /// <summary>Why the entry may match again (e.g. "checked: the matches were all the same violating video"); required.</summary>
    public string? Reason { get; init; }
}

public sealed record QuarantinedEntriesResponse(IReadOnlyList<HashBankEntry> Entries);

/// <summary>The body of <c>PATCH /v1/hashbanks/{name}</c>: fields left out keep their value.</summary>
public sealed record HashBankChangeRequest
{
    public string? Category { get; init; }
    public string? Action { get; init; }
    public string? Description { get; init; }

    /// <summary>Why; recorded in the audit trail.</summary>
    public string? Reason { get; init; }
}

/// <summary>The body of <c>POST /v1/hashbanks/{name}/entries/{id}/retire</c>.</summary>
public sealed record RetireHashEntryRequest
{
    /// <summary>Why the entry stops matching; required.</summary>
    public string? Reason { get; init; }
}

public sealed record HashBankListResponse(IReadOnlyList<HashBank> Banks);

/// <summary>
/// Hash banks: banks of known violating media as perceptual hashes, each with the category a match scores and the
/// action it asks for. Curated by policy teams like the claim bank: reads need <c>policy:read</c>, changes
/// <c>policy:write</c>, and every change is audited with the calling key as the actor. Entries come and go in bulk as
/// CSV (see docs/media.md for the formats).
/// </summary>
public static class HashBankEndpoints
{
    /// <summary>Largest CSV an import takes through the API (about 300,000 rows); the worker's import takes more.</summary>
    public const long MaxImportBytes = 32L * 1024 * 1024;

    public const int MaxImportRows = 300_000;

    public static IEndpointRouteBuilder MapHashBanks(this IEndpointRouteBuilder routes)
    {
        var banks = routes.MapGroup("/v1/hashbanks").WithTags("Hash banks");
        banks.MapGet("/", GetBanks)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetHashBanks")
            .WithSummary("Hash banks with their category, action and count of active entries");
        banks.MapGet("/{name}", GetBank)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetHashBank")
            .WithSummary("One hash bank")
            .Produces<HashBank>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        banks.MapPost("/", PostBank)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("PostHashBank")
            .WithSummary("Create a hash bank")
            .WithDescription("A name (lower-case letters, digits, '-', '_'), the hash algorithm of its entries (pdq when absent; vpdq, md5, sha256, crop-robust), the category a match scores and the action it asks for (none, label, demote, interstitial, ineligible). Only hashes of the bank's algorithm are matched against it. A match with action none sends the upload to review; any other action acts on it.")
            .AcceptsJson<HashBankRequest>()
            .Produces<HashBank>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict);
        banks.MapPatch("/{name}", PatchBank)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("PatchHashBank")
            .WithSummary("Change a bank's category, action or description")
            .AcceptsJson<HashBankChangeRequest>()
            .Produces<HashBank>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        banks.MapGet("/{name}/entries.csv", GetEntriesCsv)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("ExportHashBank")
            .WithSummary("Export a bank's active entries as CSV")
            .WithDescription("Columns id,algorithm,hash,quality,source,added_by,added_at,state,metadata; with `includeRetired=true` retired entries too.")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .ProducesProblem(StatusCodes.Status404NotFound);
        banks.MapGet("/{name}/entries.txt", GetEntriesPlain)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("ExportHashBankPlain")
            .WithSummary("Export a bank's active entries as one hash a line")
            .Produces(StatusCodes.Status200OK, contentType: "text/plain")
            .ProducesProblem(StatusCodes.Status404NotFound);
        banks.MapGet("/quarantine", GetQuarantined)
            .RequireAuthorization(ApiScopes.PolicyRead)
            .WithName("GetQuarantinedHashEntries")
            .WithSummary("Entries of every bank stopped because they matched a flood of uploads")
            .Produces<QuarantinedEntriesResponse>();
        banks.MapPost("/{name}/entries/{id}/release", PostReleaseEntry)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("ReleaseHashEntry")
            .WithSummary("Let a quarantined entry match again (its flood count starts from zero)")
            .AcceptsJson<ReleaseHashEntryRequest>()
            .Produces<HashBankEntry>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        banks.MapPost("/{name}/entries", PostEntries)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("ImportHashBank")
            .WithSummary("Import hashes into a bank from CSV")
            .WithDescription("A text/csv or text/plain body in the bank's algorithm: one hash a line (no header; for vpdq, one video's 'frame,quality,hash,seconds' lines), or CSV with a header: `path,hash,quality` (what the worker's hash command writes), the export format, or a list's own `hash`/`signal` column with quality and metadata columns (tags, reference, partner, ...), kept per entry. `source=` names where the hashes came from, for rows without a source. Every row is checked first: a bad row is a 400 listing the bad rows by line and nothing is imported. Hashes the bank already holds are counted, not added twice.")
            .Accepts<string>("text/csv", "text/plain")
            .Produces<HashImportResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        banks.MapPost("/{name}/entries/{id}/retire", PostRetireEntry)
            .RequireAuthorization(ApiScopes.PolicyWrite)
            .WithName("RetireHashEntry")
            .WithSummary("Retire one entry: it stops matching and stays in the bank for the record")
            .AcceptsJson<RetireHashEntryRequest>()
            .Produces<HashBankEntry>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return routes;
    }

    internal static async Task<IResult> GetBanks(HashBanks store, CancellationToken ct) =>
        TypedResults.Ok(new HashBankListResponse(await store.ListAsync(ct)));

    internal static async Task<IResult> GetBank(HashBanks store, string name, CancellationToken ct) =>
        TypedResults.Ok(await store.FindAsync(name, ct) ?? throw HashBanks.NoBank(name));

    internal static async Task<IResult> PostBank(HttpRequest request, HashBanks store, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<HashBankRequest>(request, PolicyEndpoints.MaxBodyBytes, ct);
        var bank = await store.CreateAsync(body.Name ?? "", body.Category ?? "", body.Action ?? "", body.Description,
            Caller.Actor(request.HttpContext.User), ct, body.Algorithm);
        return TypedResults.Created($"/v1/hashbanks/{bank.Name}", bank);
    }

    internal static async Task<IResult> PatchBank(HttpRequest request, string name, HashBanks store, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<HashBankChangeRequest>(request, PolicyEndpoints.MaxBodyBytes, ct);
        return TypedResults.Ok(await store.UpdateAsync(name, body.Category, body.Action, body.Description, Caller.Actor(request.HttpContext.User), body.Reason, ct));
    }

    internal static async Task<IResult> GetEntriesCsv(HttpContext context, string name, string? includeRetired, HashBanks store, CancellationToken ct)
    {
        var all = Query.Flag("includeRetired", includeRetired);
        var bank = await store.FindAsync(name, ct) ?? throw HashBanks.NoBank(name);
        var entries = await store.EntriesAsync(name, all, ct);
        var text = new StringWriter();
        HashBankCsv.Write(text, bank.Algorithm, entries);
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{name}.csv\"";
        return TypedResults.Text(text.ToString(), "text/csv", Encoding.UTF8);
    }

    internal static async Task<IResult> GetEntriesPlain(HttpContext context, string name, HashBanks store, CancellationToken ct)
    {
        var entries = await store.EntriesAsync(name, false, ct);
        var text = new StringWriter();
        HashBankCsv.WritePlain(text, entries.Where(e => e.State == "active"));
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{name}.txt\"";
        return TypedResults.Text(text.ToString(), "text/plain", Encoding.UTF8);
    }

    internal static async Task<IResult> GetQuarantined(HashBanks store, CancellationToken ct) =>
        TypedResults.Ok(new QuarantinedEntriesResponse(await store.QuarantinedAsync(ct)));

    internal static async Task<IResult> PostReleaseEntry(HttpRequest request, string name, string id, HashBanks store, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ReleaseHashEntryRequest>(request, PolicyEndpoints.MaxBodyBytes, ct);
        return TypedResults.Ok(await store.ReleaseEntryAsync(name, id, Caller.Actor(request.HttpContext.User), body.Reason, ct));
    }

    /// <summary>CSV or plain text, not JSON: read here, under its own (larger) limit, refused by the same rules.</summary>
    internal static async Task<IResult> PostEntries(HttpRequest request, string name, string? source, HashBanks store, CancellationToken ct)
    {
        if (request.ContentType is not { } type
            || !(type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) || type.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase)))
            throw new BadHttpRequestException("Send the hashes as text/csv with a header row (hash, and optionally quality, source, path, metadata columns), or as text/plain with one hash a line.",
                StatusCodes.Status415UnsupportedMediaType);
        const string instead = "Split it, or use the worker's hashbank import.";
        JsonBody.Limit(request, MaxImportBytes);
        var bank = await store.FindAsync(name, ct) ?? throw HashBanks.NoBank(name);

        var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw JsonBody.TooLarge(MaxImportBytes, instead);
        }
        buffer.Position = 0;
        IReadOnlyList<HashCsvRow> rows;
        try
        {
            using var reader = new StreamReader(buffer, new UTF8Encoding(false, throwOnInvalidBytes: true));
            rows = HashBankCsv.Read(reader, bank.Algorithm, source, MaxImportRows);
        }
        catch (DecoderFallbackException)
        {
            throw Refusal.Invalid("body", "is not UTF-8 text");
        }
        catch (HashCsvException e)
        {
            var errors = e.Errors.GroupBy(x => $"line {x.Line}: {x.Column}").ToDictionary(g => g.Key, g => g.Select(x => x.Reason).ToArray());
            throw Refusal.Invalid(errors, "The CSV has rows that cannot be imported; nothing was imported. " +
                (e.Total > e.Errors.Count ? $"{e.Total} problems; the first {e.Errors.Count} are listed." : $"{e.Total} problem(s)."));
        }
        return TypedResults.Ok(await store.ImportAsync(name, rows, Caller.Actor(request.HttpContext.User), ct));
    }

    internal static async Task<IResult> PostRetireEntry(HttpRequest request, string name, string id, HashBanks store, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<RetireHashEntryRequest>(request, PolicyEndpoints.MaxBodyBytes, ct);
        return TypedResults.Ok(await store.RetireEntryAsync(name, id, Caller.Actor(request.HttpContext.User), body.Reason, ct));
    }
}
