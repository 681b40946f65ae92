using FluentAssertions;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Similarity;
using Moderation.Tests.Scoring;

namespace Moderation.Tests.Similarity;

/// <summary>The text scorer's one vector per upload (real MiniLM, the shipped heads), and the text threshold's basis.</summary>
public sealed class TextEmbeddingTests(EmbedderFixture fixture) : IClassFixture<EmbedderFixture>
{
    private TextScorer Scorer() => new(fixture.Embedder, TextModels.Load(TextScoringOptions.ShippedModelsDirectory));

    private static UploadContent Upload(string id, string? caption, string[]? comments = null, string? transcript = null, string[]? hashtags = null) =>
        new(id, id, null, caption, hashtags ?? [], transcript, comments ?? [], "en", []);

    private static double Cosine(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();

    private async Task<Dictionary<string, float[]?>> VectorsAsync(params UploadContent[] uploads)
    {
        var result = await Scorer().ScoreAsync(uploads, CancellationToken.None);
        ScorerOutput.Validate("text", result, uploads.Select(u => u.Id).ToHashSet());
        return result.ToDictionary(r => r.UploadId, r => r.Embeddings?.SingleOrDefault()?.Vector);
    }

    [Fact]
    public async Task Each_upload_gets_one_normalised_text_vector_from_the_passages_it_scores()
    {
        var transcript = string.Join(" ", Enumerable.Repeat("Today we bake sourdough bread at home. The dough rests overnight in the fridge.", 20)); // beyond the window: passages
        string[] comments = ["first!", "this is a scam, do not click", "lol"];
        var uploads = new[]
        {
            Upload("plain", "Win a free phone, click the link in bio now", hashtags: ["giveaway"]),
            Upload("commented", "Win a free phone, click the link in bio now", comments, hashtags: ["giveaway"]),
            Upload("long", "Sourdough at home", transcript: transcript),
            Upload("long-commented", "Sourdough at home", comments, transcript: transcript),
            Upload("short", "lol", comments),
            Upload("empty", null, ["only comments here, nothing from the creator"]),
        };
        var result = await Scorer().ScoreAsync(uploads, CancellationToken.None);
        var plain = result.Single(r => r.UploadId == "plain").Embeddings!.Single();
        plain.Kind.Should().Be("text");
        plain.Model.Should().Be(fixture.Embedder.Name, "vectors are named after the encoder and its precision, so int8 and float vectors are never compared");
        plain.MediaOrdinal.Should().BeNull();
        plain.Frame.Should().BeNull();
        plain.Vector.Should().HaveCount(TextEmbedder.Dimensions);
        UploadEmbeddings.Validate(plain);

        // A long text is scored sentence by sentence, line by line: the comments' passages are left out of the vector.
        var vector = (string id) => result.Single(r => r.UploadId == id).Embeddings!.Single().Vector;
        Cosine(vector("long"), vector("long-commented")).Should().BeGreaterThan(0.9999);
        // A short one is scored whole, comments included, and its vector is that passage's (nothing is embedded twice).
        Cosine(vector("plain"), vector("commented")).Should().BeLessThan(0.9999);
        result.Single(r => r.UploadId == "short").Embeddings.Should().BeNull("three characters of the creator's say nothing about being a copy");
        result.Single(r => r.UploadId == "empty").Embeddings.Should().BeNull();

        // The scores are those of the whole text, as without the vector.
        var scores = await Scorer().ScoreTextsAsync(uploads.Select(TextScorer.Compose).ToList());
        for (var i = 0; i < uploads.Length; i++)
            result[i].Scores.Select(s => (s.Category, s.Score)).Should().Equal(scores[i].Scores.Select(s => (s.Category, s.Score)));
    }

    [Fact]
    public async Task Retyped_copies_of_a_caption_pass_the_default_text_threshold_and_other_posts_on_the_topic_do_not()
    {
        var threshold = new SimilarityOptions().ThresholdFor("text");
        var v = await VectorsAsync(
            Upload("a", "Win a free iPhone 15! Click the link in my bio to claim your prize now"),
            Upload("a-retyped", "WIN a FREE iphone 15!!! click the link in my bio to claim your prize NOW"),
            Upload("a-word", "Win a free iPhone 15! Just click the link in my bio to claim your prize today"),
            Upload("b-topic", "I won a phone in a real giveaway last year, here is how to spot the fake ones"),
            Upload("b-scam", "Free gift cards for everyone, send me your bank details to receive them"),
            Upload("c-other", "Lovely morning walk with my dog in the park, the sun is out"));
        Cosine(v["a"]!, v["a-retyped"]!).Should().BeGreaterThanOrEqualTo(threshold);
        Cosine(v["a"]!, v["a-word"]!).Should().BeGreaterThanOrEqualTo(threshold);
        Cosine(v["a"]!, v["b-topic"]!).Should().BeLessThan(threshold);
        Cosine(v["a"]!, v["b-scam"]!).Should().BeLessThan(threshold);
        Cosine(v["a"]!, v["c-other"]!).Should().BeLessThan(threshold);
    }
}
