using Microsoft.ML;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Evaluation;

namespace Moderation.Training.Text;

/// <summary>One labelled file feeding a head: which rows, labelled how, weighed how, under what licence.</summary>
/// <param name="Label">The row's label for this head, or null to leave the row out.</param>
/// <param name="Group">
/// The source's name in the card and in leave-one-source-out runs (default: the file's name). Sources of one group are
/// weighed and left out together (a data set's train and validation files).
/// </param>
/// <param name="Weight">
/// The group's total weight in training, split evenly between its two labels when it has both: a large source must not
/// drown the others, and a source's own share of positives (83% in Davidson, 9% in the Gab corpus) must not become a
/// prior the head learns.
/// </param>
/// <param name="Every">Keep every n-th labelled row (1 = all): thins a large pool of negatives.</param>
/// <param name="Validation">
/// The file is the data set's official validation split: all its rows are held back (for calibration and the card),
/// none trained on. Other files hold back one row in ten (<see cref="HeldBack"/>).
/// </param>
/// <param name="Augment">Add a counterfactual copy of every training row that names an identity group (<see cref="IdentityTerms"/>).</param>
public sealed record HeadSource(string File, string Licence, string Description, Func<CorpusRow, bool?> Label,
    string? Group = null, double Weight = 1, int Every = 1, bool Validation = false, bool Augment = false)
{
    public string GroupName => Group ?? Path.GetFileNameWithoutExtension(File);
}

/// <summary>What a head learns from, and how it is judged.</summary>
/// <param name="LeaveOneOut">The groups whose leave-one-source-out figures the card reports (a head trained without each, scored on it).</param>
public sealed record HeadRecipe(string Category, IReadOnlyList<HeadSource> Sources, TextFeatures Features = TextFeatures.Standard,
    IReadOnlyList<string>? LeaveOneOut = null);

/// <summary>A row as a head trains on it.</summary>
public sealed record Example(string Text, bool Label, float Weight, string Group);

/// <summary>How the heads are trained (the shipped heads' settings are the defaults).</summary>
public sealed record HeadTrainingOptions
{
    /// <summary>L2 strengths of the linear part, the one with the lowest weighted log loss on the held-back rows kept.</summary>
    public IReadOnlyList<float> L2Grid { get; init; } = [0.3f, 0.1f, 0.03f];

    public MlpTraining.Options Network { get; init; } = new();

    /// <summary>Seed of the linear part, the network and the counterfactual copies.</summary>
    public int Seed { get; init; } = 17;

    /// <summary>Long texts made of held-back posts on which each head's passage aggregation is chosen and calibrated.</summary>
    public int LongTexts { get; init; } = 800;
}

/// <summary>A trained head with the choices made while training it.</summary>
public sealed record TrainedHead(TextHead Head, float L2, int TrainingRows, int HeldBackRows, IReadOnlyList<Example> HeldBack,
    IReadOnlyList<string> SourceLines);

/// <summary>
/// Trains one head of a recipe: the linear part (L2 chosen on held-back rows), the network over the encoder's layers,
/// and their joint calibration on the held-back rows; then the passage aggregation for long texts.
/// </summary>
public sealed class HeadTrainer(TrainingCorpus corpus, TextEmbedder embedder, HeadTrainingOptions options, Action<string> progress)
{
    public HeadTrainingOptions Options => options;

    /// <summary>How much lower another method's held-out log loss must be to replace the highest passage.</summary>
    public const double AggregationMargin = 0.01;

    /// <summary>
    /// The sources of a recipe that leaving out the group <paramref name="group"/> removes: the group's own, and every
    /// other source reading one of its files (a data set split into groups by label or class is left out whole).
    /// </summary>
    public static IReadOnlyList<HeadSource> SourcesOf(HeadRecipe recipe, string group)
    {
        var files = recipe.Sources.Where(s => s.GroupName == group).Select(s => s.File).ToHashSet(StringComparer.Ordinal);
        return recipe.Sources.Where(s => s.GroupName == group || files.Contains(s.File)).ToList();
    }

    /// <summary>The recipe's training and held-back examples, without the sources of <paramref name="without"/> (<see cref="SourcesOf"/>).</summary>
    public (List<Example> Train, List<Example> Held, List<string> SourceLines) Examples(HeadRecipe recipe, string? without = null)
    {
        var train = new List<(CorpusRow Row, bool Label, HeadSource Source)>();
        var held = new List<(CorpusRow Row, bool Label, HeadSource Source)>();
        var lines = new List<string>();
        var leftOut = without is null ? [] : SourcesOf(recipe, without);
        foreach (var source in recipe.Sources.Where(s => !leftOut.Contains(s)))
        {
            var labelled = corpus.Rows(source.File).Select(r => (Row: r, Label: source.Label(r)))
                .Where(r => r.Label is not null && !string.IsNullOrWhiteSpace(r.Row.Text))
                .Where((_, i) => i % source.Every == 0).Select(r => (r.Row, Label: r.Label!.Value, source)).ToList();
            foreach (var row in labelled)
                (source.Validation || HeldBack.Is(row.Row.Text) ? held : train).Add(row);
            lines.Add($"`{source.File}` ({source.Licence}): {source.Description}; {labelled.Count} rows, {labelled.Count(r => r.Label)} positive" +
                (source.Validation ? " (validation split: held back)" : ""));
        }
        var trainExamples = Weigh(train);
        var heldExamples = Weigh(held);
        // Counterfactual copies of training rows that name a group, at half the original's weight.
        var random = new Random(options.Seed);
        var augmented = new List<Example>();
        foreach (var (example, source) in trainExamples.Zip(train, (e, t) => (e, t.Source)))
            if (source.Augment && IdentityTerms.Swap(example.Text, random) is { } swapped)
                augmented.Add(example with { Text = swapped, Weight = example.Weight / 2 });
        if (augmented.Count > 0) lines.Add($"counterfactual copies (an identity group swapped for another, same label, half weight): {augmented.Count} rows");
        return ([.. trainExamples, .. augmented], heldExamples, lines);
    }

    /// <summary>Each group's total weight split evenly between its labels; then scaled so the mean weight is 1.</summary>
    private static List<Example> Weigh(List<(CorpusRow Row, bool Label, HeadSource Source)> rows)
    {
        var counts = rows.GroupBy(r => (r.Source.GroupName, r.Label)).ToDictionary(g => g.Key, g => g.Count());
        var groupWeight = rows.GroupBy(r => r.Source.GroupName).ToDictionary(g => g.Key, g => g.Max(r => r.Source.Weight));
        var examples = rows.Select(r =>
        {
            var share = counts.ContainsKey((r.Source.GroupName, !r.Label)) ? 0.5 : 1.0;
            return new Example(r.Row.Text, r.Label, (float)(groupWeight[r.Source.GroupName] * share / counts[(r.Source.GroupName, r.Label)]), r.Source.GroupName);
        }).ToList();
        if (examples.Count == 0) return examples;
        var mean = examples.Average(e => e.Weight);
        return examples.Select(e => e with { Weight = e.Weight / mean }).ToList();
    }

    /// <summary>Trains the recipe's head (without the sources of <paramref name="without"/>; with <paramref name="l2"/> when given, else chosen).</summary>
    public TrainedHead Train(HeadRecipe recipe, string? without = null, float? l2 = null, CancellationToken ct = default)
    {
        var (train, held, lines) = Examples(recipe, without);
        if (train.Select(e => e.Label).Distinct().Count() < 2) throw new LabelledTextsException($"{recipe.Category} has training rows of one label only.");
        corpus.Encode(train.Select(e => e.Text).Concat(held.Select(e => e.Text)), embedder, progress, ct);
        var x = train.Select(e => corpus.Layers(e.Text)).ToList();
        var y = train.Select(e => e.Label).ToList();
        var w = train.Select(e => e.Weight).ToList();
        var texts = train.Select(e => e.Text).ToList();
        var heldTexts = held.Select(e => e.Text).ToList();
        var heldX = held.Select(e => corpus.Layers(e.Text)).ToList();
        var heldY = held.Select(e => e.Label).ToList();
        var heldW = held.Select(e => e.Weight).ToList();

        TextHead linear;
        float chosen;
        if (l2 is { } fixedL2)
        {
            progress($"{recipe.Category}{Without(without)}: linear part on {train.Count} rows, L2 {fixedL2}");
            (linear, chosen) = (TextHeadTraining.Train(texts, x, y, options.Seed, fixedL2, recipe.Features, w), fixedL2);
        }
        else
        {
            progress($"{recipe.Category}: linear part on {train.Count} rows, L2 chosen from {string.Join(", ", options.L2Grid)} on {held.Count} held-back rows");
            (linear, chosen) = TextHeadTraining.TrainSelected(texts, x, y, heldTexts, heldX, heldY, options.L2Grid, options.Seed, recipe.Features, w, heldW);
        }
        progress($"{recipe.Category}{Without(without)}: network ({options.Network.Hidden} hidden units, {options.Network.Epochs} epochs)");
        var network = MlpTraining.Train(x, y, w, options.Network with { Seed = options.Seed }, ct);

        // Calibrate the two halves together on the held-back rows (Platt scaling of the mean log-odds).
        var linearHeld = linear.Predict(heldTexts, heldX);
        var z = heldX.Select((v, i) => (float)((PassageAggregation.Logit(linearHeld[i]) + network.Logit(v)) / 2)).ToList();
        var (slope, offset) = Platt(z, heldY, heldW);
        var head = linear.WithNetwork(network, slope, offset);
        return new TrainedHead(head, chosen, train.Count, held.Count, held, lines);
    }

    private static string Without(string? group) => group is null ? "" : $" without {group}";

    /// <summary>σ(slope · z + offset) fitted by ML.NET's Platt calibrator on weighted examples.</summary>
    public static (double Slope, double Offset) Platt(IReadOnlyList<float> scores, IReadOnlyList<bool> labels, IReadOnlyList<float> weights)
    {
        var ml = new MLContext(17);
        var data = ml.Data.LoadFromEnumerable(scores.Select((s, i) => new ScoredRow { Score = s, Label = labels[i], Weight = weights[i] }));
        ISingleFeaturePredictionTransformer<Microsoft.ML.Calibrators.PlattCalibrator> calibrator =
            ml.BinaryClassification.Calibrators.Platt(nameof(ScoredRow.Label), nameof(ScoredRow.Score), nameof(ScoredRow.Weight)).Fit(data);
        // ML.NET's Platt calibrator computes 1 / (1 + exp(Slope · z + Offset)).
        return (-calibrator.Model.Slope, -calibrator.Model.Offset);
    }

    private sealed class ScoredRow
    {
        public float Score { get; set; }
        public bool Label { get; set; }
        public float Weight { get; set; }
    }

    /// <summary>One way of scoring a long text tried: its passage size, method, held-out log loss and ROC-AUC.</summary>
    public sealed record AggregationTrial(int PassageTokens, string Method, double LogLoss, double RocAuc);

    /// <summary>
    /// Chooses and calibrates how the head combines a long text's passages: long texts are made of held-back posts (a
    /// run of negatives, and the same with one positive among them, as a harmful line in a long transcript), scored
    /// passage by passage through the scorer <paramref name="scorerFor"/> makes for each passage size; each method is
    /// calibrated on half the texts and judged by log loss on the other half. The method is chosen for the size the
    /// scorer ships with (<paramref name="shippedSize"/>) and recalibrated on all texts; the other sizes are measured
    /// for the card (the choice of <see cref="TextScorer.PassageTokens"/>).
    /// </summary>
    public async Task<(PassageAggregation Aggregation, IReadOnlyList<AggregationTrial> Tried, int Texts)> ChooseAggregationAsync(
        Func<int, TextScorer> scorerFor, IReadOnlyList<int> sizes, int shippedSize, IReadOnlyList<Example> held, CancellationToken ct)
    {
        var random = new Random(options.Seed);
        var negatives = held.Where(e => !e.Label).Select(e => e.Text).ToList();
        var positives = held.Where(e => e.Label).Select(e => e.Text).ToList();
        var texts = new List<string>();
        var labels = new List<bool>();
        if (negatives.Count < 20 || positives.Count < 5) return (PassageAggregation.Max, [], 0);
        for (var n = 0; n < options.LongTexts; n++)
        {
            var parts = Enumerable.Range(0, random.Next(10, 18)).Select(_ => negatives[random.Next(negatives.Count)]).ToList();
            var positive = n % 2 == 1;
            if (positive) parts[random.Next(parts.Count)] = positives[random.Next(positives.Count)];
            texts.Add(string.Join("\n", parts));
            labels.Add(positive);
        }
        var tried = new List<AggregationTrial>();
        PassageAggregation? chosen = null;
        var longTexts = 0;
        foreach (var size in sizes.Append(shippedSize).Distinct())
        {
            var passages = await scorerFor(size).PassageProbabilitiesAsync(texts, ct);
            var keep = Enumerable.Range(0, texts.Count).Where(i => passages[i].Length > 1).ToList();
            if (keep.Count < 40) continue;
            var y = keep.Select(i => labels[i]).ToList();
            var fitHalf = Enumerable.Range(0, keep.Count).Where(k => k % 2 == 0).ToList();
            var testHalf = Enumerable.Range(0, keep.Count).Where(k => k % 2 == 1).ToList();
            var here = new List<(string Method, double Loss, double Slope, double Offset)>();
            foreach (var method in PassageAggregation.Methods)
            {
                var raw = keep.Select(i => PassageAggregation.Raw(method, passages[i])).ToList();
                var z = raw.Select(p => (float)PassageAggregation.Logit(p)).ToList();
                var (s, o) = Platt(fitHalf.Select(k => z[k]).ToList(), fitHalf.Select(k => y[k]).ToList(), fitHalf.Select(_ => 1f).ToList());
                var loss = TextHeadTraining.LogLoss(testHalf.Select(k => PassageAggregation.Sigmoid(s * z[k] + o)).ToList(), testHalf.Select(k => y[k]).ToList());
                tried.Add(new AggregationTrial(size, method, loss, ClassificationMetrics.RocAuc(raw, y)));
                var (slope, offset) = Platt(z, y, keep.Select(_ => 1f).ToList());
                here.Add((method, loss, slope, offset));
            }
            if (size != shippedSize) continue;
            longTexts = keep.Count;
            // The highest passage unless another method is clearly better: it is the rule a moderator reads ("the highest
            // passage decided"), and one harmful line in a long transcript is not averaged away.
            var max = here.Single(t => t.Method == PassageAggregation.MaxMethod);
            var best = here.MinBy(t => t.Loss);
            if (best.Loss > max.Loss - AggregationMargin) best = max;
            chosen = new PassageAggregation(best.Method, Math.Round(best.Slope, 6), Math.Round(best.Offset, 6));
        }
        return (chosen ?? PassageAggregation.Max, tried, longTexts);
    }
}
