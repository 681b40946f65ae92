using System.Data.Common;
using Dapper;
using Moderation.Core.Signals;
using Moderation.Core.Storage;

namespace Moderation.Core.Policies;

/// <summary>
/// Shadow policy versions beside live routing (issue 14, item 5). When the live version routes a batch, every version in
/// state <c>shadow</c> routes the same scores (and abstentions, and locale) with the same <see cref="RoutingPolicy"/>;
/// <see cref="WriteAsync"/> stores those outcomes in <c>shadow_routing_decisions</c>, in the routing transaction,
/// next to the live outcome of the same category. Never in <c>routing_decisions</c>, whose readers (the upload page,
/// review, signals, labels, the backtest) must only see what was acted on: a shadow outcome changes no status, opens no
/// task, sends no signal and is not drawn for the audit sample. Rows are insert-if-absent on
/// (upload, category, shadow version) and written only for uploads this run routed, so a retried or duplicated job
/// writes nothing twice.
/// </summary>
public static class ShadowRouting
{
    private const string Columns =
        "upload_id, category, policy_version, outcome, signal_action, demotion_multiplier, live_policy_version, live_outcome, score, model_version, reason, review_threshold, action_threshold, decided_at_ms";
    private const string Values =
        "@UploadId, @Category, @PolicyVersion, @Outcome, @SignalAction, @DemotionMultiplier, @LivePolicyVersion, @LiveOutcome, @Score, @ModelVersion, @Reason, @ReviewThreshold, @ActionThreshold, @DecidedAtMs";

    private static readonly DialectSql Insert =
        DialectSql.InsertIfAbsent("shadow_routing_decisions", Columns, Values, ["upload_id", "category", "policy_version"]);

    /// <summary>One stored shadow outcome.</summary>
    public sealed record Row(
        string UploadId, string Category, string PolicyVersion, string Outcome, string SignalAction, double DemotionMultiplier,
        string LivePolicyVersion, string LiveOutcome, double Score, string ModelVersion, string Reason,
        double ReviewThreshold, double ActionThreshold, long DecidedAtMs);

    /// <summary>
    /// The rows of one upload under one shadow version: one per category either version routed. A category only one of
    /// them routes (an abstention code only one lists in <c>unscored</c>) counts as <c>allow</c> for the other, as the
    /// backtest counts it.
    /// </summary>
    public static IEnumerable<Row> Rows(string uploadId, RoutingDecision live, RoutingDecision shadow, long now)
    {
        var liveRoutes = live.Categories.ToDictionary(c => c.Category, StringComparer.Ordinal);
        var shadowRoutes = shadow.Categories.ToDictionary(c => c.Category, StringComparer.Ordinal);
        foreach (var category in liveRoutes.Keys.Union(shadowRoutes.Keys).Order(StringComparer.Ordinal))
        {
            var liveRoute = liveRoutes.GetValueOrDefault(category);
            if (shadowRoutes.TryGetValue(category, out var route))
                yield return new Row(uploadId, category, shadow.PolicyVersion, route.Outcome, route.SignalAction, route.DemotionMultiplier,
                    live.PolicyVersion, liveRoute?.Outcome ?? RouteOutcome.Allow, route.Score, route.ModelVersion, route.Reason,
                    route.ReviewThreshold, route.ActionThreshold, now);
            else
                yield return new Row(uploadId, category, shadow.PolicyVersion, RouteOutcome.Allow, SignalAction.None, 1.0,
                    live.PolicyVersion, liveRoute!.Outcome, liveRoute.Score, liveRoute.ModelVersion,
                    $"policy {shadow.PolicyVersion} does not route {category}", 0, 1, now);
        }
    }

    /// <summary>Stores the shadow outcomes of uploads routed in this transaction (insert-if-absent).</summary>
    public static Task WriteAsync(DbConnection connection, DbTransaction transaction, SqlDialect dialect,
        IEnumerable<(string UploadId, RoutingDecision Live, IReadOnlyList<RoutingDecision> Shadows)> routed, long now, CancellationToken ct)
    {
        var rows = routed.SelectMany(u => u.Shadows.SelectMany(s => Rows(u.UploadId, u.Live, s, now))).ToList();
        if (rows.Count == 0) return Task.CompletedTask;
        return connection.ExecuteAsync(new CommandDefinition(dialect.Sql(Insert), rows, transaction, cancellationToken: ct));
    }
}
