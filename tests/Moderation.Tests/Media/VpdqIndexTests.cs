using FluentAssertions;
using Moderation.Core.Media;

namespace Moderation.Tests.Media;

public sealed class VpdqIndexTests
{
    private static PerceptualHash Random256(Random random) =>
        new((ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63), (ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64());

    private static PerceptualHash Flip(PerceptualHash hash, int bits) =>
        new(hash.W0 ^ ((1UL << bits) - 1), hash.W1, hash.W2, hash.W3);

    private static List<VpdqFrame> Video(IEnumerable<PerceptualHash> hashes, int quality = 100) =>
        hashes.Select((h, i) => new VpdqFrame(i, quality, h, i)).ToList();

    private static ActiveHashEntry Entry(string id, IReadOnlyList<VpdqFrame> frames) =>
        new(id, "videos", HashAlgorithms.Vpdq, "harm.violence", "none", id, null, frames);

    [Fact]
    public void A_video_matches_when_enough_frames_match_in_both_directions_and_one_shared_scene_does_not()
    {
        var random = new Random(3);
        var scenes = Enumerable.Range(0, 10).Select(_ => Random256(random)).ToList();
        var index = new VpdqIndex([Entry("whole", Video(scenes)), Entry("longer", Video(scenes.Concat(Enumerable.Range(0, 10).Select(_ => Random256(random)))))]);
        var options = new VpdqOptions();

        // The same video re-encoded: every frame a few bits away, and each scene held for two frames (deduplicated).
        var copy = Video(scenes.SelectMany(s => new[] { Flip(s, 6), Flip(s, 6) }));
        var matches = index.Match(copy, options);
        matches.Select(m => m.EntryId).Should().Equal("whole");
        matches[0].Detail.Should().Contain("10 of the video's 10 frames").And.Contain("(100%)");
        matches[0].Distance.Should().Be(6);

        // 9 of 10 scenes (90% both ways) still match; a clip of 3 scenes is only 30% of the entry.
        index.Match(Video(scenes.Take(9)), options).Select(m => m.EntryId).Should().Equal("whole");
        index.Match(Video(scenes.Take(3)), options).Should().BeEmpty();
    }

    [Fact]
    public void Flat_frames_below_the_quality_floor_never_match()
    {
        var random = new Random(4);
        var scenes = Enumerable.Range(0, 5).Select(_ => Random256(random)).ToList();
        var index = new VpdqIndex([Entry("flat", Video(scenes, quality: 10))]);
        index.Match(Video(scenes), new VpdqOptions()).Should().BeEmpty("the entry's frames are all below quality 50");
        new VpdqIndex([Entry("ok", Video(scenes))]).Match(Video(scenes, quality: 10), new VpdqOptions()).Should().BeEmpty();
    }
}
