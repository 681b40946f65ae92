using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using Moderation.Core.Onnx;
using Moderation.Core.Scoring.Text;

namespace Moderation.Tests.Scoring;

public sealed class DynamicQuantizerTests
{
    [Fact]
    public void Quantises_every_constant_weight_product_of_the_encoder_and_the_result_loads()
    {
        var original = TextEmbedder.LoadModel(TextPrecision.Float32);
        var (quantized, count) = DynamicQuantizer.Quantize(original);

        // 6 layers x (query, key, value, attention output, two feed-forward): the products of two activations
        // (attention scores and their weighted sum) have no constant side and stay in float.
        count.Should().Be(36);
        quantized.Length.Should().BeLessThan(original.Length * 7 / 10, "36 weight matrices shrink to a quarter");
        using var session = new InferenceSession(quantized);
        session.InputMetadata.Keys.Should().BeEquivalentTo("input_ids", "attention_mask", "token_type_ids");
        session.OutputMetadata.Keys.Should().Contain("last_hidden_state");
    }

    [Fact]
    public void A_quantised_model_has_nothing_left_to_quantise()
    {
        var (once, _) = DynamicQuantizer.Quantize(TextEmbedder.LoadModel(TextPrecision.Float32));
        var (twice, count) = DynamicQuantizer.Quantize(once);
        count.Should().Be(0);
        twice.Should().BeSameAs(once);
    }

    [Fact]
    public void Bytes_that_are_not_a_model_are_refused()
    {
        var act = () => DynamicQuantizer.Quantize("<html>not a model</html>"u8.ToArray());
        act.Should().Throw<InvalidDataException>();
    }
}
