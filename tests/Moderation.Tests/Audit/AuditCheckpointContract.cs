using System.Security.Cryptography;
using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Hosting;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Audit;

/// <summary>
/// Issue 16, item 18: signed checkpoints of the chain's head reveal what the chain alone cannot: deleting the last
/// events, and editing an event then recomputing every later hash. Checked on each database, from the table and from
/// the file an operator keeps elsewhere.
/// </summary>
public abstract class AuditCheckpointContract(DatabaseProvider provider)
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed record Setup(TestDatabase Test, AuditCheckpoints Checkpoints, Clock Clock, string KeyPath) : IAsyncDisposable
    {
        public ModerationDatabase Db => Test.Database;
        public ValueTask DisposeAsync() => Test.DisposeAsync();
    }

    private async Task<Setup> SetupAsync(int events, string? signingKeyPem = null)
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        var keyPath = Path.Combine(test.Directory, "audit-signing.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            await File.WriteAllTextAsync(keyPath, signingKeyPem ?? key.ExportECPrivateKeyPem());
        var clock = new Clock();
        var checkpoints = Create(test, clock, new AuditCheckpointOptions { SigningKeyPath = keyPath });
        await AppendAsync(test.Database, events, clock);
        return new Setup(test, checkpoints, clock, keyPath);
    }

    private static AuditCheckpoints Create(TestDatabase test, TimeProvider clock, AuditCheckpointOptions options) =>
        new(test.Database, Options.Create(options), Options.Create(new ModerationOptions { DataDirectory = test.Directory }), clock);

    private static Task AppendAsync(ModerationDatabase db, int count, Clock clock) =>
        db.InTransactionAsync((c, t) => AuditLog.AppendAsync(c, t, db.Dialect,
            Enumerable.Range(0, count).Select(i => new AuditEntry("op", "test.event", "upload", $"u{i}", $"reason {i}")),
            clock.GetUtcNow().ToUnixTimeMilliseconds(), CancellationToken.None));

    private static async Task ExecuteAsync(ModerationDatabase db, string sql, object? args = null)
    {
        await using var connection = await db.OpenAsync();
        await connection.ExecuteAsync(sql, args);
    }

    [Fact]
    public async Task An_intact_chain_verifies_against_its_checkpoints()
    {
        await using var s = await SetupAsync(5);
        var first = await s.Checkpoints.PublishAsync(CancellationToken.None);
        first!.Seq.Should().Be(5);
        (await s.Checkpoints.PublishAsync(CancellationToken.None)).Should().Be(first, "an unchanged head is not signed again");
        await AppendAsync(s.Db, 3, s.Clock);
        (await s.Checkpoints.PublishAsync(CancellationToken.None))!.Seq.Should().Be(8);

        var result = await s.Checkpoints.VerifyAsync([], CancellationToken.None);

        result.Intact.Should().BeTrue(result.Problem);
        result.EventsChecked.Should().Be(8);
        result.CheckpointsChecked.Should().Be(2);
        result.LastCheckpoint!.Seq.Should().Be(8);
        AuditCheckpoints.ReadFile(s.Checkpoints.FilePath).Select(c => c.Seq).Should().Equal(5, 8);
    }

    [Fact]
    public async Task Deleting_the_last_events_is_detected_as_truncation()
    {
        await using var s = await SetupAsync(6);
        await s.Checkpoints.PublishAsync(CancellationToken.None);
        (await AuditLog.VerifyAsync(s.Db, CancellationToken.None)).Intact.Should().BeTrue();

        await ExecuteAsync(s.Db, "DELETE FROM audit_events WHERE seq > 4");

        (await AuditLog.VerifyAsync(s.Db, CancellationToken.None)).Intact.Should().BeTrue("the links alone cannot tell");
        var result = await s.Checkpoints.VerifyAsync([], CancellationToken.None);
        result.Intact.Should().BeFalse();
        result.Problem.Should().Contain("truncated").And.Contain("ends at event 4").And.Contain("covers 6 events");
        result.FirstBrokenSeq.Should().Be(5);
    }

    [Fact]
    public async Task Editing_an_event_and_recomputing_every_later_hash_is_detected_as_a_rewrite()
    {
        await using var s = await SetupAsync(6);
        await s.Checkpoints.PublishAsync(CancellationToken.None);

        // Rewrite event 3's reason and re-chain 3..6 exactly as AuditLog would: every link holds again.
        var events = await AuditLog.ReadAsync(s.Db, 0, 100, CancellationToken.None);
        var prev = events[1].Hash;
        foreach (var e in events.Skip(2))
        {
            var reason = e.Seq == 3 ? "nothing happened" : e.Reason;
            var hash = AuditLog.ComputeHash(e.Seq, e.OccurredAtMs, e.Actor, e.Action, e.SubjectType, e.SubjectId, reason, e.BeforeState, e.AfterState, prev);
            await ExecuteAsync(s.Db, "UPDATE audit_events SET reason = @reason, prev_hash = @prev, hash = @hash WHERE seq = @seq",
                new { reason, prev, hash, seq = e.Seq });
            prev = hash;
        }

        (await AuditLog.VerifyAsync(s.Db, CancellationToken.None)).Intact.Should().BeTrue("the links alone cannot tell");
        var result = await s.Checkpoints.VerifyAsync([], CancellationToken.None);
        result.Intact.Should().BeFalse();
        result.Problem.Should().Contain("rewritten").And.Contain("event 6");
    }

    [Fact]
    public async Task Checkpoints_deleted_from_the_database_are_still_checked_from_the_operators_copy()
    {
        await using var s = await SetupAsync(4);
        await s.Checkpoints.PublishAsync(CancellationToken.None);
        var copy = Path.Combine(s.Test.Directory, "kept-elsewhere.jsonl");
        File.Copy(s.Checkpoints.FilePath, copy);
        File.Delete(s.Checkpoints.FilePath);

        await ExecuteAsync(s.Db, "DELETE FROM audit_checkpoints");
        await ExecuteAsync(s.Db, "DELETE FROM audit_events WHERE seq = 4");

        (await s.Checkpoints.VerifyAsync([], CancellationToken.None)).Intact.Should().BeTrue("nothing is left here to check against");
        var result = await s.Checkpoints.VerifyAsync([copy], CancellationToken.None);
        result.Intact.Should().BeFalse();
        result.Problem.Should().Contain("truncated");
    }

    [Fact]
    public async Task A_forged_checkpoint_fails_and_one_from_another_key_is_not_trusted()
    {
        await using var s = await SetupAsync(3);
        var real = (await s.Checkpoints.PublishAsync(CancellationToken.None))!;

        // Only the public key is needed to verify.
        using var signing = ECDsa.Create();
        signing.ImportFromPem(await File.ReadAllTextAsync(s.KeyPath));
        var publicPath = Path.Combine(s.Test.Directory, "audit-public.pem");
        await File.WriteAllTextAsync(publicPath, signing.ExportSubjectPublicKeyInfoPem());
        var verifier = Create(s.Test, s.Clock, new AuditCheckpointOptions { PublicKeyPath = publicPath });
        verifier.CanSign.Should().BeFalse();
        (await verifier.VerifyAsync([], CancellationToken.None)).CheckpointsChecked.Should().Be(1);

        var other = Path.Combine(s.Test.Directory, "other.jsonl");
        using (var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var at = real.AtMs + 1;
            var signature = Convert.ToBase64String(stranger.SignData(AuditCheckpoints.SignedBytes(99, real.Hash, at), HashAlgorithmName.SHA256));
            await File.WriteAllTextAsync(other, System.Text.Json.JsonSerializer.Serialize(
                new AuditCheckpoint(99, real.Hash, at, AuditCheckpoints.KeyIdOf(stranger), signature), System.Text.Json.JsonSerializerOptions.Web) + "\n");
        }
        var ignored = await verifier.VerifyAsync([other], CancellationToken.None);
        ignored.Intact.Should().BeTrue("a checkpoint signed by another key proves nothing either way");
        ignored.CheckpointNote.Should().Contain("1 checkpoints signed by other keys");

        var forged = Path.Combine(s.Test.Directory, "forged.jsonl");
        await File.WriteAllTextAsync(forged, System.Text.Json.JsonSerializer.Serialize(real with { Seq = 2 }, System.Text.Json.JsonSerializerOptions.Web) + "\n");
        var result = await verifier.VerifyAsync([forged], CancellationToken.None);
        result.Intact.Should().BeFalse();
        result.Problem.Should().Contain("not signed by the configured key");
    }

    [Fact]
    public async Task Without_a_key_nothing_is_published_and_verification_says_what_it_cannot_see()
    {
        await using var s = await SetupAsync(2);
        var keyless = Create(s.Test, s.Clock, new AuditCheckpointOptions());
        (await keyless.PublishAsync(CancellationToken.None)).Should().BeNull();
        var result = await keyless.VerifyAsync([], CancellationToken.None);
        result.Intact.Should().BeTrue();
        result.CheckpointNote.Should().Contain("no checkpoint key is configured");
    }
}

public sealed class SqliteAuditCheckpointTests() : AuditCheckpointContract(DatabaseProvider.Sqlite);
public sealed class PostgresAuditCheckpointTests() : AuditCheckpointContract(DatabaseProvider.Postgres);
public sealed class SqlServerAuditCheckpointTests() : AuditCheckpointContract(DatabaseProvider.SqlServer);
