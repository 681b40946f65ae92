using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Scoring;

/// <summary>Bound from <c>Moderation:Scoring</c>.</summary>
public sealed class ScoringOptions
{
    public const string Section = "Moderation:Scoring";

    /// <summary>Most uploads one scoring job carries (one model call per scorer per job), and one intake commit stores.</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 128;

    /// <summary>After this many failed attempts an upload is marked failed instead of retried again.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How long a job's claim on its uploads lasts; longer than the slowest batch, short enough to recover from a dead worker.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>An upload still queued this long after its last enqueue is enqueued again (its job was lost).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromMinutes(15);

    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Assemblies (paths) whose <see cref="IUploadScorer"/> types are loaded as extra scorers.</summary>
    public List<string> Plugins { get; set; } = [];
}
