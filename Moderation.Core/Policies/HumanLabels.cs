namespace Moderation.Core.Policies;

/// <summary>
/// What the backtest and the threshold explorer count as a human label, and where a label stands in the audit design:
/// one rule for both. An upload is labelled when a person decided it (review or appeal; escalations and blind quality
/// checks do not count), <c>violating</c> when it ended actioned. By design it was going to be labelled with
/// probability 1 when the policy sent it to review, or its draw's probability when the audit sample picked it; a label
/// that only a report or an appeal brought has no design probability.
/// </summary>
internal static class HumanLabels
{
    /// <summary>Columns for a query over <c>uploads u</c>: <c>decided</c>, <c>review_routed</c> (0 or 1) and <c>audit_probability</c>.</summary>
    public const string Columns = """
        CASE WHEN EXISTS (SELECT 1 FROM review_decisions d WHERE d.upload_id = u.id AND d.kind IN ('review', 'appeal') AND d.action <> 'escalate')
             THEN 1 ELSE 0 END AS decided,
        CASE WHEN EXISTS (SELECT 1 FROM routing_decisions r WHERE r.upload_id = u.id AND r.outcome = 'review')
             THEN 1 ELSE 0 END AS review_routed,
        (SELECT a.inclusion_probability FROM audit_samples a WHERE a.upload_id = u.id) AS audit_probability
        """;

    /// <summary>The probability the upload was going to be labelled by design; null outside the design.</summary>
    public static double? DesignProbability(long reviewRouted, double? auditProbability) => auditProbability ?? (reviewRouted == 1 ? 1.0 : null);
}
