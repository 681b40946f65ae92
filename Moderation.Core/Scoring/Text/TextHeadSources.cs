namespace Moderation.Core.Scoring.Text;

/// <summary>A head ready to score, with its card; a shadow head is scored and stored but never routed on.</summary>
public sealed record LoadedHead(HeadCard Card, TextHead Head, bool Shadow = false);

/// <summary>Where the text scorer gets its heads: a model directory, or the model registry in the database.</summary>
public interface ITextHeadSource
{
    /// <summary>The heads to score the next batch with. Cheap to call per batch: sources cache and reload on change.</summary>
    ValueTask<IReadOnlyList<LoadedHead>> CurrentAsync(CancellationToken ct);
}

/// <summary>A known false claim of the claim bank, with its embedding.</summary>
public sealed record KnownClaim(string Id, string Text, string SourceUrl, float[] Embedding);

/// <summary>The active claims of the claim bank, embedded.</summary>
public interface IClaimSource
{
    ValueTask<IReadOnlyList<KnownClaim>> CurrentAsync(CancellationToken ct);
}

/// <summary>How a claim-bank match changes the <c>misinformation</c> score.</summary>
public sealed class ClaimMatchOptions
{
    /// <summary>Cosine similarity (of MiniLM embeddings) from which a passage matches a claim.</summary>
    public double Threshold { get; set; } = 0.75;

    /// <summary>The score a match at the threshold raises <c>misinformation</c> to; it rises linearly to 1 at similarity 1.</summary>
    public double ScoreAtThreshold { get; set; } = 0.6;
}

/// <summary>A fixed set of heads (freshly trained, or loaded by a caller).</summary>
public sealed class FixedHeadSource(IReadOnlyList<LoadedHead> heads) : ITextHeadSource
{
    public ValueTask<IReadOnlyList<LoadedHead>> CurrentAsync(CancellationToken ct) => ValueTask.FromResult(heads);
}
