using System.Text;
using FluentAssertions;
using Moderation.Tests.Infrastructure;
using Moderation.Training.Text;

namespace Moderation.Tests.Processes;

/// <summary><c>train</c> and <c>eval</c> run as the built worker program, from another working directory.</summary>
[Collection(HostCollection.Name)]
public sealed class HeadCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("moderation-heads-").FullName;

    private static readonly string[] Topics = ["cooking", "football", "my dog", "this city", "the new phone", "gardening", "the weather", "jazz", "my neighbours", "this game", "the beach", "my bike"];

    private string WriteCsv(string name, string header, IEnumerable<string> rows)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, header + "\n" + string.Join("\n", rows) + "\n", Encoding.UTF8);
        return path;
    }

    private string TrainingCsv() => WriteCsv("train.csv", "id,text,label", Topics.SelectMany((t, i) => new[]
    {
        $"{i}a,\"I really enjoy {t}, what a lovely day\",0",
        $"{i}b,\"{t} makes me happy, thanks for sharing\",0",
        $"{i}c,\"I will find you and hurt you because of {t}\",1",
        $"{i}d,\"people who like {t} deserve to be beaten up\",1",
    }));

    private Task<(int ExitCode, string Output)> RunAsync(params string[] args) =>
        ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"), args, workingDirectory: directory);

    [Fact]
    public async Task Train_writes_a_head_and_its_card_and_eval_reports_metrics_and_the_bias_audit()
    {
        var models = Path.Combine(directory, "models");
        var train = await RunAsync("train", "--category", "harm.violence", "--input", TrainingCsv(), "--output", models);
        train.ExitCode.Should().Be(0, train.Output);
        train.Output.Should().MatchRegex(@"validation \(\d+ held-back rows\)").And.Contain("roc_auc=").And.Contain("threshold=0.5000");
        File.Exists(Path.Combine(models, "harm.violence.zip")).Should().BeTrue();
        File.ReadAllText(Path.Combine(models, "harm.violence.json")).Should().Contain("\"embedder\": \"all-MiniLM-L6-v2-int8-layers\"");

        var test = WriteCsv("test.csv", "text,label,group", [
            "\"I am a gay man and I love cooking\",0,gay",
            "\"I will hurt you, gay people deserve to be beaten up\",1,gay",
            "\"I am a muslim woman who loves jazz\",0,muslim;women",
            "\"muslim women deserve to be beaten up\",1,muslim;women",
            "\"the weather is lovely\",0,none",
            "\"I will find you and hurt you\",1,none",
        ]);
        var eval = await RunAsync("eval", "--category", "harm.violence", "--input", test, "--models", models, "--group-column", "group");
        eval.ExitCode.Should().Be(0, eval.Output);
        eval.Output.Should().Contain("rows=6 positives=3").And.Contain("generalised_mean(p=-5)").And.Contain("muslim").And.Contain("women");

        var scored = Path.Combine(directory, "scored.csv");
        var score = await RunAsync("score", "--input", test, "--output", scored, "--models", models);
        score.ExitCode.Should().Be(0, score.Output);
        var lines = File.ReadAllLines(scored);
        lines[0].Should().Be("text,label,group,harm.violence,unscored");
        lines.Should().HaveCount(7);
        var threat = double.Parse(lines.Single(l => l.StartsWith("I will find you", StringComparison.Ordinal)).Split(',')[^2], System.Globalization.CultureInfo.InvariantCulture);
        var calm = double.Parse(lines.Single(l => l.StartsWith("the weather", StringComparison.Ordinal)).Split(',')[^2], System.Globalization.CultureInfo.InvariantCulture);
        threat.Should().BeGreaterThan(calm).And.BeInRange(0, 1);
    }

    [Fact]
    public async Task Score_finds_the_shipped_heads_beside_the_program_and_adds_a_column_per_category()
    {
        var input = WriteCsv("in.csv", "id,text,source", [
            "1,\"Lovely morning walk with my dog in the park\",a",
            "2,\"I know where you live and I am going to stab you tonight\",b",
            "3,\"\",c",
            "4,\"h\u0430te all of th\u0435m, k.i.l.l them\",d",
        ]);
        var output = Path.Combine(directory, "out.csv");
        var run = await RunAsync("score", "--input", input, "--output", output);
        run.ExitCode.Should().Be(0, run.Output);
        var lines = File.ReadAllLines(output);
        lines[0].Should().Be("id,text,source,bias,harm,harm.harassment,harm.hate,harm.self_harm,harm.sexual,harm.violence,misinformation,unscored");
        lines.Should().HaveCount(5);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        string[] Scores(string[] row) => row[^9..^1];
        var probabilities = rows.Where(r => r[0] != "3").SelectMany(Scores).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        probabilities.Should().HaveCount(24).And.OnlyContain(p => p >= 0 && p <= 1);
        var empty = rows.Single(r => r[0] == "3");
        Scores(empty).Should().OnlyContain(v => v == "", "an empty text gets no score");
        empty[^1].Should().Be("no_text: no text score: it is empty");
        var threat = rows.Single(r => r[0] == "2");
        double.Parse(Scores(threat)[6], System.Globalization.CultureInfo.InvariantCulture).Should().BeGreaterThan(0.5, "harm.violence of a threat");
        var calm = rows.Single(r => r[0] == "1");
        Scores(calm).Should().OnlyContain(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) < 0.5);
    }

    /// <summary>
    /// <c>eval</c> measures what <c>score</c> (and the pipeline) computes: the same file through both gives the same
    /// ROC-AUC, to the digits eval prints. Real posts with long ones among them (CONSTRAINT's validation split), so
    /// passages and their aggregation are part of what is compared; where the shared data is not beside the
    /// repository, the seed claims, with long texts made of fifteen claims each.
    /// </summary>
    [Fact]
    public async Task Eval_and_score_give_the_same_numbers_on_the_same_file()
    {
        var root = Moderation.Tests.Storage.MigrationFilesTests.RepositoryRoot();
        var source = Path.Combine(root, "..", "shared", "data", "constraint_val.csv");
        List<(string Text, string Label)> sample;
        if (File.Exists(source))
        {
            var all = Moderation.Training.Text.TrainingCorpus.Read("constraint_val", source);
            sample = all.Where((_, i) => i % 8 == 0).Concat(all.OrderByDescending(r => r.Text.Length).Take(20)).Distinct()
                .Select(r => (r.Text, r["label"])).ToList();
        }
        else
        {
            var claims = Moderation.Training.Text.TrainingCorpus.Read("claims_more", Path.Combine(root, "training", "seed", "claims_more.csv"));
            var longTexts = claims.Chunk(15).Take(20).Select(c => (string.Join(". ", c.Select(r => r.Text)), c.Any(r => r["label"] == "1") ? "1" : "0"));
            sample = claims.Where((_, i) => i % 4 == 0).Select(r => (r.Text, r["label"])).Concat(longTexts).ToList();
        }
        var input = WriteCsv("sample.csv", "text,label", sample.Select(r => $"\"{r.Text.Replace("\"", "\"\"")}\",{r.Label}"));
        var scored = Path.Combine(directory, "scored.csv");
        var score = await RunAsync("score", "--input", input, "--output", scored);
        score.ExitCode.Should().Be(0, score.Output);
        var eval = await RunAsync("eval", "--category", "misinformation", "--input", input);
        eval.ExitCode.Should().Be(0, eval.Output);

        var rows = Moderation.Training.Text.TrainingCorpus.Read("scored", scored).Where(r => r["misinformation"] != "").ToList();
        var auc = Moderation.Core.Evaluation.ClassificationMetrics.RocAuc(
            rows.Select(r => double.Parse(r["misinformation"], System.Globalization.CultureInfo.InvariantCulture)).ToList(),
            rows.Select(r => r["label"] == "1").ToList());
        var reported = System.Text.RegularExpressions.Regex.Match(eval.Output, @"roc_auc=([0-9.]+)").Groups[1].Value;
        auc.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture).Should().Be(reported);
        eval.Output.Should().Contain($"rows={rows.Count} ");
    }

    [Fact]
    public async Task Bad_csvs_and_categories_are_refused_with_a_clear_message()
    {
        var models = Path.Combine(directory, "models");
        var noText = WriteCsv("no-text.csv", "body,label", ["\"hello\",1"]);
        var badLabel = WriteCsv("bad-label.csv", "text,label", ["\"hello\",yes"]);
        var empty = WriteCsv("empty.csv", "text,label", []);

        var missing = await RunAsync("train", "--category", "harm", "--input", noText, "--output", models);
        missing.ExitCode.Should().Be(2);
        missing.Output.Should().Contain("has no 'text' column (its columns: body, label)");

        var label = await RunAsync("train", "--category", "harm", "--input", badLabel, "--output", models);
        label.ExitCode.Should().Be(2);
        label.Output.Should().Contain("label 'yes' is not 0 or 1");

        (await RunAsync("train", "--category", "harm", "--input", empty, "--output", models)).Output.Should().Contain("no rows");
        (await RunAsync("train", "--category", "Harm!", "--input", TrainingCsv(), "--output", models)).Output.Should().Contain("is not a category name");
        (await RunAsync("eval", "--category", "bias", "--input", TrainingCsv(), "--models", models)).Output.Should().Contain("does not exist");
        (await RunAsync("eval", "--category", "bias", "--input", TrainingCsv(), "--models", ShippedModels("harm.violence"))).Output.Should().Contain("No 'bias' head");
        (await RunAsync("score", "--input", TrainingCsv(), "--output", Path.Combine(directory, "o.csv"), "--models", directory)).Output.Should().Contain("holds no heads");
        (await RunAsync("score", "--input", noText, "--output", Path.Combine(directory, "o.csv"))).Output.Should().Contain("has no 'text' column");
    }

    /// <summary>A model directory holding only the shipped head of <paramref name="category"/>.</summary>
    private string ShippedModels(string category)
    {
        var only = Directory.CreateDirectory(Path.Combine(directory, "only-" + category)).FullName;
        var shipped = Moderation.Core.Scoring.Text.TextScoringOptions.ShippedModelsDirectory;
        foreach (var extension in new[] { ".zip", ".json" })
            File.Copy(Path.Combine(shipped, category + extension), Path.Combine(only, category + extension));
        return only;
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
    }
}
