using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Moderation.Core.Media;

/// <summary>
/// A calibrated binary classifier for one category over an image's ResNet18 embedding, trained with ML.NET (L-BFGS
/// logistic regression, whose sigmoid output is the probability). The features are the L2-normalised embedding (the
/// vector stored for near-duplicate search) times √512, so each feature has unit mean square and one L2 strength suits
/// every head. Scoring applies the trained weights directly: a dot product per frame, safe from any thread.
/// </summary>
public sealed class ImageHead
{
    private readonly MLContext ml;
    private readonly ITransformer model;
    private readonly float[] weights;
    private readonly float bias;
    private readonly double slope, offset;

    private ImageHead(MLContext ml, ITransformer model)
    {
        this.ml = ml;
        this.model = model;
        var last = model is TransformerChain<ITransformer> chain ? chain.LastOrDefault() : model;
        if (last is not ISingleFeaturePredictionTransformer<CalibratedModelParametersBase<LinearBinaryModelParameters, PlattCalibrator>> predictor)
            throw new InvalidDataException($"The model is not an image head (a Platt-calibrated linear classifier), but {last?.GetType().Name ?? "empty"}.");
        weights = predictor.Model.SubModel.Weights.ToArray();
        if (weights.Length != ImageEmbedder.Dimensions)
            throw new InvalidDataException($"The image head has {weights.Length} weights, not {ImageEmbedder.Dimensions} (one per ResNet18 feature).");
        bias = predictor.Model.SubModel.Bias;
        slope = predictor.Model.Calibrator.Slope;
        offset = predictor.Model.Calibrator.Offset;
    }

    private sealed class HeadInput
    {
        [VectorType(ImageEmbedder.Dimensions)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }

        public float Weight { get; set; } = 1;
    }

    private sealed class HeadOutput
    {
        public float Probability { get; set; }
    }

    /// <summary>The head's features for an embedding: L2-normalised, times √512.</summary>
    public static float[] Features(float[] embedding)
    {
        var scale = (float)Math.Sqrt(ImageEmbedder.Dimensions);
        return ImageEmbedder.Normalized(embedding).Select(x => x * scale).ToArray();
    }

    /// <summary>Trains on raw ResNet18 embeddings; <paramref name="seed"/> makes it reproducible.</summary>
    /// <param name="weights">Per-example weights (frames of one video sharing its upload's weight); null: all 1.</param>
    public static ImageHead Train(IReadOnlyList<float[]> embeddings, IReadOnlyList<bool> labels, float l2 = 1f, int seed = 17,
        IReadOnlyList<float>? weights = null)
    {
        if (embeddings.Count != labels.Count) throw new ArgumentException($"{embeddings.Count} embeddings but {labels.Count} labels.");
        if (weights is not null && (weights.Count != labels.Count || weights.Any(w => !float.IsFinite(w) || w <= 0)))
            throw new ArgumentException($"{weights.Count} weights for {labels.Count} labels, or a weight that is not a positive number.");
        if (labels.Distinct().Count() < 2) throw new ArgumentException("A head needs examples of both labels (0 and 1) to train on.");
        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromEnumerable(embeddings.Select((e, i) => new HeadInput { Features = Features(e), Label = labels[i], Weight = weights?[i] ?? 1 }));
        var trainer = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
        {
            LabelColumnName = nameof(HeadInput.Label),
            FeatureColumnName = nameof(HeadInput.Features),
            ExampleWeightColumnName = weights is null ? null : nameof(HeadInput.Weight),
            L2Regularization = l2,
            L1Regularization = 0,
            OptimizationTolerance = 1e-6f,
            NumberOfThreads = 1,
        });
        var head = new ImageHead(ml, trainer.Fit(data));
        head.CheckAgainstMlNet(embeddings.Take(8).ToList());
        return head;
    }

    /// <summary>The probability that the image (its raw ResNet18 embedding) belongs to the head's category.</summary>
    public double Predict(float[] embedding) => PredictFeatures(Features(embedding));

    private double PredictFeatures(float[] features)
    {
        double score = bias;
        for (var k = 0; k < weights.Length; k++) score += weights[k] * features[k];
        return 1.0 / (1.0 + Math.Exp(slope * score + offset));
    }

    /// <summary>The direct formula must give what ML.NET's own prediction gives: a guard on the weights read out of the model.</summary>
    private void CheckAgainstMlNet(IReadOnlyList<float[]> embeddings)
    {
        var view = model.Transform(ml.Data.LoadFromEnumerable(embeddings.Select(e => new HeadInput { Features = Features(e) })));
        var expected = ml.Data.CreateEnumerable<HeadOutput>(view, reuseRowObject: false).Select(o => (double)o.Probability).ToList();
        for (var i = 0; i < expected.Count; i++)
            if (Math.Abs(expected[i] - Predict(embeddings[i])) > 1e-4)
                throw new InvalidDataException($"The image head's weights give {Predict(embeddings[i])}, ML.NET gives {expected[i]}.");
    }

    public void Save(Stream stream)
    {
        var schema = ml.Data.LoadFromEnumerable(Array.Empty<HeadInput>()).Schema;
        ml.Model.Save(model, schema, stream);
    }

    /// <summary>Loads a head from its ML.NET zip (as <c>train-images</c> writes it and the model registry holds it).</summary>
    /// <exception cref="InvalidDataException">The bytes are not an image head.</exception>
    public static ImageHead Load(Stream stream)
    {
        var ml = new MLContext();
        ITransformer model;
        try
        {
            model = ml.Model.Load(stream, out _);
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"The file is not an ML.NET model: {e.Message}", e);
        }
        return new ImageHead(ml, model);
    }
}
