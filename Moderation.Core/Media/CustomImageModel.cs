using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Moderation.Core.Scoring;
using Moderation.Core.Refusals;

namespace Moderation.Core.Media;

/// <summary>How a custom model's input tensor is made from an image.</summary>
/// <param name="Size">Side of the square the image is stretched to (the model's height and width).</param>
/// <param name="Layout"><c>NCHW</c> (planar, PyTorch's) or <c>NHWC</c> (interleaved, TensorFlow's).</param>
/// <param name="ChannelOrder"><c>RGB</c> or <c>BGR</c> (OpenCV-trained models).</param>
/// <param name="Scale">Each 0–255 pixel value is multiplied by this first (1/255 for models trained on 0–1).</param>
/// <param name="Mean">Per channel, in <paramref name="ChannelOrder"/>: subtracted after scaling.</param>
/// <param name="Std">Per channel: divided by after subtracting the mean.</param>
public sealed record ImageModelInput(string Name, int Size, string Layout = "NCHW", string ChannelOrder = "RGB", double Scale = 1.0 / 255,
    double[]? Mean = null, double[]? Std = null);

/// <param name="Activation"><c>softmax</c> or <c>sigmoid</c> when the model outputs logits; <c>none</c> when it outputs probabilities.</param>
public sealed record ImageModelOutput(string Name, string Activation = "none");

/// <summary>One output of the classifier; only labels with a category are scored.</summary>
public sealed record ImageModelLabel(int Index, string Name, string? Category = null);

/// <summary>
/// What a policy team writes beside an ONNX image classifier: how to feed it, how to read it, and which of its labels
/// score which category. Checked against the ONNX graph's real inputs and outputs when the model is loaded.
/// </summary>
/// <param name="ReviewOnly">
/// Its scores send an upload to review at most, never to automatic action, until a policy lists the model in
/// <c>Moderation:Policy:ActOnModels</c>: for a model whose errors on this platform's content nobody has measured yet.
/// </param>
public sealed record ImageModelManifest(string Name, string Version, ImageModelInput Input, ImageModelOutput Output, IReadOnlyList<ImageModelLabel> Labels,
    bool ReviewOnly = false)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The registry version of the model: its name and version.</summary>
    public string RegistryVersion => $"{Name}-{Version}";

    /// <summary>The categories the model scores, each with the labels that score it.</summary>
    public IReadOnlyDictionary<string, int[]> Categories =>
        Labels.Where(l => l.Category is not null).GroupBy(l => l.Category!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(l => l.Index).ToArray(), StringComparer.Ordinal);

    /// <exception cref="Refusal">Invalid: the text is not a manifest, naming the field.</exception>
    public static ImageModelManifest Parse(string json)
    {
        ImageModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ImageModelManifest>(json, Json);
        }
        catch (JsonException e)
        {
            throw Refusal.Invalid(e.Path is { Length: > 0 } p ? p.TrimStart('$', '.') : "manifest", $"The manifest is not valid: {e.Message}");
        }
        if (manifest is null) throw Refusal.Invalid("manifest", "The manifest is empty.");
        manifest.Check();
        return manifest;
    }

    /// <summary>Checks the manifest on its own (the graph is checked by <see cref="CustomImageModel"/>).</summary>
    private void Check()
    {
        static void Require(bool ok, string field, string message) { if (!ok) throw Refusal.Invalid(field, message); }
        static bool Named(string? s) => !string.IsNullOrWhiteSpace(s) && s.Length <= 60 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        Require(Named(Name), "name", $"The name '{Name}' must be 1–60 letters, digits, '-', '_' or '.'.");
        Require(Named(Version), "version", $"The version '{Version}' must be 1–60 letters, digits, '-', '_' or '.'.");
        Require(Input is not null, "input", "The manifest needs an input section.");
        Require(!string.IsNullOrWhiteSpace(Input!.Name), "input.name", "The input name is required (the ONNX graph's input).");
        Require(Input.Size is >= 8 and <= 1024, "input.size", $"The input size {Input.Size} is outside 8–1024 pixels.");
        Require(Input.Layout is "NCHW" or "NHWC", "input.layout", $"The layout '{Input.Layout}' is not NCHW or NHWC.");
        Require(Input.ChannelOrder is "RGB" or "BGR", "input.channelOrder", $"The channel order '{Input.ChannelOrder}' is not RGB or BGR.");
        Require(double.IsFinite(Input.Scale) && Input.Scale > 0, "input.scale", $"The scale {Input.Scale} must be a positive number.");
        Require(Input.Mean is null || (Input.Mean.Length == 3 && Input.Mean.All(double.IsFinite)), "input.mean", "The mean must be three numbers, one per channel.");
        Require(Input.Std is null || (Input.Std.Length == 3 && Input.Std.All(s => double.IsFinite(s) && s > 0)), "input.std", "The std must be three positive numbers, one per channel.");
        Require(Output is not null, "output", "The manifest needs an output section.");
        Require(!string.IsNullOrWhiteSpace(Output!.Name), "output.name", "The output name is required (the ONNX graph's output).");
        Require(Output.Activation is "none" or "softmax" or "sigmoid", "output.activation", $"The activation '{Output.Activation}' is not none, softmax or sigmoid.");
        Require(Labels is { Count: > 0 and <= 10_000 }, "labels", "The manifest needs the classifier's labels (index, name, and the category each scores, if any).");
        for (var i = 0; i < Labels!.Count; i++)
        {
            var label = Labels[i];
            Require(label.Index >= 0, $"labels[{i}].index", $"The label index {label.Index} is negative.");
            Require(label.Category is null || ScorerOutput.IsValidCategory(label.Category), $"labels[{i}].category",
                $"'{label.Category}' is not a category name (lower-case, dotted: harm.sexual).");
        }
        var duplicate = Labels.GroupBy(l => l.Index).FirstOrDefault(g => g.Count() > 1);
        Require(duplicate is null, "labels", $"Label index {duplicate?.Key} is listed twice.");
        Require(Categories.Count > 0, "labels", "No label has a category: the model would score nothing.");
    }
}

/// <summary>
/// A policy team's own ONNX image classifier, run through ONNX Runtime as its manifest says: the image stretched to the
/// input size, scaled, normalised, laid out, then the output read per label (after softmax or sigmoid if asked), and
/// each category scored by the highest of its labels. The manifest is checked against the session's real inputs and
/// outputs when the model loads, so a wrong name, size or label count is refused then, not at the first upload.
/// </summary>
public sealed class CustomImageModel : IDisposable
{
    public const string ModelEntry = "model.onnx", ManifestEntry = "manifest.json";

    /// <summary>Images per call for a graph whose batch dimension is dynamic.</summary>
    public const int BatchSize = 16;

    private readonly InferenceSession session;
    private readonly bool dynamicBatch;
    private readonly int outputWidth;

    private CustomImageModel(ImageModelManifest manifest, InferenceSession session, bool dynamicBatch, int outputWidth)
    {
        Manifest = manifest;
        this.session = session;
        this.dynamicBatch = dynamicBatch;
        this.outputWidth = outputWidth;
    }

    public ImageModelManifest Manifest { get; }

    /// <summary>Loads the model and checks the manifest against it.</summary>
    /// <exception cref="Refusal">Invalid: the manifest does not fit the graph, or the bytes are not an ONNX model.</exception>
    public static CustomImageModel Load(byte[] onnx, ImageModelManifest manifest)
    {
        InferenceSession session;
        try
        {
            using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            session = new InferenceSession(onnx, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw Refusal.Invalid("model", $"ONNX Runtime cannot load the model: {e.Message}");
        }
        try
        {
            var (dynamicBatch, width) = Check(session, manifest);
            return new CustomImageModel(manifest, session, dynamicBatch, width);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static (bool DynamicBatch, int OutputWidth) Check(InferenceSession session, ImageModelManifest manifest)
    {
        var inputs = session.InputMetadata;
        if (inputs.Count != 1)
            throw Refusal.Invalid("input.name", $"The model has {inputs.Count} inputs ({string.Join(", ", inputs.Keys)}); an image classifier has one.");
        if (!inputs.TryGetValue(manifest.Input.Name, out var input))
            throw Refusal.Invalid("input.name", $"The model has no input '{manifest.Input.Name}'; its input is '{inputs.Keys.Single()}'.");
        if (input.ElementDataType != TensorElementType.Float)
            throw Refusal.Invalid("input.name", $"The input '{manifest.Input.Name}' takes {input.ElementDataType}, not float.");
        var dims = input.Dimensions;
        if (dims.Length != 4)
            throw Refusal.Invalid("input.layout", $"The input '{manifest.Input.Name}' has {dims.Length} dimensions [{string.Join(", ", dims)}], not 4 ({manifest.Input.Layout}).");
        var (c, h, w) = manifest.Input.Layout == "NCHW" ? (dims[1], dims[2], dims[3]) : (dims[3], dims[1], dims[2]);
        if (c != 3)
            throw Refusal.Invalid("input.layout", $"The input '{manifest.Input.Name}' is [{string.Join(", ", dims)}]: read as {manifest.Input.Layout} it has {c} channels, not 3.");
        if ((h > 0 && h != manifest.Input.Size) || (w > 0 && w != manifest.Input.Size))
            throw Refusal.Invalid("input.size", $"The input '{manifest.Input.Name}' is [{string.Join(", ", dims)}]: {h}×{w} pixels, not the manifest's {manifest.Input.Size}×{manifest.Input.Size}.");
        if (dims[0] > 1)
            throw Refusal.Invalid("input.name", $"The input '{manifest.Input.Name}' fixes the batch at {dims[0]}; it must be 1 or dynamic.");

        var outputs = session.OutputMetadata;
        if (!outputs.TryGetValue(manifest.Output.Name, out var output))
            throw Refusal.Invalid("output.name", $"The model has no output '{manifest.Output.Name}'; its outputs: {string.Join(", ", outputs.Keys)}.");
        if (output.ElementDataType != TensorElementType.Float)
            throw Refusal.Invalid("output.name", $"The output '{manifest.Output.Name}' gives {output.ElementDataType}, not float.");
        var outDims = output.Dimensions;
        if (outDims.Length != 2)
            throw Refusal.Invalid("output.name", $"The output '{manifest.Output.Name}' has {outDims.Length} dimensions [{string.Join(", ", outDims)}], not 2 (batch × labels).");
        var highest = manifest.Labels.Max(l => l.Index);
        if (outDims[1] > 0 && highest >= outDims[1])
            throw Refusal.Invalid("labels", $"Label index {highest} is beyond the output '{manifest.Output.Name}', which has {outDims[1]} values per image.");
        if (manifest.Output.Activation == "softmax" && outDims[1] > 0 && manifest.Labels.Count != outDims[1])
            throw Refusal.Invalid("labels", $"A softmax is over every output: list all {outDims[1]} labels, not {manifest.Labels.Count}.");
        return (dims[0] <= 0, outDims[1]);
    }

    /// <summary>
    /// The probability of each of the manifest's categories for each image (planar RGB squares of
    /// <see cref="ImageModelInput.Size"/>, 0–255). NaN where the model gave a value that is not a number.
    /// </summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>> Score(IReadOnlyList<float[]> planarRgb)
    {
        var result = new IReadOnlyDictionary<string, double>[planarRgb.Count];
        var step = dynamicBatch ? BatchSize : 1;
        for (var start = 0; start < planarRgb.Count; start += step)
        {
            var count = Math.Min(step, planarRgb.Count - start);
            var values = Run(planarRgb, start, count);
            var width = values.Length / count;
            for (var i = 0; i < count; i++)
                result[start + i] = Categorise(Activate(values.AsSpan(i * width, width)));
        }
        return result;
    }

    private float[] Run(IReadOnlyList<float[]> images, int start, int count)
    {
        var input = Manifest.Input;
        var side = input.Size;
        var plane = side * side;
        var data = new float[count * 3 * plane];
        double[] mean = input.Mean ?? [0, 0, 0], std = input.Std ?? [1, 1, 1];
        for (var i = 0; i < count; i++)
        {
            var image = images[start + i];
            if (image.Length != 3 * plane) throw new ArgumentException($"Expected {3 * plane} values (3×{side}×{side}) per image.", nameof(images));
            for (var c = 0; c < 3; c++)
            {
                // Channel c of the model's input comes from planar channel s of the image (BGR reverses them).
                var s = input.ChannelOrder == "BGR" ? 2 - c : c;
                float m = (float)mean[c], d = (float)std[c], scale = (float)input.Scale;
                for (var p = 0; p < plane; p++)
                {
                    var value = (image[s * plane + p] * scale - m) / d;
                    var at = input.Layout == "NCHW" ? (i * 3 + c) * plane + p : (i * plane + p) * 3 + c;
                    data[at] = value;
                }
            }
        }
        int[] shape = input.Layout == "NCHW" ? [count, 3, side, side] : [count, side, side, 3];
        using var output = session.Run([NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<float>(data, shape))], [Manifest.Output.Name]);
        var values = output.Single().AsEnumerable<float>().ToArray();
        if (values.Length == 0 || values.Length % count != 0 || (outputWidth > 0 && values.Length != outputWidth * count))
            throw Refusal.Invalid("output.name", $"The model returned {values.Length} values for {count} images.");
        return values;
    }

    private double[] Activate(ReadOnlySpan<float> raw)
    {
        var values = new double[raw.Length];
        for (var i = 0; i < raw.Length; i++) values[i] = raw[i];
        switch (Manifest.Output.Activation)
        {
            case "sigmoid":
                for (var i = 0; i < values.Length; i++) values[i] = 1 / (1 + Math.Exp(-values[i]));
                break;
            case "softmax":
                var max = values.Max();
                var sum = 0.0;
                for (var i = 0; i < values.Length; i++) sum += values[i] = Math.Exp(values[i] - max);
                for (var i = 0; i < values.Length; i++) values[i] /= sum;
                break;
        }
        return values;
    }

    private Dictionary<string, double> Categorise(double[] probabilities)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (category, labels) in Manifest.Categories)
        {
            var best = labels.Where(i => i < probabilities.Length).Select(i => probabilities[i]).DefaultIfEmpty(double.NaN).Max();
            result[category] = double.IsFinite(best) ? Math.Clamp(best, 0, 1) : double.NaN;
        }
        return result;
    }

    /// <summary>The registry artifact: a zip of the ONNX file and the manifest.</summary>
    public static byte[] Package(byte[] onnx, string manifestJson)
    {
        var bytes = new MemoryStream();
        using (var zip = new ZipArchive(bytes, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var model = zip.CreateEntry(ModelEntry, CompressionLevel.Optimal).Open()) model.Write(onnx);
            using var manifest = new StreamWriter(zip.CreateEntry(ManifestEntry).Open());
            manifest.Write(manifestJson);
        }
        return bytes.ToArray();
    }

    /// <summary>Loads a model from its registry artifact.</summary>
    /// <exception cref="Refusal">Invalid: the artifact, its manifest or its graph is not acceptable.</exception>
    public static CustomImageModel FromPackage(byte[] artifact)
    {
        byte[] onnx;
        string manifestJson;
        try
        {
            using var zip = new ZipArchive(new MemoryStream(artifact, writable: false), ZipArchiveMode.Read);
            var model = zip.GetEntry(ModelEntry) ?? throw Refusal.Invalid("model", $"The artifact has no {ModelEntry}.");
            var manifest = zip.GetEntry(ManifestEntry) ?? throw Refusal.Invalid("manifest", $"The artifact has no {ManifestEntry}.");
            using (var stream = model.Open())
            {
                var copy = new MemoryStream();
                stream.CopyTo(copy);
                onnx = copy.ToArray();
            }
            using var reader = new StreamReader(manifest.Open());
            manifestJson = reader.ReadToEnd();
        }
        catch (InvalidDataException e)
        {
            throw Refusal.Invalid("model", $"The artifact is not a zip of {ModelEntry} and {ManifestEntry}: {e.Message}");
        }
        return Load(onnx, ImageModelManifest.Parse(manifestJson));
    }

    public void Dispose() => session.Dispose();
}
