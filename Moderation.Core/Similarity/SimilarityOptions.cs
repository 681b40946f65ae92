using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Similarity;

/// <summary>Bound from <c>Moderation:Similarity</c>: what counts as a near-duplicate in the review workbench.</summary>
public sealed class SimilarityOptions : IValidatableObject
{
    public const string Section = "Moderation:Similarity";

    /// <summary>
    /// Cosine similarity at or above which two uploads' vectors of a kind make them near-duplicates. Text (MiniLM):
    /// 0.9 keeps re-typed copies of one caption (case, punctuation, a word added) and leaves paraphrases on the same
    /// topic out (checked in <c>TextEmbeddingTests</c>). Image (ResNet18 pooled features, all non-negative, so
    /// unrelated photos already score 0.6–0.8): 0.95, not calibrated on photographs here.
    /// </summary>
    public Dictionary<string, double> CosineThreshold { get; set; } = new(StringComparer.Ordinal)
    {
        ["text"] = 0.9,
        ["image"] = 0.95,
    };

    /// <summary>Largest Hamming distance between two frames' perceptual hashes that makes their uploads near-duplicates.</summary>
    [Range(0, 63)]
    public int HashDistance { get; set; } = 31;

    /// <summary>Frames with a hash quality below this are not compared (flat frames' hashes are mostly noise).</summary>
    [Range(0, 100)]
    public int MinHashQuality { get; set; } = 50;

    /// <summary>How often a search first reads what was stored since the last one (one indexed query per model).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Vectors kept in memory per kind and model (the newest); 200,000 MiniLM vectors take 300 MB.</summary>
    [Range(1, 10_000_000)]
    public int MaxVectorsPerModel { get; set; } = 200_000;

    /// <summary>Frame hashes kept in memory (the newest); about 420 bytes each with the multi-index.</summary>
    [Range(1, 10_000_000)]
    public int MaxFrameHashes { get; set; } = 500_000;

    /// <summary>Near-duplicates listed per item, most similar first.</summary>
    [Range(1, 1000)]
    public int MaxResults { get; set; } = 50;

    public double ThresholdFor(string kind) => CosineThreshold.TryGetValue(kind, out var t) ? t : 1.0;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (kind, threshold) in CosineThreshold)
            if (double.IsNaN(threshold) || threshold is < 0 or > 1)
                yield return new ValidationResult($"Moderation:Similarity:CosineThreshold:{kind} must be between 0 and 1.", [nameof(CosineThreshold)]);
    }
}
