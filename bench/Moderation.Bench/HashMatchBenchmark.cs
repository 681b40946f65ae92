using System.Diagnostics;
using Moderation.Core.Media;

namespace Moderation.Bench;

/// <summary>
/// Matching against a bank of 1,000,000 perceptual hashes: the multi-index <see cref="HashIndex"/> against a
/// linear scan of the same bank, same queries (half of them near a bank entry, half random), in one run. Both
/// must return the same matches. Options: --uploads N sets the bank size (default 1,000,000), --rounds N,
/// --chunk-bits 8 for 32 tables of 8-bit substrings instead of 16 of 16 bits.
/// </summary>
public static class HashMatchBenchmark
{
    public static Task<int> RunAsync(BenchOptions o)
    {
        var bankSize = o.Uploads == new BenchOptions().Uploads ? 1_000_000 : o.Uploads;
        var random = new Random(42);
        // All 64 bits of each word at random (NextInt64 alone never sets bit 63, which crowded four of the sixteen
        // tables' buckets), as in PDQ, where each bit is a comparison with the median and so set half the time.
        ulong Word() => (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);
        PerceptualHash Random() => new(Word(), Word(), Word(), Word());
        PerceptualHash Near(PerceptualHash hash, int bits)
        {
            var words = new[] { hash.W0, hash.W1, hash.W2, hash.W3 };
            foreach (var bit in Enumerable.Range(0, 256).OrderBy(_ => random.Next()).Take(bits)) words[bit >> 6] ^= 1UL << (bit & 63);
            return new PerceptualHash(words[0], words[1], words[2], words[3]);
        }

        var started = Stopwatch.GetTimestamp();
        var index = new HashIndex(o.ChunkBits);
        for (var i = 0; i < bankSize; i++) index.Add(Random());
        index.Search(Random()); // the tables are built at the first search
        var build = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var queries = Enumerable.Range(0, 1000).Select(i => i % 2 == 0 ? Near(index[random.Next(bankSize)], random.Next(0, 32)) : Random()).ToList();
        var megabytesPerMillion = index.MemoryBytes / 1e6 * (1_000_000.0 / bankSize);
        Console.WriteLine($"hashmatch: bank {bankSize} hashes (index built in {build:0.0} s, {megabytesPerMillion:0} MB per million hashes), {queries.Count} queries, distance {PerceptualHash.DefaultMatchDistance}, {256 / o.ChunkBits} tables of {o.ChunkBits} bits, {o.Rounds} rounds");
        Console.WriteLine($"{"round",5} {"index q/s",10} {"scan q/s",9} {"speed-up",9}");

        var ratios = new List<double>();
        var indexRates = new List<double>();
        var scanRates = new List<double>();
        var matches = 0;
        for (var round = 1; round <= o.Rounds; round++)
        {
            // Interleaved: ten queries through the index, then one of them through the scan (the scan is slow,
            // its rate is per query), so that a change of load on a shared machine falls on both sides alike.
            var found = new IReadOnlyList<HashMatch>[queries.Count];
            var sample = new List<int>();
            var scanned = new List<IReadOnlyList<HashMatch>>();
            long indexTicks = 0, scanTicks = 0;
            for (var block = 0; block < queries.Count; block += 10)
            {
                var t0 = Stopwatch.GetTimestamp();
                for (var q = block; q < Math.Min(block + 10, queries.Count); q++) found[q] = index.Search(queries[q]);
                var t1 = Stopwatch.GetTimestamp();
                var checkedQuery = block + block / 10 % 2; // a near query, then a random one
                scanned.Add(index.Scan(queries[checkedQuery]));
                var t2 = Stopwatch.GetTimestamp();
                sample.Add(checkedQuery);
                indexTicks += t1 - t0;
                scanTicks += t2 - t1;
            }
            var indexSeconds = (double)indexTicks / Stopwatch.Frequency;
            var scanSeconds = (double)scanTicks / Stopwatch.Frequency;
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
        Console.WriteLine($"hashmatch: speedup={Measure.F(Measure.Median(ratios), "0")} index_per_s={Measure.F(Measure.Median(indexRates), "0")} scan_per_s={Measure.F(Measure.Median(scanRates), "0.0")} bank={bankSize} tables={256 / o.ChunkBits}x{o.ChunkBits} mb_per_million={Measure.F(megabytesPerMillion, "0")} queries={queries.Count} matches={matches} same_results=true rounds={o.Rounds} target=50");
        return Task.FromResult(0);
    }
}
