using FluentAssertions;
using Moderation.Core.Media;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>The issue's robustness targets on photograph-like generated images (natural-image statistics, see <see cref="SyntheticPhotos"/>).</summary>
public sealed class HashRobustnessTests(ITestOutputHelper output)
{
    [Fact]
    public void Transformed_photos_match_their_originals_and_different_photos_do_not()
    {
        var photos = Enumerable.Range(1, 60).Select(seed => TestMedia.Encode(SyntheticPhotos.Photo(seed), SKEncodedImageFormat.Jpeg, 92)).ToList();
        var report = HashRobustness.Measure(photos);
        foreach (var t in report.Transforms)
            output.WriteLine($"{t.Transform}: {t.Matched}/{t.Total} matched, mean distance {t.MeanDistance:0.0}, max {t.MaxDistance}{(t.Target ? "" : " (reported only)")}");
        output.WriteLine($"different pairs: {report.FalseMatches}/{report.Pairs} within 31, nearest pair {report.MinPairDistance}");
        // Every reading of the issue's transforms: half size, JPEG 50, a 5% crop centred, off one edge and off a
        // corner, a mirror, and all four at once. The 10% crop is reported beside them, without a target.
        report.Transforms.Where(t => t.Target).Select(t => t.Key).Should().Equal(
            "half_size", "jpeg_q50", "crop5_centred", "crop5_edge", "crop5_corner", "mirror", "all_four");
        report.Transforms.Where(t => t.Target).Should().OnlyContain(t => t.MatchRate >= 0.95 && t.Total == 60);
        report.FalseMatchRate.Should().BeLessThan(0.001);
    }
}
