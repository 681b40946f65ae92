using Google.Protobuf;
using Onnx;

namespace Moderation.Core.Onnx;

/// <summary>
/// Exposes the hidden states of a BERT-style encoder's inner layers as graph outputs, so one run gives every layer
/// the heads read (<see cref="Scoring.Text.TextEncoding.Layers"/>). A layer's output is the tensor its last
/// layer normalisation writes: the <c>Add</c> of the bias <c>encoder.layer.{k}.output.LayerNorm.bias</c>, as the
/// Hugging Face exporter names it. The last layer is already the graph's <c>last_hidden_state</c>.
/// </summary>
public static class EncoderLayers
{
    /// <summary>The outputs of the <paramref name="count"/> layers before the last, shallowest first.</summary>
    /// <exception cref="InvalidDataException">The graph does not have that many named encoder layers.</exception>
    public static string[] Find(byte[] model, int count) => Find(ModelProto.Parser.ParseFrom(model).Graph, count);

    /// <summary>The model with those outputs added (as float tensors of any shape); unchanged if they are outputs already.</summary>
    public static byte[] Expose(byte[] model, int count)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var names = Find(proto.Graph, count);
        var added = false;
        foreach (var name in names.Where(n => proto.Graph.Output.All(o => o.Name != n)))
        {
            proto.Graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
            added = true;
        }
        return added ? proto.ToByteArray() : model;
    }

    private static string[] Find(GraphProto graph, int count)
    {
        // Layer k's output: the node that adds encoder.layer.k.output.LayerNorm.bias.
        var layers = new SortedDictionary<int, string>();
        foreach (var node in graph.Node)
        {
            if (node.OpType != "Add") continue;
            foreach (var input in node.Input)
            {
                const string prefix = "encoder.layer.", suffix = ".output.LayerNorm.bias";
                if (!input.StartsWith(prefix, StringComparison.Ordinal) || !input.EndsWith(suffix, StringComparison.Ordinal)) continue;
                if (int.TryParse(input.AsSpan(prefix.Length, input.Length - prefix.Length - suffix.Length), out var k) && node.Output.Count == 1)
                    layers[k] = node.Output[0];
            }
        }
        if (layers.Count < count + 1)
            throw new InvalidDataException($"The encoder graph names {layers.Count} layers; {count + 1} are needed.");
        // The deepest is last_hidden_state itself; take the count before it.
        return layers.Values.SkipLast(1).TakeLast(count).ToArray();
    }
}
