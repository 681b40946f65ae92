using System.Globalization;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Moderation.Core.Access;
using Moderation.Core.Refusals;
using Moderation.Core.Signals;
using Moderation.Core.Storage;
using RiskSignal = Recommender.Core.Signals.RiskSignal;
using Recommender.Core.Signals;

namespace Moderation.Api.Signals;

/// <summary>One category's signal in force on an upload.</summary>
public sealed record VerdictCategory(string Category, string Action, double Score, double Multiplier, string Source, string? ModelVersion, long Seq);

/// <summary>
/// An upload's current treatment, one row instead of its signals: the most severe action in force, the multiplier to
/// rank it by, the labelled categories, and each category's signal in force (human over hash match over model).
/// </summary>
public sealed record Verdict(
    string UploadId,
    string ExternalId,
    string? CreatorId,
    string Action,
    double Multiplier,
    IReadOnlyList<string> Labels,
    string? PolicyVersion,
    IReadOnlyList<VerdictCategory> Categories,
    long Seq);

/// <summary>A page of verdicts: the uploads whose signals changed after the cursor, in the order of their latest signal.</summary>
public sealed record VerdictPageResponse(IReadOnlyList<Verdict> Verdicts, string NextCursor);

/// <summary>
/// <c>GET /v1/verdicts</c>: the signal feed folded per upload by the same rule the recommender's safety layer applies
/// (<see cref="SignalsInForce"/>), for consumers that want one answer per upload rather than every signal.
/// </summary>
public static class VerdictEndpoints
{
    private static readonly DialectSql SelectChanged = new(
        sqlite: "SELECT upload_id AS UploadId, MAX(seq) AS Last FROM risk_signals WHERE seq > @After GROUP BY upload_id ORDER BY Last LIMIT @Limit",
        postgres: "SELECT upload_id AS UploadId, MAX(seq) AS Last FROM risk_signals WHERE seq > @After GROUP BY upload_id ORDER BY Last LIMIT @Limit",
        sqlServer: "SELECT TOP (@Limit) upload_id AS UploadId, MAX(seq) AS Last FROM risk_signals WHERE seq > @After GROUP BY upload_id ORDER BY Last");

    private static readonly DialectSql SelectUploads = DialectSql.WithList("""
        SELECT id AS Id, external_id AS ExternalId, creator_id AS CreatorId, policy_version AS PolicyVersion FROM uploads WHERE id IN @Ids
        """);

    public static RouteGroupBuilder MapVerdicts(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/verdicts").WithTags("Signals");
        group.MapGet("/", GetVerdicts)
            .RequireAuthorization(ApiScopes.SignalsRead)
            .WithName("GetVerdicts")
            .WithSummary("One verdict per upload whose signals changed after the cursor")
            .WithDescription("The signal feed folded per upload: the most severe action in force, the multiplier, the labelled categories, the creator and the policy version, and each category's signal in force (human over hash match over model, then the latest; retractions and expiry applied). Uploads come in the order of their latest signal; resume with `after=nextCursor`. A later change to an upload brings it back with its new verdict. Every page is signed like a signal page (see GET /v1/signals).")
            .ProducesValidationProblem()
            .Signed();
        return group;
    }

    internal static async Task<Ok<VerdictPageResponse>> GetVerdicts(ModerationDatabase database, TimeProvider time, string? after, string? limit, CancellationToken ct)
    {
        var (cursor, size) = SignalEndpoints.Page(after, limit);

        await using var connection = await database.OpenAsync(ct);
        var changed = (await connection.QueryAsync<(string UploadId, long Last)>(new CommandDefinition(database.Sql(SelectChanged),
            new { After = cursor, Limit = size }, cancellationToken: ct))).ToList();
        if (changed.Count == 0) return TypedResults.Ok(new VerdictPageResponse([], cursor.ToString(CultureInfo.InvariantCulture)));
        var ids = changed.Select(c => c.UploadId).ToArray();
        // The service's signals as the recommender library reads them (the feed's JSON contract, field for field).
        var signals = (await SignalFeed.ForUploadsAsync(connection, database.Dialect, ids, ct))
            .Select(s => new RiskSignal(s.Seq, s.UploadId, s.ExternalId, s.Category, s.Score, s.Action, s.DemotionMultiplier, s.Source,
                s.ModelVersion, s.PolicyVersion, s.CreatedAt, s.ExpiresAt, s.Retracts))
            .ToLookup(s => s.UploadId);
        var uploads = (await connection.QueryAsync<UploadRow>(new CommandDefinition(database.Sql(SelectUploads), new { Ids = ids }, cancellationToken: ct)))
            .ToDictionary(u => u.Id, StringComparer.Ordinal);

        var now = time.GetUtcNow();
        var verdicts = changed.Select(c =>
        {
            // A retraction withdraws the signal it names; the retraction itself (a human `none`) stays in force.
            var all = signals[c.UploadId].ToList();
            var retracted = all.Where(s => s.Retracts is not null).Select(s => s.Retracts!.Value).ToHashSet();
            var effective = SignalsInForce.Effective(all.Where(s => !retracted.Contains(s.Seq)), now, out _);
            var (action, multiplier, labels) = SignalsInForce.Combine(effective);
            var upload = uploads.GetValueOrDefault(c.UploadId);
            return new Verdict(c.UploadId, upload?.ExternalId ?? all[0].ExternalId, upload?.CreatorId, action, multiplier, labels,
                upload?.PolicyVersion ?? all.LastOrDefault(s => s.PolicyVersion is not null)?.PolicyVersion,
                effective.OrderBy(s => s.Category, StringComparer.Ordinal)
                    .Select(s => new VerdictCategory(s.Category, s.Action, s.Score, s.DemotionMultiplier, s.Source, s.ModelVersion, s.Seq)).ToList(),
                c.Last);
        }).ToList();
        return TypedResults.Ok(new VerdictPageResponse(verdicts, changed[^1].Last.ToString(CultureInfo.InvariantCulture)));
    }

    private sealed class UploadRow
    {
        public string Id { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string? CreatorId { get; init; }
        public string? PolicyVersion { get; init; }
    }
}
