using Hangfire;
using Microsoft.Extensions.Options;

namespace Moderation.Core.Scoring;

/// <summary>Enqueues scoring jobs of at most <see cref="ScoringOptions.MaxBatchSize"/> uploads each.</summary>
public sealed class ScoringDispatcher(IBackgroundJobClient jobs, IOptions<ScoringOptions> options)
{
    public IReadOnlyList<string> EnqueueBatches(IReadOnlyList<string> uploadIds)
    {
        var jobIds = new List<string>();
        foreach (var chunk in uploadIds.Chunk(options.Value.MaxBatchSize))
            jobIds.Add(jobs.Enqueue<ScoringJob>(job => job.ScoreAsync(chunk, CancellationToken.None)));
        return jobIds;
    }
}
