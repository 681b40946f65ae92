using System.Numerics.Tensors;
using FluentAssertions;
using Moderation.Api.Feed;

namespace Moderation.Tests.Feed;

/// <summary>The demo feed's model-free item embedding (used when the text model is off).</summary>
public sealed class HashedEmbeddingTests
{
    private static float Cosine(string a, string b)
    {
        var x = FeedDemo.Hashed(a, 256);
        var y = FeedDemo.Hashed(b, 256);
        return TensorPrimitives.CosineSimilarity<float>(x, y);
    }

    [Fact]
    public void The_same_text_embeds_the_same_way_in_every_process() =>
        FeedDemo.Hashed("Sourdough baking at home #bread", 256).Should().Equal(FeedDemo.Hashed("sourdough BAKING at home #Bread", 256));

    [Fact]
    public void Texts_that_share_words_are_closer_than_texts_that_do_not() =>
        Cosine("sourdough bread baking at home", "more sourdough bread baking tips").Should()
            .BeGreaterThan(Cosine("sourdough bread baking at home", "motorbike engine repair") + 0.3f);

    [Fact]
    public void Text_without_words_embeds_to_zero() =>
        FeedDemo.Hashed("!!! ???", 64).Should().OnlyContain(v => v == 0);
}
