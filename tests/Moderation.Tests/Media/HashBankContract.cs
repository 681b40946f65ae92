using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Moderation.Core.Audit;
using Moderation.Core.Media;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Core.Refusals;

namespace Moderation.Tests.Media;

/// <summary>The hash-bank store against a real database, once per provider (skipped where the server is not configured).</summary>
public abstract class HashBankContract(DatabaseProvider provider)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private async Task<(TestDatabase Test, HashBanks Banks)> MigratedAsync()
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return (test, new HashBanks(test.Database, TimeProvider.System));
    }

    internal static string Hex(int seed)
    {
        var random = new Random(seed);
        return new PerceptualHash((ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64()).ToString();
    }

    private static IReadOnlyList<HashCsvRow> Rows(string csv, string? source = null) => HashBankCsv.Read(new StringReader(csv), HashAlgorithms.Pdq, source, 1000);

    [Fact]
    public async Task An_entry_that_matches_a_flood_of_uploads_is_quarantined_until_a_policy_user_releases_it()
    {
        var (test, banks) = await MigratedAsync();
        await using var _ = test;
        var bank = await banks.CreateAsync("shared-list", "harm.sexual", "ineligible", null, "alice", None);
        bank.Algorithm.Should().Be(HashAlgorithms.Pdq, "PDQ is the default");
        await banks.ImportAsync("shared-list", Rows($"hash\n{Hex(1)}\n{Hex(2)}\n"), "bob", None);
        var entries = await banks.EntriesAsync("shared-list", false, None);
        string bad = entries[0].Id, good = entries[1].Id;

        // Three uploads within the window are allowed (a retried job's repeat counts once), the fourth is a flood.
        for (var upload = 1; upload <= 3; upload++)
            (await banks.RecordMatchesAsync([(bad, $"u{upload}"), (bad, $"u{upload}"), (good, $"u{upload}")], 3, TimeSpan.FromHours(1), None)).Should().BeEmpty();
        (await banks.RecordMatchesAsync([(bad, "u1")], 3, TimeSpan.FromHours(1), None)).Should().BeEmpty("u1 was counted already");
        (await banks.RecordMatchesAsync([(bad, "u4"), (good, "u4")], 3, TimeSpan.FromHours(1), None)).Should().BeEquivalentTo([bad, good]);

        (await banks.MatchableAsync(None)).Should().BeEmpty("both entries are quarantined");
        var quarantined = await banks.QuarantinedAsync(None);
        quarantined.Select(e => e.State).Should().Equal("quarantined", "quarantined");
        quarantined[0].QuarantineReason.Should().Contain("matched 4 uploads");
        (await banks.FindAsync("shared-list", None))!.QuarantinedEntries.Should().Be(2);

        var released = await banks.ReleaseEntryAsync("shared-list", good, "carol", "checked: all four were the same violating picture", None);
        released.State.Should().Be("active");
        (await banks.MatchableAsync(None)).Select(e => e.Id).Should().Equal(good);
        (await banks.RecordMatchesAsync([(good, "u5")], 3, TimeSpan.FromHours(1), None)).Should().BeEmpty("the count starts again after a release");
        var again = async () => await banks.ReleaseEntryAsync("shared-list", good, "carol", "twice", None);
        await again.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Conflict);

        var events = (await AuditLog.ReadAsync(test.Database, 0, 100, None)).Where(e => e.SubjectType == HashBanks.SubjectType).Select(e => (e.Action, e.Actor)).ToList();
        events.Should().Contain(("hash_bank.entry_quarantined", "system:hash-flood-check")).And.Contain(("hash_bank.entry_released", "carol"));
    }

    [Fact]
    public async Task A_bank_declares_its_algorithm_and_an_unknown_one_is_refused()
    {
        var (test, banks) = await MigratedAsync();
        await using var _ = test;
        (await banks.CreateAsync("exact", "harm", "none", null, "alice", None, HashAlgorithms.Sha256)).Algorithm.Should().Be("sha256");
        (await banks.ListAsync(None)).Single().Algorithm.Should().Be("sha256");
        var act = async () => await banks.CreateAsync("odd", "harm", "none", null, "alice", None, "phash");
        (await act.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Invalid)).Which.Field.Should().Be("algorithm");
    }

    [Fact]
    public async Task Banks_are_created_imported_into_exported_and_every_change_is_audited()
    {
        var (test, banks) = await MigratedAsync();
        await using var _ = test;
        var bank = await banks.CreateAsync("known-abuse", "harm.sexual", "ineligible", " partner list ", "alice", None);
        bank.Description.Should().Be("partner list");
        var stampBefore = await banks.ChangeStampAsync(None);

        var first = await banks.ImportAsync("known-abuse", Rows($"path,hash,quality\na/1.jpg,{Hex(1)},80\nb/2.png,{Hex(2).ToUpperInvariant()},\n", "case 42"), "bob", None);
        first.Should().Be(new HashImportResult("known-abuse", 2, 2, 0));
        (await banks.ChangeStampAsync(None)).Should().BeGreaterThan(stampBefore);

        // The same list again, plus one new hash: only the new one is added.
        var second = await banks.ImportAsync("known-abuse", Rows($"hash,source\n{Hex(1)},again\n{Hex(3)},partner feed\n"), "carol", None);
        second.Should().Be(new HashImportResult("known-abuse", 2, 1, 1));

        var entries = await banks.EntriesAsync("known-abuse", includeRetired: false, None);
        entries.Select(e => e.Hash).Should().Equal(Hex(1), Hex(2), Hex(3));
        entries[0].Quality.Should().Be(80);
        entries[0].Source.Should().Be("case 42: a/1.jpg");
        entries[1].Quality.Should().BeNull();
        entries[2].Source.Should().Be("partner feed");
        entries[2].AddedBy.Should().Be("carol");
        (await banks.FindAsync("known-abuse", None))!.ActiveEntries.Should().Be(3);

        var retired = await banks.RetireEntryAsync("known-abuse", entries[1].Id, "dave", " false positive ", None);
        retired.RetireReason.Should().Be("false positive");
        (await banks.EntriesAsync("known-abuse", false, None)).Select(e => e.Hash).Should().Equal(Hex(1), Hex(3));
        (await banks.EntriesAsync("known-abuse", true, None)).Should().HaveCount(3);
        var matchable = await banks.MatchableAsync(None);
        matchable.Select(m => (m.Bank, m.Category, m.Action, m.Hash.ToString())).Should().Equal(
            ("known-abuse", "harm.sexual", "ineligible", Hex(1)), ("known-abuse", "harm.sexual", "ineligible", Hex(3)));

        // A retired hash may be imported again: it becomes a new active entry.
        (await banks.ImportAsync("known-abuse", Rows($"hash\n{Hex(2)}\n"), "erin", None)).Added.Should().Be(1);

        var updated = await banks.UpdateAsync("known-abuse", null, "label", null, "alice", "softer for now", None);
        updated.Action.Should().Be("label");
        updated.Category.Should().Be("harm.sexual");

        // Export in the bank format reads back as the same hashes.
        var csv = new StringWriter();
        HashBankCsv.Write(csv, HashAlgorithms.Pdq, await banks.EntriesAsync("known-abuse", false, None));
        Rows(csv.ToString()).Select(r => r.Hash.ToString()).Should().Equal(Hex(1), Hex(3), Hex(2));

        var events = (await AuditLog.ReadAsync(test.Database, 0, 100, None)).Where(e => e.SubjectType == HashBanks.SubjectType).ToList();
        events.Select(e => (e.Action, e.Actor)).Should().Equal(
            ("hash_bank.created", "alice"), ("hash_bank.imported", "bob"), ("hash_bank.imported", "carol"),
            ("hash_bank.entry_retired", "dave"), ("hash_bank.imported", "erin"), ("hash_bank.updated", "alice"));
        JsonDocument.Parse(events[2].AfterState!).RootElement.GetProperty("alreadyPresent").GetInt32().Should().Be(1);
        events[5].Reason.Should().Be("softer for now");
        (await AuditLog.VerifyAsync(test.Database, None)).Intact.Should().BeTrue();
    }

    [Fact]
    public async Task Bad_names_categories_actions_and_duplicates_are_refused_naming_the_field()
    {
        var (test, banks) = await MigratedAsync();
        await using var _ = test;
        await banks.CreateAsync("one", "harm", "demote", null, "alice", None);
        var duplicate = () => banks.CreateAsync("one", "harm", "demote", null, "alice", None);
        await duplicate.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Conflict).WithMessage("*already exists*");
        foreach (var (name, category, action, field) in new[]
                 {
                     ("Bad Name", "harm", "label", "name"), ("ok", "Harm!", "label", "category"), ("ok", "harm", "delete", "action"), ("", "harm", "label", "name"),
                 })
        {
            var act = () => banks.CreateAsync(name, category, action, null, "alice", None);
            (await act.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Invalid)).Which.Field.Should().Be(field);
        }
        var unknown = () => banks.ImportAsync("missing", Rows($"hash\n{Hex(1)}\n"), "bob", None);
        await unknown.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.NotFound).WithMessage("*missing*");
        var noReason = () => banks.RetireEntryAsync("one", "x", "bob", " ", None);
        (await noReason.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Invalid)).Which.Field.Should().Be("reason");
        var noEntry = () => banks.RetireEntryAsync("one", "x", "bob", "why", None);
        await noEntry.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.NotFound);
        (await banks.ListAsync(None)).Select(b => b.Name).Should().Equal("one");
    }

    [Fact]
    public async Task Concurrent_imports_of_one_list_store_each_hash_once()
    {
        var (test, banks) = await MigratedAsync();
        await using var _ = test;
        await banks.CreateAsync("race", "harm", "label", null, "alice", None);
        var rows = Rows("hash\n" + string.Join('\n', Enumerable.Range(0, 50).Select(Hex)));
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() => banks.ImportAsync("race", rows, $"u{i}", None))));
        results.Sum(r => r.Added).Should().Be(50);
        (await banks.EntriesAsync("race", false, None)).Should().HaveCount(50);
    }
}

public sealed class SqliteHashBankTests() : HashBankContract(DatabaseProvider.Sqlite);
public sealed class PostgresHashBankTests() : HashBankContract(DatabaseProvider.Postgres);
public sealed class SqlServerHashBankTests() : HashBankContract(DatabaseProvider.SqlServer);
