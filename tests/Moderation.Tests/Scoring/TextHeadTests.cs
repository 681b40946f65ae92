using FluentAssertions;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Evaluation;
using Moderation.Training.Text;

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
        var head = TextHeadTraining.Train(texts, fixture.Embedder.Embed(texts), labels);

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

    [Fact]
    public void A_gate_holds_a_head_to_its_domain_and_survives_a_save_and_load()
    {
        var (texts, labels) = Corpus(0);
        var embeddings = fixture.Embedder.Embed(texts);
        var head = TextHeadTraining.Train(texts, embeddings, labels);
        // In domain: the corpus above; outside it: posts about other things entirely.
        List<string> outside = ["the stock market fell two percent today", "new train timetable starts in May", "quarterly earnings beat forecasts",
            "the council approved the budget", "interest rates stay unchanged", "the ferry is delayed by fog"];
        var gateTexts = texts.Concat(outside).ToList();
        var gate = TextHeadTraining.Train(gateTexts, fixture.Embedder.Embed(gateTexts), texts.Select(_ => true).Concat(outside.Select(_ => false)).ToList());
        var gated = head.WithGate(gate, 0.5);

        List<string> probe = ["I will hurt you because of jazz", "central bank raises rates again"];
        var probeEmbeddings = fixture.Embedder.Embed(probe);
        var plain = head.Predict(probe, probeEmbeddings);
        var scores = gated.Predict(probe, probeEmbeddings);
        scores[0].Should().BeGreaterThan(0.5);
        scores[1].Should().BeLessThan(plain[1]);
        scores[0].Should().BeApproximately(gated.Predict(probe[0], probeEmbeddings[0]), 1e-6);

        using var stream = new MemoryStream();
        gated.Save(stream);
        stream.Position = 0;
        var loaded = TextHead.Load(stream);
        loaded.Gate.Should().NotBeNull();
        loaded.GateExponent.Should().Be(0.5);
        loaded.Predict(probe, probeEmbeddings).Should().Equal(scores, (a, b) => Math.Abs(a - b) < 1e-6);
        var invalid = () => gated.WithGate(gate, 0);
        invalid.Should().Throw<ArgumentOutOfRangeException>();

        // Several heads at once share one featurisation and give what each gives alone.
        var normalized = probe.Select(TextNormalizer.Normalize).ToList();
        var many = TextHead.PredictMany([head, gated, loaded, gate], normalized, probeEmbeddings.Select(e => new TextEncoding(e, null)).ToList());
        many[0].Should().Equal(plain, (a, b) => Math.Abs(a - b) < 1e-5);
        many[1].Should().Equal(scores, (a, b) => Math.Abs(a - b) < 1e-5);
        many[2].Should().Equal(scores, (a, b) => Math.Abs(a - b) < 1e-5);
        many[3].Should().Equal(gate.Predict(probe, probeEmbeddings), (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Fact]
    public void Style_features_see_what_lower_casing_loses_and_heads_with_either_feature_set_predict_together()
    {
        // The same words, calm or shouting: the embedding model is uncased and the standard grams lower-case (and drop
        // punctuation), so only the style features can tell these apart.
        var texts = new List<string>();
        var labels = new List<bool>();
        foreach (var topic in Topics)
        {
            texts.AddRange([$"new report on {topic} published today", $"NEW REPORT ON {topic.ToUpperInvariant()} PUBLISHED TODAY"]);
            labels.AddRange([false, true]);
        }
        var embeddings = fixture.Embedder.Embed(texts);
        var standard = TextHeadTraining.Train(texts, embeddings, labels);
        var style = TextHeadTraining.Train(texts, embeddings, labels, features: TextFeatures.WithStyle);

        List<string> probe = ["new report on the harbour published today", "NEW REPORT ON THE HARBOUR PUBLISHED TODAY"];
        var probeEmbeddings = fixture.Embedder.Embed(probe);
        var plain = standard.Predict(probe, probeEmbeddings);
        plain[0].Should().BeApproximately(plain[1], 1e-6, "the standard features of the two are identical");
        var styled = style.Predict(probe, probeEmbeddings);
        styled[1].Should().BeGreaterThan(0.5);
        styled[0].Should().BeLessThan(0.5);

        // Heads on different featurisers are featurised separately, each as it would be alone.
        var many = TextHead.PredictMany([standard, style], probe.Select(TextNormalizer.Normalize).ToList(), probeEmbeddings.Select(e => new TextEncoding(e, null)).ToList());
        many[0].Should().Equal(plain, (a, b) => Math.Abs(a - b) < 1e-5);
        many[1].Should().Equal(styled, (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Fact]
    public void A_head_over_encoder_layers_with_a_network_saves_loads_and_predicts_alike_alone_and_with_others()
    {
        var (texts, labels) = Corpus(0);
        var tokens = texts.Select(fixture.Embedder.Tokenize).ToList();
        var encodings = fixture.Embedder.Encode(tokens, layers: true);
        encodings.Should().OnlyContain(e => e.Layers!.Length == TextEmbedder.LayerDimensions);
        encodings[0].Layers![^TextEmbedder.Dimensions..].Should().Equal(encodings[0].Sentence, "the last layer's pooling is the sentence embedding");
        var layers = encodings.Select(e => e.Layers!).ToList();

        var linear = TextHeadTraining.Train(texts, layers, labels);
        linear.ReadsLayers.Should().BeTrue();
        var network = MlpTraining.Train(layers, labels, labels.Select(_ => 1f).ToList(), new MlpTraining.Options(Hidden: 16, Epochs: 20, LearningRate: 0.01f));
        var head = linear.WithNetwork(network, 1.3, -0.2);
        var probe = new List<string> { "I will hurt you because of jazz", "what a lovely day for gardening" };
        var probeEncodings = fixture.Embedder.Encode(probe.Select(fixture.Embedder.Tokenize).ToList(), layers: true);
        var scores = head.Predict(probe, probeEncodings.Select(e => e.Layers!).ToList());
        scores[0].Should().BeGreaterThan(scores[1]);

        using var stream = new MemoryStream();
        head.Save(stream);
        stream.Position = 0;
        var loaded = TextHead.Load(stream);
        loaded.Network.Should().NotBeNull();
        loaded.Calibration.Should().Be((1.3, -0.2));
        loaded.VectorDimensions.Should().Be(TextEmbedder.LayerDimensions);
        loaded.Predict(probe, probeEncodings.Select(e => e.Layers!).ToList()).Should().Equal(scores, (a, b) => Math.Abs(a - b) < 1e-6);

        // Beside a head that reads the sentence embedding, each reads its own vector from the same encodings.
        var sentenceHead = TextHeadTraining.Train(texts, encodings.Select(e => e.Sentence).ToList(), labels);
        var many = TextHead.PredictMany([loaded, sentenceHead], probe.Select(TextNormalizer.Normalize).ToList(), probeEncodings);
        many[0].Should().Equal(scores, (a, b) => Math.Abs(a - b) < 1e-5);
        many[1].Should().Equal(sentenceHead.Predict(probe, probeEncodings.Select(e => e.Sentence).ToList()), (a, b) => Math.Abs(a - b) < 1e-5);
    }
}
