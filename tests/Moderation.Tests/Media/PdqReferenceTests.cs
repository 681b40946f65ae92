using FluentAssertions;
using Moderation.Core.Media;

namespace Moderation.Tests.Media;

/// <summary>
/// Our PDQ against the hashes and qualities Facebook's reference <c>pdq-photo-hasher</c> computed for the same files
/// (Fixtures/pdq, from ThreatExchange's regression inputs): the pixels come from a different JPEG decoder (Skia's
/// libjpeg-turbo against the reference's libjpeg), so a few bits may differ; the target is 2.
/// </summary>
public sealed class PdqReferenceTests(ITestOutputHelper output)
{
    public static string FixtureDirectory => Path.Combine(AppContext.BaseDirectory, "Media", "Fixtures", "pdq");

    public static IReadOnlyList<(string File, PerceptualHash Hash, int Quality)> Reference() =>
        File.ReadAllLines(Path.Combine(FixtureDirectory, "reference.csv")).Skip(1)
            .Select(line => line.Split(','))
            .Select(f => (f[0], PerceptualHash.Parse(f[1]), int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();

    public static HashResult HashFile(string file)
    {
        var frame = ImageDecoder.DecodeLuma(File.ReadAllBytes(Path.Combine(FixtureDirectory, file)), new DecodeLimits(MaxFrames: 1))[0];
        return PdqHasher.Hash(frame.Luma, frame.Width, frame.Height);
    }

    [Fact]
    public void Every_reference_image_of_quality_50_or_more_hashes_within_2_bits_and_5_quality_of_the_reference()
    {
        var rows = Reference();
        rows.Should().HaveCount(15);
        foreach (var (file, expected, quality) in rows)
        {
            var ours = HashFile(file);
            output.WriteLine($"{file}: distance {ours.Hash.DistanceTo(expected)}, quality {ours.Quality} (reference {quality})");
            if (quality < 50) continue;
            ours.Hash.DistanceTo(expected).Should().BeLessThanOrEqualTo(2, file);
            ours.Quality.Should().BeCloseTo(quality, 5, file);
        }
    }
}
