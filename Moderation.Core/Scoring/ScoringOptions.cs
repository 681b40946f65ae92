using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Scoring;

/// <summary>Bound from <c>Moderation:Scoring</c>.</summary>
public sealed class ScoringOptions
{
    public const string Section = "Moderation:Scoring";

    /// <summary>Most uploads one scoring job carries (one model call per scorer per job), and one intake commit stores.</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 128;

    /// <summary>
    /// Longest a stored upload waits in its host for a scoring job while other scoring jobs wait for a worker anyway
    /// (meanwhile more uploads join its batch); when none wait, its job is enqueued at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan DispatchDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Assemblies (paths) whose <see cref="IUploadScorer"/> types are loaded as extra scorers.</summary>
    public List<string> Plugins { get; set; } = [];
}
