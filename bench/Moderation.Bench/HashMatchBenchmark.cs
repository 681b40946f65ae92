using System.Diagnostics;
using Moderation.Core.Media;

namespace Moderation.Bench;

/// <summary>
/// Matching against a bank of 1,000,000 perceptual hashes: the multi-index <see cref="HashIndex"/> against a
/// linear scan of the same bank, same queries (half of them near a bank entry, half random), in one run. Both
/// must return the same matches. Options: --uploads N sets the bank size (default 1,000,000), --rounds N.
/// </summary>
public static class HashMatchBenchmark
{
    public static Task<int> RunAsync(BenchOptions o)
    {
        var bankSize = o.Uploads == new BenchOptions().Uploads ? 1_000_000 : o.Uploads;
        var random = new Random(42);
        PerceptualHash Random() => new((ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64());
        PerceptualHash Near(PerceptualHash hash, int bits)
        {
            var words = new[] { hash.W0, hash.W1, hash.W2, hash.W3 };
            foreach (var bit in Enumerable.Range(0, 256).OrderBy(_ => random.Next()).Take(bits)) words[bit >> 6] ^= 1UL << (bit & 63);
            return new PerceptualHash(words[0], words[1], words[2], words[3]);
        }

        var started = Stopwatch.GetTimestamp();
        var index = new HashIndex();
        for (var i = 0; i < bankSize; i++) index.Add(Random());
        index.Search(Random()); // the tables are built at the first search
        var build = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var queries = Enumerable.Range(0, 1000).Select(i => i % 2 == 0 ? Near(index[random.Next(bankSize)], random.Next(0, 32)) : Random()).ToList();
        Console.WriteLine($"hashmatch: bank {bankSize} hashes (index built in {build:0.0} s), {queries.Count} queries, distance {PerceptualHash.DefaultMatchDistance}, {o.Rounds} rounds");
        Console.WriteLine($"{"round",5} {"index q/s",10} {"scan q/s",9} {"speed-up",9}");

        var ratios = new List<double>();
        var indexRates = new List<double>();
        var scanRates = new List<double>();
        var matches = 0;
        for (var round = 1; round <= o.Rounds; round++)
        {
            var t0 = Stopwatch.GetTimestamp();
            var found = queries.Select(q => index.Search(q)).ToList();
            var indexSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            // The scan is slow: it runs on a tenth of the queries, and its rate is per query.
            var sample = Enumerable.Range(0, queries.Count).Where(i => i % 10 == 0).ToList();
            t0 = Stopwatch.GetTimestamp();
            var scanned = sample.Select(i => index.Scan(queries[i])).ToList();
            var scanSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            for (var s = 0; s < sample.Count; s++)
                if (!found[sample[s]].SequenceEqual(scanned[s]))
                    throw new InvalidOperationException($"query {sample[s]}: the index and the scan disagree");
            matches = found.Sum(f => f.Count);
            var indexRate = queries.Count / indexSeconds;
            var scanRate = sample.Count / scanSeconds;
            indexRates.Add(indexRate);
            scanRates.Add(scanRate);
            ratios.Add(indexRate / scanRate);
            Console.WriteLine($"{round,5} {Measure.F(indexRate, "0"),10} {Measure.F(scanRate, "0.0"),9} {Measure.F(indexRate / scanRate, "0"),9}");
        }
        Console.WriteLine($"hashmatch: speedup={Measure.F(Measure.Median(ratios), "0")} index_per_s={Measure.F(Measure.Median(indexRates), "0")} scan_per_s={Measure.F(Measure.Median(scanRates), "0.0")} bank={bankSize} queries={queries.Count} matches={matches} same_results=true rounds={o.Rounds} target=50");
        return Task.FromResult(0);
    }
}
