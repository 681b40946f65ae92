using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Media;
using Moderation.Core.Models;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Media;

namespace Moderation.Tests.Processes;

/// <summary><c>train-images</c>, <c>models register</c> of an image head and <c>models register-image-model</c>, run as the built worker program.</summary>
[Collection(HostCollection.Name)]
public sealed class ImageCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("moderation-image-commands-").FullName;

    private static Task<(int ExitCode, string Output)> RunAsync(TestDatabase? database, params string[] args) =>
        ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"), args, database is null ? [] : new Dictionary<string, string>
        {
            ["Moderation__DataDirectory"] = database.Directory,
            ["Moderation__Database__Provider"] = database.Provider.ToString(),
            ["Moderation__Database__ConnectionString"] = database.ConnectionString,
        });

    private string Labels(int perClass)
    {
        var csv = new StringBuilder("path,category,label\n");
        Directory.CreateDirectory(Path.Combine(directory, "pictures"));
        for (var i = 0; i < perClass; i++)
            foreach (var warm in new[] { true, false })
            {
                var name = $"pictures/{(warm ? "w" : "c")}{i}.jpg";
                File.WriteAllBytes(Path.Combine(directory, name), TestImageModels.Scene(warm, 300 + i));
                csv.Append($"{name},harm.violence,{(warm ? 1 : 0)}\n");
            }
        var path = Path.Combine(directory, "labels.csv");
        File.WriteAllText(path, csv.ToString());
        return path;
    }

    [Fact]
    public async Task Train_images_prints_validation_metrics_and_its_heads_register_as_image_heads()
    {
        var labels = Labels(10);
        var output = Path.Combine(directory, "heads");
        var trained = await RunAsync(null, "train-images", "--input", labels, "--output", output);
        trained.ExitCode.Should().Be(0, trained.Output);
        trained.Output.Should().MatchRegex(@"harm\.violence harm\.violence-image-\d{8}-[0-9a-f]{8}: train=16 validation=4 \(positives 2\) roc_auc=[0-9.]+ pr_auc=[0-9.]+ ece=[0-9.]+");

        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        (await RunAsync(database, "migrate")).ExitCode.Should().Be(0);
        var registered = await RunAsync(database, "models", "register", "--models", output, "--category", "harm.violence", "--state", "live");
        registered.ExitCode.Should().Be(0, registered.Output);
        var list = await RunAsync(database, "models", "list");
        list.Output.Should().MatchRegex(@"harm\.violence\s+harm\.violence-image-\S+\s+live\s+image\b");
    }

    [Fact]
    public async Task Train_images_refuses_bad_input_with_the_line_and_exit_code_2()
    {
        var csv = Path.Combine(directory, "bad.csv");
        File.WriteAllText(csv, "path,category,label\nnowhere.jpg,harm.violence,1\n");
        var result = await RunAsync(null, "train-images", "--input", csv, "--output", Path.Combine(directory, "out"));
        result.ExitCode.Should().Be(2, result.Output);
        result.Output.Should().Contain("error:").And.Contain("line 2: nowhere.jpg does not exist");
    }

    [Fact]
    public async Task Register_image_model_checks_the_manifest_against_the_graph_and_stores_it_per_category()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        (await RunAsync(database, "migrate")).ExitCode.Should().Be(0);
        var model = Path.Combine(directory, "red.onnx");
        File.WriteAllBytes(model, TestImageModels.RedDetector());
        var wrong = Path.Combine(directory, "wrong.json");
        File.WriteAllText(wrong, TestImageModels.RedDetectorManifest(inputName: "image"));
        var refused = await RunAsync(database, "models", "register-image-model", "--model", model, "--manifest", wrong);
        refused.ExitCode.Should().Be(2, refused.Output);
        refused.Output.Should().Contain("error: input.name: The model has no input 'image'; its input is 'pixels'.");

        var manifest = Path.Combine(directory, "manifest.json");
        File.WriteAllText(manifest, TestImageModels.RedDetectorManifest(version: "2026-11"));
        var registered = await RunAsync(database, "models", "register-image-model", "--model", model, "--manifest", manifest, "--state", "live");
        registered.ExitCode.Should().Be(0, registered.Output);
        registered.Output.Should().Contain($"registered harm.violence@red-detector-2026-11 ({ImageScorer.CustomKind}) as live");
        (await RunAsync(database, "models", "list")).Output.Should().MatchRegex(@"harm\.violence\s+red-detector-2026-11\s+live\s+image-onnx");
    }

    [Fact]
    public async Task Train_images_from_decisions_prints_the_figures_and_registers_shadow_versions_only()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        (await RunAsync(database, "migrate")).ExitCode.Should().Be(0);
        await new DecisionSeeder(database.Database).DecideAsync(DecisionSeeder.Balanced());
        var output = Path.Combine(directory, "from-decisions");

        var trained = await RunAsync(database, "train-images", "--from-decisions", "--output", output, "--register");

        trained.ExitCode.Should().Be(0, trained.Output);
        trained.Output.Should().Contain("trained 1 image head(s) from moderator decisions (60 decided uploads with resnet18 image embeddings)")
            .And.MatchRegex(@"harm\.violence (harm\.violence-image-\d{8}-[0-9a-f]{8}): train=48 validation=12 \(positives 6\) roc_auc=[0-9.]+ pr_auc=[0-9.]+ ece=[0-9.]+")
            .And.Contain("uploads: 30 positive, 30 negative, decided 2026-11-02 09:01 to 2026-11-02 10:00 UTC; frames: ")
            .And.MatchRegex(@"registered harm\.violence@harm\.violence-image-\S+ as shadow \(make it live with: models set-state");
        File.Exists(Path.Combine(output, "harm.violence.zip")).Should().BeTrue();
        var list = await RunAsync(database, "models", "list");
        list.Output.Should().MatchRegex(@"harm\.violence\s+harm\.violence-image-\S+\s+shadow\s+image\b").And.NotContain(" live ");
        // The image scorer's model source loads it as a shadow head: scored beside, never routing.
        using (var models = new RegistryImageModels(new ModelRegistry(database.Database, TimeProvider.System), Options.Create(new ImageScoringOptions()),
                   TimeProvider.System, NullLogger<RegistryImageModels>.Instance))
        {
            var set = await models.CurrentAsync(CancellationToken.None);
            set.Heads.Should().ContainSingle().Which.Should().Match<LoadedImageHead>(h => h.Category == "harm.violence" && h.Shadow);
            set.LiveCategories.Should().BeEmpty();
        }

        var again = await RunAsync(database, "train-images", "--from-decisions", "--output", output, "--register");
        again.ExitCode.Should().Be(0, again.Output);
        again.Output.Should().Contain("is already registered (shadow), trained today from the same decisions; nothing changed");
    }

    [Fact]
    public async Task Train_images_from_decisions_refuses_what_it_cannot_use_with_exit_code_2()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var output = Path.Combine(directory, "refused");
        var unmigrated = await RunAsync(database, "train-images", "--from-decisions", "--output", output);
        unmigrated.ExitCode.Should().Be(2, unmigrated.Output);
        unmigrated.Output.Should().Contain("error: the database could not be read").And.Contain("'migrate' first");

        (await RunAsync(database, "migrate")).ExitCode.Should().Be(0);
        var empty = await RunAsync(database, "train-images", "--from-decisions", "--output", output);
        empty.ExitCode.Should().Be(2, empty.Output);
        empty.Output.Should().Contain("error: There are no moderator decisions to train on");
        var later = await RunAsync(database, "train-images", "--from-decisions", "--output", output, "--since", "2030-01-01");
        later.Output.Should().Contain("There are no moderator decisions decided since 2030-01-01 00:00:00Z to train on");
        Directory.Exists(output).Should().BeFalse("nothing was trained, so nothing was written");

        foreach (var (args, message) in new[]
        {
            (new[] { "--output", output }, "Give either --input labels.csv or --from-decisions (one of them)."),
            (new[] { "--from-decisions", "--input", "labels.csv", "--output", output }, "Give either --input labels.csv or --from-decisions (one of them)."),
            (new[] { "--input", "labels.csv", "--register", "--output", output }, "--since, --min-examples, --category and --register go with --from-decisions, not --input."),
            (new[] { "--from-decisions", "--min-examples", "1", "--output", output }, "--min-examples must be at least 2"),
            (new[] { "--from-decisions", "--since", "last week", "--output", output }, "--since must be a date or time such as 2026-11-01"),
            (new[] { "--from-decisions", "--category", "Harm Violence", "--output", output }, "'Harm Violence' is not a category name"),
        })
        {
            var refused = await RunAsync(database, ["train-images", .. args]);
            refused.ExitCode.Should().Be(2, refused.Output);
            refused.Output.Should().Contain(message);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }
}
