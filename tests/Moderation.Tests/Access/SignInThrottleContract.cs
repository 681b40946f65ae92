using System.Net;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Access;

/// <summary>Sign-in throttling against a real database, once per provider: the counts every host shares.</summary>
public abstract class SignInThrottleContract(DatabaseProvider provider)
{
    private static readonly IPAddress Attacker = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress Colleague = IPAddress.Parse("198.51.100.20");

    private async Task<(TestDatabase Test, SignInThrottle Throttle)> MigratedAsync(SignInThrottleOptions? options = null)
    {
        var test = await TestDatabase.CreateAsync(provider);
        await new DatabaseMigrator(test.Database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        return (test, new SignInThrottle(test.Database, Options.Create(options ?? new SignInThrottleOptions()), TimeProvider.System));
    }

    [Fact]
    public async Task Parallel_attempts_on_one_account_get_exactly_the_free_number_of_password_checks()
    {
        var (test, throttle) = await MigratedAsync();
        await using var _ = test;
        var keys = throttle.KeysFor("admin", Attacker, null);
        var gates = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() => throttle.TryBeginAsync(keys, CancellationToken.None))));
        gates.Count(g => g.Allowed).Should().Be(5, "five free attempts per account, however many arrive at once");
        gates.Where(g => !g.Allowed).Should().OnlyContain(g => g.RetryAfter > TimeSpan.Zero && g.RetryAfter <= TimeSpan.FromSeconds(30));
        // The name is delayed for other callers too, but never longer than AccountMaxDelay.
        var other = await throttle.TryBeginAsync(throttle.KeysFor("ADMIN", Colleague, null), CancellationToken.None);
        other.Allowed.Should().BeFalse();
        // A browser the account signed in on before is counted on its own.
        (await throttle.TryBeginAsync(throttle.KeysFor("admin", Attacker, "device-1"), CancellationToken.None)).Allowed.Should().BeTrue();
    }

    [Fact]
    public async Task Delays_double_with_each_failure_past_the_free_ones()
    {
        var (test, throttle) = await MigratedAsync(new SignInThrottleOptions { FirstDelay = TimeSpan.FromSeconds(2), FreeFailuresPerAccount = 2 });
        await using var _ = test;
        var keys = throttle.KeysFor("moderator", Attacker, null);
        (await throttle.TryBeginAsync(keys, CancellationToken.None)).Allowed.Should().BeTrue();
        (await throttle.TryBeginAsync(keys, CancellationToken.None)).Allowed.Should().BeTrue();
        var first = await throttle.TryBeginAsync(keys, CancellationToken.None);
        first.Allowed.Should().BeFalse();
        first.RetryAfter.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(2));
        await Task.Delay(first.RetryAfter + TimeSpan.FromMilliseconds(100));
        (await throttle.TryBeginAsync(keys, CancellationToken.None)).Allowed.Should().BeTrue("the delay has passed");
        var second = await throttle.TryBeginAsync(keys, CancellationToken.None);
        second.Allowed.Should().BeFalse();
        second.RetryAfter.Should().BeGreaterThan(TimeSpan.FromSeconds(2)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(4), "the next delay is twice the first");
    }

    [Fact]
    public async Task An_address_is_counted_across_names_and_other_addresses_are_not_affected()
    {
        var (test, throttle) = await MigratedAsync(new SignInThrottleOptions { FreeFailuresPerAddress = 6 });
        await using var _ = test;
        for (var i = 0; i < 6; i++)
            (await throttle.TryBeginAsync(throttle.KeysFor($"name{i}", Attacker, null), CancellationToken.None)).Allowed.Should().BeTrue();
        (await throttle.TryBeginAsync(throttle.KeysFor("fresh-name", Attacker, null), CancellationToken.None)).Allowed
            .Should().BeFalse("the address used its free attempts, whatever names it tries");
        (await throttle.TryBeginAsync(throttle.KeysFor("fresh-name", Colleague, null), CancellationToken.None)).Allowed
            .Should().BeTrue("another address is not delayed by it");
        // IPv6 callers are counted by their /64.
        SignInThrottle.AddressKey(IPAddress.Parse("2001:db8:1:2:aaaa::1")).Should().Be(SignInThrottle.AddressKey(IPAddress.Parse("2001:db8:1:2:bbbb::9")));
        SignInThrottle.AddressKey(IPAddress.Parse("::ffff:203.0.113.7")).Should().Be("203.0.113.7");
    }

    [Fact]
    public async Task A_success_clears_the_accounts_count_and_gives_back_its_attempt_to_the_address()
    {
        var (test, throttle) = await MigratedAsync(new SignInThrottleOptions { FreeFailuresPerAddress = 5 });
        await using var _ = test;
        var keys = throttle.KeysFor("senior", Colleague, null);
        for (var i = 0; i < 4; i++) (await throttle.TryBeginAsync(keys, CancellationToken.None)).Allowed.Should().BeTrue();
        (await throttle.TryBeginAsync(keys, CancellationToken.None)).Allowed.Should().BeTrue("the fifth attempt, the right password");
        await throttle.SucceededAsync(keys, CancellationToken.None);
        // Account cleared (5 free again); the address holds 4 failures, so one more check is free, then it waits.
        (await throttle.TryBeginAsync(keys, CancellationToken.None)).Allowed.Should().BeTrue();
        (await throttle.TryBeginAsync(keys, CancellationToken.None)).Allowed.Should().BeFalse("the address has used its five");
    }
}

public sealed class SqliteSignInThrottleTests() : SignInThrottleContract(DatabaseProvider.Sqlite);
public sealed class PostgresSignInThrottleTests() : SignInThrottleContract(DatabaseProvider.Postgres);
public sealed class SqlServerSignInThrottleTests() : SignInThrottleContract(DatabaseProvider.SqlServer);
