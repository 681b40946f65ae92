using System.Numerics.Tensors;

namespace Moderation.Core.Similarity;

/// <summary>Where an indexed vector came from.</summary>
public readonly record struct VectorKey(string UploadId, int? MediaOrdinal, int? Frame, long Seq);

/// <summary>An indexed vector at least as similar as the threshold asked for.</summary>
public readonly record struct VectorHit(VectorKey Key, float Similarity);

/// <summary>
/// Unit vectors of one kind and model in one contiguous block, searched exactly: a dot product per entry
/// (<see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>, SIMD), so the answer is the same as
/// a brute-force comparison's, in time linear in the entries. With at most <see cref="Capacity"/> entries the oldest
/// are dropped. One writer (the refresh) and any number of readers: a reader works on the snapshot it took, and the
/// writer only appends past a snapshot's count or publishes new arrays.
/// </summary>
public sealed class VectorIndex(int dimensions, int capacity)
{
    private sealed record Snapshot(float[] Data, VectorKey[] Keys, int Count);

    private volatile Snapshot current = new([], [], 0);

    public int Dimensions { get; } = dimensions;
    public int Capacity { get; } = capacity;
    public int Count => current.Count;

    /// <summary>Bytes held by the vectors (their keys come on top).</summary>
    public long VectorBytes => (long)current.Data.Length * sizeof(float);

    /// <summary>Appends vectors (oldest first); beyond <see cref="Capacity"/> the oldest entries leave. One writer at a time.</summary>
    public void AddRange(IReadOnlyList<(VectorKey Key, float[] Vector)> entries)
    {
        if (entries.Count == 0) return;
        foreach (var (_, vector) in entries)
            if (vector.Length != Dimensions) throw new ArgumentException($"A vector of {vector.Length} numbers in an index of {Dimensions}.");
        var s = current;
        var count = s.Count + entries.Count;
        var skip = 0;
        float[] data = s.Data;
        VectorKey[] keys = s.Keys;
        if (count > Capacity)
        {
            // Drop the oldest: copy the survivors into new arrays (readers keep the old ones).
            skip = count - Capacity;
            var keepOld = Math.Max(0, s.Count - skip);
            var fromNew = Math.Max(0, skip - s.Count);
            data = new float[Capacity * Dimensions];
            keys = new VectorKey[Capacity];
            Array.Copy(s.Data, (s.Count - keepOld) * Dimensions, data, 0, keepOld * Dimensions);
            Array.Copy(s.Keys, s.Count - keepOld, keys, 0, keepOld);
            for (var i = fromNew; i < entries.Count; i++)
            {
                var at = keepOld + i - fromNew;
                entries[i].Vector.CopyTo(data, at * Dimensions);
                keys[at] = entries[i].Key;
            }
            current = new Snapshot(data, keys, Capacity);
            return;
        }
        if (keys.Length < count)
        {
            var grown = Math.Min(Capacity, Math.Max(count, keys.Length * 2));
            data = new float[grown * Dimensions];
            keys = new VectorKey[grown];
            Array.Copy(s.Data, data, s.Count * Dimensions);
            Array.Copy(s.Keys, keys, s.Count);
        }
        for (var i = 0; i < entries.Count; i++)
        {
            entries[i].Vector.CopyTo(data, (s.Count + i) * Dimensions);
            keys[s.Count + i] = entries[i].Key;
        }
        current = new Snapshot(data, keys, count);
    }

    /// <summary>Every entry whose cosine similarity to <paramref name="query"/> (a unit vector) is at least <paramref name="threshold"/>, most similar first.</summary>
    public IReadOnlyList<VectorHit> Search(ReadOnlySpan<float> query, float threshold)
    {
        if (query.Length != Dimensions) throw new ArgumentException($"A query of {query.Length} numbers in an index of {Dimensions}.");
        var s = current;
        var hits = new List<VectorHit>();
        var data = s.Data.AsSpan();
        for (var i = 0; i < s.Count; i++)
        {
            var similarity = TensorPrimitives.Dot(query, data.Slice(i * Dimensions, Dimensions));
            if (similarity >= threshold) hits.Add(new VectorHit(s.Keys[i], similarity));
        }
        hits.Sort((a, b) => b.Similarity.CompareTo(a.Similarity));
        return hits;
    }
}
