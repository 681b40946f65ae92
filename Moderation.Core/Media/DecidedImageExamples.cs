using Dapper;
using Moderation.Core.Review;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;

namespace Moderation.Core.Media;

/// <summary>A final human decision on an upload, as <c>review_decisions</c> holds it, with the categories it was taken for.</summary>
public sealed record HumanDecision(string Id, string UploadId, string Kind, string Action, DateTimeOffset DecidedAt, bool Retracted,
    IReadOnlyList<string> Categories);

/// <summary>The decision that stands on an upload: a violation of <see cref="Categories"/>, or the upload allowed.</summary>
public sealed record StandingVerdict(string UploadId, string DecisionId, string Action, bool Violation, IReadOnlyList<string> Categories,
    DateTimeOffset DecidedAt);

/// <summary>
/// Which decision stands on an upload, and what it says about a category: the rules <c>train-images --from-decisions</c>
/// labels uploads by (docs/media.md).
/// </summary>
public static class StandingVerdicts
{
    /// <summary>
    /// Per upload, the latest review or appeal decision that is not retracted, ignoring escalations (not final),
    /// upholds (the appealed decision stands, and is itself the latest remaining one) and quality samples (blind
    /// second opinions, never applied). An overturned decision is retracted; the overturn itself stands and, as the
    /// review code says, is a human judgement that the item is fine.
    /// </summary>
    public static IReadOnlyList<StandingVerdict> From(IEnumerable<HumanDecision> decisions) =>
        decisions
            .Where(d => d.Kind is ReviewTaskKind.Review or ReviewTaskKind.Appeal && !d.Retracted
                        && d.Action is not (ReviewAction.Escalate or ReviewAction.Uphold))
            .GroupBy(d => d.UploadId, StringComparer.Ordinal)
            .Select(g => g.OrderByDescending(d => d.DecidedAt).ThenByDescending(d => d.Id, StringComparer.Ordinal).First())
            .Where(d => ReviewAction.Restricts(d.Action) || d.Action is ReviewAction.Allow or ReviewAction.Overturn)
            .Select(d => new StandingVerdict(d.UploadId, d.Id, d.Action, ReviewAction.Restricts(d.Action), d.Categories, d.DecidedAt))
            .OrderBy(v => v.DecidedAt).ThenBy(v => v.UploadId, StringComparer.Ordinal)
            .ToList();

    /// <summary>Whether a violation of <paramref name="violated"/> is one of <paramref name="category"/> (itself or a sub-category: harm.hate is harm).</summary>
    public static bool Covers(string category, string violated) =>
        violated == category || violated.StartsWith(category + ".", StringComparison.Ordinal);

    /// <summary>
    /// The label an upload gives a category's head: true when the standing decision found a violation of the category
    /// (or of a sub-category), false when the upload was allowed (a reviewer sees the whole item, and allowing leaves
    /// all of it up), null (not used) when it was actioned for other categories only: that decision never assessed this
    /// category, and one image can break several rules.
    /// </summary>
    public static bool? Label(StandingVerdict verdict, string category) =>
        !verdict.Violation ? false : verdict.Categories.Any(c => Covers(category, c)) ? true : null;

    /// <summary>The categories heads are trained for: every category a standing decision found violated.</summary>
    public static IReadOnlyList<string> Categories(IEnumerable<StandingVerdict> verdicts) =>
        verdicts.Where(v => v.Violation).SelectMany(v => v.Categories).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
}

/// <summary>A decided upload with the stored embeddings of its images and video frames (one vector per frame).</summary>
public sealed record DecidedUpload(StandingVerdict Verdict, IReadOnlyList<float[]> Frames);

/// <summary>
/// What the database holds for training from decisions: the decided uploads with image embeddings of
/// <see cref="EmbeddingModel"/>, and counts of those left out (no image embeddings; only another model's).
/// </summary>
public sealed record DecidedImageSet(
    string EmbeddingModel,
    DateTimeOffset? Since,
    int DecidedUploads,
    IReadOnlyList<DecidedUpload> Uploads,
    int WithoutImages,
    IReadOnlyDictionary<string, int> OnlyOtherModels);

/// <summary>
/// Reads moderators' decisions and the image embeddings the image scorer stored for the decided uploads, so heads are
/// trained without decoding any media again. A decision's categories are those of the human risk signals it wrote
/// (<c>human:{decision}:{category}</c>: the categories the policy sent to review), or its queue if it wrote none.
/// Only vectors of one embedding model are ever used together.
/// </summary>
public sealed class DecidedImageExamples(ModerationDatabase database)
{
    private static readonly DialectSql SelectDecisions = DialectSql.Portable("""
        SELECT id, upload_id, kind, queue, action, decided_at_ms, retracted_at_ms
        FROM review_decisions
        WHERE kind IN ('review', 'appeal')
        ORDER BY upload_id, decided_at_ms, id
        """);

    // The human signals a decision appended are keyed human:{decision id}:{category} (ReviewDecisions.HumanSignal);
    // driven from review_decisions so the signal feed is read through its upload index.
    private static readonly DialectSql SelectDecisionCategories = new(
        sqlite: """
            SELECT d.id AS decision_id, s.category
            FROM review_decisions d JOIN risk_signals s ON s.upload_id = d.upload_id
            WHERE d.kind IN ('review', 'appeal') AND s.source = 'human' AND s.idempotency_key = 'human:' || d.id || ':' || s.category
            """,
        postgres: """
            SELECT d.id AS decision_id, s.category
            FROM review_decisions d JOIN risk_signals s ON s.upload_id = d.upload_id
            WHERE d.kind IN ('review', 'appeal') AND s.source = 'human' AND s.idempotency_key = 'human:' || d.id || ':' || s.category
            """,
        sqlServer: """
            SELECT d.id AS decision_id, s.category
            FROM review_decisions d JOIN risk_signals s ON s.upload_id = d.upload_id
            WHERE d.kind IN ('review', 'appeal') AND s.source = 'human' AND s.idempotency_key = CONCAT('human:', d.id, ':', s.category)
            """);

    private static readonly DialectSql SelectFrames = DialectSql.Portable("""
        SELECT e.upload_id, e.media_ordinal, e.frame, e.dimensions, e.vector
        FROM upload_embeddings e
        WHERE e.kind = 'image' AND e.model = @Model
          AND EXISTS (SELECT 1 FROM review_decisions d WHERE d.upload_id = e.upload_id AND d.kind IN ('review', 'appeal') AND d.decided_at_ms >= @SinceMs)
        ORDER BY e.upload_id, e.media_ordinal, e.frame
        """);

    private static readonly DialectSql SelectOtherModels = DialectSql.Portable("""
        SELECT DISTINCT e.upload_id, e.model
        FROM upload_embeddings e
        WHERE e.kind = 'image' AND e.model <> @Model
          AND EXISTS (SELECT 1 FROM review_decisions d WHERE d.upload_id = e.upload_id AND d.kind IN ('review', 'appeal') AND d.decided_at_ms >= @SinceMs)
        """);

    /// <summary>The standing verdicts (decided on or after <paramref name="since"/>) with their uploads' frames.</summary>
    /// <param name="embeddingModel">The model whose vectors are used: the running embedder's (<see cref="ImageEmbedder.EmbeddingModel"/>).</param>
    public async Task<DecidedImageSet> LoadAsync(DateTimeOffset? since, CancellationToken ct, string embeddingModel = ImageEmbedder.EmbeddingModel)
    {
        await using var connection = await database.OpenAsync(ct);
        var categories = (await connection.QueryAsync<(string DecisionId, string Category)>(new CommandDefinition(database.Sql(SelectDecisionCategories),
                cancellationToken: ct)))
            .GroupBy(r => r.DecisionId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(r => r.Category).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
                StringComparer.Ordinal);
        var decisions = (await connection.QueryAsync<DecisionRow>(new CommandDefinition(database.Sql(SelectDecisions), cancellationToken: ct)))
            .Select(d => new HumanDecision(d.Id, d.UploadId, d.Kind, d.Action, DateTimeOffset.FromUnixTimeMilliseconds(d.DecidedAtMs), d.RetractedAtMs is not null,
                categories.GetValueOrDefault(d.Id) ?? [d.Queue]))
            .ToList();
        var verdicts = StandingVerdicts.From(decisions).Where(v => since is null || v.DecidedAt >= since).ToList();

        var sinceMs = since?.ToUnixTimeMilliseconds() ?? long.MinValue;
        var frames = new Dictionary<string, List<float[]>>(StringComparer.Ordinal);
        foreach (var row in await connection.QueryAsync<FrameRow>(new CommandDefinition(database.Sql(SelectFrames),
                     new { Model = embeddingModel, SinceMs = sinceMs }, cancellationToken: ct)))
        {
            if (row.Dimensions != ImageEmbedder.Dimensions)
                throw new InvalidDataException($"Upload {row.UploadId} has a {embeddingModel} image embedding of {row.Dimensions} numbers, not {ImageEmbedder.Dimensions}: "
                    + "the stored vectors do not come from the running ResNet18 embedder.");
            if (!frames.TryGetValue(row.UploadId, out var list)) frames[row.UploadId] = list = [];
            list.Add(UploadEmbeddings.FromBytes(row.Vector, (int)row.Dimensions));
        }
        var others = (await connection.QueryAsync<(string UploadId, string Model)>(new CommandDefinition(database.Sql(SelectOtherModels),
                new { Model = embeddingModel, SinceMs = sinceMs }, cancellationToken: ct)))
            .GroupBy(r => r.UploadId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(r => r.Model).ToList(), StringComparer.Ordinal);

        var uploads = new List<DecidedUpload>();
        var withoutImages = 0;
        var onlyOther = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var verdict in verdicts)
        {
            if (frames.TryGetValue(verdict.UploadId, out var mine)) uploads.Add(new DecidedUpload(verdict, mine));
            else if (others.TryGetValue(verdict.UploadId, out var models))
                foreach (var model in models) onlyOther[model] = onlyOther.GetValueOrDefault(model) + 1;
            else withoutImages++;
        }
        return new DecidedImageSet(embeddingModel, since, verdicts.Count, uploads, withoutImages, onlyOther);
    }

    private sealed class DecisionRow
    {
        public string Id { get; init; } = "";
        public string UploadId { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Queue { get; init; } = "";
        public string Action { get; init; } = "";
        public long DecidedAtMs { get; init; }
        public long? RetractedAtMs { get; init; }
    }

    private sealed class FrameRow
    {
        public string UploadId { get; init; } = "";
        public long MediaOrdinal { get; init; }
        public long Frame { get; init; }
        public long Dimensions { get; init; }
        public byte[] Vector { get; init; } = [];
    }
}
