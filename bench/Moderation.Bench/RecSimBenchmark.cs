using System.Numerics.Tensors;
using Microsoft.Extensions.Time.Testing;
using Recommender.Core;
using Recommender.Core.Catalog;
using Recommender.Core.Safety;
using Recommender.Core.Signals;
using Recommender.Core.Users;
using SkiaSharp;

namespace Moderation.Bench;

/// <summary>
/// A simulated population against the For You ranker, with the safety layer off and on in one run, then a sweep
/// of demotion strength. Users have hidden interests (a few of 20 topics); items have a topic, a creator and a
/// caption; 6% are harmful (ground truth, by category) and a little more engaging than their topic alone. The
/// moderation service is simulated by its documented default policy (review 0.5, action 0.9, demotion from 1 to
/// 0.2, ineligible on action) over noisy model scores, delivered as risk signals. Users watch, like, skip and say
/// "not interested" (draws fixed per user and item, the same in every run); the ranker learns online. Reported per request (page of 10): NDCG@10 against the best 10
/// unseen items by true relevance, expected watch time@10, and position-weighted harmful exposure@10 by category.
/// Control compliance is checked against the generator's own ground truth: keyword-filter leaks (the base word in
/// any variant), "not interested" creators inside the window, ineligible items shown. Options: --seed N,
/// --uploads N (users, default 300), --rounds N (sessions per user, default 6).
/// </summary>
public static class RecSimBenchmark
{
    private const int Topics = 20;
    private const int Dims = 32;
    private const int ItemCount = 5000;
    private const int Page = 10;
    private const double HarmfulShare = 0.06;
    private static readonly string[] HarmCategories = ["harm.violence", "harm.self_harm", "misinformation"];

    public static Task<int> RunAsync(BenchOptions o)
    {
        var users = o.Uploads == new BenchOptions().Uploads ? 300 : o.Uploads;
        var sessions = o.Rounds == new BenchOptions().Rounds ? 6 : o.Rounds;
        var world = World.Create(o.Seed);
        Console.WriteLine($"recsim: {users} users x {sessions} sessions x page {Page}, {ItemCount} items in {Topics} topics, {HarmfulShare:P0} harmful " +
            $"({world.Items.Count(i => i.Harm is not null)}), model score AUC {Measure.F(world.ScoreAuc(), "0.000")}, seed {o.Seed}");

        var off = Simulate(world, SafetyPolicy.Off, users, sessions, o.Seed);
        var on = Simulate(world, SafetyPolicy.Default, users, sessions, o.Seed);
        Console.WriteLine();
        Console.WriteLine($"{"run",-22} {"NDCG@10",8} {"watch@10 s",11} {"harm exp@10",12} {string.Join(" ", HarmCategories.Select(c => $"{c,15}"))} {"leaks",6}");
        Print("safety off", off);
        Print($"safety on (default, s={SafetyPolicy.Default.DemotionStrength})", on);

        Console.WriteLine();
        Console.WriteLine("demotion-strength sweep (default policy otherwise):");
        Console.WriteLine($"{"strength",9} {"NDCG@10",8} {"ndcg loss",10} {"harm exp@10",12} {"reduction",10} {"leaks",6}");
        var sweep = new List<(double Strength, double Loss, double Reduction)>();
        foreach (var strength in new[] { 0.0, 0.5, 1, 2, 3, 4, 6, 8 })
        {
            var r = strength == SafetyPolicy.Default.DemotionStrength ? on : Simulate(world, SafetyPolicy.Default with { DemotionStrength = strength }, users, sessions, o.Seed);
            var loss = 1 - r.Ndcg / off.Ndcg;
            var reduction = 1 - r.HarmExposure / off.HarmExposure;
            sweep.Add((strength, loss, reduction));
            Console.WriteLine($"{Measure.F(strength, "0.0"),9} {Measure.F(r.Ndcg, "0.0000"),8} {Measure.F(loss, "0.0000"),10} {Measure.F(r.HarmExposure, "0.0000"),12} {Measure.F(reduction, "0.000"),10} {r.Leaks,6}");
        }
        var chart = ChartPath();
        DrawChart(chart, sweep, SafetyPolicy.Default.DemotionStrength);
        Console.WriteLine($"trade-off chart: {chart}");

        var harmReduction = 1 - on.HarmExposure / off.HarmExposure;
        var ndcgLoss = 1 - on.Ndcg / off.Ndcg;
        var met = harmReduction >= 0.70 && ndcgLoss <= 0.05 && on.Leaks == 0;
        Console.WriteLine($"recsim: harm_exposure_reduction={Measure.F(harmReduction, "0.000")} ndcg_loss={Measure.F(ndcgLoss, "0.000")} " +
            $"watch_loss={Measure.F(1 - on.Watch / off.Watch, "0.000")} leaks={on.Leaks} keyword_leaks={on.KeywordLeaks} not_interested_leaks={on.NotInterestedLeaks} " +
            $"ineligible_shown={on.IneligibleShown} ndcg_off={Measure.F(off.Ndcg, "0.0000")} ndcg_on={Measure.F(on.Ndcg, "0.0000")} " +
            $"harm_off={Measure.F(off.HarmExposure, "0.0000")} harm_on={Measure.F(on.HarmExposure, "0.0000")} requests={on.Requests} users={users} sessions={sessions} seed={o.Seed} " +
            $"target=0.70@0.05 met={(met ? "yes" : "no")}");
        return Task.FromResult(0);
    }

    private static void Print(string name, Result r) =>
        Console.WriteLine($"{name,-22} {Measure.F(r.Ndcg, "0.0000"),8} {Measure.F(r.Watch, "0.00"),11} {Measure.F(r.HarmExposure, "0.0000"),12} " +
            $"{string.Join(" ", HarmCategories.Select(c => $"{Measure.F(r.HarmByCategory.GetValueOrDefault(c), "0.0000"),15}"))} {r.Leaks,6}");

    private sealed record Result(double Ndcg, double Watch, double HarmExposure, Dictionary<string, double> HarmByCategory,
        int KeywordLeaks, int NotInterestedLeaks, int IneligibleShown, int Requests)
    {
        public int Leaks => KeywordLeaks + NotInterestedLeaks + IneligibleShown;
    }

    /// <summary>
    /// A uniform draw fixed by (seed, user, what, salt): common random numbers, so a user reacts to an item the same
    /// way in every run and the runs differ only by what the ranker showed.
    /// </summary>
    private static double Draw(int seed, int user, int what, int salt)
    {
        Span<byte> key = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(key, seed);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(key[4..], user);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(key[8..], what);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(key[12..], salt);
        return (System.IO.Hashing.XxHash64.HashToUInt64(key) >> 11) * (1.0 / (1UL << 53));
    }

    private static double Gaussian(int seed, int user, int item) =>
        Math.Sqrt(-2 * Math.Log(1 - Draw(seed, user, item, 2))) * Math.Cos(2 * Math.PI * Draw(seed, user, item, 3));

    private sealed record SimItem(int Index, string Id, int Topic, string Creator, float[] Embedding, DateTimeOffset Published, TimeSpan Duration,
        string? Harm, double ModelScore, string[] Keywords, string Caption, string[] Hashtags);

    private sealed record SimUser(string Id, int[] Topics, double[] Weights, string[] Filters);

    private sealed class World
    {
        public required List<SimItem> Items { get; init; }
        public required List<SimUser> Users { get; init; }
        public required float[][] Centroids { get; init; }
        public required string[] Keywords { get; init; }
        public DateTimeOffset Start { get; } = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

        public static World Create(int seed)
        {
            var random = new Random(seed);
            var centroids = Enumerable.Range(0, Topics).Select(_ => Unit(Enumerable.Range(0, Dims).Select(_ => (float)RankBenchmark.Gaussian(random)).ToArray())).ToArray();
            // Synthetic keywords with no suffix the stemmer would strip, written in variants the filters must catch.
            var keywords = Enumerable.Range(0, 200).Select(i => $"kw{i:000}x").ToArray();
            var start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
            var creatorTopics = Enumerable.Range(0, 400).Select(_ => random.Next(Topics)).ToArray();
            var items = new List<SimItem>(ItemCount);
            for (var i = 0; i < ItemCount; i++)
            {
                var creator = random.Next(creatorTopics.Length);
                var topic = random.NextDouble() < 0.7 ? creatorTopics[creator] : random.Next(Topics);
                var embedding = Unit(centroids[topic].Select(c => c + 0.6f * (float)RankBenchmark.Gaussian(random) / MathF.Sqrt(Dims) * 3).ToArray());
                string? harm = random.NextDouble() < HarmfulShare ? HarmCategories[random.Next(HarmCategories.Length)] : null;
                // Noisy calibrated-looking model scores: harmful items mostly high, benign mostly low, overlapping.
                var logit = (harm is null ? -2.5 : 1.0) + 1.5 * RankBenchmark.Gaussian(random);
                var words = Enumerable.Range(0, 2).Select(_ => keywords[random.Next(keywords.Length)]).ToArray();
                string Variant(string w) => random.Next(4) switch { 0 => w, 1 => w + "s", 2 => w.ToUpperInvariant(), _ => char.ToUpperInvariant(w[0]) + w[1..] };
                items.Add(new SimItem(i, $"item-{i}", topic, $"creator-{creator}", embedding, start.AddHours(-random.Next(0, 24 * 7)),
                    TimeSpan.FromSeconds(random.Next(10, 60)), harm, 1 / (1 + Math.Exp(-logit)), words,
                    $"clip {i} about topic {topic} with {Variant(words[0])}", [$"#{Variant(words[1])}", $"#topic{topic}"]));
            }
            var users = new List<SimUser>();
            for (var u = 0; u < 2000; u++)
            {
                var n = random.Next(1, 4);
                var topics = Enumerable.Range(0, Topics).OrderBy(_ => random.Next()).Take(n).ToArray();
                var weights = topics.Select((_, k) => k == 0 ? 1.0 : 0.4 + 0.5 * random.NextDouble()).ToArray();
                var filters = random.NextDouble() < 0.3 ? Enumerable.Range(0, 5).Select(_ => keywords[random.Next(keywords.Length)]).Distinct().ToArray() : [];
                users.Add(new SimUser($"user-{u}", topics, weights, filters));
            }
            return new World { Items = items, Users = users, Centroids = centroids, Keywords = keywords };
        }

        /// <summary>True relevance in 0..1: the user's best topic weight times the item's closeness to it; harmful items draw a little more.</summary>
        public double Relevance(SimUser user, SimItem item)
        {
            var best = 0.0;
            for (var k = 0; k < user.Topics.Length; k++)
                best = Math.Max(best, user.Weights[k] * Math.Max(0, TensorPrimitives.Dot<float>(Centroids[user.Topics[k]], item.Embedding)));
            if (item.Harm is not null) best = Math.Min(1, best + 0.1);
            return best;
        }

        public double ScoreAuc()
        {
            var pos = Items.Where(i => i.Harm is not null).Select(i => i.ModelScore).ToArray();
            var neg = Items.Where(i => i.Harm is null).Select(i => i.ModelScore).Order().ToArray();
            double wins = 0;
            foreach (var p in pos) wins += LowerCount(neg, p);
            return wins / ((double)pos.Length * neg.Length);
            static int LowerCount(double[] sorted, double v)
            {
                var i = Array.BinarySearch(sorted, v);
                return i >= 0 ? i : ~i;
            }
        }

        /// <summary>The moderation service's documented default routing: one signal per category scored.</summary>
        public IEnumerable<RiskSignal> Signals()
        {
            long seq = 0;
            foreach (var item in Items)
                foreach (var category in new[] { "harm", "misinformation", "bias" })
                {
                    var score = item.Harm is { } h && (h == category || h.StartsWith(category + ".", StringComparison.Ordinal)) ? item.ModelScore : item.ModelScore * 0.3;
                    var (action, multiplier) = score >= 0.9 ? (SignalActions.Ineligible, 0.0)
                        : score >= 0.5 ? (SignalActions.Demote, 1 - 0.8 * (score - 0.5) / 0.4)
                        : (SignalActions.None, 1.0);
                    yield return new RiskSignal(++seq, "u-" + item.Id, item.Id, category, score, action, multiplier, SignalSources.Model,
                        "sim-1", "config-default", Start, null, null);
                }
        }
    }

    private static Result Simulate(World world, SafetyPolicy policy, int userCount, int sessions, int seed)
    {
        var random = new Random(seed + 1);
        var clock = new FakeTimeProvider(world.Start);
        var catalog = new ItemCatalog(Dims);
        var store = new SignalStore(new SignalStoreOptions { ItemKey = SignalItemKey.ExternalId });
        var ranker = new ForYouRecommender(catalog, store, policy, time: clock);
        var byId = world.Items.ToDictionary(i => i.Id);
        foreach (var item in world.Items)
            ranker.Upsert(new CatalogItem(item.Id, item.Creator, item.Embedding, item.Published)
            {
                Caption = item.Caption, Hashtags = item.Hashtags, Duration = item.Duration, Popularity = random.Next(0, 50),
            });
        var ineligible = new HashSet<string>();
        foreach (var s in world.Signals())
        {
            store.Apply(s);
            if (s.Action == SignalActions.Ineligible) ineligible.Add(s.ExternalId);
        }
        var users = world.Users.Take(userCount).ToList();
        foreach (var user in users.Where(u => u.Filters.Length > 0))
            ranker.SetKeywordFilters(user.Id, user.Filters);

        double ndcg = 0, watch = 0, harm = 0, weightTotal = 0;
        var harmBy = HarmCategories.ToDictionary(c => c, _ => 0.0);
        int requests = 0, keywordLeaks = 0, niLeaks = 0, ineligibleShown = 0;
        var weights = Enumerable.Range(0, Page).Select(p => 1 / Math.Log2(p + 2)).ToArray();
        var seen = users.ToDictionary(u => u.Id, _ => new HashSet<string>());
        var notInterested = users.ToDictionary(u => u.Id, _ => new Dictionary<string, DateTimeOffset>());

        for (var session = 0; session < sessions; session++)
        {
            store.MarkSynced(clock.GetUtcNow());
            for (var userIndex = 0; userIndex < users.Count; userIndex++)
            {
                var user = users[userIndex];
                var page = ranker.Rank(user.Id, Page);
                requests++;
                var now = clock.GetUtcNow();
                var rels = new double[Page];
                for (var p = 0; p < page.Items.Count; p++)
                {
                    var item = byId[page.Items[p].ItemId];
                    rels[p] = world.Relevance(user, item);
                    if (item.Harm is not null)
                    {
                        harm += weights[p];
                        harmBy[item.Harm] += weights[p];
                    }
                    watch += weights[p] * rels[p] * item.Duration.TotalSeconds;
                    if (policy.Enabled && ineligible.Contains(item.Id)) ineligibleShown++;
                    if (user.Filters.Intersect(item.Keywords).Any()) keywordLeaks++;
                    if (notInterested[user.Id].TryGetValue(item.Creator, out var said) && now - said < ranker.Options.NotInterestedWindow) niLeaks++;
                }
                weightTotal += weights.Sum();
                var dcg = rels.Select((r, p) => r * weights[p]).Sum();
                var ideal = world.Items.Where(i => !seen[user.Id].Contains(i.Id)).Select(i => world.Relevance(user, i))
                    .OrderDescending().Take(Page).Select((r, p) => r * weights[p]).Sum();
                ndcg += ideal > 0 ? dcg / ideal : 0;

                // The user scrolls the page: attention falls with position; what they watch follows true relevance.
                for (var p = 0; p < page.Items.Count; p++)
                {
                    var item = byId[page.Items[p].ItemId];
                    seen[user.Id].Add(item.Id);
                    if (Draw(seed, userIndex, session * 100 + p, 1) > weights[p] + 0.2) continue;
                    var completion = Math.Clamp(rels[p] + 0.15 * Gaussian(seed, userIndex, item.Index), 0, 1);
                    var at = now.AddSeconds(p * 20);
                    if (at > clock.GetUtcNow()) at = clock.GetUtcNow();
                    if (completion < 0.15)
                    {
                        ranker.Record(new Interaction(user.Id, item.Id, InteractionKind.Watch, at, TimeSpan.FromSeconds(1)));
                        if (Draw(seed, userIndex, item.Index, 4) < 0.1)
                        {
                            ranker.MarkNotInterested(user.Id, NotInterestedKind.Creator, item.Creator, at);
                            notInterested[user.Id][item.Creator] = at;
                        }
                        continue;
                    }
                    ranker.Record(new Interaction(user.Id, item.Id, InteractionKind.Watch, at, item.Duration * completion));
                    if (completion > 0.7 && Draw(seed, userIndex, item.Index, 5) < 0.4) ranker.Record(new Interaction(user.Id, item.Id, InteractionKind.Like, at));
                }
            }
            clock.Advance(TimeSpan.FromHours(3));
        }
        return new Result(ndcg / requests, watch / requests, harm / weightTotal, harmBy.ToDictionary(kv => kv.Key, kv => kv.Value / weightTotal),
            keywordLeaks, niLeaks, ineligibleShown, requests);
    }

    private static float[] Unit(float[] v)
    {
        TensorPrimitives.Divide(v, TensorPrimitives.Norm<float>(v), v);
        return v;
    }

    private static string ChartPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Moderation.sln"))) return Path.Combine(dir.FullName, "docs", "recsim-tradeoff.png");
        return Path.GetFullPath("recsim-tradeoff.png");
    }

    /// <summary>Harmful-exposure reduction against NDCG@10 loss, one point per demotion strength, drawn with SkiaSharp.</summary>
    private static void DrawChart(string path, List<(double Strength, double Loss, double Reduction)> points, double chosen)
    {
        const int width = 900, height = 600, left = 90, right = 40, top = 60, bottom = 80;
        var maxLoss = Math.Max(0.06, points.Max(p => p.Loss) * 1.15);
        float X(double loss) => left + (float)(Math.Max(0, loss) / maxLoss) * (width - left - right);
        float Y(double reduction) => height - bottom - (float)Math.Clamp(reduction, 0, 1) * (height - top - bottom);

        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        // SkiaSharp's Linux build without dependencies has no fontconfig: load a font file directly.
        var fontFile = new[] { "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf" }
            .FirstOrDefault(File.Exists);
        if (fontFile is null) Console.WriteLine("  (no DejaVu Sans font found: the chart is drawn without text)");
        using var typeface = (fontFile is null ? null : SKTypeface.FromFile(fontFile)) ?? SKTypeface.Default;
        using var font = new SKFont(typeface, 15);
        var monoFile = fontFile?.Replace("DejaVuSans.ttf", "DejaVuSansMono.ttf", StringComparison.Ordinal);
        using var monoTypeface = (monoFile is not null && File.Exists(monoFile) ? SKTypeface.FromFile(monoFile) : null) ?? typeface;
        using var mono = new SKFont(monoTypeface, 14);
        using var title = new SKFont(typeface, 19);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(225, 225, 225), StrokeWidth = 1 };
        using var target = new SKPaint { Color = new SKColor(0, 150, 0, 40), Style = SKPaintStyle.Fill };
        using var line = new SKPaint { Color = new SKColor(30, 90, 200), StrokeWidth = 3, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var dot = new SKPaint { Color = new SKColor(30, 90, 200), IsAntialias = true };
        using var chosenDot = new SKPaint { Color = new SKColor(220, 60, 30), IsAntialias = true };

        // The target region: at least 70% less harmful exposure for at most 5% NDCG@10 loss.
        canvas.DrawRect(SKRect.Create(X(0), Y(1), X(0.05) - X(0), Y(0.70) - Y(1)), target);
        for (var r = 0.0; r <= 1.0001; r += 0.1)
        {
            canvas.DrawLine(X(0), Y(r), X(maxLoss), Y(r), grid);
            canvas.DrawText($"{r * 100:0}%", left - 10, Y(r) + 5, SKTextAlign.Right, font, ink);
        }
        var step = maxLoss > 0.2 ? 0.05 : 0.01;
        for (var l = 0.0; l <= maxLoss + 1e-9; l += step)
        {
            canvas.DrawLine(X(l), Y(0), X(l), Y(1), grid);
            canvas.DrawText($"{l * 100:0}%", X(l), height - bottom + 22, SKTextAlign.Center, font, ink);
        }
        canvas.DrawLine(X(0), Y(0), X(maxLoss), Y(0), ink);
        canvas.DrawLine(X(0), Y(0), X(0), Y(1), ink);
        var ordered = points.OrderBy(p => p.Strength).ToList();
        foreach (var (a, b) in ordered.Zip(ordered.Skip(1)))
            canvas.DrawLine(X(a.Loss), Y(a.Reduction), X(b.Loss), Y(b.Reduction), line);
        foreach (var p in ordered)
            canvas.DrawCircle(X(p.Loss), Y(p.Reduction), p.Strength == chosen ? 7 : 5, p.Strength == chosen ? chosenDot : dot);
        // Points crowd together where demotion saturates: the values go in a table in the empty corner instead.
        var row = height - bottom - 12f - 20f * ordered.Count;
        canvas.DrawText("strength   NDCG loss   reduction", width - right - 10, row, SKTextAlign.Right, mono, ink);
        foreach (var p in ordered)
        {
            row += 20;
            canvas.DrawText($"{p.Strength,4:0.#}   {p.Loss * 100,8:0.00}%   {p.Reduction * 100,8:0.0}%", width - right - 10, row, SKTextAlign.Right, mono, p.Strength == chosen ? chosenDot : ink);
        }
        canvas.DrawText("recsim: harmful exposure@10 reduction vs NDCG@10 loss, by demotion strength", width / 2f, 35, SKTextAlign.Center, title, ink);
        canvas.DrawText("NDCG@10 loss against the safety layer off", width / 2f, height - 25, SKTextAlign.Center, font, ink);
        canvas.Save();
        canvas.RotateDegrees(-90, 25, height / 2f);
        canvas.DrawText("harmful exposure@10 reduction", 25, height / 2f, SKTextAlign.Center, font, ink);
        canvas.Restore();
        canvas.DrawText($"red: default (s={chosen:0.#}); green: target region", width - right, top + 10, SKTextAlign.Right, font, ink);

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }
}
