using FluentAssertions;
using Moderation.Core.Media;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>The shipped ResNet18 graphs through ONNX Runtime, on generated photographs.</summary>
public sealed class ImageEmbedderTests
{
    [Fact]
    public void A_resized_recompressed_copy_is_nearest_to_its_own_original()
    {
        using var embedder = new ImageEmbedder();
        var photos = Enumerable.Range(20, 6).Select(seed => SyntheticPhotos.Photo(seed, 320, 240)).ToList();
        var originals = embedder.EmbedFiles(photos.Select(p => TestMedia.Encode(p, SKEncodedImageFormat.Png)).ToList());
        var copies = embedder.EmbedFiles(photos.Select(p => TestMedia.Encode(TestMedia.HalfSize(p), SKEncodedImageFormat.Jpeg, 50)).ToList());
        originals.Concat(copies).Should().OnlyContain(v => v.Length == ImageEmbedder.Dimensions && v.All(float.IsFinite) && v.Any(x => x != 0));
        // ResNet's pooled features are all positive, so raw cosines are high for any two photos: compare them centred.
        var mean = Enumerable.Range(0, ImageEmbedder.Dimensions).Select(d => originals.Average(v => v[d])).ToArray();
        float[] Centre(float[] v) => v.Select((x, d) => (float)(x - mean[d])).ToArray();
        for (var i = 0; i < copies.Length; i++)
        {
            var similarities = originals.Select(o => ImageEmbedder.Cosine(Centre(copies[i]), Centre(o))).ToList();
            similarities.IndexOf(similarities.Max()).Should().Be(i, $"copy {i}: {string.Join(", ", similarities.Select(x => x.ToString("0.00")))}");
        }
        // Deterministic: the same file embeds the same, whichever thread runs it.
        var again = embedder.EmbedFiles(Enumerable.Repeat(TestMedia.Encode(photos[0], SKEncodedImageFormat.Png), 3).ToList());
        again.Should().AllSatisfy(v => v.Should().Equal(originals[0]));
    }

    [Fact]
    public void A_file_that_is_not_an_image_is_refused_with_the_reason()
    {
        using var embedder = new ImageEmbedder();
        var act = () => embedder.EmbedFiles(["<html>not an image</html>"u8.ToArray()]);
        act.Should().Throw<AggregateException>().WithInnerException<MediaRejectedException>().WithMessage("*not an image*");
    }
}
