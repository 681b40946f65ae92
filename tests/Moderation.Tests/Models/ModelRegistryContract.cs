using System.Data.Common;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Moderation.Core.Audit;
using Moderation.Core.Models;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Core.Refusals;

namespace Moderation.Tests.Models;

/// <summary>The model registry against a real database, once per provider (skipped where the server is not configured).</summary>
public abstract class ModelRegistryContract(DatabaseProvider provider)
{
    private const string Card = """{"category":"harm","modelVersion":"v"}""";
    private const string Metrics = """{"validationRocAuc":0.9}""";

    private async Task<(TestDatabase Test, ModelRegistry Registry)> MigratedAsync()
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return (test, new ModelRegistry(test.Database, TimeProvider.System));
    }

    private static byte[] Bytes(string seed) => System.Text.Encoding.UTF8.GetBytes("PK-model-" + seed);

    private static Task<bool> RegisterAsync(ModelRegistry registry, string category, string version, string state, string? seed = null) =>
        registry.RegisterAsync(category, version, "text", Card, Metrics, Bytes(seed ?? version), state, "tester", CancellationToken.None);

    private static async Task<List<AuditEvent>> AuditAsync(ModerationDatabase db) =>
        (await AuditLog.ReadAsync(db, 0, 1000, CancellationToken.None)).ToList();

    [Fact]
    public async Task Registered_versions_are_listed_with_their_card_metrics_and_artifact()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        (await RegisterAsync(registry, "harm", "h1", ModelStates.Shadow)).Should().BeTrue();
        (await RegisterAsync(registry, "bias", "b1", ModelStates.Live)).Should().BeTrue();

        var all = await registry.ListAsync(null, CancellationToken.None);
        all.Select(m => $"{m.Category}@{m.Version}:{m.State}").Should().Equal("bias@b1:live", "harm@h1:shadow");
        var harm = (await registry.ListAsync("harm", CancellationToken.None)).Should().ContainSingle().Subject;
        harm.Scorer.Should().Be("text");
        JsonDocument.Parse(harm.Card).RootElement.GetProperty("modelVersion").GetString().Should().Be("v");
        JsonDocument.Parse(harm.Metrics).RootElement.GetProperty("validationRocAuc").GetDouble().Should().Be(0.9);
        harm.ArtifactSha256.Should().Be(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Bytes("h1"))));
        harm.RegisteredBy.Should().Be("tester");
        harm.RegisteredAt.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        (await registry.ArtifactAsync("harm", "h1", CancellationToken.None)).Should().Equal(Bytes("h1"));
        (await registry.ArtifactAsync("harm", "nope", CancellationToken.None)).Should().BeNull();
        (await registry.ListAsync("misinformation", CancellationToken.None)).Should().BeEmpty();
    }

    [Fact]
    public async Task A_large_artifact_round_trips_byte_for_byte()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        var big = new byte[3 * 1024 * 1024];
        new Random(7).NextBytes(big);
        await registry.RegisterAsync("harm", "big", "text", Card, Metrics, big, ModelStates.Shadow, "tester", CancellationToken.None);
        (await registry.ArtifactAsync("harm", "big", CancellationToken.None)).Should().Equal(big);
    }

    [Fact]
    public async Task Registering_or_promoting_a_live_version_retires_the_previous_live_one()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        await RegisterAsync(registry, "harm", "v1", ModelStates.Live);
        await RegisterAsync(registry, "harm", "v2", ModelStates.Live);
        await RegisterAsync(registry, "harm", "v3", ModelStates.Shadow);
        await RegisterAsync(registry, "bias", "b1", ModelStates.Live);
        (await StatesAsync(registry)).Should().BeEquivalentTo("bias@b1:live", "harm@v1:retired", "harm@v2:live", "harm@v3:shadow");

        var promoted = await registry.SetStateAsync("harm", "v3", ModelStates.Live, "tester", "better PR-AUC", CancellationToken.None);
        promoted.State.Should().Be(ModelStates.Live);
        (await StatesAsync(registry)).Should().BeEquivalentTo("bias@b1:live", "harm@v1:retired", "harm@v2:retired", "harm@v3:live");
        (await registry.ActiveAsync(CancellationToken.None)).Select(m => $"{m.Category}@{m.Version}").Should().BeEquivalentTo("bias@b1", "harm@v3");

        // Rolling back: a retired version can be made live again; retiring the live one leaves none.
        await registry.SetStateAsync("harm", "v1", ModelStates.Live, "tester", "roll back", CancellationToken.None);
        await registry.SetStateAsync("harm", "v1", ModelStates.Retired, "tester", null, CancellationToken.None);
        (await registry.ActiveAsync(CancellationToken.None)).Select(m => $"{m.Category}@{m.Version}").Should().BeEquivalentTo("bias@b1");
    }

    [Fact]
    public async Task Every_change_is_audited_and_the_chain_verifies()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        var db = test.Database;
        await RegisterAsync(registry, "harm", "v1", ModelStates.Live);
        await RegisterAsync(registry, "harm", "v2", ModelStates.Shadow);
        await registry.SetStateAsync("harm", "v2", ModelStates.Live, "alice", "better", CancellationToken.None);
        await registry.SetStateAsync("harm", "v2", ModelStates.Live, "alice", "again", CancellationToken.None); // no change, no event

        var events = await AuditAsync(db);
        events.Select(e => $"{e.Action} {e.SubjectId}").Should().Equal(
            "model.registered harm@v1", "model.registered harm@v2", "model.state_changed harm@v1", "model.state_changed harm@v2");
        events.Should().OnlyContain(e => e.SubjectType == "model");
        events[2].Actor.Should().Be("alice");
        events[2].Reason.Should().Be("superseded by v2");
        events[2].BeforeState.Should().Be("""{"state":"live"}""");
        events[2].AfterState.Should().Be("""{"state":"retired"}""");
        events[3].Reason.Should().Be("better");
        events[3].BeforeState.Should().Be("""{"state":"shadow"}""");
        events[3].AfterState.Should().Be("""{"state":"live"}""");
        JsonDocument.Parse(events[0].AfterState!).RootElement.GetProperty("state").GetString().Should().Be("live");
        (await AuditLog.VerifyAsync(db, CancellationToken.None)).Should().Be(new AuditVerification(true, 4, null, null));
    }

    [Fact]
    public async Task Registering_the_same_bytes_again_changes_nothing_and_other_bytes_are_refused()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        (await RegisterAsync(registry, "harm", "v1", ModelStates.Shadow)).Should().BeTrue();
        (await RegisterAsync(registry, "harm", "v1", ModelStates.Live)).Should().BeFalse("the version exists with the same bytes");
        (await registry.ListAsync("harm", CancellationToken.None)).Single().State.Should().Be(ModelStates.Shadow);

        var act = () => RegisterAsync(registry, "harm", "v1", ModelStates.Shadow, seed: "other bytes");
        (await act.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Conflict)).Which.Message.Should().Contain("different bytes").And.Contain("harm@v1");
        (await registry.ArtifactAsync("harm", "v1", CancellationToken.None)).Should().Equal(Bytes("v1"));
        (await AuditAsync(test.Database)).Should().ContainSingle();
    }

    [Fact]
    public async Task Concurrent_promotions_leave_exactly_one_live_version()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        await RegisterAsync(registry, "harm", "v0", ModelStates.Live);
        var versions = Enumerable.Range(1, 6).Select(i => $"v{i}").ToList();
        foreach (var v in versions) await RegisterAsync(registry, "harm", v, ModelStates.Shadow);

        await Task.WhenAll(versions.Select(v => Task.Run(() =>
            registry.SetStateAsync("harm", v, ModelStates.Live, "racer", null, CancellationToken.None))));

        var harm = await registry.ListAsync("harm", CancellationToken.None);
        harm.Where(m => m.State == ModelStates.Live).Should().ContainSingle();
        harm.Where(m => m.State == ModelStates.Retired).Should().HaveCount(6);
        (await AuditLog.VerifyAsync(test.Database, CancellationToken.None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task The_database_itself_refuses_a_second_live_version()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        await RegisterAsync(registry, "harm", "v1", ModelStates.Live);
        await RegisterAsync(registry, "harm", "v2", ModelStates.Shadow);
        var db = test.Database;
        await using var connection = await db.OpenAsync();
        var act = () => connection.ExecuteAsync("UPDATE model_versions SET state = 'live' WHERE version = 'v2'");
        (await act.Should().ThrowAsync<DbException>()).Which.Should().Match<DbException>(e => db.Dialect.IsUniqueViolation(e));
    }

    [Fact]
    public async Task Unknown_versions_and_bad_input_are_named()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        var unknown = () => registry.SetStateAsync("harm", "nope", ModelStates.Live, "tester", null, CancellationToken.None);
        (await unknown.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.NotFound)).Which.Message.Should().Contain("'nope'").And.Contain("'harm'");

        await RegisterAsync(registry, "harm", "v1", ModelStates.Shadow);
        var badState = () => registry.SetStateAsync("harm", "v1", "production", "tester", null, CancellationToken.None);
        (await badState.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Invalid)).Which.Field.Should().Be("state");

        async Task<string> FieldOf(Func<Task> act) => (await act.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Invalid)).Which.Field!;
        (await FieldOf(() => registry.RegisterAsync("Harm!", "v", "text", Card, Metrics, [1], "shadow", "t", CancellationToken.None))).Should().Be("category");
        (await FieldOf(() => registry.RegisterAsync("harm", " ", "text", Card, Metrics, [1], "shadow", "t", CancellationToken.None))).Should().Be("version");
        (await FieldOf(() => registry.RegisterAsync("harm", "v9", "text", "not json", Metrics, [1], "shadow", "t", CancellationToken.None))).Should().Be("card");
        (await FieldOf(() => registry.RegisterAsync("harm", "v9", "text", Card, "[1]", [1], "shadow", "t", CancellationToken.None))).Should().Be("metrics");
        (await FieldOf(() => registry.RegisterAsync("harm", "v9", "text", Card, Metrics, [], "shadow", "t", CancellationToken.None))).Should().Be("artifact");
        (await FieldOf(() => registry.RegisterAsync("harm", "v9", "text", Card, Metrics, [1], "gold", "t", CancellationToken.None))).Should().Be("state");
        (await FieldOf(() => registry.RegisterAsync("harm", "v9", "text", Card, Metrics, [1], "shadow", "", CancellationToken.None))).Should().Be("actor");
        (await registry.ListAsync(null, CancellationToken.None)).Should().ContainSingle();
    }

    [Fact]
    public async Task The_change_stamp_moves_with_every_registration_and_state_change_only()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        var stamps = new List<long> { await registry.ChangeStampAsync(CancellationToken.None) };
        async Task Stamp() => stamps.Add(await registry.ChangeStampAsync(CancellationToken.None));

        await RegisterAsync(registry, "harm", "v1", ModelStates.Shadow); await Stamp();
        await registry.SetStateAsync("harm", "v1", ModelStates.Live, "t", null, CancellationToken.None); await Stamp();
        await registry.SetStateAsync("harm", "v1", ModelStates.Shadow, "t", null, CancellationToken.None); await Stamp();
        await registry.SetStateAsync("harm", "v1", ModelStates.Live, "t", null, CancellationToken.None); await Stamp();
        stamps.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("each change within the same millisecond still moves it");

        await RegisterAsync(registry, "harm", "v1", ModelStates.Shadow); // same bytes: nothing changes
        await registry.SetStateAsync("harm", "v1", ModelStates.Live, "t", null, CancellationToken.None);
        await AppendUnrelatedAuditEventAsync(test.Database);
        (await registry.ChangeStampAsync(CancellationToken.None)).Should().Be(stamps[^1]);
    }

    [Fact]
    public async Task A_text_head_and_an_image_head_of_one_category_are_live_together_and_each_is_replaced_only_by_its_own_kind()
    {
        var (test, registry) = await MigratedAsync();
        await using var _ = test;
        await RegisterAsync(registry, "harm.hate", "text-1", ModelStates.Live);
        await registry.RegisterAsync("harm.hate", "image-1", "image", Card, Metrics, Bytes("image-1"), ModelStates.Live, "tester", CancellationToken.None);
        (await StatesAsync(registry)).Should().BeEquivalentTo(["harm.hate@text-1:live", "harm.hate@image-1:live"]);

        await registry.RegisterAsync("harm.hate", "image-2", "image", Card, Metrics, Bytes("image-2"), ModelStates.Live, "tester", CancellationToken.None);
        (await StatesAsync(registry)).Should().BeEquivalentTo(["harm.hate@text-1:live", "harm.hate@image-1:retired", "harm.hate@image-2:live"]);

        await RegisterAsync(registry, "harm.hate", "text-2", ModelStates.Shadow);
        await registry.SetStateAsync("harm.hate", "text-2", ModelStates.Live, "tester", null, CancellationToken.None);
        (await StatesAsync(registry)).Should().BeEquivalentTo(["harm.hate@text-1:retired", "harm.hate@text-2:live", "harm.hate@image-1:retired", "harm.hate@image-2:live"]);
    }

    private static Task AppendUnrelatedAuditEventAsync(ModerationDatabase db) =>
        db.InTransactionAsync((c, t) => AuditLog.AppendAsync(c, t, db.Dialect, [new AuditEntry("x", "upload.other", "upload", "u1")], 1, CancellationToken.None));

    private static async Task<List<string>> StatesAsync(ModelRegistry registry) =>
        (await registry.ListAsync(null, CancellationToken.None)).Select(m => $"{m.Category}@{m.Version}:{m.State}").ToList();
}

public sealed class SqliteModelRegistryTests() : ModelRegistryContract(DatabaseProvider.Sqlite);
public sealed class PostgresModelRegistryTests() : ModelRegistryContract(DatabaseProvider.Postgres);
public sealed class SqlServerModelRegistryTests() : ModelRegistryContract(DatabaseProvider.SqlServer);
