using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Scoring;

namespace Moderation.Bench;

/// <summary>
/// Freshness of the demo feed end to end on the embedded default (SQLite, in-process workers): the time from a
/// routing decision (the risk signal's createdAt, stamped when the scoring job routes) to the first
/// <c>GET /v1/feed/{userId}</c> response that reflects it (the item is gone: ineligible). A client requests the
/// feed every 20 ms, as a scrolling user's prefetch might. Measured twice in one run: with the feed catching up
/// on each request (the default) and with the 1 s background sync only. Also reported: upload accepted to
/// effect, which adds the scoring pipeline. Trials start after a random pause (0-1 s) so they do not lock to
/// the background sync's phase. Options: --rounds N (trials per mode, default 30).
/// </summary>
public static class FreshnessBenchmark
{
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(20);

    public static async Task<int> RunAsync(BenchOptions o)
    {
        var trials = o.Rounds == new BenchOptions().Rounds ? 30 : o.Rounds;
        Console.WriteLine($"freshness: {trials} ineligible decisions per mode, feed requested every {Pace.TotalMilliseconds} ms, fixed-cost scorer (1 ms/call)");
        var onRequest = await MeasureAsync(o, syncOnRequest: true, trials);
        var background = await MeasureAsync(o, syncOnRequest: false, trials);
        Console.WriteLine($"{"mode",-22} {"p50 ms",7} {"p95 ms",7} {"max ms",7} {"upload->effect p50",19} {"p95",6} {"leaks",6}");
        foreach (var (name, r) in new[] { ("sync on request", onRequest), ("background sync (1 s)", background) })
            Console.WriteLine($"{name,-22} {P(r.Decision, 50),7} {P(r.Decision, 95),7} {Measure.F(r.Decision.Max(), "0"),7} {P(r.Upload, 50),19} {P(r.Upload, 95),6} {r.Leaks,6}");
        Console.WriteLine($"freshness: p50_ms={P(onRequest.Decision, 50)} p95_ms={P(onRequest.Decision, 95)} upload_p50_ms={P(onRequest.Upload, 50)} upload_p95_ms={P(onRequest.Upload, 95)} " +
            $"background_p50_ms={P(background.Decision, 50)} background_p95_ms={P(background.Decision, 95)} leaks={onRequest.Leaks + background.Leaks} trials={trials} pace_ms={Pace.TotalMilliseconds}");
        return 0;
    }

    private static string P(List<double> values, int percentile)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1;
        return Measure.F(sorted[Math.Clamp(rank, 0, sorted.Length - 1)], "0");
    }

    private sealed record Result(List<double> Decision, List<double> Upload, int Leaks);

    private static async Task<Result> MeasureAsync(BenchOptions o, bool syncOnRequest, int trials)
    {
        await using var host = await BenchHost.StartAsync(o, new Dictionary<string, string>
            {
                ["Moderation:Worker:WorkerCount"] = "1",
                ["Moderation:Worker:QueuePollInterval"] = "00:00:00.050",
                ["Moderation:Feed:SyncOnRequest"] = syncOnRequest ? "true" : "false",
                ["Moderation:Feed:SyncInterval"] = "00:00:01",
            },
            builder => builder.Services.AddSingleton<IUploadScorer>(new FixedCostScorer(1000, 100)));
        using var client = host.CreateClient(4);
        // The fixed-cost scorer's harm score is a hash of the caption: pick captions it scores clearly benign or >= 0.95.
        string Caption(string stem, bool harmful)
        {
            for (var k = 0; ; k++)
            {
                var caption = $"{stem} take {k}";
                var score = Math.Abs(caption.GetHashCode()) % 1000 / 1000.0;
                if (harmful ? score >= 0.95 : score < 0.3) return caption;
            }
        }

        for (var i = 0; i < 20; i++)
            await client.PostAsJsonAsync("/v1/uploads", new { externalId = $"background-{i}", caption = Caption($"background clip {i}", false), creatorId = $"c{i}" });
        const string user = "freshness-user";
        var deadline = Stopwatch.StartNew();
        while ((await FeedAsync(client, user)).GetProperty("signalCursor").GetString() != "20" && deadline.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(Pace);

        var decision = new List<double>();
        var upload = new List<double>();
        var leaks = 0;
        var random = new Random(o.Seed);
        for (var t = 0; t < trials; t++)
        {
            // A random pause, so decisions do not fall at the same phase of the background sync every time.
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 1000)));
            var before = long.Parse((await FeedAsync(client, user)).GetProperty("signalCursor").GetString()!, CultureInfo.InvariantCulture);
            var posted = DateTimeOffset.UtcNow;
            var response = await client.PostAsJsonAsync("/v1/uploads", new { externalId = $"harmful-{syncOnRequest}-{t}", caption = Caption($"harmful clip {t}", true), creatorId = "h" });
            var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            DateTimeOffset effect;
            var trialDeadline = Stopwatch.StartNew();
            while (true)
            {
                var feed = await FeedAsync(client, user);
                var received = DateTimeOffset.UtcNow;
                var cursor = long.Parse(feed.GetProperty("signalCursor").GetString()!, CultureInfo.InvariantCulture);
                if (cursor > before)
                {
                    if (feed.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("uploadId").GetString() == id)) leaks++;
                    effect = received;
                    break;
                }
                if (trialDeadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"trial {t}: the decision never reached the feed");
                await Task.Delay(Pace);
            }
            var signals = await client.GetFromJsonAsync<JsonElement>($"/v1/signals?after={before}&limit=10");
            var signal = signals.GetProperty("signals").EnumerateArray().First(s => s.GetProperty("uploadId").GetString() == id);
            signal.GetProperty("action").GetString().Should("ineligible");
            var decided = signal.GetProperty("createdAt").GetDateTimeOffset();
            decision.Add((effect - decided).TotalMilliseconds);
            upload.Add((effect - posted).TotalMilliseconds);
        }
        return new Result(decision, upload, leaks);
    }

    private static async Task<JsonElement> FeedAsync(HttpClient client, string user)
    {
        using var response = await client.GetAsync($"/v1/feed/{user}?count=100");
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static void Should(this string? actual, string expected)
    {
        if (actual != expected) throw new InvalidOperationException($"expected a '{expected}' signal, got '{actual}'");
    }
}
