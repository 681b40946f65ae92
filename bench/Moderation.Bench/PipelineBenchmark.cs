using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Telemetry;

namespace Moderation.Bench;

/// <summary>
/// End to end on the embedded default: uploads posted through the API (concurrent clients) until every one is
/// scored and routed, per second, against the same fixed-cost scorer called directly in a loop over the same
/// items in ideal batches. Both sides get one scoring thread (the pipeline runs one Hangfire worker), so the
/// ratio is the pipeline's overhead, not extra parallelism. Rounds alternate the two to share the noise.
/// </summary>
public static class PipelineBenchmark
{
    public static async Task<int> RunAsync(BenchOptions o)
    {
        var scorerName = o.Text ? "the text scorer with the shipped heads" : $"scorer cost {o.CallMicros}us/call + {o.CostMicros}us/item";
        Console.WriteLine($"pipeline: {o.Uploads} uploads, {o.Clients} clients, {scorerName}, direct batch {o.Batch}, {o.Rounds} rounds");
        Console.WriteLine($"{"round",5} {"direct/s",10} {"pipeline/s",11} {"ratio",6} {"batches",8} {"mean batch",11} {"score ms/up",12} {"store ms/up",12} {"wall ms/up",11}");
        // Batches actually scored, from the pipeline's own metric.
        // Where the scoring worker's time goes, from the pipeline's own metrics: the scorers and storing the outcome.
        long batchCount = 0, batchItems = 0;
        double scorerSeconds = 0, storeSeconds = 0;
        var timeLock = new Lock();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ModerationTelemetry.Name && instrument.Name is "moderation.scoring.batch_size"
                    or "moderation.scoring.duration" or "moderation.scoring.store_duration")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => { Interlocked.Increment(ref batchCount); Interlocked.Add(ref batchItems, value); });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            lock (timeLock)
            {
                if (instrument.Name == "moderation.scoring.duration") scorerSeconds += value;
                else storeSeconds += value;
            }
        });
        listener.Start();

        await PipelineAsync(o with { Uploads = Math.Min(200, o.Uploads) }, 0); // warm-up: JIT and first-use costs
        var direct = new List<double>();
        var pipeline = new List<double>();
        var batches = new List<double>();
        for (var round = 1; round <= o.Rounds; round++)
        {
            var d = Direct(o);
            var p = await PipelineAsync(o, round, onClockStart: () =>
            {
                Interlocked.Exchange(ref batchCount, 0);
                Interlocked.Exchange(ref batchItems, 0);
                lock (timeLock) scorerSeconds = storeSeconds = 0;
            });
            direct.Add(d);
            pipeline.Add(p);
            var scored = Interlocked.Read(ref batchCount);
            batches.Add(Interlocked.Read(ref batchItems) / (double)Math.Max(scored, 1));
            double scoreMs, storeMs;
            lock (timeLock) (scoreMs, storeMs) = (1000 * scorerSeconds / o.Uploads, 1000 * storeSeconds / o.Uploads);
            Console.WriteLine($"{round,5} {Measure.F(d, "0"),10} {Measure.F(p, "0"),11} {Measure.F(p / d, "0.00"),6} {scored,8} {Measure.F(batches[^1], "0.0"),11} {Measure.F(scoreMs, "0.000"),12} {Measure.F(storeMs, "0.000"),12} {Measure.F(1000 / p, "0.000"),11}");
        }
        var ratio = Measure.Median(pipeline) / Measure.Median(direct);
        Console.WriteLine($"pipeline: ratio={Measure.F(ratio)} scorer={(o.Text ? "text" : "fixed-cost")} pipeline_per_s={Measure.F(Measure.Median(pipeline), "0")} direct_per_s={Measure.F(Measure.Median(direct), "0")} mean_batch={Measure.F(Measure.Median(batches), "0.0")} uploads={o.Uploads} clients={o.Clients} rounds={o.Rounds} target=0.7");
        return 0;
    }

    private static readonly Lazy<TextScorer> DirectTextScorer = new(() =>
        new TextScorer(new TextEmbedder(), TextModels.Load(TextScoringOptions.ShippedModelsDirectory)));

    private static double Direct(BenchOptions o)
    {
        IUploadScorer scorer = o.Text ? DirectTextScorer.Value : new FixedCostScorer(o.CallMicros, o.CostMicros);
        // The same words the pipeline's uploads carry (Measure.UploadJson), so both sides score the same text.
        var items = Enumerable.Range(0, o.Uploads).Select(i => JsonSerializer.Deserialize<UploadFields>(Measure.UploadJson($"direct-{i}", i), Json)!)
            .Select((u, i) => new UploadContent(Guid.NewGuid().ToString(), $"direct-{i}", u.CreatorId, u.Caption, u.Hashtags, u.Transcript, u.Comments, u.Locale, []))
            .ToList();
        if (o.Text) scorer.ScoreAsync(items.Take(8).ToList(), CancellationToken.None).GetAwaiter().GetResult(); // load once, outside the clock
        var started = Stopwatch.GetTimestamp();
        foreach (var chunk in items.Chunk(o.Batch))
            scorer.ScoreAsync(chunk, CancellationToken.None).GetAwaiter().GetResult();
        return o.Uploads / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static async Task<double> PipelineAsync(BenchOptions o, int round, Action? onClockStart = null)
    {
        await using var host = await BenchHost.StartAsync(o, new Dictionary<string, string>
            {
                ["Moderation:Worker:WorkerCount"] = o.Workers.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Moderation:Worker:QueuePollInterval"] = "00:00:00.050",
                ["Moderation:Scoring:Text:Enabled"] = o.Text ? "true" : "false",
            },
            builder =>
            {
                if (!o.Text) builder.Services.AddSingleton<IUploadScorer>(new FixedCostScorer(o.CallMicros, o.CostMicros));
            });
        using var client = host.CreateClient(o.Clients);
        if (o.Text)
        {
            // Load the model and the registry's heads before the clock starts, as a long-running worker has.
            foreach (var scorer in host.Services.GetServices<IUploadScorer>())
                await scorer.ScoreAsync([new UploadContent("warm", "warm", null, "warm up", [], null, [], null, [])], CancellationToken.None);
        }

        async Task PostAllAsync(string prefix, int uploads)
        {
            await Measure.ConcurrentAsync(uploads, o.Clients, async i =>
            {
                using var content = new StringContent(Measure.UploadJson($"{prefix}-{round}-{i}", i), Encoding.UTF8, "application/json");
                using var response = await client.PostAsync("/v1/uploads", content);
                if ((int)response.StatusCode != 202) throw new InvalidOperationException($"upload {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            });
            await using var connection = await host.Database.OpenAsync();
            while (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM uploads WHERE status = 'queued'") > 0)
                await Task.Delay(10);
        }

        // The whole path once before the clock, as a long-running service has run it: each host compiles its own
        // endpoint delegates, job activators and prediction engines (about 3,000 methods, 4 s of JIT on 2 cores),
        // which a fresh host would otherwise charge to the measured uploads.
        var warm = Math.Min(2 * o.Clients, o.Uploads);
        await PostAllAsync("warm", warm);

        onClockStart?.Invoke();
        var started = Stopwatch.GetTimestamp();
        await PostAllAsync("pipeline", o.Uploads);
        var elapsed = Stopwatch.GetElapsedTime(started);
        await using var count = await host.Database.OpenAsync();
        var routed = await count.ExecuteScalarAsync<long>("SELECT COUNT(DISTINCT subject_id) FROM audit_events WHERE action = 'upload.routed'");
        if (routed != o.Uploads + warm) throw new InvalidOperationException($"{routed} of {o.Uploads + warm} uploads were routed");
        return o.Uploads / elapsed.TotalSeconds;
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed record UploadFields(string? CreatorId, string? Caption, string[] Hashtags, string? Transcript, string[] Comments, string? Locale);
}
