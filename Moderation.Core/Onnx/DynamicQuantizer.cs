using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Moderation.Core.Onnx;

/// <summary>
/// Dynamic int8 quantisation of an ONNX model's matrix products, done in memory when a model is loaded: every
/// <c>MatMul</c> whose right-hand side is a constant float matrix becomes ONNX Runtime's
/// <c>com.microsoft.DynamicQuantizeMatMul</c>, with the weights stored as int8 (symmetric, one scale per output
/// column) and the activations quantised per call by the runtime. This is the transformation ONNX Runtime's own
/// Python tool (<c>quantize_dynamic</c>) applies to transformer encoders; there is no .NET port of that tool, so it is
/// done here on the model's protobuf, touching nothing else: every other node, initializer and field is copied
/// through byte for byte. On CPUs with int8 dot-product instructions (AVX-VNNI, AVX512-VNNI) the matrix products,
/// which are most of a small encoder's time, run several times faster; the weights of those products shrink to a
/// quarter. The embeddings move a little (cosine to the float model about 0.99), so heads must be trained on the
/// embeddings of the model they will score with.
/// </summary>
public static class DynamicQuantizer
{
    private const int NodeField = 1, InitializerField = 5, GraphField = 7, OpsetImportField = 8;
    private const int TensorDims = 1, TensorDataType = 2, TensorFloatData = 4, TensorName = 8, TensorRawData = 9;
    private const int NodeInput = 1, NodeOpType = 4, NodeDomain = 7;
    private const int FloatType = 1, Int8Type = 3;
    private const string MicrosoftDomain = "com.microsoft";

    /// <summary>The model's bytes with its constant-weight matrix products quantised, and how many were.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an ONNX model.</exception>
    public static (byte[] Model, int Quantized) Quantize(byte[] model)
    {
        try
        {
            return QuantizeModel(model);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"Not an ONNX model: {e.Message}", e);
        }
    }

    private static (byte[] Model, int Quantized) QuantizeModel(byte[] model)
    {
        var top = Parse(ByteString.CopyFrom(model));
        var graphAt = top.FindIndex(f => f.Number == GraphField);
        if (graphAt < 0) throw new InvalidDataException("The ONNX model has no graph.");
        var graph = Parse(top[graphAt].Bytes);

        var initializers = new Dictionary<string, (int At, List<Field> Tensor)>(StringComparer.Ordinal);
        for (var i = 0; i < graph.Count; i++)
            if (graph[i].Number == InitializerField)
            {
                var tensor = Parse(graph[i].Bytes);
                if (tensor.FirstOrDefault(f => f.Number == TensorName) is { } name) initializers[name.Text] = (i, tensor);
            }
        var readers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in graph.Where(f => f.Number == NodeField))
            foreach (var input in Parse(node.Bytes).Where(f => f.Number == NodeInput))
                readers[input.Text] = readers.GetValueOrDefault(input.Text) + 1;

        var added = new List<Field>();
        var removed = new HashSet<int>();
        var quantized = 0;
        for (var i = 0; i < graph.Count; i++)
        {
            if (graph[i].Number != NodeField) continue;
            var node = Parse(graph[i].Bytes);
            var inputs = node.Where(f => f.Number == NodeInput).Select(f => f.Text).ToList();
            if (node.FirstOrDefault(f => f.Number == NodeOpType)?.Text != "MatMul"
                || (node.FirstOrDefault(f => f.Number == NodeDomain)?.Text ?? "") != ""
                || inputs.Count != 2
                || !initializers.TryGetValue(inputs[1], out var weight)
                || FloatMatrix(weight.Tensor) is not { } matrix)
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

            var name = inputs[1];
            added.Add(Field.Message(InitializerField, Tensor($"{name}_int8", Int8Type, [rows, columns], int8)));
            added.Add(Field.Message(InitializerField, Tensor($"{name}_scale", FloatType, [columns], MemoryMarshal.AsBytes(scales.AsSpan()).ToArray())));
            added.Add(Field.Message(InitializerField, Tensor($"{name}_zero", Int8Type, [columns], new byte[columns])));
            if (readers[name] == 1) removed.Add(weight.At);

            // Same outputs and name; new operator and inputs (A, B, B's scales, B's zero points).
            var rebuilt = new List<Field> { Field.String(NodeInput, inputs[0]), Field.String(NodeInput, $"{name}_int8"),
                Field.String(NodeInput, $"{name}_scale"), Field.String(NodeInput, $"{name}_zero") };
            rebuilt.AddRange(node.Where(f => f.Number is not (NodeInput or NodeOpType or NodeDomain)));
            rebuilt.Add(Field.String(NodeOpType, "DynamicQuantizeMatMul"));
            rebuilt.Add(Field.String(NodeDomain, MicrosoftDomain));
            graph[i] = Field.Message(NodeField, Write(rebuilt));
            quantized++;
        }
        if (quantized == 0) return (model, 0);

        top[graphAt] = Field.Message(GraphField, Write(graph.Where((_, i) => !removed.Contains(i)).Concat(added)));
        if (!top.Any(f => f.Number == OpsetImportField && Parse(f.Bytes).Any(x => x.Number == 1 && x.Text == MicrosoftDomain)))
            top.Insert(graphAt, Field.Message(OpsetImportField, Write([Field.String(1, MicrosoftDomain), Field.Varint(2, 1)])));
        return (Write(top).ToByteArray(), quantized);
    }

    /// <summary>A 2-D float tensor stored in the model itself (not external data), or null.</summary>
    private static (int Rows, int Columns, float[] Values)? FloatMatrix(List<Field> tensor)
    {
        var dims = tensor.Where(f => f.Number == TensorDims).SelectMany(f => f.Type == WireFormat.WireType.LengthDelimited ? PackedVarints(f.Bytes) : [f.Value]).ToArray();
        if (dims.Length != 2 || (int)(tensor.FirstOrDefault(f => f.Number == TensorDataType)?.Value ?? 0) != FloatType) return null;
        int rows = checked((int)dims[0]), columns = checked((int)dims[1]);
        float[] values;
        if (tensor.FirstOrDefault(f => f.Number == TensorRawData) is { } raw)
            values = MemoryMarshal.Cast<byte, float>(raw.Bytes.Span).ToArray();
        else if (tensor.Where(f => f.Number == TensorFloatData).ToList() is { Count: > 0 } data)
            values = data.SelectMany(f => f.Type == WireFormat.WireType.LengthDelimited
                ? MemoryMarshal.Cast<byte, float>(f.Bytes.Span).ToArray()
                : [BitConverter.UInt32BitsToSingle((uint)f.Value)]).ToArray();
        else return null;
        return values.Length == rows * columns ? (rows, columns, values) : null;
    }

    private static ByteString Tensor(string name, int dataType, long[] dims, byte[] raw) =>
        Write(dims.Select(d => Field.Varint(TensorDims, (ulong)d))
            .Append(Field.Varint(TensorDataType, (ulong)dataType))
            .Append(Field.String(TensorName, name))
            .Append(Field.Message(TensorRawData, ByteString.CopyFrom(raw))));

    private static IEnumerable<ulong> PackedVarints(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        var values = new List<ulong>();
        while (!input.IsAtEnd) values.Add(input.ReadUInt64());
        return values;
    }

    /// <summary>One protobuf field, kept as read so it can be written back unchanged.</summary>
    private sealed record Field(int Number, WireFormat.WireType Type, ulong Value, ByteString Bytes)
    {
        public string Text => Bytes.ToStringUtf8();
        public static Field Varint(int number, ulong value) => new(number, WireFormat.WireType.Varint, value, ByteString.Empty);
        public static Field String(int number, string value) => new(number, WireFormat.WireType.LengthDelimited, 0, ByteString.CopyFromUtf8(value));
        public static Field Message(int number, ByteString value) => new(number, WireFormat.WireType.LengthDelimited, 0, value);
    }

    private static List<Field> Parse(ByteString message)
    {
        var input = message.CreateCodedInput();
        var fields = new List<Field>();
        for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
        {
            var number = WireFormat.GetTagFieldNumber(tag);
            var type = WireFormat.GetTagWireType(tag);
            fields.Add(type switch
            {
                WireFormat.WireType.Varint => new Field(number, type, input.ReadUInt64(), ByteString.Empty),
                WireFormat.WireType.Fixed32 => new Field(number, type, input.ReadFixed32(), ByteString.Empty),
                WireFormat.WireType.Fixed64 => new Field(number, type, input.ReadFixed64(), ByteString.Empty),
                WireFormat.WireType.LengthDelimited => new Field(number, type, 0, input.ReadBytes()),
                _ => throw new InvalidDataException($"Unsupported protobuf wire type {type} in the ONNX model."),
            });
        }
        return fields;
    }

    private static ByteString Write(IEnumerable<Field> fields)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        foreach (var field in fields)
        {
            output.WriteTag(field.Number, field.Type);
            switch (field.Type)
            {
                case WireFormat.WireType.Varint: output.WriteUInt64(field.Value); break;
                case WireFormat.WireType.Fixed32: output.WriteFixed32((uint)field.Value); break;
                case WireFormat.WireType.Fixed64: output.WriteFixed64(field.Value); break;
                default: output.WriteBytes(field.Bytes); break;
            }
        }
        output.Flush();
        return ByteString.CopyFrom(buffer.ToArray());
    }
}
