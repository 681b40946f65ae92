using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Media;
using Moderation.Core.Fairness;
using Moderation.Core.Models;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;

namespace Moderation.Worker.Commands;

/// <summary>
/// <c>models list|register|set-state</c>: the model registry in the configured database, from the command line.
/// Changes are audited with <c>cli:{user}@{machine}</c> as the actor.
/// </summary>
internal static class ModelCommands
{
    public static Command Create()
    {
        var command = new Command("models", "The model registry: list versions, register a trained head, make a version live, shadow or retired.")
        {
            List(), Register(), RegisterImageModel(), SetState(), ConvertTfjs(),
        };
        return command;
    }

    private static Command List()
    {
        var category = CategoryOption(required: false);
        var command = new Command("list", "List registered model versions (newest first) with their state and artifact hash.") { category };
        return WithRegistry(command, async (parse, registry, ct) =>
        {
            var versions = await registry.ListAsync(parse.GetValue(category), ct);
            if (versions.Count == 0)
            {
                Console.WriteLine("no model versions registered");
                return 0;
            }
            Console.WriteLine($"{"category",-24} {"version",-40} {"state",-8} {"scorer",-8} {"sha256",-12} {"registered (UTC)",-20} by");
            foreach (var v in versions)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{v.Category,-24} {v.Version,-40} {v.State,-8} {v.Scorer,-8} {v.ArtifactSha256[..12],-12} {v.RegisteredAt.UtcDateTime,-20:yyyy-MM-dd HH:mm:ss} {v.RegisteredBy}"));
            return 0;
        });
    }

    private static Command Register()
    {
        var models = new Option<DirectoryInfo>("--models") { Required = true, Description = "Model directory holding <category>.zip and <category>.json (what train or train-images writes)." };
        var category = CategoryOption(required: true);
        var state = new Option<string>("--state") { DefaultValueFactory = _ => ModelStates.Shadow, Description = "shadow (default) or live; live retires the category's previous live version." };
        var overrideFairness = OverrideFairnessOption();
        var command = new Command("register", "Store a trained head (its zip, card and validation metrics) in the registry, as shadow or live.")
        {
            models, category, state, overrideFairness,
        };
        return WithGate(command, async (parse, gate, ct) =>
        {
            var registry = gate.Registry;
            var name = parse.GetValue(category)!;
            var target = parse.GetValue(state)!;
            if (target is not (ModelStates.Shadow or ModelStates.Live))
                throw Refusal.Invalid("state", $"--state must be shadow or live to register, not '{target}'.");
            var directory = parse.GetValue(models)!.FullName;
            var (card, cardJson, metrics, artifact) = HeadFiles.ReadPackage(directory, name);
            // A head's card names the embedder it was trained on: ResNet18 makes it an image head, loaded by the image scorer.
            var scorer = card.Embedder == ImageEmbedder.ModelName ? ImageScorer.HeadKind : TextScorer.ScorerName;
            if (scorer == ImageScorer.HeadKind)
            {
                using var stream = new MemoryStream(artifact, writable: false);
                ImageHead.Load(stream);
            }
            // A text head goes live through the fairness floor: registered as shadow first, then promoted (or refused, staying shadow).
            var throughGate = target == ModelStates.Live && scorer == TextScorer.ScorerName;
            var created = await registry.RegisterAsync(name, card.ModelVersion, scorer, cardJson, metrics, artifact,
                throughGate ? ModelStates.Shadow : target, AuditActors.Cli(), ct);
            if (throughGate)
            {
                if (created) Console.WriteLine($"registered {name}@{card.ModelVersion} as shadow ({artifact.Length} bytes)");
                await gate.SetStateAsync(name, card.ModelVersion, ModelStates.Live, AuditActors.Cli(), "registered as live", parse.GetValue(overrideFairness), ct);
                Console.WriteLine($"{name}@{card.ModelVersion} is live");
                return 0;
            }
            Console.WriteLine(created
                ? $"registered {name}@{card.ModelVersion} as {target} ({artifact.Length} bytes)"
                : $"{name}@{card.ModelVersion} is already registered with these bytes; nothing changed (use set-state to change its state)");
            return 0;
        });
    }

    private static Command RegisterImageModel()
    {
        var model = new Option<FileInfo>("--model") { Required = true, Description = "The ONNX image classifier." };
        var manifest = new Option<FileInfo>("--manifest") { Required = true, Description = "Its manifest (JSON): input name, size, layout, channel order, scale, mean, std; output name and activation; labels with the category each scores." };
        var state = new Option<string>("--state") { DefaultValueFactory = _ => ModelStates.Shadow, Description = "shadow (default) or live; live retires the previous live custom image model of each category." };
        var command = new Command("register-image-model",
            "Check a custom ONNX image classifier against its manifest and store it in the registry, once per category its labels score; the image scorer runs it beside the image heads.")
        {
            model, manifest, state,
        };
        return WithRegistry(command, async (parse, registry, ct) =>
        {
            var target = parse.GetValue(state)!;
            if (target is not (ModelStates.Shadow or ModelStates.Live))
                throw Refusal.Invalid("state", $"--state must be shadow or live to register, not '{target}'.");
            var onnx = await File.ReadAllBytesAsync(parse.GetValue(model)!.FullName, ct);
            var manifestJson = await File.ReadAllTextAsync(parse.GetValue(manifest)!.FullName, ct);
            var parsed = ImageModelManifest.Parse(manifestJson);
            // Refused here, with the field, rather than when a worker first loads it.
            using (CustomImageModel.Load(onnx, parsed)) { }
            var artifact = CustomImageModel.Package(onnx, manifestJson);
            var metrics = System.Text.Json.JsonSerializer.Serialize(new { checkedAgainstGraph = true, labels = parsed.Labels.Count });
            foreach (var category in parsed.Categories.Keys.Order(StringComparer.Ordinal))
            {
                var created = await registry.RegisterAsync(category, parsed.RegistryVersion, ImageScorer.CustomKind, manifestJson, metrics, artifact, target, AuditActors.Cli(), ct);
                Console.WriteLine(created
                    ? $"registered {category}@{parsed.RegistryVersion} ({ImageScorer.CustomKind}) as {target} ({artifact.Length} bytes)"
                    : $"{category}@{parsed.RegistryVersion} is already registered with these bytes; nothing changed");
            }
            return 0;
        });
    }

    /// <summary>
    /// <c>models convert-tfjs</c>: a TensorFlow.js layers model (model.json and its weight shards) to ONNX, for
    /// <c>register-image-model</c>; how the shipped nsfwjs classifier was made (models/image/nsfwjs-mobilenet-v2).
    /// </summary>
    private static Command ConvertTfjs()
    {
        var model = new Option<FileInfo>("--model") { Required = true, Description = "The TF.js model.json (a Keras functional model); its weight shards beside it." };
        var output = new Option<FileInfo>("--output") { Required = true, Description = "The ONNX file to write." };
        var inputName = new Option<string>("--input-name") { DefaultValueFactory = _ => "input", Description = "Name of the graph's input (NHWC float)." };
        var outputName = new Option<string>("--output-name") { DefaultValueFactory = _ => "probabilities", Description = "Name of the graph's output." };
        var command = new Command("convert-tfjs", "Convert a TensorFlow.js layers model to ONNX (input kept NHWC; quantised weights dequantised as TF.js does).")
        {
            model, output, inputName, outputName,
        };
        command.SetAction((parse, _) =>
        {
            var file = parse.GetValue(model)!;
            if (!file.Exists)
            {
                Console.Error.WriteLine($"error: {file.FullName} does not exist.");
                return Task.FromResult(2);
            }
            try
            {
                var onnx = Moderation.Core.Onnx.TfjsLayersConverter.Convert(file.FullName, parse.GetValue(inputName)!, parse.GetValue(outputName)!);
                File.WriteAllBytes(parse.GetValue(output)!.FullName, onnx);
                Console.WriteLine($"wrote {parse.GetValue(output)!.FullName} ({onnx.Length} bytes)");
                return Task.FromResult(0);
            }
            catch (Exception e) when (e is Moderation.Core.Onnx.TfjsConversionException or IOException or System.Text.Json.JsonException or KeyNotFoundException
                                          or InvalidOperationException or NullReferenceException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }
        });
        return command;
    }

    private static Command SetState()
    {
        var category = CategoryOption(required: true);
        var version = new Option<string>("--version") { Required = true, Description = "The model version (models list shows them)." };
        var state = new Option<string>("--state") { Required = true, Description = "live, shadow or retired." };
        var reason = new Option<string?>("--reason") { Description = "Why; recorded in the audit trail." };
        var overrideFairness = OverrideFairnessOption();
        var command = new Command("set-state", "Make a version live (retiring the previous live one), shadow or retired.")
        {
            category, version, state, reason, overrideFairness,
        };
        return WithGate(command, async (parse, gate, ct) =>
        {
            var name = parse.GetValue(category)!;
            var v = parse.GetValue(version)!;
            var before = (await gate.Registry.FindAsync(name, v, ct))?.State;
            var after = await gate.SetStateAsync(name, v, parse.GetValue(state)!, AuditActors.Cli(), parse.GetValue(reason), parse.GetValue(overrideFairness), ct);
            Console.WriteLine(before == after.State
                ? $"{name}@{v} is already {after.State}; nothing changed"
                : $"{name}@{v}: {before} -> {after.State}");
            return 0;
        });
    }

    private static Option<string?> OverrideFairnessOption() => new("--override-fairness")
    {
        Description = "Make a text head live although its fairness report is below the floor (Moderation:Fairness): the reason, recorded as an audit event of its own.",
    };

    private static Command WithGate(Command command, Func<ParseResult, FairnessGate, CancellationToken, Task<int>> action) =>
        WorkerHost.WithService(command, action, e =>
            e switch
            {
                FileNotFoundException or DirectoryNotFoundException or InvalidDataException => $"error: {e.Message}",
                _ => null,
            });

    private static Option<string> CategoryOption(bool required)
    {
        var option = new Option<string>("--category") { Required = required, Description = "harm, misinformation, bias, or a sub-category such as harm.hate." };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (value is null || value.Length > ModelRegistry.MaxCategoryLength || !ScorerOutput.IsValidCategory(value))
                result.AddError($"'{value}' is not a category name (lower-case, dotted: harm, harm.hate, misinformation, bias).");
        });
        return option;
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the registry of the configured database (configuration as --Key=Value
    /// after the options, like the other commands). Bad input is a clear message and exit code 2.
    /// </summary>
    private static Command WithRegistry(Command command, Func<ParseResult, ModelRegistry, CancellationToken, Task<int>> action) =>
        WorkerHost.WithService(command, action, e =>
            e switch
            {
                FileNotFoundException or DirectoryNotFoundException or InvalidDataException => $"error: {e.Message}",
                _ => null,
            });
}
