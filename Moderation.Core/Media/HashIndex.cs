using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
/// bucket as 16-byte slots: 96 other bits of their hash and the entry's number. A candidate is checked on those 96
/// bits without leaving the bucket: two random hashes differ in about 48 of them, a match in at most d − (bits the
/// bucket is away), so almost nothing but a match reaches the full 256-bit check. The check runs on whole vector
/// registers of slots (four with AVX-512, two with AVX2, one at a time elsewhere).
/// A search works in stages so that its cache misses overlap instead of waiting one after another: it computes every
/// bucket key and prefetches their offsets, reads the offsets and prefetches the buckets' cache lines, then checks
/// the candidates; it allocates nothing unless something matches. The tables are pinned, read through pointers.
/// Measured on 2 cores against a 1M bank (bench hashmatch): each stage, the vector check and the pointer reads each
/// added 10–30% (21–25x the linear scan before, about 48x after); 2 MB pages (madvise) and 12-byte slots were slower.
/// Memory: 16 bytes per entry per table plus the hashes themselves, about 294 MB for a million hashes with 16
/// tables. Adding after a search rebuilds the tables at the next search.
/// Searches may run concurrently.
/// </para>
/// </summary>
[SkipLocalsInit]
public sealed class HashIndex
{
    /// <summary>
    /// One entry of a table's bucket, 16 bytes: 96 bits of its hash from outside the substring and the entry's number,
    /// so that a vector register holds whole slots (two in 256 bits, four in 512).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct Slot(ulong a, uint b, int entry)
    {
        public readonly ulong A = a;
        public readonly uint B = b;
        public readonly int Entry = entry;
    }

    /// <summary>Slots past the last bucket, so the check may read sixteen slots from the start of any bucket.</summary>
    private const int Padding = 16;

    /// <summary>
    /// A table: bucket offsets and slots, both pinned (allocated on the pinned heap, so they never move) so that a
    /// search reads them through pointers, with no bounds checks or pinning per bucket.
    /// </summary>
    private sealed unsafe class Table
    {
        public readonly int[] Offsets;
        public readonly Slot[] Slots;
        public readonly int* OffsetsAt;
        public readonly Slot* SlotsAt;

        public Table(int[] offsets, Slot[] slots)
        {
            Offsets = offsets;
            Slots = slots;
            OffsetsAt = (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(offsets));
            SlotsAt = (Slot*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(slots));
        }
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

    /// <summary>Slots checked per vector instruction sequence: 4 (AVX-512), 2 (AVX2) or 1.</summary>
    private readonly int checkWidth;

    /// <summary>The check widths this processor runs, widest first (1, without vectors, always).</summary>
    internal static IReadOnlyList<int> CheckWidths { get; } =
        new[] { Vector512.IsHardwareAccelerated && Avx512BW.IsSupported ? 4 : 0, Avx2.IsSupported ? 2 : 0, 1 }.Where(w => w > 0).ToArray();

    /// <param name="chunkBits">Bits per substring: 16 (16 tables, the default) or 8 (32 tables).</param>
    public HashIndex(int chunkBits = 16) : this(chunkBits, CheckWidths[0])
    {
    }

    /// <summary>With a chosen check width (one of <see cref="CheckWidths"/>), so tests cover each.</summary>
    internal HashIndex(int chunkBits, int checkWidth)
    {
        if (!CheckWidths.Contains(checkWidth)) throw new ArgumentOutOfRangeException(nameof(checkWidth), $"This processor checks {string.Join(", ", CheckWidths)} slots at a time.");
        this.checkWidth = checkWidth;
        if (chunkBits is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(chunkBits), "Substrings of 8 or 16 bits.");
        this.chunkBits = chunkBits;
        tableCount = PerceptualHash.Bits / chunkBits;
    }

    public int Count => hashes.Count;

    public PerceptualHash this[int entry] => hashes[entry];

    /// <summary>Bytes the tables and the hashes take (after the tables are built).</summary>
    public long MemoryBytes =>
        (long)hashes.Capacity * Unsafe.SizeOf<PerceptualHash>()
        + (tables is null ? 0 : tables.Sum(t => (long)t.Offsets.Length * sizeof(int) + (long)t.Slots.Length * Unsafe.SizeOf<Slot>()));

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
                var offsets = GC.AllocateArray<int>(buckets + 1, pinned: true);
                foreach (var hash in all) offsets[Key(hash, t) + 1]++;
                for (var b = 0; b < buckets; b++) offsets[b + 1] += offsets[b];
                var next = offsets.AsSpan(0, buckets).ToArray();
                var slots = GC.AllocateArray<Slot>(all.Length + Padding, pinned: true);
                for (var entry = 0; entry < all.Length; entry++)
                {
                    var (a, b) = CheckBits(all[entry], t);
                    var position = next[Key(all[entry], t)]++;
                    slots[position] = new Slot(a, b, entry);
                }
                built[t] = new Table(offsets, slots);
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

        // In stages, so that the cache misses of a stage overlap instead of following one another: the buckets'
        // keys (their offsets asked for ahead), then the offsets read (their slots asked for ahead), then the checks.
        const int Batch = 320;
        Span<Probe> probes = stackalloc Probe[Batch];
        Span<int> keys = stackalloc int[1 + 16 + 120 + 560];
        var pending = 0;
        for (var t = 0; t < tableCount; t++)
        {
            if (thresholds[t] < 0) continue;
            var table = current[t];
            var own = Key(query, t);
            var count = Neighbours(own, chunkBits, thresholds[t], keys);
            for (var k = 0; k < count; k++)
            {
                var key = keys[k];
                PrefetchOffset(table, key);
                probes[pending++] = new Probe { Table = t, Start = key, Away = BitOperations.PopCount((uint)(key ^ own)) };
                if (pending == Batch)
                {
                    Flush(current, probes, query, maxDistance, ref matches);
                    pending = 0;
                }
            }
        }
        Flush(current, probes[..pending], query, maxDistance, ref matches);
    }

    private static unsafe void PrefetchOffset(Table table, int key)
    {
        if (Sse.IsSupported) Sse.Prefetch0(table.OffsetsAt + key);
    }

    /// <summary>Reads the probes' bucket ranges (<see cref="Probe.Start"/> holds the key until then), prefetches them and checks them.</summary>
    private unsafe void Flush(Table[] current, Span<Probe> probes, in PerceptualHash query, int maxDistance, ref List<HashMatch>? matches)
    {
        foreach (ref var probe in probes)
        {
            // Only loads here, no branch on what they read: the processor keeps many of these misses in flight.
            var offsets = current[probe.Table].OffsetsAt;
            var key = probe.Start;
            probe.Start = offsets[key];
            probe.End = offsets[key + 1];
        }
        if (Sse.IsSupported)
            foreach (ref readonly var probe in probes)
            {
                // Asks for every cache line of the bucket ahead of reading it: a bucket is a few lines somewhere in
                // hundreds of megabytes, so each read misses the caches; asked for together, the misses overlap.
                var from = (byte*)(current[probe.Table].SlotsAt + probe.Start);
                var to = (byte*)(current[probe.Table].SlotsAt + probe.End);
                for (var p = from; p < to; p += 64) Sse.Prefetch0(p);
                if (to > from) Sse.Prefetch0(to - 1);
            }
        switch (checkWidth)
        {
            case 4: Check512(current, probes, query, maxDistance, ref matches); break;
            case 2: Check256(current, probes, query, maxDistance, ref matches); break;
            default: CheckScalar(current, probes, query, maxDistance, ref matches); break;
        }
    }

    private void CheckScalar(Table[] current, ReadOnlySpan<Probe> probes, in PerceptualHash query, int maxDistance, ref List<HashMatch>? matches)
    {
        foreach (ref readonly var probe in probes)
        {
            var (qa, qb) = CheckBits(query, probe.Table);
            var limit = maxDistance - probe.Away;
            var slots = current[probe.Table].Slots;
            for (var i = probe.Start; i < probe.End; i++)
                if (BitOperations.PopCount(slots[i].A ^ qa) + BitOperations.PopCount(slots[i].B ^ qb) <= limit)
                    Confirm(slots[i].Entry, query, maxDistance, ref matches);
        }
    }

    /// <summary>The full 256-bit distance of a candidate that passed its bucket's 96-bit check.</summary>
    private void Confirm(int entry, in PerceptualHash query, int maxDistance, ref List<HashMatch>? matches)
    {
        var distance = CollectionsMarshal.AsSpan(hashes)[entry].DistanceTo(query);
        if (distance <= maxDistance) (matches ??= []).Add(new HashMatch(entry, distance));
    }

    // The vector checks count bits with a nibble lookup (PSHUFB) summed per 64-bit lane (PSADBW), as x86 before
    // AVX-512 VPOPCNTDQ has no vector popcount (and .NET exposes none). A slot is two lanes: its 64-bit A, and its
    // 32-bit B with the entry number masked off; adding the lane pair gives the slot's distance on the 96 bits.
    // Probes come grouped by table, so the query's bits for a table are set up once.

    /// <summary>Bits set in each 4-bit value, repeated in every 128-bit lane (PSHUFB looks up within a lane).</summary>
    private static readonly Vector512<byte> NibbleBits = Vector512.Create(
        Enumerable.Range(0, 64).Select(i => (byte)BitOperations.PopCount((uint)(i & 15))).ToArray());

    private unsafe void Check512(Table[] current, ReadOnlySpan<Probe> probes, in PerceptualHash query, int maxDistance, ref List<HashMatch>? matches)
    {
        var keep = Vector512.Create(ulong.MaxValue, uint.MaxValue, ulong.MaxValue, uint.MaxValue, ulong.MaxValue, uint.MaxValue, ulong.MaxValue, uint.MaxValue);
        var nibble = Vector512.Create((byte)0x0F);
        var bitsIn = NibbleBits;
        var pattern = Vector512<ulong>.Zero;
        var tableNumber = -1;
        Slot* slots = null;
        foreach (ref readonly var probe in probes)
        {
            if (probe.Table != tableNumber)
            {
                tableNumber = probe.Table;
                slots = current[tableNumber].SlotsAt;
                var (qa, qb) = CheckBits(query, tableNumber);
                pattern = Vector512.Create(qa, qb, qa, qb, qa, qb, qa, qb);
            }
            var bound = Vector512.Create((long)(maxDistance - probe.Away));
            // The first sixteen slots (most buckets hold fewer) as four independent steps, with no branch on the
            // bucket's size; bits of slots past its end are masked off. Longer buckets go on four at a time.
            var length = probe.End - probe.Start;
            var near = Near512(slots + probe.Start, pattern, keep, nibble, bitsIn, bound)
                | Near512(slots + probe.Start + 4, pattern, keep, nibble, bitsIn, bound) << 8
                | Near512(slots + probe.Start + 8, pattern, keep, nibble, bitsIn, bound) << 16
                | Near512(slots + probe.Start + 12, pattern, keep, nibble, bitsIn, bound) << 24;
            if (length < 16) near &= (1UL << (2 * length)) - 1;
            for (; near != 0; near &= near - 1)
                Confirm(slots[probe.Start + BitOperations.TrailingZeroCount(near) / 2].Entry, query, maxDistance, ref matches);
            for (var i = probe.Start + 16; i < probe.End; i += 4)
                for (near = Near512(slots + i, pattern, keep, nibble, bitsIn, bound); near != 0; near &= near - 1)
                {
                    var slot = i + BitOperations.TrailingZeroCount(near) / 2;
                    if (slot < probe.End) Confirm(slots[slot].Entry, query, maxDistance, ref matches);
                }
        }
    }

    /// <summary>Bits 0, 2, 4, 6: which of the four slots from <paramref name="at"/> are within <paramref name="bound"/> on their 96 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe ulong Near512(Slot* at, Vector512<ulong> pattern, Vector512<ulong> keep, Vector512<byte> nibble, Vector512<byte> bitsIn, Vector512<long> bound)
    {
        var bytes = ((Vector512.Load((ulong*)at) ^ pattern) & keep).AsByte();
        var low = Avx512BW.Shuffle(bitsIn, bytes & nibble);
        var high = Avx512BW.Shuffle(bitsIn, Avx512BW.ShiftRightLogical(bytes.AsUInt16(), 4).AsByte() & nibble);
        var lanes = Avx512BW.SumAbsoluteDifferences(low + high, Vector512<byte>.Zero).AsInt64();
        var pairs = lanes + Avx512F.Shuffle(lanes.AsInt32(), 0b01_00_11_10).AsInt64();
        return Vector512.LessThanOrEqual(pairs, bound).ExtractMostSignificantBits() & 0b0101_0101UL;
    }

    private unsafe void Check256(Table[] current, ReadOnlySpan<Probe> probes, in PerceptualHash query, int maxDistance, ref List<HashMatch>? matches)
    {
        var keep = Vector256.Create(ulong.MaxValue, uint.MaxValue, ulong.MaxValue, uint.MaxValue);
        var nibble = Vector256.Create((byte)0x0F);
        var bitsIn = NibbleBits.GetLower();
        var pattern = Vector256<ulong>.Zero;
        var tableNumber = -1;
        Slot* slots = null;
        foreach (ref readonly var probe in probes)
        {
            if (probe.Table != tableNumber)
            {
                tableNumber = probe.Table;
                slots = current[tableNumber].SlotsAt;
                var (qa, qb) = CheckBits(query, tableNumber);
                pattern = Vector256.Create(qa, qb, qa, qb);
            }
            var bound = Vector256.Create((long)(maxDistance - probe.Away));
            for (var i = probe.Start; i < probe.End; i += 2)
            {
                var bytes = ((Vector256.Load((ulong*)(slots + i)) ^ pattern) & keep).AsByte();
                var low = Avx2.Shuffle(bitsIn, bytes & nibble);
                var high = Avx2.Shuffle(bitsIn, Avx2.ShiftRightLogical(bytes.AsUInt16(), 4).AsByte() & nibble);
                var lanes = Avx2.SumAbsoluteDifferences(low + high, Vector256<byte>.Zero).AsInt64();
                var pairs = lanes + Avx2.Shuffle(lanes.AsInt32(), 0b01_00_11_10).AsInt64();
                var near = Vector256.LessThanOrEqual(pairs, bound).ExtractMostSignificantBits() & 0b0101U;
                for (; near != 0; near &= near - 1)
                {
                    var slot = i + BitOperations.TrailingZeroCount(near) / 2;
                    if (slot < probe.End) Confirm(slots[slot].Entry, query, maxDistance, ref matches);
                }
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

