using FluentAssertions;
using Moderation.Core.Scoring.Evaluation;
using Moderation.Core.Scoring.Text;

namespace Moderation.Tests.Scoring;

public sealed class TextHeadTests(EmbedderFixture fixture) : IClassFixture<EmbedderFixture>
{
    private static readonly string[] Topics = ["cooking", "football", "my dog", "this city", "the new phone", "gardening", "the weather", "jazz", "my neighbours", "this game"];

    private static (List<string> Texts, List<bool> Labels) Corpus(int offset)
    {
        var texts = new List<string>();
        var labels = new List<bool>();
        for (var i = 0; i < Topics.Length; i++)
        {
            var topic = Topics[(i + offset) % Topics.Length];
            texts.AddRange([$"I really enjoy {topic}, what a lovely day", $"{topic} makes me happy, thanks for sharing"]);
            labels.AddRange([false, false]);
            texts.AddRange([$"I will find you and hurt you because of {topic}", $"people who like {topic} deserve to be beaten up"]);
            labels.AddRange([true, true]);
        }
        return (texts, labels);
    }

    [Fact]
    public void A_trained_head_separates_its_classes_and_survives_a_save_and_load()
    {
        var (texts, labels) = Corpus(0);
        var head = TextHead.Train(texts, fixture.Embedder.Embed(texts), labels);

        var probe = new List<string> { "I will hurt you and your family", "what a lovely walk in the park today" };
        var embeddings = fixture.Embedder.Embed(probe);
        var scores = head.Predict(probe, embeddings);
        scores[0].Should().BeGreaterThan(0.5);
        scores[1].Should().BeLessThan(0.5);
        scores.Should().OnlyContain(s => s >= 0 && s <= 1);

        var path = Path.Combine(Path.GetTempPath(), $"head-{Guid.NewGuid():N}.zip");
        try
        {
            head.Save(path);
            var loaded = TextHead.Load(path);
            loaded.Predict(probe, embeddings).Should().Equal(scores);
            loaded.Predict(probe[0], embeddings[0]).Should().BeApproximately(scores[0], 1e-6);
        }
        finally
        {
            File.Delete(path);
        }

        var (held, heldLabels) = Corpus(3);
        ClassificationMetrics.RocAuc(head.Predict(held, fixture.Embedder.Embed(held)), heldLabels).Should().BeGreaterThan(0.95);
    }
}
