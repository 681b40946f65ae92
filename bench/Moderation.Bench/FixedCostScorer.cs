using System.Diagnostics;
using Moderation.Core.Scoring;

namespace Moderation.Bench;

/// <summary>
/// A scorer with a known CPU cost: a fixed overhead per call (a model invocation) plus a cost per item, spent
/// spinning on the calling thread as CPU inference would. Scores are a cheap hash of the caption.
/// </summary>
public sealed class FixedCostScorer(int callMicros, int itemMicros) : IUploadScorer
{
    public string Name => "fixed-cost";

    public Task<IReadOnlyList<UploadScores>> ScoreAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct)
    {
        Spin(callMicros + itemMicros * batch.Count);
        IReadOnlyList<UploadScores> result = batch.Select(u => new UploadScores(u.Id,
        [
            new CategoryScore("harm", (Math.Abs((u.Caption ?? "").GetHashCode()) % 1000) / 1000.0, "fixed-cost-1", []),
        ])).ToList();
        return Task.FromResult(result);
    }

    private static void Spin(long micros)
    {
        var until = Stopwatch.GetTimestamp() + micros * Stopwatch.Frequency / 1_000_000;
        while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(20);
    }
}
