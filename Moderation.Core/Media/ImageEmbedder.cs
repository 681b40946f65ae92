using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Moderation.Core.Media;

/// <summary>
/// ResNet18 image embeddings (512 numbers per image) from the ONNX graphs that ship in the NuGet package
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (copied to <c>DnnImageModels/</c> beside the program; nothing is
/// downloaded): the package's preprocessing graph (RGB 0–255 in, normalised out), then ResNet18 up to its global
/// pooling. Both graphs fix the batch at 1, so a batch runs image by image on several threads at once (sessions
/// are safe to call concurrently); decoding runs on the same threads. One instance per process: it owns the sessions.
/// </summary>
public sealed class ImageEmbedder : IDisposable
{
    public const int Side = 224;
    public const int Dimensions = 512;
    public const string ModelName = "resnet18-dnnimagefeaturizer-0.23.1";

    private readonly InferenceSession prepare;
    private readonly InferenceSession resnet;
    private readonly string prepareInput, prepareOutput, resnetInput, resnetOutput;
    private readonly int parallelism;

    /// <param name="modelsDirectory">The package's <c>DnnImageModels</c> folder; default: beside the program.</param>
    /// <param name="parallelism">Images run at once; default: one per core.</param>
    public ImageEmbedder(string? modelsDirectory = null, int? parallelism = null)
    {
        var root = modelsDirectory ?? DefaultModelsDirectory;
        var prepPath = Path.Combine(root, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        var modelPath = Path.Combine(root, "ResNet18Onnx", "ResNet18.onnx");
        foreach (var path in new[] { prepPath, modelPath })
            if (!File.Exists(path))
                throw new FileNotFoundException($"The ResNet18 model file {path} is missing: it ships in the Microsoft.ML.DnnImageFeaturizer.ResNet18 package; build or publish the program with it.", path);
        this.parallelism = Math.Max(1, parallelism ?? Environment.ProcessorCount);
        // One thread per call: concurrency comes from running several images at once, which is what a batch-1 graph allows.
        using var sessionOptions = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        prepare = new InferenceSession(prepPath, sessionOptions);
        resnet = new InferenceSession(modelPath, sessionOptions);
        prepareInput = prepare.InputMetadata.Keys.Single();
        prepareOutput = prepare.OutputMetadata.Keys.Single();
        resnetInput = resnet.InputMetadata.Keys.Single();
        resnetOutput = resnet.OutputMetadata.Keys.Single();
    }

    public static string DefaultModelsDirectory => Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    /// <summary>Embeds encoded image files (first frame of each); a file that cannot be decoded throws <see cref="MediaRejectedException"/>.</summary>
    public float[][] EmbedFiles(IReadOnlyList<byte[]> files, DecodeLimits? limits = null, CancellationToken ct = default)
    {
        var result = new float[files.Count][];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct },
            i => result[i] = EmbedPixels(ImageDecoder.DecodeRgbSquare(files[i], Side, limits)));
        return result;
    }

    /// <summary>Embeds images already decoded to planar RGB 224×224 (0–255), one after another on this thread.</summary>
    public float[] EmbedPixels(float[] planarRgb)
    {
        if (planarRgb.Length != 3 * Side * Side) throw new ArgumentException($"Expected {3 * Side * Side} values (3×{Side}×{Side}).", nameof(planarRgb));
        var input = new DenseTensor<float>(planarRgb, [1, 3, Side, Side]);
        using var prepared = prepare.Run([NamedOnnxValue.CreateFromTensor(prepareInput, input)]);
        var normalised = prepared.First(v => v.Name == prepareOutput).AsTensor<float>();
        using var output = resnet.Run([NamedOnnxValue.CreateFromTensor(resnetInput, normalised)]);
        var features = output.First(v => v.Name == resnetOutput).AsEnumerable<float>().ToArray();
        if (features.Length != Dimensions) throw new InvalidDataException($"ResNet18 returned {features.Length} numbers, not {Dimensions}.");
        return features;
    }

    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }

    public void Dispose()
    {
        prepare.Dispose();
        resnet.Dispose();
    }
}
