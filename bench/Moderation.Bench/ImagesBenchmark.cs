using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Moderation.Core.Media;
using SkiaSharp;

namespace Moderation.Bench;

/// <summary>
/// Image embedding throughput: <see cref="ImageEmbedder"/> on encoded JPEG files (decode, resize, both graphs, images
/// run side by side) against the raw ResNet18 sessions on the same images already decoded to tensors, in two raw
/// configurations (one image at a time with ONNX Runtime's own threads over every core, and one image per core with
/// single-threaded sessions); the better raw rate is the ceiling. Paired rounds; --uploads N images (default 64).
/// </summary>
public static class ImagesBenchmark
{
    public static Task<int> RunAsync(BenchOptions o)
    {
        var count = o.Uploads == new BenchOptions().Uploads ? 64 : o.Uploads;
        var files = Enumerable.Range(0, count).Select(Photo).ToList();
        var tensors = files.Select(f => ImageDecoder.DecodeRgbSquare(f, ImageEmbedder.Side)).ToList();
        var root = ImageEmbedder.DefaultModelsDirectory;
        using var embedder = new ImageEmbedder();
        using var wide = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var single = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var prepWide = new InferenceSession(Path.Combine(root, "ResNetPrepOnnx", "ResNetPreprocess.onnx"), wide);
        using var netWide = new InferenceSession(Path.Combine(root, "ResNet18Onnx", "ResNet18.onnx"), wide);
        using var prepSingle = new InferenceSession(Path.Combine(root, "ResNetPrepOnnx", "ResNetPreprocess.onnx"), single);
        using var netSingle = new InferenceSession(Path.Combine(root, "ResNet18Onnx", "ResNet18.onnx"), single);

        float[] Raw(InferenceSession prep, InferenceSession net, float[] pixels)
        {
            var input = new DenseTensor<float>(pixels, [1, 3, ImageEmbedder.Side, ImageEmbedder.Side]);
            using var prepared = prep.Run([NamedOnnxValue.CreateFromTensor(prep.InputMetadata.Keys.Single(), input)]);
            using var output = net.Run([NamedOnnxValue.CreateFromTensor(net.InputMetadata.Keys.Single(), prepared.First().AsTensor<float>())]);
            return output.First().AsEnumerable<float>().ToArray();
        }

        // Warm up every path once, and check the pipeline computes what the raw sessions compute.
        var check = embedder.EmbedFiles([files[0]])[0];
        var reference = Raw(prepWide, netWide, tensors[0]);
        var maxDifference = check.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        if (maxDifference > 1e-3) throw new InvalidOperationException($"the embedder and the raw session disagree by {maxDifference}");
        Raw(prepSingle, netSingle, tensors[0]);

        Console.WriteLine($"images: {count} JPEG photos 320x240, ResNet18 ({ImageEmbedder.Dimensions} features), {Environment.ProcessorCount} cores, {o.Rounds} rounds");
        Console.WriteLine($"{"round",5} {"raw 1x/s",9} {"raw Nx/s",9} {"embedder/s",11} {"ratio",7} {"decode/s",9}");
        var ratios = new List<double>();
        var rawRates = new List<double>();
        var pipelineRates = new List<double>();
        for (var round = 1; round <= o.Rounds; round++)
        {
            var t0 = Stopwatch.GetTimestamp();
            foreach (var t in tensors) Raw(prepWide, netWide, t);
            var rawSequential = count / Stopwatch.GetElapsedTime(t0).TotalSeconds;

            t0 = Stopwatch.GetTimestamp();
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => Raw(prepSingle, netSingle, tensors[i]));
            var rawParallel = count / Stopwatch.GetElapsedTime(t0).TotalSeconds;

            t0 = Stopwatch.GetTimestamp();
            embedder.EmbedFiles(files);
            var pipeline = count / Stopwatch.GetElapsedTime(t0).TotalSeconds;

            // The part of the embedder's work that the raw sessions do not do: decoding and resizing, on one core.
            t0 = Stopwatch.GetTimestamp();
            foreach (var f in files) ImageDecoder.DecodeRgbSquare(f, ImageEmbedder.Side);
            var decode = count / Stopwatch.GetElapsedTime(t0).TotalSeconds;

            var ceiling = Math.Max(rawSequential, rawParallel);
            rawRates.Add(ceiling);
            pipelineRates.Add(pipeline);
            ratios.Add(pipeline / ceiling);
            Console.WriteLine($"{round,5} {Measure.F(rawSequential, "0.0"),9} {Measure.F(rawParallel, "0.0"),9} {Measure.F(pipeline, "0.0"),11} {Measure.F(pipeline / ceiling, "0.000"),7} {Measure.F(decode, "0"),9}");
        }
        Console.WriteLine($"images: ratio={Measure.F(Measure.Median(ratios))} embedder_per_s={Measure.F(Measure.Median(pipelineRates), "0.0")} raw_per_s={Measure.F(Measure.Median(rawRates), "0.0")} images={count} rounds={o.Rounds} same_features=true target=0.9");
        return Task.FromResult(0);
    }

    /// <summary>A JPEG photo-like test image: a gradient sky, soft shapes and texture, from a seed.</summary>
    private static byte[] Photo(int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(320, 240);
        using (var canvas = new SKCanvas(bitmap))
        {
            using var sky = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, 240),
                [new SKColor((byte)random.Next(256), (byte)random.Next(256), 255), new SKColor(40, (byte)random.Next(256), 40)], SKShaderTileMode.Clamp) };
            canvas.DrawRect(0, 0, 320, 240, sky);
            for (var i = 0; i < 40; i++)
            {
                using var paint = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), 200), IsAntialias = true };
                canvas.DrawCircle(random.Next(320), random.Next(240), 5 + random.Next(60), paint);
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 85);
        return data.ToArray();
    }
}
