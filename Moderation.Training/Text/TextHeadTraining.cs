using Microsoft.ML;
using Microsoft.ML.Transforms.Text;
using Moderation.Core.Scoring.Text;

namespace Moderation.Training.Text;

/// <summary>
/// Training of a head's linear part (<see cref="TextHead"/>): the featuriser the head scores with (hashed word and
/// character n-grams of the normalised text, optionally style features, beside the encoder vector) and ML.NET's L-BFGS
/// logistic regression over them; the L2 strength chosen on held-back rows.
/// </summary>
public static class TextHeadTraining
{
    /// <summary>
    /// Trains the linear part on texts with their vectors (sentence embeddings or encoder layers, all of one length);
    /// <paramref name="weights"/> weigh the rows (null: all 1); <paramref name="seed"/> makes it reproducible.
    /// </summary>
    public static TextHead Train(IReadOnlyList<string> texts, IReadOnlyList<float[]> embeddings, IReadOnlyList<bool> labels, int seed = 17, float l2 = 1f,
        TextFeatures features = TextFeatures.Standard, IReadOnlyList<float>? weights = null)
    {
        if (texts.Count == 0 || embeddings.Count != texts.Count || labels.Count != texts.Count || (weights is not null && weights.Count != texts.Count))
            throw new ArgumentException("Texts, vectors, labels (and weights) must be as many, and not none.");
        var dimensions = embeddings[0].Length;
        if (embeddings.Any(e => e.Length != dimensions)) throw new ArgumentException("Every vector must have the same length.", nameof(embeddings));
        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromEnumerable(texts.Select((t, i) => new TextHead.HeadInput
        {
            Text = TextNormalizer.Normalize(t), Embedding = embeddings[i], Label = labels[i], Weight = weights?[i] ?? 1,
        }), TextHead.Schema(dimensions));
        // Hashed n-grams: the model stores weights, not a vocabulary, so its file stays small whatever the corpus.
        var pipeline = ml.Transforms.Text.NormalizeText("Normalized", nameof(TextHead.HeadInput.Text),
                TextNormalizingEstimator.CaseMode.Lower, keepDiacritics: false, keepPunctuations: false, keepNumbers: true)
            .Append(ml.Transforms.Text.ProduceHashedWordBags("WordGrams", "Normalized", numberOfBits: 18, ngramLength: 2, useAllLengths: true))
            .Append(ml.Transforms.NormalizeLpNorm("WordGrams"))
            .Append(ml.Transforms.Text.TokenizeIntoCharactersAsKeys("Characters", "Normalized"))
            .Append(ml.Transforms.Text.ProduceHashedNgrams("CharGrams", "Characters", numberOfBits: 18, ngramLength: 4, useAllLengths: false))
            .Append(ml.Transforms.NormalizeLpNorm("CharGrams"));
        IEstimator<ITransformer> text = pipeline;
        var textColumns = new List<string> { "WordGrams", "CharGrams" };
        if (features == TextFeatures.WithStyle)
        {
            // How a post is written, which the lower-cased grams above lose: capitals, "!!!", quotes, handles and
            // links. Case- and punctuation-preserving character 3-grams and words.
            text = text.Append(ml.Transforms.Text.TokenizeIntoCharactersAsKeys("StyleCharacters", nameof(TextHead.HeadInput.Text)))
                .Append(ml.Transforms.Text.ProduceHashedNgrams("StyleGrams", "StyleCharacters", numberOfBits: 16, ngramLength: 3, useAllLengths: false))
                .Append(ml.Transforms.NormalizeLpNorm("StyleGrams"))
                .Append(ml.Transforms.Text.NormalizeText("Cased", nameof(TextHead.HeadInput.Text),
                    TextNormalizingEstimator.CaseMode.None, keepDiacritics: false, keepPunctuations: true, keepNumbers: true))
                .Append(ml.Transforms.Text.ProduceHashedWordBags("CasedWords", "Cased", numberOfBits: 16, ngramLength: 1, useAllLengths: true))
                .Append(ml.Transforms.NormalizeLpNorm("CasedWords"));
            textColumns.AddRange(["StyleGrams", "CasedWords"]);
        }
        var full = text.Append(ml.Transforms.Concatenate("TextFeatures", [.. textColumns]))
            .Append(ml.Transforms.Concatenate("Features", nameof(TextHead.HeadInput.Embedding), "TextFeatures"))
            .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new Microsoft.ML.Trainers.LbfgsLogisticRegressionBinaryTrainer.Options
            {
                LabelColumnName = nameof(TextHead.HeadInput.Label),
                FeatureColumnName = "Features",
                ExampleWeightColumnName = nameof(TextHead.HeadInput.Weight),
                L2Regularization = l2,
                L1Regularization = 0,
                OptimizationTolerance = 1e-6f,
                // Two threads, whatever the machine: ML.NET splits the gradient by thread, so a fixed count keeps a
                // seed's head the same everywhere, and two halve the time of a 100,000-row fit on two cores.
                NumberOfThreads = 2,
            }));
        return new TextHead(ml, full.Fit(data), dimensions);
    }

    /// <summary>
    /// Trains one head per L2 strength in <paramref name="grid"/> and keeps the one with the lowest (weighted) log loss
    /// on the validation rows: regularisation chosen on held-back data, never on the test set.
    /// </summary>
    public static (TextHead Head, float L2) TrainSelected(
        IReadOnlyList<string> texts, IReadOnlyList<float[]> embeddings, IReadOnlyList<bool> labels,
        IReadOnlyList<string> validationTexts, IReadOnlyList<float[]> validationEmbeddings, IReadOnlyList<bool> validationLabels,
        IReadOnlyList<float> grid, int seed = 17, TextFeatures features = TextFeatures.Standard,
        IReadOnlyList<float>? weights = null, IReadOnlyList<float>? validationWeights = null)
    {
        (TextHead Head, float L2, double Loss)? best = null;
        foreach (var l2 in grid)
        {
            var head = Train(texts, embeddings, labels, seed, l2, features, weights);
            var loss = LogLoss(head.Predict(validationTexts, validationEmbeddings), validationLabels, validationWeights);
            if (best is null || loss < best.Value.Loss) best = (head, l2, loss);
        }
        return best is { } b ? (b.Head, b.L2) : throw new ArgumentException("The L2 grid is empty.", nameof(grid));
    }

    /// <summary>Mean (weighted) log loss of probabilities against labels.</summary>
    public static double LogLoss(IReadOnlyList<double> p, IReadOnlyList<bool> labels, IReadOnlyList<float>? weights = null)
    {
        double sum = 0, total = 0;
        for (var i = 0; i < p.Count; i++)
        {
            var w = weights?[i] ?? 1;
            sum -= w * Math.Log(Math.Clamp(labels[i] ? p[i] : 1 - p[i], 1e-7, 1));
            total += w;
        }
        return total > 0 ? sum / total : double.NaN;
    }

}
