using FluentAssertions;
using Moderation.Core.Media;

namespace Moderation.Tests.Media;

public sealed class PerceptualHashTests
{
    private static ulong RandomWord(Random random) => (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);

    private static PerceptualHash RandomHash(Random random) =>
        new(RandomWord(random), RandomWord(random), RandomWord(random), RandomWord(random));

    private static PerceptualHash Flip(PerceptualHash hash, Random random, int bits)
    {
        var words = new[] { hash.W0, hash.W1, hash.W2, hash.W3 };
        foreach (var bit in Enumerable.Range(0, 256).OrderBy(_ => random.Next()).Take(bits)) words[bit >> 6] ^= 1UL << (bit & 63);
        return new PerceptualHash(words[0], words[1], words[2], words[3]);
    }

    [Fact]
    public void Hex_round_trips_and_bad_hex_is_refused()
    {
        var hash = RandomHash(new Random(1));
        PerceptualHash.Parse(hash.ToString()).Should().Be(hash);
        hash.ToString().Should().HaveLength(64).And.MatchRegex("^[0-9a-f]{64}$");
        PerceptualHash.TryParse("xyz", out _).Should().BeFalse();
        PerceptualHash.TryParse(new string('g', 64), out _).Should().BeFalse();
        PerceptualHash.TryParse(null, out _).Should().BeFalse();
        hash.DistanceTo(Flip(hash, new Random(2), 17)).Should().Be(17);
    }

    [Fact]
    public void The_index_finds_exactly_what_a_scan_finds()
    {
        var random = new Random(7);
        var index = new HashIndex();
        var queries = new List<PerceptualHash>();
        for (var i = 0; i < 20_000; i++) index.Add(RandomHash(random));
        // Plant neighbours of some queries at every distance around the threshold.
        for (var q = 0; q < 50; q++)
        {
            var query = RandomHash(random);
            queries.Add(query);
            foreach (var distance in new[] { 0, 1, 5, 15, 16, 17, 30, 31, 32, 40 }) index.Add(Flip(query, random, distance));
        }
        foreach (var query in queries)
        {
            var found = index.Search(query);
            found.Should().Equal(index.Scan(query));
            found.Select(m => m.Distance).Should().Equal(0, 1, 5, 15, 16, 17, 30, 31);
            index.Search(query, 47).Should().Equal(index.Scan(query, 47));
        }
    }

    [Theory]
    [InlineData(16, 1)]
    [InlineData(16, 2)]
    [InlineData(16, 3)]
    [InlineData(8, 4)]
    public void Randomized_banks_with_duplicates_and_near_threshold_neighbours_match_the_scan(int chunkBits, int seed)
    {
        // Every way this processor can check a bucket (AVX-512, AVX2, one slot at a time) gives the scan's answer.
        foreach (var width in HashIndex.CheckWidths) RandomizedBankMatchesTheScan(chunkBits, seed, width);
    }

    private static void RandomizedBankMatchesTheScan(int chunkBits, int seed, int checkWidth)
    {
        var random = new Random(seed);
        var index = new HashIndex(chunkBits, checkWidth);
        var queries = new List<PerceptualHash>();
        for (var i = 0; i < 5_000; i++) index.Add(RandomHash(random));
        for (var q = 0; q < 40; q++)
        {
            var query = RandomHash(random);
            queries.Add(query);
            // Duplicates (the same hash twice, the query itself three times) and neighbours at and around 31.
            var twin = Flip(query, random, 30);
            index.Add(twin);
            index.Add(twin);
            for (var copy = 0; copy < 3; copy++) index.Add(query);
            foreach (var distance in new[] { 31, 31, 32, 32, 29, 33, 20, 45 }) index.Add(Flip(query, random, distance));
            // Near a bank entry but not planted around a query: a distance from the query no one chose.
            queries.Add(Flip(index[random.Next(5_000)], random, random.Next(25, 40)));
        }
        queries.Add(default);
        foreach (var query in queries)
            foreach (var maxDistance in new[] { 0, 1, 15, 16, 30, 31, 32, 47, 63 })
                index.Search(query, maxDistance).Should().Equal(index.Scan(query, maxDistance), $"radius {maxDistance}, {chunkBits}-bit substrings, {checkWidth} slots per check");
        // Every planted group is found with its duplicates, each entry once, nearest first.
        var found = index.Search(queries[0]);
        found.Select(m => m.Distance).Should().Equal(0, 0, 0, 20, 29, 30, 30, 31, 31);
        found.Select(m => m.Entry).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Adding_after_a_search_is_seen_by_the_next_search_and_search_any_keeps_the_nearest_per_entry()
    {
        var random = new Random(11);
        var index = new HashIndex();
        for (var i = 0; i < 1_000; i++) index.Add(RandomHash(random));
        var query = RandomHash(random);
        index.Search(query).Should().BeEmpty();
        var near = index.Add(Flip(query, random, 12));
        index.Search(query).Should().Equal(new HashMatch(near, 12));

        var mirrored = Flip(query, random, 40);
        var both = index.SearchAny([mirrored, query]);
        both.Should().Equal(new HashMatch(near, 12));
        var scans = new[] { mirrored, query }.SelectMany(q => index.Scan(q)).GroupBy(m => m.Entry).Select(g => g.MinBy(m => m.Distance));
        both.Should().Equal(scans);
        index.MemoryBytes.Should().BeGreaterThan(1_001 * 32L);
        new Action(() => index.Search(query, 64)).Should().Throw<ArgumentOutOfRangeException>();
        new Action(() => _ = new HashIndex(12)).Should().Throw<ArgumentOutOfRangeException>();
    }

    /// <summary>A photograph-like test image: smooth shading, a few soft shapes, fine texture, from a seed.</summary>
    internal static (float[] Luma, int Width, int Height) Scene(int seed, int width = 320, int height = 240)
    {
        var random = new Random(seed);
        // Natural images have most of their energy at low spatial frequencies (amplitude about 1/f).
        var waves = Enumerable.Range(0, 16).Select(_ =>
        {
            var f = 0.004 + random.NextDouble() * 0.06;
            var angle = random.NextDouble() * Math.PI;
            return (Fx: f * Math.Cos(angle), Fy: f * Math.Sin(angle), Phase: random.NextDouble() * Math.Tau, Amplitude: 0.35 / f);
        }).ToList();
        var blobs = Enumerable.Range(0, 6).Select(_ => (X: random.NextDouble() * width, Y: random.NextDouble() * height,
            R: 15 + random.NextDouble() * 60, Level: random.NextDouble() * 60 - 30)).ToList();
        var luma = new float[width * height];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var v = 128.0 + waves.Sum(w => w.Amplitude * Math.Sin(w.Fx * x + w.Fy * y + w.Phase));
                foreach (var b in blobs)
                {
                    var d = Math.Sqrt((x - b.X) * (x - b.X) + (y - b.Y) * (y - b.Y));
                    v += b.Level / (1 + Math.Exp((d - b.R) / 3));
                }
                v += (random.NextDouble() - 0.5) * 6; // sensor noise
                luma[y * width + x] = (float)Math.Clamp(v, 0, 255);
            }
        return (luma, width, height);
    }

    private static (float[], int, int) HalfSize((float[] Luma, int Width, int Height) image)
    {
        int w = image.Width / 2, h = image.Height / 2;
        var result = new float[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                result[y * w + x] = (image.Luma[2 * y * image.Width + 2 * x] + image.Luma[2 * y * image.Width + 2 * x + 1]
                    + image.Luma[(2 * y + 1) * image.Width + 2 * x] + image.Luma[(2 * y + 1) * image.Width + 2 * x + 1]) / 4;
        return (result, w, h);
    }

    private static (float[], int, int) Crop((float[] Luma, int Width, int Height) image, double share)
    {
        int dx = (int)(image.Width * share / 2), dy = (int)(image.Height * share / 2);
        int w = image.Width - 2 * dx, h = image.Height - 2 * dy;
        var result = new float[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++) result[y * w + x] = image.Luma[(y + dy) * image.Width + x + dx];
        return (result, w, h);
    }

    private static (float[], int, int) Mirror((float[] Luma, int Width, int Height) image)
    {
        var result = new float[image.Luma.Length];
        for (var y = 0; y < image.Height; y++)
            for (var x = 0; x < image.Width; x++) result[y * image.Width + x] = image.Luma[y * image.Width + image.Width - 1 - x];
        return (result, image.Width, image.Height);
    }

    /// <summary>A mild tone change that clips nothing (clipping destroys detail, and with it the hash).</summary>
    private static (float[], int, int) Flatter((float[] Luma, int Width, int Height) image) =>
        (image.Luma.Select(v => v * 0.9f + 10).ToArray(), image.Width, image.Height);

    private static HashResult Hash((float[] Luma, int Width, int Height) image) => CropRobustHasher.Hash(image.Luma, image.Width, image.Height);

    [Fact]
    public void Resized_slightly_cropped_toned_and_mirrored_copies_match_and_different_scenes_do_not()
    {
        var scenes = Enumerable.Range(1, 12).Select(seed => Scene(seed)).ToList();
        var originals = scenes.Select(Hash).ToList();
        originals.Should().OnlyContain(h => h.Quality >= 50, "the scenes have detail");

        var index = new HashIndex();
        foreach (var original in originals) index.Add(original.Hash);
        for (var i = 0; i < scenes.Count; i++)
        {
            foreach (var (name, copy) in new[] { ("half size", HalfSize(scenes[i])), ("1% crop", Crop(scenes[i], 0.01)), ("less contrast", Flatter(scenes[i])) })
                index.Search(Hash(copy).Hash).Select(m => m.Entry).Should().Contain(i, $"{name} of scene {i}");
            // A mirror is matched through the query's dihedral variants, as PDQ matches it.
            index.SearchAny(Hash(Mirror(scenes[i])).Dihedral).Select(m => m.Entry).Should().Contain(i, $"mirror of scene {i}");
        }
        for (var i = 0; i < originals.Count; i++)
            for (var j = i + 1; j < originals.Count; j++)
                originals[i].Hash.DistanceTo(originals[j].Hash).Should().BeGreaterThan(PerceptualHash.DefaultMatchDistance, $"scenes {i} and {j} differ");
    }

    [Fact]
    public void Search_variants_are_each_rotation_and_mirror_under_ten_crop_hypotheses_and_find_a_copy_cut_at_one_edge()
    {
        var scene = Scene(5, 400, 300);
        var result = Hash(scene);
        result.Variants.Should().HaveCount(80);
        result.Dihedral.Should().HaveCount(8);
        for (var d = 0; d < 8; d++) result.Variants[d * 10].Should().Be(result.Dihedral[d], "the first hypothesis of each orientation is no crop");
        result.Variants[0].Should().Be(result.Hash);

        // 6% off the left edge: the plain hash drifts, the crop hypotheses bring it back.
        var (luma, width, height) = scene;
        var cut = 24;
        var cropped = new float[(width - cut) * height];
        for (var y = 0; y < height; y++)
            for (var x = cut; x < width; x++) cropped[y * (width - cut) + x - cut] = luma[y * width + x];
        var copy = CropRobustHasher.Hash(cropped, width - cut, height);
        var plain = copy.Dihedral.Min(result.Hash.DistanceTo);
        var best = copy.Variants.Min(result.Hash.DistanceTo);
        best.Should().BeLessThan(plain).And.BeLessThanOrEqualTo(PerceptualHash.DefaultMatchDistance);
    }

    [Fact]
    public void A_flat_image_has_low_quality_and_bad_sizes_are_refused()
    {
        CropRobustHasher.Hash(Enumerable.Repeat(100f, 64 * 64).ToArray(), 64, 64).Quality.Should().Be(0);
        var act = () => CropRobustHasher.Hash(new float[10], 5, 5);
        act.Should().Throw<ArgumentException>();
    }
}
