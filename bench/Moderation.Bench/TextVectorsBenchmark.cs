using System.Diagnostics;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;

namespace Moderation.Bench;

/// <summary>
/// What the text scorer's per-upload vector costs: <see cref="TextScorer.ScoreAsync"/> (scores and the vector of the
/// creator's words) against <see cref="TextScorer.ScoreTextsAsync"/> on the same composed texts (scores only, as before
/// vectors existed), same uploads (captions from ../shared/data, each with two short comments, the case where the
/// vector needs work of its own), same batches, rounds interleaved. The scores must be identical.
/// Options: --uploads N (default 1,024), --rounds N, --batch N.
/// </summary>
internal static class TextVectorsBenchmark
{
    public static async Task<int> RunAsync(BenchOptions o)
    {
        var count = o.Uploads == new BenchOptions().Uploads ? 1024 : o.Uploads;
        var texts = EmbeddingBenchmark.LoadTexts(count);
        var uploads = texts.Select((t, i) => new UploadContent($"u{i}", $"u{i}", null, t, ["#tag"], null, ["first!", $"comment number {i % 17}"], "en", [])).ToList();
        using var embedder = new TextEmbedder();
        var scorer = new TextScorer(embedder, TextModels.Load(TextScoringOptions.ShippedModelsDirectory));

        async Task<(double Seconds, List<UploadScores> Output)> WithVectors()
        {
            var t = Stopwatch.GetTimestamp();
            var output = new List<UploadScores>();
            foreach (var batch in uploads.Chunk(o.Batch)) output.AddRange(await scorer.ScoreAsync(batch, CancellationToken.None));
            return (Stopwatch.GetElapsedTime(t).TotalSeconds, output);
        }
        async Task<(double Seconds, List<TextVerdict> Output)> ScoresOnly()
        {
            var t = Stopwatch.GetTimestamp();
            var output = new List<TextVerdict>();
            foreach (var batch in uploads.Chunk(o.Batch)) output.AddRange(await scorer.ScoreTextsAsync(batch.Select(TextScorer.Compose).ToList()));
            return (Stopwatch.GetElapsedTime(t).TotalSeconds, output);
        }

        await WithVectors();
        await ScoresOnly();
        Console.WriteLine($"textvectors: {uploads.Count} uploads with comments, batch {o.Batch}, {o.Rounds} rounds");
        Console.WriteLine($"{"round",5} {"scores only/s",14} {"with vector/s",14} {"ratio",6}");
        List<double> ratios = [], only = [], with = [];
        var vectors = 0;
        for (var round = 1; round <= o.Rounds; round++)
        {
            var (a, scores) = await ScoresOnly();
            var (b, output) = await WithVectors();
            for (var i = 0; i < uploads.Count; i++)
                if (!output[i].Scores.Select(s => (s.Category, s.Score)).SequenceEqual(scores[i].Scores.Select(s => (s.Category, s.Score))))
                    throw new InvalidOperationException($"upload {i}: the scores differ with the vector");
            vectors = output.Count(u => u.Embeddings is { Count: 1 });
            only.Add(uploads.Count / a);
            with.Add(uploads.Count / b);
            ratios.Add(a / b);
            Console.WriteLine($"{round,5} {Measure.F(only[^1], "0.0"),14} {Measure.F(with[^1], "0.0"),14} {Measure.F(ratios[^1]),6}");
        }
        Console.WriteLine($"textvectors: ratio={Measure.F(Measure.Median(ratios))} with_vector_per_s={Measure.F(Measure.Median(with), "0.0")} " +
            $"scores_only_per_s={Measure.F(Measure.Median(only), "0.0")} uploads={uploads.Count} vectors={vectors} same_scores=true rounds={o.Rounds}");
        return 0;
    }
}
