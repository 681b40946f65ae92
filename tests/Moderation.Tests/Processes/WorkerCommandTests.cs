using Dapper;
using FluentAssertions;
using Moderation.Core.Audit;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Processes;

/// <summary>The worker's operator commands, run as the built program.</summary>
[Collection(HostCollection.Name)]
public sealed class WorkerCommandTests
{
    private static Task<(int ExitCode, string Output)> RunAsync(TestDatabase database, params string[] args) =>
        ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"), args, new Dictionary<string, string>
        {
            ["Moderation__DataDirectory"] = database.Directory,
            ["Moderation__Database__Provider"] = database.Provider.ToString(),
            ["Moderation__Database__ConnectionString"] = database.ConnectionString,
        });

    [Fact]
    public async Task Migrate_applies_the_schema_once_and_verify_audit_finds_a_tampered_event()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);

        var first = await RunAsync(database, "migrate");
        first.ExitCode.Should().Be(0, first.Output);
        first.Output.Should().Contain("applied 0001_initial");
        (await RunAsync(database, "migrate")).Output.Should().Contain("the schema is current");

        var db = database.Database;
        await db.InTransactionAsync((c, t) => AuditLog.AppendAsync(c, t, db.Dialect,
            [new AuditEntry("op", "a", "upload", "u1"), new AuditEntry("op", "b", "upload", "u2")], 1, CancellationToken.None));
        var intact = await RunAsync(database, "verify-audit");
        intact.ExitCode.Should().Be(0, intact.Output);
        intact.Output.Should().Contain("intact: 2 events");

        await using (var connection = await db.OpenAsync())
            await connection.ExecuteAsync("UPDATE audit_events SET actor = 'someone else' WHERE seq = 2");
        var broken = await RunAsync(database, "verify-audit");
        broken.ExitCode.Should().Be(1);
        broken.Output.Should().Contain("BROKEN at event 2");
    }

    [Fact]
    public async Task Verify_audit_finds_deleted_last_events_against_a_checkpoint_copy_kept_elsewhere()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        (await RunAsync(database, "migrate")).ExitCode.Should().Be(0);
        var db = database.Database;
        await db.InTransactionAsync((c, t) => AuditLog.AppendAsync(c, t, db.Dialect,
            Enumerable.Range(0, 5).Select(i => new AuditEntry("op", "a", "upload", $"u{i}")), 1, CancellationToken.None));
        var key = Path.Combine(database.Directory, "audit-signing.pem");
        using (var ecdsa = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
            await File.WriteAllTextAsync(key, ecdsa.ExportECPrivateKeyPem());
        var signing = $"--Moderation:Audit:Checkpoints:SigningKeyPath={key}";
        var checkpoints = new AuditCheckpoints(db,
            Microsoft.Extensions.Options.Options.Create(new AuditCheckpointOptions { SigningKeyPath = key }),
            Microsoft.Extensions.Options.Options.Create(new Moderation.Core.Hosting.ModerationOptions { DataDirectory = database.Directory }), TimeProvider.System);
        (await checkpoints.PublishAsync(CancellationToken.None))!.Seq.Should().Be(5);
        var copy = Path.Combine(database.Directory, "copy.jsonl");
        File.Move(checkpoints.FilePath, copy);

        var intact = await RunAsync(database, "verify-audit", "--checkpoints", copy, signing);
        intact.ExitCode.Should().Be(0, intact.Output);
        intact.Output.Should().Contain("intact: 5 events").And.Contain("1 checkpoints hold");

        // Someone with the database deletes the last two events and every checkpoint in it.
        await using (var connection = await db.OpenAsync())
            await connection.ExecuteAsync("DELETE FROM audit_events WHERE seq > 3; DELETE FROM audit_checkpoints;");
        (await RunAsync(database, "verify-audit", signing)).ExitCode.Should().Be(0, "nothing left on this host proves the loss");
        var broken = await RunAsync(database, "verify-audit", "--checkpoints", copy, signing);
        broken.ExitCode.Should().Be(1, broken.Output);
        broken.Output.Should().Contain("BROKEN at event 4").And.Contain("truncated");

        (await RunAsync(database, "verify-audit", "--checkpoints", Path.Combine(database.Directory, "nope.jsonl"), signing)).ExitCode.Should().Be(2);
    }

    [Fact]
    public async Task A_mistyped_command_is_refused_instead_of_starting_a_worker()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var result = await RunAsync(database, "mirgate");
        result.ExitCode.Should().Be(2);
        result.Output.Should().Contain("Unknown command 'mirgate'");
    }
}
