using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Moderation.Core.Media;

/// <summary>A bank entry within reach of a query hash.</summary>
public readonly record struct HashMatch(int Entry, int Distance);

/// <summary>
/// Finds every hash within a Hamming distance of a query without scanning the bank: multi-index hashing (Norouzi,
/// Punjani and Fleet, 2012). The 256 bits are cut into substrings (16 of 16 bits by default, or 32 of 8), each
/// indexed in its own table. If two hashes differ in at most d bits, then over m substrings some substring i
/// differs in at most t_i bits for any thresholds with Σ (t_i + 1) = d + 1 (the pigeonhole principle, in the
/// general form of Qin, Wang and Zhang, 2018), so the candidates are the entries whose substring lies within t_i
/// of the query's in table i. At PDQ's distance 31 with 16 tables that is t = 1 everywhere: 17 buckets per table.
/// <para>
/// Each table is a compressed sparse row layout: the bucket offsets (2^bits + 1 of them), and the entries grouped by
/// bucket as 12-byte slots of 96 other bits of their hash, with the entry numbers in a parallel array read only for a
/// candidate that passes. A candidate is checked on those 96 bits without leaving the bucket: two random hashes
/// differ in about 48 of them, a match in at most d − (bits the bucket is away), so almost nothing but a match
/// reaches the full 256-bit check. A search first looks up every bucket it will read and prefetches its cache lines,
/// so the memory reads of all buckets overlap instead of waiting one after another, then checks the candidates; it
/// allocates nothing unless something matches. Memory: 16 bytes per entry per table plus the hashes themselves,
/// about 294 MB for a million hashes with 16 tables. Adding after a search rebuilds the tables at the next search.
/// Searches may run concurrently.
/// </para>
/// </summary>
public sealed class HashIndex
{
    /// <summary>One entry of a table's bucket: 96 bits of its hash from outside the substring (its number is in a parallel array).</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private readonly struct Slot(ulong a, uint b)
    {
        public readonly ulong A = a;
        public readonly uint B = b;
    }

    private sealed class Table(int[] offsets, Slot[] slots, int[] entries)
    {
        public readonly int[] Offsets = offsets;
        public readonly Slot[] Slots = slots;
        public readonly int[] Entries = entries;
    }

    /// <summary>A bucket to read: where it lies in its table's slots, and the bits its key is away from the query's.</summary>
    private struct Probe
    {
        public int Table, Start, End, Away;
    }

    private readonly List<PerceptualHash> hashes = [];
    private readonly Lock buildLock = new();
    private readonly int chunkBits;
    private readonly int tableCount;
    private Table[]? tables;

    /// <param name="chunkBits">Bits per substring: 16 (16 tables, the default) or 8 (32 tables).</param>
    public HashIndex(int chunkBits = 16)
    {
        if (chunkBits is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(chunkBits), "Substrings of 8 or 16 bits.");
        this.chunkBits = chunkBits;
        tableCount = PerceptualHash.Bits / chunkBits;
    }

    public int Count => hashes.Count;

    public PerceptualHash this[int entry] => hashes[entry];

    /// <summary>Bytes the tables and the hashes take (after the tables are built).</summary>
    public long MemoryBytes =>
        (long)hashes.Capacity * Unsafe.SizeOf<PerceptualHash>()
        + (tables is null ? 0 : tables.Sum(t => (long)t.Offsets.Length * sizeof(int) + (long)t.Slots.Length * (Unsafe.SizeOf<Slot>() + sizeof(int))));

    /// <summary>Adds a hash; returns its entry number (entries count from 0 in the order added).</summary>
    public int Add(PerceptualHash hash)
    {
        lock (buildLock)
        {
            hashes.Add(hash);
            tables = null;
            return hashes.Count - 1;
        }
    }

    private static ulong Word(in PerceptualHash hash, int word) => word switch
    {
        0 => hash.W0,
        1 => hash.W1,
        2 => hash.W2,
        _ => hash.W3,
    };

    private int Key(in PerceptualHash hash, int table)
    {
        var bit = table * chunkBits;
        return (int)(Word(hash, bit >> 6) >> (bit & 63)) & ((1 << chunkBits) - 1);
    }

    /// <summary>The 96 check bits of table <paramref name="table"/>: the next word after the substring's, and half of the one after.</summary>
    private (ulong A, uint B) CheckBits(in PerceptualHash hash, int table)
    {
        var word = table * chunkBits >> 6;
        return (Word(hash, (word + 1) & 3), (uint)Word(hash, (word + 2) & 3));
    }

    private Table[] Build()
    {
        lock (buildLock)
        {
            if (tables is not null) return tables;
            var built = new Table[tableCount];
            var buckets = 1 << chunkBits;
            var all = hashes.ToArray();
            Parallel.For(0, tableCount, t =>
            {
                var offsets = new int[buckets + 1];
                foreach (var hash in all) offsets[Key(hash, t) + 1]++;
                for (var b = 0; b < buckets; b++) offsets[b + 1] += offsets[b];
                var next = offsets.AsSpan(0, buckets).ToArray();
                var slots = GC.AllocateUninitializedArray<Slot>(all.Length);
                var entries = GC.AllocateUninitializedArray<int>(all.Length);
                for (var entry = 0; entry < all.Length; entry++)
                {
                    var (a, b) = CheckBits(all[entry], t);
                    var position = next[Key(all[entry], t)]++;
                    slots[position] = new Slot(a, b);
                    entries[position] = entry;
                }
                built[t] = new Table(offsets, slots, entries);
            });
            return tables = built;
        }
    }

    /// <summary>Per-table thresholds t_i with Σ (t_i + 1) = d + 1; −1 means the table need not be read.</summary>
    private void Thresholds(int maxDistance, Span<int> thresholds)
    {
        var share = (maxDistance + 1) / tableCount;
        var extra = (maxDistance + 1) % tableCount;
        for (var t = 0; t < tableCount; t++) thresholds[t] = share - 1 + (t < extra ? 1 : 0);
    }

    /// <summary>Every entry within <paramref name="maxDistance"/> of <paramref name="query"/>, nearest first.</summary>
    public IReadOnlyList<HashMatch> Search(PerceptualHash query, int maxDistance = PerceptualHash.DefaultMatchDistance)
    {
        List<HashMatch>? matches = null;
        Search(query, maxDistance, ref matches);
        if (matches is null) return [];
        Order(matches);
        return matches;
    }

    /// <summary>Adds to <paramref name="matches"/> (made when first needed) every entry within reach; unordered, possibly repeated.</summary>
    private void Search(in PerceptualHash query, int maxDistance, ref List<HashMatch>? matches)
    {
        if (maxDistance is < 0 or >= 64)
            throw new ArgumentOutOfRangeException(nameof(maxDistance), "Search radius is 0 to 63 bits (beyond, scan instead).");
        var current = tables ?? Build();
        Span<int> thresholds = stackalloc int[tableCount];
        Thresholds(maxDistance, thresholds);

        const int Batch = 320;
        Span<Probe> probes = stackalloc Probe[Batch];
        Span<int> keys = stackalloc int[1 + 16 + 120 + 560];
        var pending = 0;
        for (var t = 0; t < tableCount; t++)
        {
            if (thresholds[t] < 0) continue;
            var table = current[t];
            var count = Neighbours(Key(query, t), chunkBits, thresholds[t], keys);
            for (var k = 0; k < count; k++)
            {
                var key = keys[k];
                int start = table.Offsets[key], end = table.Offsets[key + 1];
                if (start == end) continue;
                Prefetch(table.Slots, start, end);
                probes[pending++] = new Probe { Table = t, Start = start, End = end, Away = BitOperations.PopCount((uint)(key ^ Key(query, t))) };
                if (pending == Batch)
                {
                    Check(current, probes, query, maxDistance, ref matches);
                    pending = 0;
                }
            }
        }
        Check(current, probes[..pending], query, maxDistance, ref matches);
    }

    /// <summary>
    /// Asks for every cache line of a bucket ahead of reading it. A bucket is a few lines somewhere in hundreds of
    /// megabytes, so each read misses the caches; prefetching all buckets of a query first lets the misses overlap,
    /// where reading bucket after bucket waits for each in turn (measured: 1.5x more queries per second with it).
    /// </summary>
    private static unsafe void Prefetch(Slot[] slots, int start, int end)
    {
        if (!Sse.IsSupported) return;
        const int SlotsPerLine = 64 / 12;
        fixed (Slot* first = &slots[start])
            for (var p = first; p < first + (end - start); p += SlotsPerLine) Sse.Prefetch0(p);
        fixed (Slot* last = &slots[end - 1]) Sse.Prefetch0(last);
    }

    private void Check(Table[] current, ReadOnlySpan<Probe> probes, in PerceptualHash query, int maxDistance, ref List<HashMatch>? matches)
    {
        var all = CollectionsMarshal.AsSpan(hashes);
        foreach (ref readonly var probe in probes)
        {
            var (qa, qb) = CheckBits(query, probe.Table);
            var limit = maxDistance - probe.Away;
            var table = current[probe.Table];
            var slots = table.Slots.AsSpan(probe.Start, probe.End - probe.Start);
            for (var i = 0; i < slots.Length; i++)
            {
                if (BitOperations.PopCount(slots[i].A ^ qa) + BitOperations.PopCount(slots[i].B ^ qb) > limit) continue;
                var entry = table.Entries[probe.Start + i];
                var distance = all[entry].DistanceTo(query);
                if (distance <= maxDistance) (matches ??= []).Add(new HashMatch(entry, distance));
            }
        }
    }

    /// <summary>Nearest first (then by entry), each entry once: a near entry is found in several tables.</summary>
    private static void Order(List<HashMatch> matches)
    {
        if (matches.Count < 2) return;
        matches.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Entry.CompareTo(b.Entry));
        var kept = 1;
        for (var i = 1; i < matches.Count; i++)
            if (matches[i].Entry != matches[kept - 1].Entry) matches[kept++] = matches[i];
        matches.RemoveRange(kept, matches.Count - kept);
    }

    /// <summary>The nearest match over several forms of one image (e.g. its dihedral variants), per entry.</summary>
    public IReadOnlyList<HashMatch> SearchAny(IEnumerable<PerceptualHash> queries, int maxDistance = PerceptualHash.DefaultMatchDistance)
    {
        List<HashMatch>? matches = null;
        foreach (var query in queries) Search(query, maxDistance, ref matches);
        if (matches is null) return [];
        // Sorted by distance, an entry's first occurrence is its nearest.
        Order(matches);
        return matches;
    }

    /// <summary>
    /// The same search by comparing the query with every entry (four popcounts per entry over the hashes in one
    /// contiguous array): the reference the index must agree with, and the baseline its speed is measured against.
    /// </summary>
    public IReadOnlyList<HashMatch> Scan(PerceptualHash query, int maxDistance = PerceptualHash.DefaultMatchDistance)
    {
        var matches = new List<HashMatch>();
        var all = CollectionsMarshal.AsSpan(hashes);
        for (var entry = 0; entry < all.Length; entry++)
        {
            ref readonly var hash = ref all[entry];
            var distance = BitOperations.PopCount(hash.W0 ^ query.W0) + BitOperations.PopCount(hash.W1 ^ query.W1)
                + BitOperations.PopCount(hash.W2 ^ query.W2) + BitOperations.PopCount(hash.W3 ^ query.W3);
            if (distance <= maxDistance) matches.Add(new HashMatch(entry, distance));
        }
        matches.Sort(static (a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Entry.CompareTo(b.Entry));
        return matches;
    }

    /// <summary>Writes every <paramref name="bits"/>-bit value within <paramref name="radius"/> (≤ 3) bits of <paramref name="key"/>; returns how many.</summary>
    private static int Neighbours(int key, int bits, int radius, Span<int> keys)
    {
        var n = 0;
        keys[n++] = key;
        if (radius < 1) return n;
        for (var a = 0; a < bits; a++)
        {
            var one = key ^ (1 << a);
            keys[n++] = one;
            if (radius < 2) continue;
            for (var b = a + 1; b < bits; b++)
            {
                var two = one ^ (1 << b);
                keys[n++] = two;
                if (radius < 3) continue;
                for (var c = b + 1; c < bits; c++) keys[n++] = two ^ (1 << c);
            }
        }
        return n;
    }
}
