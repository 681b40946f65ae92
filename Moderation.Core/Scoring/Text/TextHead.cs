using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Text;

namespace Moderation.Core.Scoring.Text;

/// <summary>
/// A calibrated binary classifier for one category over a text's sentence embedding and its word and character
/// n-grams (which catch slurs and obfuscated spellings that embeddings blur), trained with ML.NET: L-BFGS
/// logistic regression, whose sigmoid output is the probability.
/// </summary>
public sealed class TextHead
{
    private readonly MLContext ml;
    private readonly ITransformer model;
    private readonly PredictionEngine<HeadInput, HeadOutput> engine;
    private readonly object engineLock = new();

    private TextHead(MLContext ml, ITransformer model)
    {
        this.ml = ml;
        this.model = model;
        engine = ml.Model.CreatePredictionEngine<HeadInput, HeadOutput>(model);
    }

    public sealed class HeadInput
    {
        public string Text { get; set; } = "";

        [VectorType(TextEmbedder.Dimensions)]
        public float[] Embedding { get; set; } = [];

        public bool Label { get; set; }
    }

    private sealed class HeadOutput
    {
        public float Probability { get; set; }
    }

    /// <summary>Trains on texts with their embeddings; <paramref name="seed"/> makes it reproducible.</summary>
    public static TextHead Train(IReadOnlyList<string> texts, IReadOnlyList<float[]> embeddings, IReadOnlyList<bool> labels, int seed = 17, float l2 = 1f)
    {
        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromEnumerable(texts.Select((t, i) => new HeadInput { Text = TextNormalizer.Normalize(t), Embedding = embeddings[i], Label = labels[i] }));
        // Hashed n-grams: the model stores weights, not a vocabulary, so its file stays small whatever the corpus.
        var pipeline = ml.Transforms.Text.NormalizeText("Normalized", nameof(HeadInput.Text),
                TextNormalizingEstimator.CaseMode.Lower, keepDiacritics: false, keepPunctuations: false, keepNumbers: true)
            .Append(ml.Transforms.Text.ProduceHashedWordBags("WordGrams", "Normalized", numberOfBits: 18, ngramLength: 2, useAllLengths: true))
            .Append(ml.Transforms.NormalizeLpNorm("WordGrams"))
            .Append(ml.Transforms.Text.TokenizeIntoCharactersAsKeys("Characters", "Normalized"))
            .Append(ml.Transforms.Text.ProduceHashedNgrams("CharGrams", "Characters", numberOfBits: 18, ngramLength: 4, useAllLengths: false))
            .Append(ml.Transforms.NormalizeLpNorm("CharGrams"))
            .Append(ml.Transforms.Concatenate("TextFeatures", "WordGrams", "CharGrams"))
            .Append(ml.Transforms.Concatenate("Features", nameof(HeadInput.Embedding), "TextFeatures"))
            .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new Microsoft.ML.Trainers.LbfgsLogisticRegressionBinaryTrainer.Options
            {
                LabelColumnName = nameof(HeadInput.Label),
                FeatureColumnName = "Features",
                L2Regularization = l2,
                L1Regularization = 0,
                OptimizationTolerance = 1e-6f,
                NumberOfThreads = 1,
            }));
        return new TextHead(ml, pipeline.Fit(data));
    }

    /// <summary>
    /// Trains one head per L2 strength in <paramref name="grid"/> and keeps the one with the lowest log loss on
    /// the validation rows: regularisation chosen on held-back data, never on the test set.
    /// </summary>
    public static (TextHead Head, float L2) TrainSelected(
        IReadOnlyList<string> texts, IReadOnlyList<float[]> embeddings, IReadOnlyList<bool> labels,
        IReadOnlyList<string> validationTexts, IReadOnlyList<float[]> validationEmbeddings, IReadOnlyList<bool> validationLabels,
        IReadOnlyList<float> grid, int seed = 17)
    {
        (TextHead Head, float L2, double Loss)? best = null;
        foreach (var l2 in grid)
        {
            var head = Train(texts, embeddings, labels, seed, l2);
            var p = head.Predict(validationTexts, validationEmbeddings);
            var loss = -p.Select((q, i) => Math.Log(Math.Clamp(validationLabels[i] ? q : 1 - q, 1e-7, 1))).Average();
            if (best is null || loss < best.Value.Loss) best = (head, l2, loss);
        }
        return best is { } b ? (b.Head, b.L2) : throw new ArgumentException("The L2 grid is empty.", nameof(grid));
    }

    public static TextHead Load(string path)
    {
        var ml = new MLContext();
        return new TextHead(ml, ml.Model.Load(path, out _));
    }

    public void Save(string path)
    {
        var schema = ml.Data.LoadFromEnumerable(Array.Empty<HeadInput>()).Schema;
        ml.Model.Save(model, schema, path);
    }

    /// <summary>Probabilities for many texts in one pass.</summary>
    public double[] Predict(IReadOnlyList<string> texts, IReadOnlyList<float[]> embeddings)
    {
        var data = ml.Data.LoadFromEnumerable(texts.Select((t, i) => new HeadInput { Text = TextNormalizer.Normalize(t), Embedding = embeddings[i] }));
        var scored = model.Transform(data);
        return scored.GetColumn<float>("Probability").Select(p => (double)p).ToArray();
    }

    public double Predict(string text, float[] embedding)
    {
        lock (engineLock) return engine.Predict(new HeadInput { Text = TextNormalizer.Normalize(text), Embedding = embedding }).Probability;
    }
}
