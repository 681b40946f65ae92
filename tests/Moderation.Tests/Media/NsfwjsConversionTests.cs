using System.Text.Json;
using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Moderation.Core.Onnx;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>
/// The shipped nsfwjs classifier (models/image/nsfwjs-mobilenet-v2) against the original: the same 24 images run once
/// through the TF.js model with @tensorflow/tfjs in Node (make-reference.cjs; Fixtures/nsfwjs/reference.json) and here
/// through the converted ONNX model in ONNX Runtime, on the same 224×224 inputs. And the converter run again on the
/// TF.js files that ship beside it makes the same model.
/// </summary>
public sealed class NsfwjsConversionTests(ITestOutputHelper output)
{
    public static string ModelDirectory => Path.Combine(AppContext.BaseDirectory, "models", "image", "nsfwjs-mobilenet-v2");

    private static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Media", "Fixtures", "nsfwjs");

    /// <summary>A 224×224 PNG as NHWC floats scaled as nsfwjs scales them (value / 255).</summary>
    private static float[] Pixels(string file)
    {
        using var bitmap = SKBitmap.Decode(File.ReadAllBytes(file)).Copy(SKColorType.Rgba8888);
        bitmap.Width.Should().Be(224);
        var pixels = bitmap.GetPixelSpan();
        var result = new float[224 * 224 * 3];
        for (var i = 0; i < 224 * 224; i++)
            for (var c = 0; c < 3; c++) result[3 * i + c] = pixels[4 * i + c] / 255f;
        return result;
    }

    private static float[][] Run(byte[] onnx, IReadOnlyList<string> files)
    {
        using var session = new InferenceSession(onnx);
        return files.Select(f =>
        {
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(Pixels(f), [1, 224, 224, 3]))]);
            return results.Single(r => r.Name == "probabilities").AsEnumerable<float>().ToArray();
        }).ToArray();
    }

    [Fact]
    public void The_converted_model_gives_the_tfjs_outputs_within_1e_3_on_24_images()
    {
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "reference.json")));
        var rows = reference.RootElement.GetProperty("results").EnumerateArray()
            .Select(r => (File: r.GetProperty("file").GetString()!, Expected: r.GetProperty("probabilities").EnumerateArray().Select(p => p.GetDouble()).ToArray()))
            .ToList();
        rows.Should().HaveCountGreaterThanOrEqualTo(20);
        var ours = Run(File.ReadAllBytes(Path.Combine(ModelDirectory, "model.onnx")), rows.Select(r => Path.Combine(Fixtures, "images", r.File)).ToList());
        var worst = 0.0;
        for (var i = 0; i < rows.Count; i++)
        {
            ours[i].Should().HaveCount(5);
            var diff = rows[i].Expected.Select((e, k) => Math.Abs(e - ours[i][k])).Max();
            worst = Math.Max(worst, diff);
            output.WriteLine($"{rows[i].File}: max |diff| {diff:E2}; ours {string.Join(" ", ours[i].Select(p => p.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)))}");
        }
        output.WriteLine($"worst max |diff| over {rows.Count} images: {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(1e-3);
    }

    [Fact]
    public void Converting_the_shipped_tfjs_files_again_makes_the_shipped_model()
    {
        var converted = TfjsLayersConverter.Convert(Path.Combine(ModelDirectory, "tfjs", "model.json"));
        converted.Should().Equal(File.ReadAllBytes(Path.Combine(ModelDirectory, "model.onnx")));
    }

    [Fact]
    public void A_layer_the_converter_does_not_know_is_refused_by_name()
    {
        var directory = Directory.CreateTempSubdirectory("tfjs-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "model.json"), """
                {"modelTopology":{"model_config":{"class_name":"Model","config":{"name":"m","layers":[
                  {"class_name":"InputLayer","name":"in","config":{"name":"in","batch_input_shape":[null,8,8,3]},"inbound_nodes":[]},
                  {"class_name":"LSTM","name":"memory","config":{"name":"memory"},"inbound_nodes":[[["in",0,0,{}]]]}],
                  "input_layers":[["in",0,0]],"output_layers":[["memory",0,0]]}}},
                 "weightsManifest":[]}
                """);
            var act = () => TfjsLayersConverter.Convert(Path.Combine(directory, "model.json"));
            act.Should().Throw<TfjsConversionException>().WithMessage("*memory is a LSTM*");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
