using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Onnx;

namespace Moderation.Core.Onnx;

/// <summary>A TF.js model this converter cannot translate, with the layer or weight that stops it.</summary>
public sealed class TfjsConversionException(string message) : Exception(message);

/// <summary>
/// Converts a TensorFlow.js <b>layers</b> model (a Keras functional model saved by the TF.js converter: <c>model.json</c>
/// with its topology and weights manifest, and the binary weight shards beside it) into an ONNX graph that ONNX Runtime
/// runs: how the nsfwjs classifier, which ships only as TF.js files, becomes a model this service can load.
/// <para>
/// The ONNX model keeps the Keras input as it is (NHWC, float) and transposes once to ONNX's NCHW inside the graph. The
/// layers MobileNet-style classifiers use are translated: InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D,
/// BatchNormalization, ReLU (with a max value: Clip), Activation, Add, AveragePooling2D, MaxPooling2D,
/// GlobalAveragePooling2D, Flatten, Dense and Dropout (an identity at inference). Anything else is refused by name.
/// Weights quantised by the TF.js converter (uint8 or uint16, affine with <c>min</c> and <c>scale</c>) are dequantised
/// to float32 exactly as TF.js does (q · scale + min, in double, stored as float), so both runtimes multiply the same numbers.
/// </para>
/// </summary>
public static class TfjsLayersConverter
{
    public const long OpsetVersion = 13;

    /// <summary>Reads <paramref name="modelJson"/> and the shards its manifest names (paths relative to it) and builds the ONNX model.</summary>
    /// <param name="outputName">The name of the graph's output (the last layer's value).</param>
    public static byte[] Convert(string modelJson, string inputName = "input", string outputName = "probabilities")
    {
        var root = JsonNode.Parse(File.ReadAllText(modelJson)) ?? throw new TfjsConversionException($"{modelJson} is empty.");
        var directory = Path.GetDirectoryName(Path.GetFullPath(modelJson))!;
        var weights = ReadWeights(root["weightsManifest"]?.AsArray() ?? throw new TfjsConversionException("model.json has no weightsManifest."), directory);
        var topology = root["modelTopology"] ?? throw new TfjsConversionException("model.json has no modelTopology (is it a graph model? only layers models are converted).");
        var config = (topology["model_config"] ?? topology)["config"] ?? throw new TfjsConversionException("The topology has no model config.");
        var className = (topology["model_config"] ?? topology)["class_name"]?.GetValue<string>();
        if (className is not ("Model" or "Functional"))
            throw new TfjsConversionException($"The model is a Keras '{className}'; only functional models (Model) are converted.");
        return Build(config, weights, inputName, outputName).ToByteArray();
    }

    /// <summary>Every weight of the manifest, dequantised, by name; shards are read in order and sliced as the manifest lists them.</summary>
    private static Dictionary<string, (int[] Shape, float[] Values)> ReadWeights(JsonArray manifest, string directory)
    {
        var result = new Dictionary<string, (int[], float[])>(StringComparer.Ordinal);
        foreach (var group in manifest)
        {
            var bytes = group!["paths"]!.AsArray().SelectMany(p => File.ReadAllBytes(Path.Combine(directory, p!.GetValue<string>()))).ToArray();
            var offset = 0;
            foreach (var spec in group["weights"]!.AsArray())
            {
                var name = spec!["name"]!.GetValue<string>();
                var shape = spec["shape"]!.AsArray().Select(d => d!.GetValue<int>()).ToArray();
                var count = shape.Aggregate(1, (a, b) => a * b);
                var values = new float[count];
                var dtype = spec["dtype"]?.GetValue<string>() ?? "float32";
                if (dtype != "float32") throw new TfjsConversionException($"Weight {name} is {dtype}; only float32 weights are converted.");
                if (spec["quantization"] is { } q)
                {
                    var qType = q["dtype"]!.GetValue<string>();
                    double min = q["min"]?.GetValue<double>() ?? 0, scale = q["scale"]?.GetValue<double>() ?? 1;
                    if (qType == "uint8")
                        for (var i = 0; i < count; i++) values[i] = (float)(bytes[offset + i] * scale + min);
                    else if (qType == "uint16")
                        for (var i = 0; i < count; i++) values[i] = (float)(BitConverter.ToUInt16(bytes, offset + 2 * i) * scale + min);
                    else throw new TfjsConversionException($"Weight {name} is quantised as {qType}; uint8 and uint16 are converted.");
                    offset += count * (qType == "uint8" ? 1 : 2);
                }
                else
                {
                    Buffer.BlockCopy(bytes, offset, values, 0, count * 4);
                    offset += count * 4;
                }
                if (offset > bytes.Length) throw new TfjsConversionException($"The shards end before weight {name}.");
                result[name] = (shape, values);
            }
        }
        return result;
    }

    private static ModelProto Build(JsonNode config, Dictionary<string, (int[] Shape, float[] Values)> weights, string inputName, string outputName)
    {
        var graph = new GraphProto { Name = config["name"]?.GetValue<string>() ?? "converted" };
        // The ONNX value that carries each Keras layer's output (Dropout passes its input on).
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var layers = config["layers"]!.AsArray();
        var outputs = config["output_layers"]!.AsArray().Select(o => o![0]!.GetValue<string>()).ToList();
        if (outputs.Count != 1) throw new TfjsConversionException($"The model has {outputs.Count} outputs; one is converted.");

        foreach (var layer in layers)
        {
            var kind = layer!["class_name"]!.GetValue<string>();
            var c = layer["config"]!;
            var name = layer["name"]?.GetValue<string>() ?? c["name"]!.GetValue<string>();
            var inbound = (layer["inbound_nodes"]?.AsArray() ?? []).SelectMany(n => n!.AsArray()).Select(i => values[i![0]!.GetValue<string>()]).ToList();
            string Weight(string suffix, Func<(int[] Shape, float[] Values), (long[] Dims, float[] Data)>? reshape = null)
            {
                var key = $"{name}/{suffix}";
                if (!weights.TryGetValue(key, out var w)) throw new TfjsConversionException($"Layer {name} needs weight {key}, which the manifest does not list.");
                var (dims, data) = reshape?.Invoke(w) ?? (w.Shape.Select(d => (long)d).ToArray(), w.Values);
                graph.Initializer.Add(Tensor(key, dims, data));
                return key;
            }
            string Node(string op, IEnumerable<string> inputs, params AttributeProto[] attributes)
            {
                var output = $"{name}:{op}:{graph.Node.Count}";
                graph.Node.Add(new NodeProto { Name = output, OpType = op, Input = { inputs }, Output = { output }, Attribute = { attributes } });
                return output;
            }
            string Activate(string value, string? activation) => activation switch
            {
                null or "linear" => value,
                "relu" => Node("Relu", [value]),
                "relu6" => Node("Clip", [value, Scalar(graph, $"{name}/min", 0), Scalar(graph, $"{name}/max", 6)]),
                "sigmoid" => Node("Sigmoid", [value]),
                "tanh" => Node("Tanh", [value]),
                "softmax" => Node("Softmax", [value], Int("axis", -1)),
                _ => throw new TfjsConversionException($"Layer {name} uses activation '{activation}', which is not converted."),
            };
            if (c["data_format"]?.GetValue<string>() is { } format && format != "channels_last")
                throw new TfjsConversionException($"Layer {name} is {format}; only channels_last models are converted.");

            string result;
            switch (kind)
            {
                case "InputLayer":
                    var shape = c["batch_input_shape"]!.AsArray();
                    if (shape.Count != 4) throw new TfjsConversionException($"The input {name} has rank {shape.Count}; an image model's is 4 (NHWC).");
                    graph.Input.Add(new ValueInfoProto
                    {
                        Name = inputName,
                        Type = new TypeProto
                        {
                            TensorType = new TypeProto.Types.Tensor
                            {
                                ElemType = (int)TensorProto.Types.DataType.Float,
                                Shape = new TensorShapeProto
                                {
                                    Dim = { shape.Select(Dimension) },
                                },
                            },
                        },
                    });
                    // Keras is NHWC; ONNX's convolutions are NCHW: one transpose at the start.
                    result = Node("Transpose", [inputName], Ints("perm", 0, 3, 1, 2));
                    break;
                case "ZeroPadding2D":
                    var p = c["padding"]!.AsArray().Select(a => a!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray();
                    result = Node("Pad", [inbound[0], Int64s(graph, $"{name}/pads", 0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1])], String("mode", "constant"));
                    break;
                case "Conv2D":
                case "DepthwiseConv2D":
                {
                    var depthwise = kind == "DepthwiseConv2D";
                    var kernel = Weight(depthwise ? "depthwise_kernel" : "kernel", w => depthwise ? DepthwiseKernel(w) : ConvKernel(w));
                    var inputs = new List<string> { inbound[0], kernel };
                    if (c["use_bias"]?.GetValue<bool>() == true) inputs.Add(Weight("bias"));
                    var k = c["kernel_size"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray();
                    var strides = c["strides"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray();
                    var dilation = c["dilation_rate"]?.AsArray().Select(v => v!.GetValue<long>()).ToArray() ?? [1, 1];
                    var attributes = new List<AttributeProto> { Ints("kernel_shape", k), Ints("strides", strides), Ints("dilations", dilation) };
                    if (depthwise)
                    {
                        if ((c["depth_multiplier"]?.GetValue<int>() ?? 1) != 1) throw new TfjsConversionException($"Layer {name} has a depth multiplier other than 1.");
                        attributes.Add(Int("group", weights[$"{name}/depthwise_kernel"].Shape[2]));
                    }
                    // TF's 'same' pads the extra pixel at the end, as ONNX's SAME_UPPER does.
                    attributes.Add(c["padding"]!.GetValue<string>() == "same" ? String("auto_pad", "SAME_UPPER") : Ints("pads", 0, 0, 0, 0));
                    result = Activate(Node("Conv", inputs, [.. attributes]), c["activation"]?.GetValue<string>());
                    break;
                }
                case "BatchNormalization":
                {
                    var channels = weights[$"{name}/moving_mean"].Shape[0];
                    var gamma = c["scale"]?.GetValue<bool>() == false ? Constant(graph, $"{name}/gamma", channels, 1f) : Weight("gamma");
                    var beta = c["center"]?.GetValue<bool>() == false ? Constant(graph, $"{name}/beta", channels, 0f) : Weight("beta");
                    var axis = c["axis"] is JsonArray a ? a[0]!.GetValue<int>() : c["axis"]!.GetValue<int>();
                    if (axis is not (-1 or 3)) throw new TfjsConversionException($"Layer {name} normalises axis {axis}; only the channel axis is converted.");
                    result = Node("BatchNormalization", [inbound[0], gamma, beta, Weight("moving_mean"), Weight("moving_variance")],
                        Float("epsilon", c["epsilon"]!.GetValue<float>()));
                    break;
                }
                case "ReLU":
                {
                    var slope = c["negative_slope"]?.GetValue<double>() ?? 0;
                    var threshold = c["threshold"]?.GetValue<double>() ?? 0;
                    if (slope != 0 || threshold != 0) throw new TfjsConversionException($"Layer {name} is a leaky or thresholded ReLU, which is not converted.");
                    result = c["max_value"] is { } max && max.GetValueKind() == JsonValueKind.Number
                        ? Node("Clip", [inbound[0], Scalar(graph, $"{name}/min", 0), Scalar(graph, $"{name}/max", max.GetValue<float>())])
                        : Node("Relu", [inbound[0]]);
                    break;
                }
                case "Activation":
                    result = Activate(inbound[0], c["activation"]!.GetValue<string>());
                    break;
                case "Add":
                    result = inbound.Skip(1).Aggregate(inbound[0], (sum, next) => Node("Add", [sum, next]));
                    break;
                case "AveragePooling2D":
                case "MaxPooling2D":
                    result = Node(kind == "AveragePooling2D" ? "AveragePool" : "MaxPool", [inbound[0]],
                        Ints("kernel_shape", c["pool_size"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray()),
                        Ints("strides", c["strides"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray()),
                        c["padding"]!.GetValue<string>() == "same" ? String("auto_pad", "SAME_UPPER") : Ints("pads", 0, 0, 0, 0));
                    break;
                case "GlobalAveragePooling2D":
                    result = Node("Flatten", [Node("GlobalAveragePool", [inbound[0]])], Int("axis", 1));
                    break;
                case "Flatten":
                    // Keras flattens NHWC: back to channels-last first, so the order of features is Keras's.
                    result = Node("Flatten", [Node("Transpose", [inbound[0]], Ints("perm", 0, 2, 3, 1))], Int("axis", 1));
                    break;
                case "Dense":
                {
                    var inputs = new List<string> { inbound[0], Weight("kernel") };
                    if (c["use_bias"]?.GetValue<bool>() != false) inputs.Add(Weight("bias"));
                    result = Activate(Node("Gemm", inputs), c["activation"]?.GetValue<string>());
                    break;
                }
                case "Dropout":
                    result = inbound[0];
                    break;
                default:
                    throw new TfjsConversionException($"Layer {name} is a {kind}, which this converter does not translate.");
            }
            values[name] = result;
        }

        // The last value gets the graph's output name.
        graph.Node.Add(new NodeProto { Name = "output", OpType = "Identity", Input = { values[outputs[0]] }, Output = { outputName } });
        graph.Output.Add(new ValueInfoProto
        {
            Name = outputName,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
        });
        var model = new ModelProto { IrVersion = 8, ProducerName = "moderation tfjs-layers converter", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        return model;
    }

    /// <summary>A Keras input dimension: a number, or null for any size (the batch: N).</summary>
    private static TensorShapeProto.Types.Dimension Dimension(JsonNode? size, int index)
    {
        var dimension = new TensorShapeProto.Types.Dimension();
        if (size is null) dimension.DimParam = index == 0 ? "N" : $"d{index}";
        else dimension.DimValue = size.GetValue<long>();
        return dimension;
    }

    /// <summary>Keras [kh, kw, in, out] to ONNX [out, in, kh, kw].</summary>
    private static (long[], float[]) ConvKernel((int[] Shape, float[] Values) w)
    {
        int kh = w.Shape[0], kw = w.Shape[1], cin = w.Shape[2], cout = w.Shape[3];
        var data = new float[w.Values.Length];
        for (var y = 0; y < kh; y++)
            for (var x = 0; x < kw; x++)
                for (var i = 0; i < cin; i++)
                    for (var o = 0; o < cout; o++)
                        data[((o * cin + i) * kh + y) * kw + x] = w.Values[((y * kw + x) * cin + i) * cout + o];
        return ([cout, cin, kh, kw], data);
    }

    /// <summary>Keras depthwise [kh, kw, in, 1] to ONNX grouped [in, 1, kh, kw].</summary>
    private static (long[], float[]) DepthwiseKernel((int[] Shape, float[] Values) w)
    {
        int kh = w.Shape[0], kw = w.Shape[1], channels = w.Shape[2];
        var data = new float[w.Values.Length];
        for (var y = 0; y < kh; y++)
            for (var x = 0; x < kw; x++)
                for (var ch = 0; ch < channels; ch++)
                    data[(ch * kh + y) * kw + x] = w.Values[(y * kw + x) * channels + ch];
        return ([channels, 1, kh, kw], data);
    }

    private static TensorProto Tensor(string name, long[] dims, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static string Scalar(GraphProto graph, string name, float value)
    {
        graph.Initializer.Add(Tensor(name, [], [value]));
        return name;
    }

    private static string Constant(GraphProto graph, string name, int count, float value)
    {
        graph.Initializer.Add(Tensor(name, [count], Enumerable.Repeat(value, count).ToArray()));
        return name;
    }

    private static string Int64s(GraphProto graph, string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        graph.Initializer.Add(tensor);
        return name;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static AttributeProto Ints(string name, params long[] values) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } };

    private static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };
}
