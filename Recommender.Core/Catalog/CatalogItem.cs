namespace Recommender.Core.Catalog;

/// <summary>An item that can be recommended: a short video, its creator, its text and its content embedding.</summary>
/// <param name="Id">The item's id. Signals are matched to it by <see cref="Signals.SignalStoreOptions.ItemKey"/>.</param>
/// <param name="CreatorId">Who posted it (diversity, follows and "not interested" in a creator).</param>
/// <param name="Embedding">The content embedding (e.g. the scoring pipeline's text or image embedding); any length, the same for every item in a catalog. Normalised on insert.</param>
/// <param name="PublishedAt">When it was posted (freshness).</param>
public sealed record CatalogItem(string Id, string CreatorId, float[] Embedding, DateTimeOffset PublishedAt)
{
    /// <summary>The caption, matched by keyword filters.</summary>
    public string? Caption { get; init; }

    /// <summary>Hashtags, with or without the leading <c>#</c>; matched by keyword filters and "not interested".</summary>
    public IReadOnlyList<string> Hashtags { get; init; } = [];

    /// <summary>The transcript, matched by keyword filters.</summary>
    public string? Transcript { get; init; }

    /// <summary>The video's length, to turn watch time into completion; unknown when null.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Prior engagement (e.g. views or likes from elsewhere); interactions recorded here add to it.</summary>
    public double Popularity { get; init; }
}
