using System.Threading.Channels;
using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Moderation.Core.Scoring;

/// <summary>
/// Turns a stream of accepted uploads into scoring jobs of many uploads each. Hangfire dispatches tens of jobs a
/// second while a model scores hundreds of texts a second in batches, so one job per upload would starve the
/// model. Uploads accepted while the previous enqueue is in flight travel together in the next job (group
/// commit): at low traffic a job carries one upload and starts at once; under load jobs fill up by themselves.
/// Each caller's task completes only when its upload's job is durably enqueued.
/// </summary>
public sealed class ScoringDispatcher(IBackgroundJobClient jobs, IOptions<ScoringOptions> options, ILogger<ScoringDispatcher> logger)
    : BackgroundService
{
    private readonly Channel<Pending> pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    private sealed record Pending(string UploadId, TaskCompletionSource Enqueued);

    /// <summary>Completes when a scoring job that includes <paramref name="uploadId"/> is enqueued.</summary>
    public async Task DispatchAsync(string uploadId, CancellationToken ct)
    {
        var item = new Pending(uploadId, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!pending.Writer.TryWrite(item))
            throw new InvalidOperationException("The scoring dispatcher has stopped.");
        await item.Enqueued.Task.WaitAsync(ct);
    }

    /// <summary>Enqueues jobs for known uploads directly, in batches (recovery and re-scoring).</summary>
    public IReadOnlyList<string> EnqueueBatches(IReadOnlyList<string> uploadIds)
    {
        var jobIds = new List<string>();
        foreach (var chunk in uploadIds.Chunk(options.Value.MaxBatchSize))
            jobIds.Add(Enqueue(chunk));
        return jobIds;
    }

    private string Enqueue(string[] uploadIds) =>
        jobs.Enqueue<ScoringJob>(job => job.ScoreAsync(uploadIds, CancellationToken.None));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var max = options.Value.MaxBatchSize;
        var linger = options.Value.BatchLinger;
        var batch = new List<Pending>(max);
        try
        {
            while (await pending.Reader.WaitToReadAsync(stoppingToken))
            {
                if (linger > TimeSpan.Zero) await Task.Delay(linger, stoppingToken);
                while (batch.Count < max && pending.Reader.TryRead(out var item)) batch.Add(item);
                try
                {
                    Enqueue(batch.Select(p => p.UploadId).ToArray());
                    foreach (var p in batch) p.Enqueued.TrySetResult();
                }
                catch (Exception e)
                {
                    // The uploads are stored; the stalled-upload sweeper enqueues them later. Tell the callers now.
                    logger.LogError(e, "Could not enqueue a scoring job for {Count} uploads", batch.Count);
                    foreach (var p in batch) p.Enqueued.TrySetException(e);
                }
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            pending.Writer.TryComplete();
            var stopped = new OperationCanceledException("The host is stopping; the upload is stored and will be scored after restart.");
            foreach (var p in batch) p.Enqueued.TrySetException(stopped);
            while (pending.Reader.TryRead(out var left)) left.Enqueued.TrySetException(stopped);
        }
    }
}
