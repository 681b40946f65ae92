using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Scoring;

/// <summary>Bound from <c>Moderation:Scoring</c>.</summary>
public sealed class ScoringOptions
{
    public const string Section = "Moderation:Scoring";

    /// <summary>Most uploads one scoring job carries (one model call per scorer per job), and one intake commit stores.</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 128;

    /// <summary>Assemblies (paths) whose <see cref="IUploadScorer"/> types are loaded as extra scorers.</summary>
    public List<string> Plugins { get; set; } = [];
}
