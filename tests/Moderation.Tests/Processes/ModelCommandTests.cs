using System.IO.Compression;
using System.Text.Json;
using FluentAssertions;
using Moderation.Core.Audit;
using Moderation.Core.Fairness;
using Moderation.Core.Models;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Processes;

/// <summary><c>models list|register|set-state</c> run as the built worker program against a test database.</summary>
[Collection(HostCollection.Name)]
public sealed class ModelCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("moderation-model-commands-").FullName;

    private static Task<(int ExitCode, string Output)> RunAsync(TestDatabase database, params string[] args) =>
        ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"), args, new Dictionary<string, string>
        {
            ["Moderation__DataDirectory"] = database.Directory,
            ["Moderation__Database__Provider"] = database.Provider.ToString(),
            ["Moderation__Database__ConnectionString"] = database.ConnectionString,
        });

    /// <summary>A head as train writes it: a zip and its card (the registry stores the bytes; it does not run them).</summary>
    private string WriteHead(string folder, string category, string version, string zipContent)
    {
        var models = Path.Combine(directory, folder);
        Directory.CreateDirectory(models);
        using (var zip = ZipFile.Open(HeadFiles.ModelPath(models, category), ZipArchiveMode.Create))
        using (var writer = new StreamWriter(zip.CreateEntry("Model/model.bin").Open()))
            writer.Write(zipContent);
        var card = new HeadCard(category, version, TextEmbedder.ModelName, DateTimeOffset.UtcNow, "train.csv", new string('a', 64), 90, 10, 0.93, 0.88, 0.04);
        File.WriteAllText(HeadFiles.CardPath(models, category), JsonSerializer.Serialize(card, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
        return models;
    }

    [Fact]
    public async Task Register_list_and_set_state_manage_the_registry_in_the_configured_database()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        (await RunAsync(database, "migrate")).ExitCode.Should().Be(0);
        var v1 = WriteHead("one", "harm", "harm-20260101-aaaa", "first");
        var v2 = WriteHead("two", "harm", "harm-20260201-bbbb", "second");

        // These heads are bytes, not models: the fairness floor (harm is floored) cannot audit them, so going live needs an override.
        var held = await RunAsync(database, "models", "register", "--models", v1, "--category", "harm", "--state", "live");
        held.ExitCode.Should().Be(2, held.Output);
        held.Output.Should().Contain("registered harm@harm-20260101-aaaa as shadow").And.Contain("below the fairness floor").And.Contain("could not be computed");
        var registered = await RunAsync(database, "models", "register", "--models", v1, "--category", "harm", "--state", "live", "--override-fairness", "a test head");
        registered.ExitCode.Should().Be(0, registered.Output);
        registered.Output.Should().Contain("harm@harm-20260101-aaaa is live");
        var again = await RunAsync(database, "models", "register", "--models", v1, "--category", "harm");
        again.ExitCode.Should().Be(0, again.Output);
        again.Output.Should().Contain("already registered with these bytes");
        (await RunAsync(database, "models", "register", "--models", v2, "--category", "harm")).ExitCode.Should().Be(0);

        var list = await RunAsync(database, "models", "list", "--category", "harm");
        list.ExitCode.Should().Be(0, list.Output);
        list.Output.Should().MatchRegex(@"harm\s+harm-20260101-aaaa\s+live").And.MatchRegex(@"harm\s+harm-20260201-bbbb\s+shadow");

        var promoted = await RunAsync(database, "models", "set-state", "--category", "harm", "--version", "harm-20260201-bbbb", "--state", "live", "--reason", "better PR-AUC",
            "--override-fairness", "a test head too");
        promoted.ExitCode.Should().Be(0, promoted.Output);
        promoted.Output.Should().Contain("shadow -> live");

        var registry = new ModelRegistry(database.Database, TimeProvider.System);
        (await registry.ListAsync("harm", CancellationToken.None)).Select(m => $"{m.Version}:{m.State}")
            .Should().BeEquivalentTo("harm-20260101-aaaa:retired", "harm-20260201-bbbb:live");
        var live = (await registry.ActiveAsync(CancellationToken.None)).Single();
        JsonDocument.Parse(live.Metrics).RootElement.GetProperty("validationPrAuc").GetDouble().Should().Be(0.88);
        JsonDocument.Parse(live.Card).RootElement.GetProperty("trainingRows").GetInt32().Should().Be(90);
        (await registry.ArtifactAsync("harm", live.Version, CancellationToken.None)).Should().Equal(File.ReadAllBytes(HeadFiles.ModelPath(v2, "harm")));
        var events = await AuditLog.ReadAsync(database.Database, 0, 100, CancellationToken.None);
        events.Should().OnlyContain(e => e.Actor.StartsWith("cli:"));
        events.Last(e => e.Action == "model.state_changed").Reason.Should().Be("better PR-AUC");
        events.Where(e => e.Action == FairnessGate.OverrideAction).Select(e => e.Reason).Should().Equal("a test head", "a test head too");
        (await RunAsync(database, "verify-audit")).ExitCode.Should().Be(0);
    }

    [Fact]
    public async Task Bad_input_is_a_clear_message_and_exit_code_2()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        (await RunAsync(database, "migrate")).ExitCode.Should().Be(0);
        var models = WriteHead("ok", "harm", "harm-v1", "bytes");

        async Task Refused(string fragment, params string[] args)
        {
            var result = await RunAsync(database, args);
            result.ExitCode.Should().Be(2, result.Output);
            result.Output.Should().Contain(fragment);
        }

        await Refused("No 'bias' head", "models", "register", "--models", models, "--category", "bias");
        await Refused("shadow or live", "models", "register", "--models", models, "--category", "harm", "--state", "retired");
        await Refused("not a category name", "models", "register", "--models", models, "--category", "Harm!");
        await Refused("--models", "models", "register", "--category", "harm");
        await Refused("No model version 'nope'", "models", "set-state", "--category", "harm", "--version", "nope", "--state", "live");
        await Refused("'gold' is not a model state", "models", "set-state", "--category", "harm", "--version", "harm-v1", "--state", "gold");

        var notZip = Path.Combine(directory, "notzip");
        Directory.CreateDirectory(notZip);
        File.Copy(HeadFiles.CardPath(models, "harm"), HeadFiles.CardPath(notZip, "harm"));
        File.WriteAllText(HeadFiles.ModelPath(notZip, "harm"), "not a zip");
        await Refused("is not a model archive", "models", "register", "--models", notZip, "--category", "harm");

        (await RunAsync(database, "models", "register", "--models", models, "--category", "harm")).ExitCode.Should().Be(0);
        var changed = WriteHead("changed", "harm", "harm-v1", "other bytes");
        await Refused("different bytes", "models", "register", "--models", changed, "--category", "harm");
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
    }
}
