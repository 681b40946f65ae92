using Google.Protobuf;
using Onnx;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>
/// Real models made at test time: a small ONNX classifier written with ONNX's own protobuf classes (OnnxSharp's
/// generated types) and run by ONNX Runtime, and two visually distinct classes of generated pictures to train on.
/// </summary>
internal static class TestImageModels
{
    /// <summary>
    /// An ONNX graph: input <c>pixels</c> [N or 1, 3, size, size] → GlobalAveragePool → Flatten → Gemm (3×2 weights)
    /// → output <c>logits</c> [N, 2]. Label 1 rises with red and falls with blue: a "red scene" detector.
    /// </summary>
    public static byte[] RedDetector(int size = 32, bool dynamicBatch = true, string inputName = "pixels", string outputName = "logits")
    {
        static TensorShapeProto.Types.Dimension Dim(long value) => new() { DimValue = value };
        static TensorShapeProto.Types.Dimension Batch(bool dynamic) => dynamic ? new() { DimParam = "N" } : new() { DimValue = 1 };
        static ValueInfoProto Value(string name, params TensorShapeProto.Types.Dimension[] dims) => new()
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto { Dim = { dims } } } },
        };
        static TensorProto Tensor(string name, long[] dims, float[] values)
        {
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            t.Dims.AddRange(dims);
            t.FloatData.AddRange(values);
            return t;
        }

        var graph = new GraphProto { Name = "red-detector" };
        graph.Input.Add(Value(inputName, Batch(dynamicBatch), Dim(3), Dim(size), Dim(size)));
        graph.Output.Add(Value(outputName, Batch(dynamicBatch), Dim(2)));
        // Inputs are scaled to 0–1 by the manifest: (red − blue) × 8 separates a red scene from a blue one by several logits.
        graph.Initializer.Add(Tensor("weights", [3, 2], [-4f, 4f, 0f, 0f, 4f, -4f]));
        graph.Initializer.Add(Tensor("bias", [2], [0f, 0f]));
        graph.Node.Add(new NodeProto { OpType = "GlobalAveragePool", Input = { inputName }, Output = { "pooled" }, Name = "pool" });
        graph.Node.Add(new NodeProto
        {
            OpType = "Flatten", Input = { "pooled" }, Output = { "flat" }, Name = "flatten",
            Attribute = { new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 } },
        });
        graph.Node.Add(new NodeProto { OpType = "Gemm", Input = { "flat", "weights", "bias" }, Output = { outputName }, Name = "classify" });
        var model = new ModelProto { IrVersion = 8, ProducerName = "moderation-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model.ToByteArray();
    }

    /// <summary>The manifest for <see cref="RedDetector"/>: label 1 scores harm.violence.</summary>
    public static string RedDetectorManifest(int size = 32, string version = "1", string inputName = "pixels", string outputName = "logits", string category = "harm.violence") => $$"""
        {
          "name": "red-detector",
          "version": "{{version}}",
          "input": { "name": "{{inputName}}", "size": {{size}}, "layout": "NCHW", "channelOrder": "RGB", "scale": 0.00392156862745098, "mean": [0, 0, 0], "std": [1, 1, 1] },
          "output": { "name": "{{outputName}}", "activation": "softmax" },
          "labels": [ { "index": 0, "name": "calm" }, { "index": 1, "name": "red", "category": "{{category}}" } ]
        }
        """;

    /// <summary>
    /// A generated picture of one of two visually distinct classes: class 1 a warm scene of red and orange discs and
    /// stripes, class 0 a cool scene of blue and green soft shapes. Different for every seed.
    /// </summary>
    public static byte[] Scene(bool warm, int seed, int width = 160, int height = 120, SKEncodedImageFormat format = SKEncodedImageFormat.Jpeg)
    {
        var random = new Random(seed * 2 + (warm ? 1 : 0));
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(warm ? new SKColor((byte)random.Next(150, 256), (byte)random.Next(0, 90), (byte)random.Next(0, 50))
                : new SKColor((byte)random.Next(0, 60), (byte)random.Next(60, 200), (byte)random.Next(150, 256)));
            for (var i = 0; i < 12; i++)
            {
                using var paint = new SKPaint
                {
                    IsAntialias = true,
                    Color = warm ? new SKColor((byte)random.Next(180, 256), (byte)random.Next(0, 140), 0)
                        : new SKColor(0, (byte)random.Next(80, 220), (byte)random.Next(120, 256)),
                    StrokeWidth = warm ? 3 + random.Next(6) : 0,
                };
                if (warm && i % 2 == 0)
                    canvas.DrawLine(random.Next(width), 0, random.Next(width), height, paint);
                else
                    canvas.DrawCircle(random.Next(width), random.Next(height), 6 + random.Next(warm ? 20 : 40), paint);
            }
        }
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }
}
