using System.Numerics;

namespace Moderation.Core.Media;

/// <summary>A bank entry within reach of a query hash.</summary>
public readonly record struct HashMatch(int Entry, int Distance);

/// <summary>
/// Finds every hash within a Hamming distance of a query without scanning the bank: multi-index hashing (Norouzi,
/// Punjani and Fleet, 2012). The 256 bits are cut into 16 substrings of 16 bits, each indexed in its own table.
/// If two hashes differ in at most d bits, some substring differs in at most ⌊d / 16⌋ bits (pigeonhole), so the
/// candidates are the entries whose substring lies within that radius of the query's in at least one table. At
/// PDQ's distance 31 that is radius 1: 17 buckets per table.
/// <para>
/// Each table keeps its entries grouped by bucket with 128 other bits of their hash beside them, so a candidate is
/// first checked on those bits without leaving the bucket (two random hashes differ in about 64 of them; a match
/// in at most 31), and only the few that pass are checked on the full hash. Memory: about 24 bytes per entry per
/// table, 384 MB for a million hashes. Adding after a search rebuilds the tables at the next search.
/// </para>
/// </summary>
public sealed class HashIndex
{
    private const int Tables = 16;
    private const int Buckets = ushort.MaxValue + 1;
    private readonly List<PerceptualHash> hashes = [];
    private readonly Lock buildLock = new();
    private Table[]? tables;

    private sealed record Table(int[] Offsets, Slot[] Slots);

    /// <summary>One entry of a table's bucket: 128 bits of its hash for the quick check, and its number.</summary>
    private readonly record struct Slot(ulong A, ulong B, int Entry);

    public int Count => hashes.Count;

    public PerceptualHash this[int entry] => hashes[entry];

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

    private static (ulong A, ulong B) OtherWords(PerceptualHash hash, int table) => (table >> 2) switch
    {
        0 => (hash.W1, hash.W2),
        1 => (hash.W2, hash.W3),
        2 => (hash.W3, hash.W0),
        _ => (hash.W0, hash.W1),
    };

    private Table[] Build()
    {
        lock (buildLock)
        {
            if (tables is not null) return tables;
            var built = new Table[Tables];
            Parallel.For(0, Tables, t =>
            {
                var offsets = new int[Buckets + 1];
                foreach (var hash in hashes) offsets[hash.Chunk(t) + 1]++;
                for (var b = 0; b < Buckets; b++) offsets[b + 1] += offsets[b];
                var next = (int[])offsets.Clone();
                var slots = new Slot[hashes.Count];
                for (var entry = 0; entry < hashes.Count; entry++)
                {
                    var (a, b) = OtherWords(hashes[entry], t);
                    slots[next[hashes[entry].Chunk(t)]++] = new Slot(a, b, entry);
                }
                built[t] = new Table(offsets, slots);
            });
            return tables = built;
        }
    }

    /// <summary>Every entry within <paramref name="maxDistance"/> of <paramref name="query"/>, nearest first.</summary>
    public IReadOnlyList<HashMatch> Search(PerceptualHash query, int maxDistance = PerceptualHash.DefaultMatchDistance)
    {
        if (maxDistance is < 0 or >= 64)
            throw new ArgumentOutOfRangeException(nameof(maxDistance), "Search radius is 0 to 63 bits (beyond, scan instead).");
        var current = tables ?? Build();
        var radius = maxDistance / Tables;
        var matches = new List<HashMatch>();
        Span<ushort> keys = stackalloc ushort[1 + 16 + 120 + 560];
        for (var t = 0; t < Tables; t++)
        {
            var table = current[t];
            var (qa, qb) = OtherWords(query, t);
            var count = Neighbours(query.Chunk(t), radius, keys);
            for (var k = 0; k < count; k++)
            {
                var bucket = table.Slots.AsSpan(table.Offsets[keys[k]], table.Offsets[keys[k] + 1] - table.Offsets[keys[k]]);
                foreach (ref readonly var slot in bucket)
                {
                    if (BitOperations.PopCount(slot.A ^ qa) + BitOperations.PopCount(slot.B ^ qb) > maxDistance) continue;
                    var entry = slot.Entry;
                    var distance = hashes[entry].DistanceTo(query);
                    // A near entry sits in several tables' buckets: keep it once (near entries are few).
                    if (distance <= maxDistance && !Contains(matches, entry)) matches.Add(new HashMatch(entry, distance));
                }
            }
        }
        matches.Sort((a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Entry.CompareTo(b.Entry));
        return matches;
    }

    private static bool Contains(List<HashMatch> matches, int entry)
    {
        foreach (var match in matches)
            if (match.Entry == entry) return true;
        return false;
    }

    /// <summary>The nearest match over several forms of one image (e.g. its dihedral variants), per entry.</summary>
    public IReadOnlyList<HashMatch> SearchAny(IEnumerable<PerceptualHash> queries, int maxDistance = PerceptualHash.DefaultMatchDistance) =>
        queries.SelectMany(q => Search(q, maxDistance)).GroupBy(m => m.Entry).Select(g => g.MinBy(m => m.Distance))
            .OrderBy(m => m.Distance).ThenBy(m => m.Entry).ToList();

    /// <summary>The same search by comparing the query with every entry: the reference the index must agree with.</summary>
    public IReadOnlyList<HashMatch> Scan(PerceptualHash query, int maxDistance = PerceptualHash.DefaultMatchDistance)
    {
        var matches = new List<HashMatch>();
        for (var entry = 0; entry < hashes.Count; entry++)
        {
            var distance = hashes[entry].DistanceTo(query);
            if (distance <= maxDistance) matches.Add(new HashMatch(entry, distance));
        }
        matches.Sort((a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Entry.CompareTo(b.Entry));
        return matches;
    }

    /// <summary>Writes every 16-bit value within <paramref name="radius"/> (≤ 3) bits of <paramref name="key"/>; returns how many.</summary>
    private static int Neighbours(ushort key, int radius, Span<ushort> keys)
    {
        var n = 0;
        keys[n++] = key;
        if (radius < 1) return n;
        for (var a = 0; a < 16; a++)
        {
            var one = (ushort)(key ^ (1 << a));
            keys[n++] = one;
            if (radius < 2) continue;
            for (var b = a + 1; b < 16; b++)
            {
                var two = (ushort)(one ^ (1 << b));
                keys[n++] = two;
                if (radius < 3) continue;
                for (var c = b + 1; c < 16; c++) keys[n++] = (ushort)(two ^ (1 << c));
            }
        }
        return n;
    }
}
