using FluentAssertions;
using Moderation.Core.Media;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>The robustness targets on photograph-like generated images (natural-image statistics, see <see cref="SyntheticPhotos"/>).</summary>
public sealed class HashRobustnessTests(ITestOutputHelper output)
{
    [Fact]
    public void Transformed_photos_match_their_originals_and_different_photos_do_not()
    {
        var photos = Enumerable.Range(1, 60).Select(seed => TestMedia.Encode(SyntheticPhotos.Photo(seed), SKEncodedImageFormat.Jpeg, 92)).ToList();
        var report = HashRobustness.Measure(photos);
        foreach (var t in report.Transforms)
            output.WriteLine($"{t.Transform}: {t.Matched}/{t.Total} matched, mean distance {t.MeanDistance:0.0}, max {t.MaxDistance}");
        output.WriteLine($"different pairs: {report.FalseMatches}/{report.Pairs} within 31, nearest pair {report.MinPairDistance}");
        report.Transforms.Should().OnlyContain(t => t.MatchRate >= 0.95);
        report.FalseMatchRate.Should().BeLessThan(0.001);
    }
}
