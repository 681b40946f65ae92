using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Moderation.Core.Audit;
using Moderation.Core.Claims;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Core.Refusals;

namespace Moderation.Tests.Claims;

/// <summary>The claim bank against a real database, once per provider (skipped where the server is not configured).</summary>
public abstract class ClaimBankContract(DatabaseProvider provider)
{
    private const string Source = "https://factcheck.example.org/claims/123";

    private async Task<(TestDatabase Test, ClaimBank Bank)> MigratedAsync()
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return (test, new ClaimBank(test.Database, TimeProvider.System));
    }

    [Fact]
    public async Task Added_claims_are_listed_and_retired_ones_only_on_request()
    {
        var (test, bank) = await MigratedAsync();
        await using var _ = test;
        var first = await bank.AddAsync("  The moon landing was staged in a studio  ", Source, "seen in many reposts", "alice", CancellationToken.None);
        first.Text.Should().Be("The moon landing was staged in a studio");
        first.Category.Should().Be("misinformation");
        first.State.Should().Be(ClaimStates.Active);
        first.CreatedBy.Should().Be("alice");
        first.Note.Should().Be("seen in many reposts");
        Guid.TryParse(first.Id, out var parsed).Should().BeTrue();
        parsed.Version.Should().Be(7);
        var second = await bank.AddAsync("Drinking bleach cures viral infections", "http://example.com/fc?id=9&x=%20", null, "bob", CancellationToken.None);
        second.Note.Should().BeNull();

        var retired = await bank.RetireAsync(first.Id, "carol", "  no longer circulating ", CancellationToken.None);
        retired.State.Should().Be(ClaimStates.Retired);
        retired.RetiredBy.Should().Be("carol");
        retired.RetireReason.Should().Be("no longer circulating");
        retired.RetiredAt.Should().NotBeNull();

        (await bank.ActiveAsync(CancellationToken.None)).Select(c => c.Id).Should().Equal(second.Id);
        (await bank.ListAsync(false, CancellationToken.None)).Select(c => c.Id).Should().Equal(second.Id);
        var all = await bank.ListAsync(true, CancellationToken.None);
        all.Select(c => c.Id).Should().Equal(first.Id, second.Id);
        all[0].Should().Be(retired);
        (await bank.FindAsync(second.Id, CancellationToken.None)).Should().Be(second);
        (await bank.FindAsync("nope", CancellationToken.None)).Should().BeNull();
    }

    [Fact]
    public async Task A_duplicate_of_an_active_claim_is_refused_naming_it_and_allowed_once_that_is_retired()
    {
        var (test, bank) = await MigratedAsync();
        await using var _ = test;
        var original = await bank.AddAsync("Vaccines contain tracking microchips", Source, null, "alice", CancellationToken.None);
        var act = () => bank.AddAsync("  VACCINES   contain\u00a0tracking ｍｉｃｒｏｃｈｉｐｓ ", Source, null, "bob", CancellationToken.None);
        var refused = (await act.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Conflict)).Which;
        refused.Details["existingId"].Should().Be(original.Id);
        refused.Message.Should().Contain(original.Id).And.Contain("already exists");

        await bank.RetireAsync(original.Id, "alice", "merged", CancellationToken.None);
        var again = await bank.AddAsync("Vaccines contain tracking microchips", Source, null, "bob", CancellationToken.None);
        again.Id.Should().NotBe(original.Id);
    }

    [Fact]
    public async Task Concurrent_duplicates_store_one_claim()
    {
        var (test, bank) = await MigratedAsync();
        await using var _ = test;
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(async () =>
        {
            try { await bank.AddAsync($"The earth is flat{new string(' ', i)}", Source, null, $"u{i}", CancellationToken.None); return true; }
            catch (Refusal r) when (r.Kind == RefusalKind.Conflict) { return false; }
        })));
        results.Count(r => r).Should().Be(1);
        (await bank.ActiveAsync(CancellationToken.None)).Should().ContainSingle();
    }

    [Fact]
    public async Task Additions_and_retirements_are_audited_and_the_chain_verifies_and_the_stamp_moves()
    {
        var (test, bank) = await MigratedAsync();
        await using var _ = test;
        var stamp0 = await bank.ChangeStampAsync(CancellationToken.None);
        var claim = await bank.AddAsync("5G towers spread the virus around", Source, null, "alice", CancellationToken.None);
        var stamp1 = await bank.ChangeStampAsync(CancellationToken.None);
        await bank.RetireAsync(claim.Id, "bob", "duplicate of another entry", CancellationToken.None);
        var stamp2 = await bank.ChangeStampAsync(CancellationToken.None);
        new[] { stamp0, stamp1, stamp2 }.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();

        var events = await AuditLog.ReadAsync(test.Database, 0, 100, CancellationToken.None);
        events.Select(e => (e.Action, e.SubjectType, e.SubjectId, e.Actor)).Should().Equal(
            ("claim.added", "claim", claim.Id, "alice"), ("claim.retired", "claim", claim.Id, "bob"));
        events[0].AfterState.Should().Contain("5G towers spread the virus around").And.Contain(Source);
        events[1].Reason.Should().Be("duplicate of another entry");
        events[1].BeforeState.Should().Be("""{"state":"active"}""");
        events[1].AfterState.Should().Be("""{"state":"retired"}""");
        (await AuditLog.VerifyAsync(test.Database, CancellationToken.None)).Should().Be(new AuditVerification(true, 2, null, null));

        var again = () => bank.RetireAsync(claim.Id, "bob", "twice", CancellationToken.None);
        (await again.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Conflict)).Which.Message.Should().Contain("already retired");
        var unknown = () => bank.RetireAsync("0190a000-0000-7000-8000-000000000000", "bob", "why", CancellationToken.None);
        await unknown.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.NotFound);
        (await bank.ChangeStampAsync(CancellationToken.None)).Should().Be(stamp2, "refused requests change nothing");
    }

    [Theory]
    [InlineData("short", Source, null, "text", "at least 10")]
    [InlineData("          ", Source, null, "text", "required")]
    [InlineData("a line\nand another line", Source, null, "text", "control characters")]
    [InlineData("valid claim text here", "ftp://example.org/x", null, "sourceUrl", "http or https")]
    [InlineData("valid claim text here", "/relative/path", null, "sourceUrl", "absolute")]
    [InlineData("valid claim text here", "", null, "sourceUrl", "required")]
    [InlineData("valid claim text here", "https://exa mple.org/", null, "sourceUrl", "white space")]
    [InlineData("valid claim text here", Source, "bad\u0001note", "note", "control characters")]
    public async Task Invalid_claims_are_refused_naming_the_field(string text, string url, string? note, string field, string fragment)
    {
        var (test, bank) = await MigratedAsync();
        await using var _ = test;
        var act = () => bank.AddAsync(text, url, note, "alice", CancellationToken.None);
        var e = (await act.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Invalid)).Which;
        e.Field.Should().Be(field);
        e.Message.Should().Contain(fragment);
        (await bank.ListAsync(true, CancellationToken.None)).Should().BeEmpty();
    }

    [Fact]
    public async Task Length_limits_are_checked_after_trimming()
    {
        var (test, bank) = await MigratedAsync();
        await using var _ = test;
        (await bank.AddAsync("  " + new string('x', 1000) + "  ", Source, null, "a", CancellationToken.None)).Text.Should().HaveLength(1000);
        var tooLong = () => bank.AddAsync(new string('y', 1001), Source, null, "a", CancellationToken.None);
        (await tooLong.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Invalid)).Which.Message.Should().Contain("limit is 1000");
        var longUrl = () => bank.AddAsync("valid claim text here", "https://example.org/" + new string('a', 2000), null, "a", CancellationToken.None);
        (await longUrl.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Invalid)).Which.Field.Should().Be("sourceUrl");
        var noReason = () => bank.RetireAsync("x", "a", "  ", CancellationToken.None);
        (await noReason.Should().ThrowAsync<Refusal>().Where(r => r.Kind == RefusalKind.Invalid)).Which.Field.Should().Be("reason");
    }

    [Fact]
    public void Normalisation_folds_case_width_and_white_space()
    {
        ClaimBank.Normalise("  Ｔhe\tEarth \u00a0 is \u200b FLAT ").Should().Be("the earth is flat");
        ClaimBank.Normalise("ｆｌａｔ\u200Dearth").Should().Be("flatearth");
    }
}

public sealed class SqliteClaimBankTests() : ClaimBankContract(DatabaseProvider.Sqlite);
public sealed class PostgresClaimBankTests() : ClaimBankContract(DatabaseProvider.Postgres);
public sealed class SqlServerClaimBankTests() : ClaimBankContract(DatabaseProvider.SqlServer);
