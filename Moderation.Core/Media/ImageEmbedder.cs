using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace Moderation.Core.Media;

/// <summary>
/// How <see cref="ImageEmbedder"/> spreads work over the cores: <see cref="Parallelism"/> workers, each running
/// mini-batches of <see cref="BatchSize"/> images through sessions with <see cref="ThreadsPerRun"/> threads.
/// </summary>
/// <param name="Parallelism">Mini-batches run at once; default one per core.</param>
/// <param name="BatchSize">Images per ONNX Runtime call. 1 is the shipped graph's own batch.</param>
/// <param name="ThreadsPerRun">ONNX Runtime's threads inside one call; 1 when the concurrency comes from <see cref="Parallelism"/>.</param>
public sealed record EmbedderThreading(int? Parallelism = null, int BatchSize = 8, int ThreadsPerRun = 1);

/// <summary>
/// ResNet18 image embeddings (512 numbers per image) from the ONNX graphs that ship in the NuGet package
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (copied to <c>DnnImageModels/</c> beside the program; nothing is
/// downloaded): the package's preprocessing graph (RGB 0–255 in, normalised out), then ResNet18 up to its global
/// pooling. Both graphs fix the batch at 1; they are loaded with the batch dimension made dynamic (OnnxSharp's
/// <c>SetDim</c>, which also rewrites the graphs' reshapes), so several images go through one call, and several calls
/// run at once on single-threaded sessions (sessions are safe to call concurrently). Which mix is fastest is measured
/// by the <c>images</c> bench. One instance per process: it owns the sessions.
/// </summary>
public sealed class ImageEmbedder : IDisposable
{
    public const int Side = 224;
    public const int Dimensions = 512;
    public const string ModelName = "resnet18-dnnimagefeaturizer-0.23.1";

    /// <summary>The short model name stored with every embedding (<c>UploadEmbedding.Model</c>).</summary>
    public const string EmbeddingModel = "resnet18";

    private readonly InferenceSession prepare;
    private readonly InferenceSession resnet;
    private readonly string prepareInput, prepareOutput, resnetInput, resnetOutput;

    /// <param name="modelsDirectory">The package's <c>DnnImageModels</c> folder; default: beside the program.</param>
    /// <param name="threading">How batches are spread over the cores; default one mini-batch of 8 per core.</param>
    public ImageEmbedder(string? modelsDirectory = null, EmbedderThreading? threading = null)
    {
        var root = modelsDirectory ?? DefaultModelsDirectory;
        var prepPath = Path.Combine(root, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        var modelPath = Path.Combine(root, "ResNet18Onnx", "ResNet18.onnx");
        foreach (var path in new[] { prepPath, modelPath })
            if (!File.Exists(path))
                throw new FileNotFoundException($"The ResNet18 model file {path} is missing: it ships in the Microsoft.ML.DnnImageFeaturizer.ResNet18 package; build or publish the program with it.", path);
        Threading = threading ?? new EmbedderThreading();
        if (Threading.BatchSize < 1 || Threading.ThreadsPerRun < 1 || Threading.Parallelism is < 1)
            throw new ArgumentOutOfRangeException(nameof(threading), "Parallelism, batch size and threads per run are at least 1.");
        Parallelism = Threading.Parallelism ?? Environment.ProcessorCount;
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = Threading.ThreadsPerRun, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        prepare = new InferenceSession(DynamicBatch(prepPath), sessionOptions);
        resnet = new InferenceSession(DynamicBatch(modelPath), sessionOptions);
        prepareInput = prepare.InputMetadata.Keys.Single();
        prepareOutput = prepare.OutputMetadata.Keys.Single();
        resnetInput = resnet.InputMetadata.Keys.Single();
        resnetOutput = resnet.OutputMetadata.Keys.Single();
    }

    public EmbedderThreading Threading { get; }

    public int Parallelism { get; }

    public static string DefaultModelsDirectory => Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    /// <summary>The graph's bytes with its leading (batch) dimension made dynamic, in its inputs, outputs and reshapes.</summary>
    public static byte[] DynamicBatch(string path)
    {
        // Read with File.ReadAllBytes (shared read): with ParseFromFile, two embedders loading
        // at once (two test hosts, or two workers sharing one install) then failed with "being used by another process".
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        model.Graph.SetDim();
        return model.ToByteArray();
    }

    /// <summary>Embeds encoded image files (first frame of each); a file that cannot be decoded throws <see cref="MediaRejectedException"/>.</summary>
    public float[][] EmbedFiles(IReadOnlyList<byte[]> files, DecodeLimits? limits = null, CancellationToken ct = default)
    {
        var pixels = new float[files.Count][];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
            i => pixels[i] = ImageDecoder.DecodeRgbSquare(files[i], Side, limits));
        return Embed(pixels, ct);
    }

    /// <summary>Embeds one image already decoded to planar RGB 224×224 (0–255).</summary>
    public float[] EmbedPixels(float[] planarRgb) => Embed([planarRgb])[0];

    /// <summary>
    /// Embeds images already decoded to planar RGB 224×224 (0–255): mini-batches of <see cref="EmbedderThreading.BatchSize"/>,
    /// <see cref="Parallelism"/> of them at once. The result is in the input's order.
    /// </summary>
    public float[][] Embed(IReadOnlyList<float[]> planarRgb, CancellationToken ct = default)
    {
        foreach (var p in planarRgb)
            if (p.Length != 3 * Side * Side) throw new ArgumentException($"Expected {3 * Side * Side} values (3×{Side}×{Side}) per image.", nameof(planarRgb));
        var result = new float[planarRgb.Count][];
        if (planarRgb.Count == 0) return result;
        // Even batches: 9 images on 4 workers in batches of 8 run as 3+2+2+2, not 8+1.
        var batches = Math.Max((planarRgb.Count + Threading.BatchSize - 1) / Threading.BatchSize, Math.Min(Parallelism, planarRgb.Count));
        var size = (planarRgb.Count + batches - 1) / batches;
        Parallel.For(0, (planarRgb.Count + size - 1) / size, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, b =>
        {
            var start = b * size;
            var count = Math.Min(size, planarRgb.Count - start);
            var features = Run(planarRgb, start, count);
            for (var i = 0; i < count; i++) result[start + i] = features.AsSpan(i * Dimensions, Dimensions).ToArray();
        });
        return result;
    }

    private float[] Run(IReadOnlyList<float[]> images, int start, int count)
    {
        const int plane = 3 * Side * Side;
        var input = new float[count * plane];
        for (var i = 0; i < count; i++) images[start + i].CopyTo(input, i * plane);
        var tensor = new DenseTensor<float>(input, [count, 3, Side, Side]);
        using var prepared = prepare.Run([NamedOnnxValue.CreateFromTensor(prepareInput, tensor)]);
        var normalised = prepared.First(v => v.Name == prepareOutput).AsTensor<float>();
        using var output = resnet.Run([NamedOnnxValue.CreateFromTensor(resnetInput, normalised)]);
        var features = output.First(v => v.Name == resnetOutput).AsEnumerable<float>().ToArray();
        if (features.Length != count * Dimensions)
            throw new InvalidDataException($"ResNet18 returned {features.Length} numbers for {count} images, not {count * Dimensions}.");
        return features;
    }

    /// <summary>The vector scaled to length 1 (unchanged when it is all zeros), so a dot product is the cosine.</summary>
    public static float[] Normalized(float[] vector)
    {
        var norm = Math.Sqrt(vector.Sum(x => (double)x * x));
        return norm == 0 ? (float[])vector.Clone() : vector.Select(x => (float)(x / norm)).ToArray();
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
