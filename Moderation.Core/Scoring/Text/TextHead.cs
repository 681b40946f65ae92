using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Text;

namespace Moderation.Core.Scoring.Text;

/// <summary>The text features a head is trained on, beside the sentence embedding.</summary>
public enum TextFeatures
{
    /// <summary>Lower-cased word 1-2-grams and character 4-grams, hashed: slurs and obfuscated spellings.</summary>
    Standard,

    /// <summary>
    /// Standard, plus case- and punctuation-preserving character 3-grams and words: how a post is written (capitals,
    /// "!!!", handles, links). Worth a point of F1 for misinformation on held-back CONSTRAINT rows (0.950 to 0.960),
    /// where fabricated posts shout and real ones cite; it made the harm head's fairness audit worse (BPSN 0.987 to
    /// 0.973), so harm and bias heads do not use it.
    /// </summary>
    WithStyle,
}

/// <summary>
/// A calibrated binary classifier for one category. Its linear part is an ML.NET L-BFGS logistic regression over a
/// text's encoder vector and its word and character n-grams (which catch slurs and obfuscated spellings that
/// embeddings blur). The vector is either the sentence embedding (<see cref="TextEmbedder.Dimensions"/>, heads trained
/// before encoder layers were read) or the pooled states of the last layers (<see cref="TextEmbedder.LayerDimensions"/>,
/// <see cref="ReadsLayers"/>). A head may add a small neural network over the same vector (<see cref="Network"/>): the
/// two log-odds are averaged and calibrated on held-back rows (<see cref="Calibration"/>). A head may sit behind a
/// domain gate (<see cref="Gate"/>).
/// </summary>
public sealed class TextHead
{
    private readonly MLContext ml;
    private readonly ITransformer model;
    private readonly PredictionEngine<HeadInput, HeadOutput> engine;
    private readonly object engineLock = new();

    /// <summary>The length of the vector the head reads beside the text.</summary>
    public int VectorDimensions { get; }

    /// <summary>True when the head reads <see cref="TextEncoding.Layers"/> rather than the sentence embedding.</summary>
    public bool ReadsLayers => VectorDimensions == TextEmbedder.LayerDimensions;

    /// <summary>The non-linear half, if the head has one.</summary>
    public MlpHead? Network { get; }

    /// <summary>
    /// With a network: p = σ(Slope · (z_linear + z_network) / 2 + Offset), fitted on held-back rows (Platt scaling),
    /// where z are the two halves' log-odds. Identity without one.
    /// </summary>
    public (double Slope, double Offset) Calibration { get; } = (1, 0);

    // Scoring runs rows through prediction engines kept for reuse, one per concurrent caller, rather than building a
    // data view per batch: ML.NET emits and JITs IL for every view over a class (LoadFromEnumerable), which the
    // finaliser then destroys. With a view per batch the scorer ran at 0.87 of the bare session (bench scoring); with
    // reused engines, 0.92–0.95.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ITransformer, FeatureEngines> featureEngines = new(ReferenceEqualityComparer.Instance);
    private readonly System.Collections.Concurrent.ConcurrentBag<PredictionEngine<HeadInput, HeadOutput>> probabilityEngines = [];

    /// <summary>Reusable engines of one featuriser; <see cref="HasFeatures"/> false when it has no "Features" column.</summary>
    private sealed class FeatureEngines(bool hasFeatures)
    {
        public bool HasFeatures { get; } = hasFeatures;
        public System.Collections.Concurrent.ConcurrentBag<PredictionEngine<HeadInput, FeatureRow>> Idle { get; } = [];
    }

    private sealed class FeatureRow
    {
        public VBuffer<float> Features { get; set; }
    }

    internal TextHead(MLContext ml, ITransformer model, int vectorDimensions, TextHead? gate = null, double gateExponent = 1,
        MlpHead? network = null, (double Slope, double Offset)? calibration = null)
    {
        this.ml = ml;
        this.model = model;
        VectorDimensions = vectorDimensions;
        Gate = gate;
        GateExponent = gateExponent;
        Network = network;
        if (network is not null && network.Inputs != vectorDimensions)
            throw new ArgumentException($"The network reads {network.Inputs} features; the linear part reads {vectorDimensions}.", nameof(network));
        Calibration = calibration ?? (1, 0);
        engine = ml.Model.CreatePredictionEngine<HeadInput, HeadOutput>(model, inputSchemaDefinition: Schema(vectorDimensions));
    }

    /// <summary>The input row's schema for a vector of <paramref name="dimensions"/>.</summary>
    internal static SchemaDefinition Schema(int dimensions)
    {
        var schema = SchemaDefinition.Create(typeof(HeadInput));
        schema[nameof(HeadInput.Embedding)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimensions);
        return schema;
    }

    /// <summary>
    /// An optional domain gate: the probability that a text is of the kind the head was trained on. The head's
    /// probability is multiplied by the gate's raised to <see cref="GateExponent"/> (below 1: a soft gate), so a
    /// head that only knows one domain (COVID-19 posts) does not call everything outside it positive.
    /// </summary>
    public TextHead? Gate { get; }

    public double GateExponent { get; }

    /// <summary>This head behind a domain gate.</summary>
    public TextHead WithGate(TextHead gate, double exponent)
    {
        if (gate.Gate is not null || gate.Network is not null) throw new ArgumentException("A gate is a plain linear head.", nameof(gate));
        if (gate.VectorDimensions != VectorDimensions) throw new ArgumentException("A gate reads the same vector as its head.", nameof(gate));
        if (exponent is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(exponent), "The gate exponent is in (0, 1].");
        return new TextHead(ml, model, VectorDimensions, gate, exponent, Network, Calibration);
    }

    /// <summary>This head with a network beside its linear part, and the calibration of the two together.</summary>
    public TextHead WithNetwork(MlpHead network, double slope, double offset) =>
        new(ml, model, VectorDimensions, Gate, GateExponent, network, (slope, offset));

    public sealed class HeadInput
    {
        public string Text { get; set; } = "";

        public float[] Embedding { get; set; } = [];

        public bool Label { get; set; }

        public float Weight { get; set; } = 1;
    }

    private sealed class HeadOutput
    {
        public float Probability { get; set; }
    }

    public static TextHead Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream);
    }

    // Archive entries. Format 2 (a head with a network or a gate): head.json, linear.zip, network.bin?, gate.zip?.
    // Before it, a gated head was head.zip, gate.zip and gate.json; a plain head is an ML.NET model on its own.
    private const string ManifestEntry = "head.json", LinearEntry = "linear.zip", NetworkEntry = "network.bin";
    private const string GatedHeadEntry = "head.zip", GateEntry = "gate.zip", GateCardEntry = "gate.json";

    private sealed record Manifest(int Format, double? GateExponent, double Slope, double Offset);

    /// <summary>
    /// Loads a head from its zip (as files and the model registry hold it): an ML.NET model, an archive of a head with
    /// a network and/or a gate, or a gated head of the earlier layout.
    /// </summary>
    public static TextHead Load(Stream stream)
    {
        var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        bytes.Position = 0;
        using (var archive = new System.IO.Compression.ZipArchive(bytes, System.IO.Compression.ZipArchiveMode.Read, leaveOpen: true))
        {
            if (archive.GetEntry(ManifestEntry) is { } manifestEntry)
            {
                Manifest manifest;
                using (var reader = new StreamReader(manifestEntry.Open()))
                    manifest = System.Text.Json.JsonSerializer.Deserialize<Manifest>(reader.ReadToEnd(), ManifestJson)
                        ?? throw new InvalidDataException($"{ManifestEntry} is empty.");
                if (manifest.Format != 2) throw new InvalidDataException($"Head format {manifest.Format} is not one this reads (2).");
                var linear = LoadModel(archive.GetEntry(LinearEntry) ?? throw new InvalidDataException($"The head lacks {LinearEntry}."));
                MlpHead? network = null;
                if (archive.GetEntry(NetworkEntry) is { } networkEntry)
                {
                    using var networkStream = networkEntry.Open();
                    using var copy = new MemoryStream();
                    networkStream.CopyTo(copy);
                    copy.Position = 0;
                    network = MlpHead.Load(copy);
                }
                var head = network is null ? linear : linear.WithNetwork(network, manifest.Slope, manifest.Offset);
                if (archive.GetEntry(GateEntry) is { } gateEntry)
                    head = head.WithGate(LoadModel(gateEntry), manifest.GateExponent ?? throw new InvalidDataException("A gated head needs gateExponent."));
                return head;
            }
            if (archive.GetEntry(GateCardEntry) is { } gateCard)
            {
                using var reader = new StreamReader(gateCard.Open());
                var exponent = System.Text.Json.JsonDocument.Parse(reader.ReadToEnd()).RootElement.GetProperty("exponent").GetDouble();
                var head = LoadModel(archive.GetEntry(GatedHeadEntry) ?? throw new InvalidDataException($"A gated head lacks {GatedHeadEntry}."));
                var gate = LoadModel(archive.GetEntry(GateEntry) ?? throw new InvalidDataException($"A gated head lacks {GateEntry}."));
                return head.WithGate(gate, exponent);
            }
        }
        bytes.Position = 0;
        return LoadLinear(bytes);
    }

    /// <summary>An ML.NET model: the linear part of a head, or a gate.</summary>
    private static TextHead LoadLinear(Stream modelStream)
    {
        var ml = new MLContext();
        var model = ml.Model.Load(modelStream, out var inputSchema);
        var column = inputSchema?.GetColumnOrNull(nameof(HeadInput.Embedding))
            ?? throw new InvalidDataException($"The model has no {nameof(HeadInput.Embedding)} input: it is not a text head.");
        var dimensions = column.Type is VectorDataViewType { Size: > 0 } vector ? vector.Size
            : throw new InvalidDataException("The model's embedding input has no fixed length.");
        return new TextHead(ml, model, dimensions);
    }

    private static TextHead LoadModel(System.IO.Compression.ZipArchiveEntry entry)
    {
        using var entryStream = entry.Open();
        var copy = new MemoryStream();
        entryStream.CopyTo(copy);
        copy.Position = 0;
        return LoadLinear(copy);
    }

    private static readonly System.Text.Json.JsonSerializerOptions ManifestJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    public void Save(string path)
    {
        using var file = File.Create(path);
        Save(file);
    }

    public void Save(Stream stream)
    {
        if (Gate is null && Network is null)
        {
            SaveModel(stream);
            return;
        }
        using var archive = new System.IO.Compression.ZipArchive(stream, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true);
        using (var manifest = new StreamWriter(archive.CreateEntry(ManifestEntry).Open()))
            manifest.Write(System.Text.Json.JsonSerializer.Serialize(
                new Manifest(2, Gate is null ? null : GateExponent, Calibration.Slope, Calibration.Offset), ManifestJson));
        using (var linear = archive.CreateEntry(LinearEntry).Open()) SaveModel(linear);
        if (Network is not null)
            using (var network = archive.CreateEntry(NetworkEntry).Open()) Network.Save(network);
        if (Gate is not null)
            using (var gate = archive.CreateEntry(GateEntry).Open()) Gate.SaveModel(gate);
    }

    private void SaveModel(Stream stream)
    {
        var schema = ml.Data.LoadFromEnumerable(Array.Empty<HeadInput>(), Schema(VectorDimensions)).Schema;
        ml.Model.Save(model, schema, stream);
    }

    /// <summary>Texts whose features tell two featurisers apart: words, punctuation, digits, repeats, long and short.</summary>
    private static readonly string[] FeatureProbe =
    [
        "the quick brown fox jumps over the lazy dog 123",
        "w0men h@te, k.i.l.l them!!! lol lol lol",
        "a",
        "COVID-19 vaccines were tested in trials with 40,000 people, says the CDC; 5G does not spread viruses.",
    ];

    /// <summary>The model split into featuriser and logistic regression, when it has that shape (every head <see cref="Train"/> makes does).</summary>
    private sealed record Split(ITransformer Featurizer, float[] Weights, float Bias, double Slope, double Offset, VBuffer<float>[] Probe)
    {
        /// <summary>Platt-calibrated logistic regression over sparse features: 1 / (1 + exp(slope * (w·x + b) + offset)).</summary>
        public double Probability(in VBuffer<float> features)
        {
            var values = features.GetValues();
            double score = Bias;
            if (features.IsDense)
                for (var k = 0; k < values.Length; k++) score += values[k] * Weights[k];
            else
            {
                var indices = features.GetIndices();
                for (var k = 0; k < values.Length; k++) score += values[k] * Weights[indices[k]];
            }
            return 1.0 / (1.0 + Math.Exp(Slope * score + Offset));
        }

        public bool SameFeatures(Split other) =>
            Weights.Length == other.Weights.Length && Probe.Zip(other.Probe).All(p => Same(p.First, p.Second));

        private static bool Same(VBuffer<float> a, VBuffer<float> b) =>
            a.Length == b.Length && a.IsDense == b.IsDense && a.GetValues().SequenceEqual(b.GetValues())
            && (a.IsDense || a.GetIndices().SequenceEqual(b.GetIndices()));
    }

    private Split? split;
    private bool splitResolved;

    private Split? SplitModel
    {
        get
        {
            if (splitResolved) return split;
            lock (engineLock)
            {
                if (!splitResolved
                    && model is TransformerChain<ITransformer> chain && chain.Count() >= 2
                    && chain.Last() is BinaryPredictionTransformer<Microsoft.ML.Calibrators.CalibratedModelParametersBase<
                        Microsoft.ML.Trainers.LinearBinaryModelParameters, Microsoft.ML.Calibrators.PlattCalibrator>> predictor)
                {
                    var featurizer = new TransformerChain<ITransformer>(chain.ToArray()[..^1]);
                    var probe = Featurize(featurizer, FeatureProbe.Select(TextNormalizer.Normalize).ToList(),
                        FeatureProbe.Select(_ => new float[VectorDimensions]).ToList());
                    var weights = predictor.Model.SubModel.Weights.ToArray();
                    if (probe is not null && probe.All(v => v.Length == weights.Length))
                        split = new Split(featurizer, weights, predictor.Model.SubModel.Bias,
                            predictor.Model.Calibrator.Slope, predictor.Model.Calibrator.Offset, probe);
                }
                splitResolved = true;
                return split;
            }
        }
    }

    /// <summary>The "Features" vector of each text, copied out of ML.NET's reused row buffer; null if there is no such column.</summary>
    private VBuffer<float>[]? Featurize(ITransformer featurizer, IReadOnlyList<string> normalizedTexts, IReadOnlyList<float[]> embeddings)
    {
        var engines = featureEngines.GetOrAdd(featurizer, f =>
            new FeatureEngines(f.GetOutputSchema(ml.Data.LoadFromEnumerable(Array.Empty<HeadInput>(), Schema(VectorDimensions)).Schema)
                .GetColumnOrNull("Features") is not null));
        if (!engines.HasFeatures) return null;
        return PredictRows(engines.Idle, featurizer, normalizedTexts, embeddings, static row =>
        {
            VBuffer<float> copy = default;
            row.Features.CopyTo(ref copy);
            return copy;
        });
    }

    /// <summary>Runs the texts through a reused engine of <paramref name="transformer"/> (made when none is idle), reading each row's output.</summary>
    private T[] PredictRows<TOut, T>(System.Collections.Concurrent.ConcurrentBag<PredictionEngine<HeadInput, TOut>> idle, ITransformer transformer,
        IReadOnlyList<string> normalizedTexts, IReadOnlyList<float[]> embeddings, Func<TOut, T> read) where TOut : class, new()
    {
        if (!idle.TryTake(out var rows)) rows = ml.Model.CreatePredictionEngine<HeadInput, TOut>(transformer, inputSchemaDefinition: Schema(VectorDimensions));
        try
        {
            var result = new T[normalizedTexts.Count];
            var input = new HeadInput();
            var output = new TOut();
            for (var i = 0; i < result.Length; i++)
            {
                input.Text = normalizedTexts[i];
                input.Embedding = embeddings[i];
                rows.Predict(input, ref output);
                result[i] = read(output);
            }
            return result;
        }
        finally
        {
            idle.Add(rows);
        }
    }

    /// <summary>
    /// Probabilities of several heads (with their networks and gates) for the same texts, already through
    /// <see cref="TextNormalizer"/>, from each text's encoding (each head reads the vector it was trained on).
    /// Featurising (normalising, hashing word and character n-grams) is nearly all of a linear part's cost and heads
    /// trained by <see cref="Train"/> share it, so the texts are featurised once for every head whose featuriser gives
    /// the same features (checked on probe texts), and each head only applies its weights to the sparse vectors. Other
    /// heads run on their own. Groups and slices of the texts run side by side.
    /// </summary>
    public static double[][] PredictMany(IReadOnlyList<TextHead> heads, IReadOnlyList<string> normalizedTexts, IReadOnlyList<TextEncoding> encodings,
        CancellationToken ct = default)
    {
        IReadOnlyList<float[]> VectorsFor(TextHead head) => head.ReadsLayers
            ? encodings.Select(e => e.Layers ?? throw new ArgumentException("A head reads encoder layers, but the encodings have none.", nameof(encodings))).ToList()
            : encodings.Select(e => e.Sentence).ToList();
        var models = heads.Concat(heads.Select(h => h.Gate).OfType<TextHead>()).Distinct().ToList();
        // Each group shares one featurisation: heads whose featurisers agree, or a head without split weights alone.
        var groups = new List<List<TextHead>>();
        foreach (var model in models)
            if (model.SplitModel is not null && groups.FirstOrDefault(g => g[0].SplitModel is { } leader && leader.SameFeatures(model.SplitModel)) is { } group)
                group.Add(model);
            else
                groups.Add([model]);
        // Work items are (group, slice of the texts): groups differ in cost (a featurisation shared by six heads
        // against a head alone), so slicing the texts as well keeps every core busy until the end.
        var count = normalizedTexts.Count;
        var slices = Math.Clamp(count / MinSlice, 1, Environment.ProcessorCount);
        var sliceSize = (count + slices - 1) / Math.Max(1, slices);
        var raw = groups.Select(g => g.Select(_ => new double[count]).ToArray()).ToArray();
        var vectorsByGroup = groups.Select(g => VectorsFor(g[0])).ToArray();
        Parallel.For(0, groups.Count * slices, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, item =>
        {
            var (g, slice) = (item / slices, item % slices);
            var start = slice * sliceSize;
            var length = Math.Min(sliceSize, count - start);
            if (length <= 0) return;
            var texts = Slice(normalizedTexts, start, length);
            var vectorsIn = Slice(vectorsByGroup[g], start, length);
            var leader = groups[g][0];
            if (leader.SplitModel is null)
            {
                leader.PredictUngated(texts, vectorsIn).CopyTo(raw[g][0], start);
                return;
            }
            var features = leader.Featurize(leader.SplitModel.Featurizer, texts, vectorsIn)!;
            for (var m = 0; m < groups[g].Count; m++)
            {
                var head = groups[g][m];
                var network = head.Network?.Logits(vectorsIn);
                for (var i = 0; i < length; i++)
                    raw[g][m][start + i] = head.Combine(head.SplitModel!.Probability(features[i]), network?[i]);
            }
        });
        var byModel = new Dictionary<TextHead, double[]>(ReferenceEqualityComparer.Instance);
        for (var g = 0; g < groups.Count; g++)
            for (var m = 0; m < groups[g].Count; m++)
                byModel[groups[g][m]] = raw[g][m];
        return heads.Select(h =>
        {
            var probabilities = (double[])byModel[h].Clone();
            if (h.Gate is { } gate)
                for (var i = 0; i < probabilities.Length; i++) probabilities[i] *= Math.Pow(byModel[gate][i], h.GateExponent);
            return probabilities;
        }).ToArray();
    }

    /// <summary>The head's probability from its linear part's and its network's log-odds: averaged and calibrated.</summary>
    private double Combine(double linear, double? network)
    {
        if (network is not { } z2) return linear;
        var z = (PassageAggregation.Logit(linear) + z2) / 2;
        return PassageAggregation.Sigmoid(Calibration.Slope * z + Calibration.Offset);
    }

    /// <summary>Texts per slice below which slicing a batch further costs more (a pipeline pass per slice) than it gains.</summary>
    private const int MinSlice = 16;

    private static IReadOnlyList<T> Slice<T>(IReadOnlyList<T> items, int start, int length) =>
        start == 0 && length == items.Count ? items : Enumerable.Range(start, length).Select(i => items[i]).ToList();

    private double[] PredictUngated(IReadOnlyList<string> normalizedTexts, IReadOnlyList<float[]> embeddings)
    {
        var linear = PredictRows(probabilityEngines, model, normalizedTexts, embeddings, static row => (double)row.Probability);
        if (Network is null) return linear;
        var network = Network.Logits(embeddings);
        for (var i = 0; i < linear.Length; i++) linear[i] = Combine(linear[i], network[i]);
        return linear;
    }

    /// <summary>Probabilities for many texts in one pass, from the vectors the head reads (<see cref="VectorDimensions"/>).</summary>
    public double[] Predict(IReadOnlyList<string> texts, IReadOnlyList<float[]> embeddings) =>
        PredictNormalized(texts.Select(TextNormalizer.Normalize).ToList(), embeddings);

    /// <summary>As <see cref="Predict(IReadOnlyList{string}, IReadOnlyList{float[]})"/> for texts already through <see cref="TextNormalizer"/> (a scorer normalises once for every head).</summary>
    public double[] PredictNormalized(IReadOnlyList<string> normalizedTexts, IReadOnlyList<float[]> embeddings)
    {
        var probabilities = PredictUngated(normalizedTexts, embeddings);
        if (Gate is not null)
        {
            var gate = Gate.PredictNormalized(normalizedTexts, embeddings);
            for (var i = 0; i < probabilities.Length; i++) probabilities[i] *= Math.Pow(gate[i], GateExponent);
        }
        return probabilities;
    }

    public double Predict(string text, float[] embedding)
    {
        double probability;
        lock (engineLock) probability = engine.Predict(new HeadInput { Text = TextNormalizer.Normalize(text), Embedding = embedding }).Probability;
        probability = Combine(probability, Network?.Logit(embedding));
        return Gate is null ? probability : probability * Math.Pow(Gate.Predict(text, embedding), GateExponent);
    }
}
