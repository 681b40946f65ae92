using FluentAssertions;
using Moderation.Core.Similarity;

namespace Moderation.Tests.Similarity;

public sealed class VectorIndexTests
{
    internal static float[] Unit(Random random, int dimensions)
    {
        var v = new float[dimensions];
        for (var i = 0; i < dimensions; i++) v[i] = (float)(random.NextDouble() * 2 - 1);
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / norm).ToArray();
    }

    /// <summary>A unit vector at about <paramref name="noise"/> from <paramref name="centre"/>.</summary>
    internal static float[] Near(Random random, float[] centre, double noise)
    {
        var v = centre.Select(x => x + (float)((random.NextDouble() * 2 - 1) * noise)).ToArray();
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / norm).ToArray();
    }

    [Fact]
    public void Search_returns_exactly_what_a_brute_force_comparison_returns_most_similar_first()
    {
        var random = new Random(7);
        var index = new VectorIndex(64, 10_000);
        var centres = Enumerable.Range(0, 20).Select(_ => Unit(random, 64)).ToList();
        var all = new List<(VectorKey Key, float[] Vector)>();
        for (var i = 0; i < 2000; i++)
            all.Add((new VectorKey($"u{i}", null, null, i + 1), i % 3 == 0 ? Unit(random, 64) : Near(random, centres[i % 20], 0.05 + i % 7 * 0.03)));
        // In several appends, as the refresh adds them.
        foreach (var chunk in all.Chunk(333)) index.AddRange(chunk);

        foreach (var threshold in new[] { 0.5f, 0.8f, 0.9f, 0.97f })
            foreach (var query in centres.Take(5).Concat([Unit(random, 64)]))
            {
                var expected = all.Select(e => (e.Key.UploadId, Similarity: e.Vector.Zip(query, (a, b) => (double)a * b).Sum()))
                    .Where(e => e.Similarity >= threshold + 1e-5).Select(e => e.UploadId).ToHashSet();
                var borderline = all.Select(e => (e.Key.UploadId, Similarity: e.Vector.Zip(query, (a, b) => (double)a * b).Sum()))
                    .Where(e => Math.Abs(e.Similarity - threshold) <= 1e-5).Select(e => e.UploadId).ToHashSet();
                var hits = index.Search(query, threshold);
                hits.Select(h => h.Similarity).Should().BeInDescendingOrder();
                var found = hits.Select(h => h.Key.UploadId).ToHashSet();
                found.Except(borderline).Should().BeEquivalentTo(expected, $"threshold {threshold}");
            }
    }

    [Fact]
    public void Beyond_its_capacity_the_oldest_vectors_leave_the_index()
    {
        var random = new Random(3);
        var index = new VectorIndex(8, 5);
        var vectors = Enumerable.Range(0, 8).Select(_ => Unit(random, 8)).ToList();
        index.AddRange(vectors.Take(3).Select((v, i) => (new VectorKey($"u{i}", null, null, i), v)).ToList());
        index.AddRange(vectors.Skip(3).Select((v, i) => (new VectorKey($"u{i + 3}", null, null, i + 3), v)).ToList());
        index.Count.Should().Be(5);
        index.Search(vectors[0], 0.999f).Should().BeEmpty("u0 was the oldest");
        index.Search(vectors[2], 0.999f).Should().BeEmpty();
        index.Search(vectors[3], 0.999f).Single().Key.UploadId.Should().Be("u3");
        index.Search(vectors[7], 0.999f).Single().Key.UploadId.Should().Be("u7");
        // One append larger than the capacity keeps only its own newest.
        index.AddRange(Enumerable.Range(0, 7).Select(i => (new VectorKey($"w{i}", null, null, 100 + i), vectors[i])).ToList());
        index.Count.Should().Be(5);
        index.Search(vectors[1], 0.999f).Should().BeEmpty();
        index.Search(vectors[2], 0.999f).Single().Key.UploadId.Should().Be("w2");
    }

    [Fact]
    public void A_vector_of_another_length_is_refused()
    {
        var index = new VectorIndex(4, 10);
        var act = () => index.AddRange([(new VectorKey("u", null, null, 1), new float[3])]);
        act.Should().Throw<ArgumentException>();
    }
}
