using System.Diagnostics;
using System.Numerics.Tensors;
using Recommender.Core;
using Recommender.Core.Catalog;
using Recommender.Core.Signals;
using Recommender.Core.Users;

namespace Moderation.Bench;

/// <summary>
/// Latency of ranking 2,000 candidates for one user with everything on (keyword filters, "not interested",
/// signals on a tenth of the catalog, diversity, reasons for the page), against the floor of the same 2,000 dot
/// products of the same 384-float vectors, each call timed on its own, the three interleaved, medians
/// compared, in one run. "warm" is the usual case
/// (signals unchanged since the previous request: safety verdicts cached); "signal" applies a new signal to one
/// of the candidates before every request, as live traffic does (that item's verdicts are evaluated again); "cold"
/// prunes an expired signal before every request, which forgets every verdict, so all 2,000 are evaluated again
/// (as on a ranker's first request). Options: --rounds N (at least 5), --seed N.
/// </summary>
public static class RankBenchmark
{
    private const int Dimensions = 384;
    private const int CatalogSize = 20_000;
    private const int Candidates = 2_000;
    private const int PageSize = 20;

    public static Task<int> RunAsync(BenchOptions o)
    {
        var random = new Random(o.Seed);
        var now = DateTimeOffset.UtcNow;
        var catalog = new ItemCatalog(Dimensions);
        var store = new SignalStore(new SignalStoreOptions { ItemKey = SignalItemKey.ExternalId });
        var ranker = new ForYouRecommender(catalog, store);
        var words = Enumerable.Range(0, 500).Select(i => $"word{i}").ToArray();
        var vectors = new float[CatalogSize][];
        long seq = 0;
        for (var i = 0; i < CatalogSize; i++)
        {
            var v = new float[Dimensions];
            for (var d = 0; d < Dimensions; d++) v[d] = (float)Gaussian(random);
            TensorPrimitives.Divide(v, TensorPrimitives.Norm<float>(v), v);
            vectors[i] = v;
            ranker.Upsert(new CatalogItem($"item-{i}", $"creator-{random.Next(1000)}", v, now - TimeSpan.FromHours(random.Next(1, 24 * 14)))
            {
                Caption = string.Join(' ', Enumerable.Range(0, 12).Select(_ => words[random.Next(words.Length)])),
                Hashtags = [$"#{words[random.Next(words.Length)]}", $"#{words[random.Next(words.Length)]}"],
                Popularity = Math.Exp(Gaussian(random) * 2),
                Duration = TimeSpan.FromSeconds(random.Next(10, 60)),
            });
            // Every item scored; a tenth with something to act on.
            var score = random.NextDouble() < 0.1 ? 0.5 + random.NextDouble() / 2 : random.NextDouble() * 0.4;
            var action = score >= 0.9 ? SignalActions.Ineligible : score >= 0.5 ? SignalActions.Demote : SignalActions.None;
            store.Apply(new RiskSignal(++seq, $"u-{i}", $"item-{i}", "harm", score, action, action == SignalActions.Demote ? 1 - 0.8 * (score - 0.5) / 0.4 : action == SignalActions.None ? 1 : 0,
                SignalSources.Model, "bench-1", "config-default", now, null, null));
        }
        store.MarkSynced(now.AddHours(1));
        const string user = "bench-user";
        for (var i = 0; i < 50; i++)
            ranker.Record(new Interaction(user, $"item-{random.Next(CatalogSize)}", i % 3 == 0 ? InteractionKind.Like : InteractionKind.Watch, now.AddMinutes(-i),
                i % 3 == 0 ? null : TimeSpan.FromSeconds(random.Next(1, 60))));
        // 50 filter terms: 5 words that occur in captions (each in about 2.8% of items), 45 that occur nowhere.
        ranker.SetKeywordFilters(user, Enumerable.Range(0, 5).Select(i => words[i * 97]).Concat(Enumerable.Range(0, 45).Select(i => $"absent{i}")));
        for (var i = 0; i < 5; i++) ranker.MarkNotInterested(user, NotInterestedKind.Creator, $"creator-{random.Next(1000)}");

        var ids = Enumerable.Range(0, CatalogSize).OrderBy(_ => random.Next()).Take(Candidates).ToArray();
        var candidates = catalog.Resolve(ids.Select(i => $"item-{i}"));
        // The floor: the user's interest vector dotted with the same 2,000 vectors, nothing else.
        var interest = new float[Dimensions];
        foreach (var i in ids.Take(50)) TensorPrimitives.Add(interest, vectors[i], interest);
        var scores = new float[Candidates];
        void Floor()
        {
            for (var c = 0; c < Candidates; c++) scores[c] = TensorPrimitives.Dot<float>(interest, vectors[ids[c]]);
        }

        var shown = 0;
        void Warm() => shown = ranker.RankCandidates(user, candidates, PageSize).Items.Count;
        var next = 0;
        void Signal()
        {
            var item = ids[next++ % Candidates];
            store.Apply(new RiskSignal(++seq, $"u-{item}", $"item-{item}", "harm", 0.1, SignalActions.None, 1, SignalSources.Model, "bench-1", null, now, null, null));
            shown = ranker.RankCandidates(user, candidates, PageSize).Items.Count;
        }
        void Cold()
        {
            store.Apply(new RiskSignal(++seq, "u-x", "not-in-catalog", "harm", 0.1, SignalActions.None, 1, SignalSources.Model, "bench-1", null, now.AddDays(-2), now.AddDays(-1), null));
            store.PruneExpired(now);
            shown = ranker.RankCandidates(user, candidates, PageSize).Items.Count;
        }

        // On a shared machine a block of calls is often cut by the scheduler. Each call is timed on its own,
        // floor, warm and cold interleaved, and the medians compared: a preempted call is an outlier, not the median.
        const int samples = 1000;
        double Time(Action action)
        {
            var t0 = Stopwatch.GetTimestamp();
            action();
            return Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }

        for (var i = 0; i < 200; i++) { Floor(); Warm(); Signal(); Cold(); } // JIT and tiering
        var page = ranker.RankCandidates(user, candidates, PageSize);
        var rounds = Math.Max(o.Rounds, 5);
        Console.WriteLine($"rank: {Candidates} candidates of {CatalogSize}, {Dimensions} dims, page {PageSize}, 50 keyword filters, 5 not-interested creators, {rounds} rounds x {samples} interleaved calls (medians)");
        Console.WriteLine($"  removed per request: {string.Join(", ", page.Removed.Select(kv => $"{kv.Key} {kv.Value}"))}; page of {page.Items.Count}");
        Console.WriteLine($"{"round",5} {"floor us",9} {"warm us",8} {"signal us",10} {"cold us",8} {"warm/floor",11} {"signal/floor",13} {"cold/floor",11}");
        var warmRatios = new List<double>();
        var signalRatios = new List<double>();
        var coldRatios = new List<double>();
        var floors = new List<double>();
        var warms = new List<double>();
        var colds = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            var fs = new List<double>(samples);
            var ws = new List<double>(samples);
            var ss = new List<double>(samples);
            var cs = new List<double>(samples);
            for (var i = 0; i < samples; i++)
            {
                fs.Add(Time(Floor));
                ws.Add(Time(Warm));
                ss.Add(Time(Signal));
                cs.Add(Time(Cold));
            }
            double floor = Measure.Median(fs), w = Measure.Median(ws), sg = Measure.Median(ss), c = Measure.Median(cs);
            signalRatios.Add(sg / floor);
            floors.Add(floor);
            warms.Add(w);
            colds.Add(c);
            warmRatios.Add(w / floor);
            coldRatios.Add(c / floor);
            Console.WriteLine($"{round,5} {Measure.F(floor, "0.0"),9} {Measure.F(w, "0.0"),8} {Measure.F(sg, "0.0"),10} {Measure.F(c, "0.0"),8} {Measure.F(w / floor, "0.00"),11} {Measure.F(sg / floor, "0.00"),13} {Measure.F(c / floor, "0.00"),11}");
        }
        if (shown != PageSize) throw new InvalidOperationException($"the ranker returned {shown} items, not {PageSize}");
        var ratio = Measure.Median(warmRatios);
        var signalRatio = Measure.Median(signalRatios);
        Console.WriteLine($"rank: ratio={Measure.F(ratio, "0.00")} signal_ratio={Measure.F(signalRatio, "0.00")} cold_ratio={Measure.F(Measure.Median(coldRatios), "0.00")} rank_us={Measure.F(Measure.Median(warms), "0.0")} cold_us={Measure.F(Measure.Median(colds), "0.0")} floor_us={Measure.F(Measure.Median(floors), "0.0")} candidates={Candidates} dims={Dimensions} page={PageSize} seed={o.Seed} target=3 met={(Math.Max(ratio, signalRatio) <= 3 ? "yes" : "no")}");
        return Task.FromResult(0);
    }

    internal static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
