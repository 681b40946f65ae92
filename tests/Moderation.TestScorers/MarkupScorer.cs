using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Moderation.Core.Scoring;

namespace Moderation.TestScorers;

/// <summary>
/// A scorer whose answers the test controls through the caption: <c>[harm=0.93]</c> sets a category's score,
/// <c>[fail]</c> makes the call throw. Every other category it covers scores 0.05. Configuration
/// (<c>TestScorers:DelayMsPerItem</c>, <c>TestScorers:StartedMarker</c>) lets a test slow a batch down and see
/// when one is under way, to kill the worker in the middle of it.
/// </summary>
public sealed partial class MarkupScorer(IConfiguration configuration) : IUploadScorer
{
    public const string ModelVersion = "markup-test-1";
    public static readonly string[] Categories = ["harm", "misinformation", "bias"];

    [GeneratedRegex(@"\[(?<category>[a-z][a-z0-9_.]*)=(?<score>[01](\.\d+)?)\]")]
    private static partial Regex Markup();

    private static readonly SemaphoreSlim MarkerLock = new(1, 1);

    public string Name => "markup-test";

    public async Task<IReadOnlyList<UploadScores>> ScoreAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct)
    {
        var marker = configuration["TestScorers:StartedMarker"];
        if (!string.IsNullOrEmpty(marker))
        {
            // Concurrent batches would collide opening the file; one writer at a time.
            await MarkerLock.WaitAsync(ct);
            try { await File.AppendAllTextAsync(marker, $"{batch.Count}\n", ct); }
            finally { MarkerLock.Release(); }
        }
        var delay = configuration.GetValue("TestScorers:DelayMsPerItem", 0);
        if (delay > 0) await Task.Delay(delay * batch.Count, ct);

        var results = new List<UploadScores>(batch.Count);
        foreach (var upload in batch)
        {
            var caption = upload.Caption ?? "";
            if (caption.Contains("[fail]", StringComparison.Ordinal))
                throw new InvalidOperationException($"markup scorer was told to fail on {upload.ExternalId}");
            var scores = Categories.ToDictionary(c => c, _ => 0.05);
            foreach (Match m in Markup().Matches(caption))
                scores[m.Groups["category"].Value] = double.Parse(m.Groups["score"].Value, CultureInfo.InvariantCulture);
            results.Add(new UploadScores(upload.Id, scores.Select(s =>
                new CategoryScore(s.Key, s.Value, ModelVersion, [$"markup in caption set {s.Key}={s.Value.ToString(CultureInfo.InvariantCulture)}"])).ToList()));
        }
        return results;
    }
}
