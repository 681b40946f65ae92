using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Moderation.Core.Onnx;

/// <summary>
/// Dynamic int8 quantisation of an ONNX model's matrix products, done in memory when a model is loaded: every
/// <c>MatMul</c> whose right-hand side is a constant float matrix becomes ONNX Runtime's
/// <c>com.microsoft.DynamicQuantizeMatMul</c>, with the weights stored as int8 (symmetric, one scale per output
/// column) and the activations quantised per call by the runtime. This is the transformation ONNX Runtime's own
/// Python tool (<c>quantize_dynamic</c>) applies to transformer encoders; there is no .NET port of that tool, so it is
/// done here on the model's graph (OnnxSharp's ONNX protobuf types), touching nothing else. On CPUs with int8
/// dot-product instructions (AVX-VNNI, AVX512-VNNI) the matrix products, which are most of a small encoder's time,
/// run several times faster, and their weights shrink to a quarter. The embeddings move a little (cosine to the float
/// model about 0.99), so heads must be trained on the embeddings of the model they will score with.
/// </summary>
public static class DynamicQuantizer
{
    private const string MicrosoftDomain = "com.microsoft";

    /// <summary>The model's bytes with its constant-weight matrix products quantised, and how many were.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an ONNX model.</exception>
    public static (byte[] Model, int Quantized) Quantize(byte[] model)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(model);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"Not an ONNX model: {e.Message}", e);
        }
        if (proto.Graph is null) throw new InvalidDataException("Not an ONNX model: it has no graph.");
        var quantized = Quantize(proto.Graph);
        if (quantized == 0) return (model, 0);
        if (!proto.OpsetImport.Any(o => o.Domain == MicrosoftDomain))
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        return (proto.ToByteArray(), quantized);
    }

    private static int Quantize(GraphProto graph)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var readers = graph.Node.SelectMany(n => n.Input).GroupBy(i => i, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var quantized = 0;
        foreach (var node in graph.Node)
        {
            if (node.OpType != "MatMul" || node.Domain != "" || node.Input.Count != 2
                || !initializers.TryGetValue(node.Input[1], out var weight) || FloatMatrix(weight) is not { } matrix)
                continue;

            var (rows, columns, values) = matrix;
            var scales = new float[columns];
            for (var r = 0; r < rows; r++)
                for (var c = 0; c < columns; c++)
                    scales[c] = Math.Max(scales[c], Math.Abs(values[r * columns + c]));
            for (var c = 0; c < columns; c++) scales[c] = scales[c] > 0 ? scales[c] / 127f : 1f;
            var int8 = new byte[rows * columns];
            for (var r = 0; r < rows; r++)
                for (var c = 0; c < columns; c++)
                    int8[r * columns + c] = unchecked((byte)(sbyte)Math.Clamp((int)MathF.Round(values[r * columns + c] / scales[c]), -127, 127));

            var name = weight.Name;
            graph.Initializer.Add(Tensor($"{name}_int8", TensorProto.Types.DataType.Int8, [rows, columns], int8));
            graph.Initializer.Add(Tensor($"{name}_scale", TensorProto.Types.DataType.Float, [columns], MemoryMarshal.AsBytes(scales.AsSpan()).ToArray()));
            graph.Initializer.Add(Tensor($"{name}_zero", TensorProto.Types.DataType.Int8, [columns], new byte[columns]));
            if (readers[name] == 1) graph.Initializer.Remove(weight);

            // Same name and outputs; new operator, and inputs A, B, B's scales, B's zero points.
            node.OpType = "DynamicQuantizeMatMul";
            node.Domain = MicrosoftDomain;
            node.Input[1] = $"{name}_int8";
            node.Input.Add($"{name}_scale");
            node.Input.Add($"{name}_zero");
            quantized++;
        }
        return quantized;
    }

    /// <summary>A 2-D float tensor stored in the model itself (not external data), or null.</summary>
    private static (int Rows, int Columns, float[] Values)? FloatMatrix(TensorProto tensor)
    {
        if (tensor.Dims.Count != 2 || tensor.DataType != (int)TensorProto.Types.DataType.Float) return null;
        int rows = checked((int)tensor.Dims[0]), columns = checked((int)tensor.Dims[1]);
        var values = !tensor.RawData.IsEmpty ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : tensor.FloatData.ToArray();
        return values.Length == rows * columns ? (rows, columns, values) : null;
    }

    private static TensorProto Tensor(string name, TensorProto.Types.DataType type, long[] dims, byte[] raw)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}
