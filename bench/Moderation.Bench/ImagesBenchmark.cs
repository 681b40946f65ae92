using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Moderation.Core.Hosting;
using Moderation.Core.Media;
using Moderation.Core.Scoring;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
using SkiaSharp;

namespace Moderation.Bench;

/// <summary>
/// Image scoring throughput: the full <see cref="ImageScorer"/> (read from the media store, decode, resize, ResNet18 in
/// mini-batches, three image heads, per-frame evidence and embeddings built; not stored) on encoded JPEG uploads,
/// against the raw ResNet18 sessions on the same images already decoded to tensors. The raw side runs in three
/// configurations and the best is the ceiling: the shipped batch-1 graphs one image per core on single-threaded
/// sessions; the shipped graphs one image at a time with ONNX Runtime's threads over every core; and the graphs with
/// the batch made dynamic, mini-batches of 8 one per core (what the scorer runs). <c>ratio</c> is against the best raw
/// configuration of each round, <c>ratio_same_config</c> against the raw sessions run as the scorer runs them.
/// --uploads N images (default 64), --rounds N.
/// </summary>
public static class ImagesBenchmark
{
    public static async Task<int> RunAsync(BenchOptions o)
    {
        var count = o.Uploads == new BenchOptions().Uploads ? 64 : o.Uploads;
        var files = Enumerable.Range(0, count).Select(Photo).ToList();
        var tensors = files.Select(f => ImageDecoder.DecodeRgbSquare(f, ImageEmbedder.Side)).ToList();
        var root = ImageEmbedder.DefaultModelsDirectory;
        var cores = Environment.ProcessorCount;
        using var wide = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var single = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        var prepPath = Path.Combine(root, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        var netPath = Path.Combine(root, "ResNet18Onnx", "ResNet18.onnx");
        using var prepWide = new InferenceSession(prepPath, wide);
        using var netWide = new InferenceSession(netPath, wide);
        using var prepSingle = new InferenceSession(prepPath, single);
        using var netSingle = new InferenceSession(netPath, single);
        using var prepDynamic = new InferenceSession(ImageEmbedder.DynamicBatch(prepPath), single);
        using var netDynamic = new InferenceSession(ImageEmbedder.DynamicBatch(netPath), single);
        // The shipped classifier (nsfwjs, converted to ONNX) runs on every frame too: the raw side runs it bare.
        var nsfwDirectory = Path.Combine(ShippedImageModelsRegistrar.ShippedDirectory, "nsfwjs-mobilenet-v2");
        var nsfwOnnx = File.ReadAllBytes(Path.Combine(nsfwDirectory, "model.onnx"));
        var nsfwManifest = ImageModelManifest.Parse(File.ReadAllText(Path.Combine(nsfwDirectory, "manifest.json")));
        using var nsfwWide = new InferenceSession(nsfwOnnx, wide);
        using var nsfwSingle = new InferenceSession(nsfwOnnx, single);
        // nsfwjs's input: NHWC, value / 255 (the same decoded squares the scorer makes, laid out once here).
        var nhwc = tensors.Select(t =>
        {
            var plane = ImageEmbedder.Side * ImageEmbedder.Side;
            var x = new float[3 * plane];
            for (var p = 0; p < plane; p++)
                for (var c = 0; c < 3; c++) x[3 * p + c] = t[c * plane + p] / 255f;
            return x;
        }).ToList();

        float[] Raw(InferenceSession prep, InferenceSession net, IReadOnlyList<float[]> batch)
        {
            var input = new DenseTensor<float>(batch.SelectMany(t => t).ToArray(), [batch.Count, 3, ImageEmbedder.Side, ImageEmbedder.Side]);
            using var prepared = prep.Run([NamedOnnxValue.CreateFromTensor(prep.InputMetadata.Keys.Single(), input)]);
            using var output = net.Run([NamedOnnxValue.CreateFromTensor(net.InputMetadata.Keys.Single(), prepared.First().AsTensor<float>())]);
            return output.First().AsEnumerable<float>().ToArray();
        }
        void Classify(InferenceSession session, IReadOnlyList<int> ids)
        {
            var input = new DenseTensor<float>(ids.SelectMany(i => nhwc[i]).ToArray(), [ids.Count, ImageEmbedder.Side, ImageEmbedder.Side, 3]);
            using var output = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
            _ = output.First().AsEnumerable<float>().Sum();
        }
        var miniBatches = tensors.Chunk(8).ToList();

        // The scorer as a worker runs it, reading uploads from a media store, with three heads trained here on generated
        // pictures (their cost is the point, not their judgement).
        var data = Directory.CreateTempSubdirectory("moderation-bench-images-").FullName;
        try
        {
            var store = new MediaStore(Options.Create(new ModerationOptions { DataDirectory = data }));
            var uploads = new List<UploadContent>();
            for (var i = 0; i < count; i++)
            {
                var sha = await store.PutAsync(files[i], CancellationToken.None);
                uploads.Add(new UploadContent($"u{i}", $"e{i}", null, null, [], null, [], null,
                    [new MediaItem(0, MediaKind.Image, "photo.jpg", "image/jpeg", files[i].Length, sha)]));
            }
            using var embedder = new ImageEmbedder();
            var training = Enumerable.Range(0, 16).Select(i => tensors[i % count]).ToList();
            var trainingEmbeddings = embedder.Embed(training);
            var labels = training.Select((_, i) => i % 2 == 0).ToList();
            var head = ImageHead.Train(trainingEmbeddings, labels);
            using var nsfw = CustomImageModel.Load(nsfwOnnx, nsfwManifest);
            var heads = new FixedImageModels(new ImageModelSet(
                ImageScoringOptions.DefaultCategories.Select(c => new LoadedImageHead(c, $"{c}-bench", head)).ToList(),
                [new LoadedCustomModel("harm.sexual", nsfwManifest.RegistryVersion, nsfw)]));
            var mediaOptions = Options.Create(new MediaScoringOptions());
            var imageOptions = Options.Create(new ImageScoringOptions());
            var scorer = new ImageScorer(embedder, heads, new MediaFrameReader(store, new VideoFrameSampler(mediaOptions), mediaOptions),
                new MediaFrameLog(new ModerationDatabase(SqlDialect.For(DatabaseProvider.Sqlite), $"Data Source={Path.Combine(data, "unused.db")}"), TimeProvider.System),
                imageOptions, mediaOptions, NullLogger<ImageScorer>.Instance);

            // Warm up every path once, and check the scorer computes what the raw sessions compute.
            var analysis = await scorer.AnalyseAsync(uploads.Take(2).ToList(), CancellationToken.None);
            var reference = ImageEmbedder.Normalized(Raw(prepWide, netWide, [tensors[0]]));
            var emitted = analysis.Scores[0].Embeddings![0].Vector;
            var maxDifference = emitted.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
            if (maxDifference > 1e-4) throw new InvalidOperationException($"the scorer's embedding and the raw session's disagree by {maxDifference}");
            if (analysis.Scores[0].Scores.Count != 4) throw new InvalidOperationException("the scorer did not run the three heads and the classifier");
            Raw(prepSingle, netSingle, [tensors[0]]);
            Raw(prepDynamic, netDynamic, miniBatches[0]);
            Classify(nsfwSingle, [0]);
            Classify(nsfwWide, [0]);
            Classify(nsfwSingle, Enumerable.Range(0, 8).ToList());

            // This machine is shared and its load swings within seconds, so the configurations are interleaved in
            // slices of 16 images (two mini-batches of 8 per core on 2 cores: a full batch for every configuration),
            // the order rotating per slice, and each round sums the time of every configuration over all slices.
            const int slice = 16;
            var slices = Enumerable.Range(0, (count + slice - 1) / slice).Select(k => Enumerable.Range(k * slice, Math.Min(slice, count - k * slice)).ToArray()).ToList();
            var steps = new (string Name, Func<int[], Task> Run)[]
            {
                ("raw 1/core", ids =>
                {
                    Parallel.For(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = cores }, i =>
                    {
                        Raw(prepSingle, netSingle, [tensors[ids[i]]]);
                        Classify(nsfwSingle, [ids[i]]);
                    });
                    return Task.CompletedTask;
                }),
                ("raw wide", ids =>
                {
                    foreach (var i in ids)
                    {
                        Raw(prepWide, netWide, [tensors[i]]);
                        Classify(nsfwWide, [i]);
                    }
                    return Task.CompletedTask;
                }),
                ("raw 8/core", ids =>
                {
                    var chunks = ids.Chunk(8).ToList();
                    Parallel.For(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = cores }, b =>
                    {
                        Raw(prepDynamic, netDynamic, chunks[b].Select(i => tensors[i]).ToList());
                        Classify(nsfwSingle, chunks[b]);
                    });
                    return Task.CompletedTask;
                }),
                ("scorer", async ids => await scorer.AnalyseAsync(ids.Select(i => uploads[i]).ToList(), CancellationToken.None)),
                // Diagnostic: decoding and embedding alone (the embedder on the encoded files), without the scorer's reads and heads.
                ("embedder", ids => { embedder.EmbedFiles(ids.Select(i => files[i]).ToList()); return Task.CompletedTask; }),
            };

            Console.WriteLine($"images: {count} JPEG photos 320x240 as uploads, ResNet18 ({ImageEmbedder.Dimensions} features) + 3 heads + the shipped nsfwjs classifier, {cores} cores, {o.Rounds} rounds, slices of {slice} interleaved");
            Console.WriteLine($"{"round",5} {"raw 1/core",11} {"raw wide",9} {"raw 8/core",11} {"scorer/s",9} {"ratio",7} {"same cfg",9} {"embedder/s",11} {"decode/s",9}");
            var ratios = new List<double>();
            var sameConfig = new List<double>();
            var rawRates = new List<double>();
            var scorerRates = new List<double>();
            for (var round = 1; round <= o.Rounds; round++)
            {
                var seconds = new double[steps.Length];
                for (var k = 0; k < slices.Count; k++)
                    for (var j = 0; j < steps.Length; j++)
                    {
                        var step = (j + k + round) % steps.Length;
                        var t0 = Stopwatch.GetTimestamp();
                        await steps[step].Run(slices[k]);
                        seconds[step] += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    }
                var rates = seconds.Select(t => count / t).ToArray();

                // The part of the scorer's work that the raw sessions do not do: decoding and resizing, on one core.
                var d0 = Stopwatch.GetTimestamp();
                foreach (var f in files) ImageDecoder.DecodeRgbSquare(f, ImageEmbedder.Side);
                var decode = count / Stopwatch.GetElapsedTime(d0).TotalSeconds;

                var ceiling = rates[..3].Max();
                rawRates.Add(ceiling);
                scorerRates.Add(rates[3]);
                ratios.Add(rates[3] / ceiling);
                sameConfig.Add(rates[3] / rates[2]);
                Console.WriteLine($"{round,5} {Measure.F(rates[0], "0.0"),11} {Measure.F(rates[1], "0.0"),9} {Measure.F(rates[2], "0.0"),11} {Measure.F(rates[3], "0.0"),9} {Measure.F(rates[3] / ceiling, "0.000"),7} {Measure.F(rates[3] / rates[2], "0.000"),9} {Measure.F(rates[4], "0.0"),11} {Measure.F(decode, "0"),9}");
            }
            // OCR's cost per frame, beside the image scorer's: Tesseract (two readings when the first is unsure) on the same
            // photos (no writing in them) and on frames with two lines of caption, one process per frame, one per core.
            var (photoMs, textMs) = await OcrCostAsync(files, cores);
            var scorerMs = 1000 / Measure.Median(scorerRates);
            Console.WriteLine($"ocr: {Measure.F(photoMs, "0.0")} ms a photo frame without text, {Measure.F(textMs, "0.0")} ms a 960x540 frame with a caption (per frame, {cores} in parallel); the image scorer: {Measure.F(scorerMs, "0.0")} ms a frame");
            Console.WriteLine($"images: ratio={Measure.F(Measure.Median(ratios))} ratio_same_config={Measure.F(Measure.Median(sameConfig))} scorer_per_s={Measure.F(Measure.Median(scorerRates), "0.0")} raw_per_s={Measure.F(Measure.Median(rawRates), "0.0")} images={count} rounds={o.Rounds} same_features=true target=0.9 classifier=nsfwjs-mobilenet-v2 ocr_ms_photo={Measure.F(photoMs, "0.0")} ocr_ms_caption={Measure.F(textMs, "0.0")} ocr_vs_scorer={Measure.F(textMs / scorerMs, "0.0")}");
            return 0;
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<(double PhotoMs, double CaptionMs)> OcrCostAsync(IReadOnlyList<byte[]> photos, int cores)
    {
        var runner = new TesseractRunner(Options.Create(new OcrOptions()));
        static byte[] Bytes(float[] luma) => luma.Select(v => (byte)Math.Clamp(MathF.Round(v), 0, 255)).ToArray();
        var photoFrames = photos.Select(p => ImageDecoder.DecodeLuma(p).Single()).Select(f => (Bytes(f.Luma), f.Width, f.Height)).ToList();
        var captions = Enumerable.Range(0, 16).Select(i => Caption(i)).ToList();
        async Task<double> TimeAsync(IReadOnlyList<(byte[] Luma, int Width, int Height)> frames)
        {
            await runner.ReadPictureAsync(frames[0].Luma, frames[0].Width, frames[0].Height, CancellationToken.None);
            var t0 = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(frames, new ParallelOptions { MaxDegreeOfParallelism = cores },
                async (f, ct) => await runner.ReadPictureAsync(f.Luma, f.Width, f.Height, ct));
            return Stopwatch.GetElapsedTime(t0).TotalMilliseconds / frames.Count;
        }
        return (await TimeAsync(photoFrames), await TimeAsync(captions));
    }

    /// <summary>A 960×540 grey frame: a photo-like background with two lines of white caption with a dark outline.</summary>
    private static (byte[] Luma, int Width, int Height) Caption(int seed)
    {
        const int width = 960, height = 540;
        using var bitmap = SKBitmap.Decode(Photo(seed)).Resize(new SKImageInfo(width, height), new SKSamplingOptions(SKFilterMode.Linear));
        var font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
        using (var canvas = new SKCanvas(bitmap))
        using (var typeface = File.Exists(font) ? SKTypeface.FromFile(font) : SKTypeface.Default)
        using (var skFont = new SKFont(typeface, 40))
        using (var fill = new SKPaint { Color = SKColors.White, IsAntialias = true })
        using (var outline = new SKPaint { Color = SKColors.Black, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 4 })
            foreach (var (line, y) in new[] { ("when the bench finally runs", 420f), ($"and it is round number {seed}", 480f) })
            {
                canvas.DrawText(line, 30, y, SKTextAlign.Left, skFont, outline);
                canvas.DrawText(line, 30, y, SKTextAlign.Left, skFont, fill);
            }
        var luma = new byte[width * height];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                luma[y * width + x] = (byte)Math.Clamp(MathF.Round(PdqHasher.Luma(c.Red, c.Green, c.Blue)), 0, 255);
            }
        return (luma, width, height);
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
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Jpeg, 85);
        return encoded.ToArray();
    }
}
