using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Storage;

namespace Moderation.Core.Access;

/// <summary>Bound from <c>Moderation:SignIn</c>: how password sign-ins are throttled (see <see cref="SignInThrottle"/>).</summary>
public sealed class SignInThrottleOptions
{
    public const string Section = "Moderation:SignIn";

    /// <summary>Password checks for one account name, from callers it has not signed in on before, before delays begin.</summary>
    [Range(1, 1000)] public int FreeFailuresPerAccount { get; set; } = 5;

    /// <summary>Password checks from one client address (an IPv6 /64), for any names, before delays begin.</summary>
    [Range(1, 100000)] public int FreeFailuresPerAddress { get; set; } = 20;

    /// <summary>Password checks from a browser the account signed in on before (its device cookie) before delays begin.</summary>
    [Range(1, 1000)] public int FreeFailuresPerDevice { get; set; } = 5;

    /// <summary>The delay after the first failure past the free ones; it doubles with each further failure.</summary>
    public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest delay for an address or a device.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The longest delay an account's name gets from callers without its device cookie: short, so that nobody can keep
    /// an account shut by guessing (and its known browsers are never delayed by them at all).
    /// </summary>
    public TimeSpan AccountMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A key with no attempt for this long starts again from zero (its row is deleted).</summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromDays(1);
}

/// <summary>One thing attempts are counted against, with its own number of free failures and longest delay.</summary>
public sealed record ThrottleKey(string Key, int FreeFailures, TimeSpan MaxDelay)
{
    public bool IsAddress => Key.StartsWith("address:", StringComparison.Ordinal);
}

/// <summary>Whether a password may be checked now; if not, how long until it may.</summary>
public sealed record ThrottleGate(bool Allowed, TimeSpan RetryAfter);

/// <summary>
/// Password sign-in throttling, kept in the database (<c>sign_in_throttle</c>) so that every host enforces the same
/// counts. An attempt is counted <i>before</i> its password is checked, in a transaction under one lock, so parallel
/// guesses get at most the free number of checks; past them, each further check waits a delay that doubles
/// (<see cref="SignInThrottleOptions.FirstDelay"/>, up to the key's longest). A caller is counted per client address
/// and per account name, except a browser holding the account's device cookie (from an earlier successful sign-in),
/// which is counted per device only: an anonymous caller can delay an account's name from other browsers by at most
/// <see cref="SignInThrottleOptions.AccountMaxDelay"/> at a time, and never its known browsers. A success clears the
/// account's and device's counts and takes its own attempt off the address's.
/// </summary>
public sealed class SignInThrottle(ModerationDatabase database, IOptions<SignInThrottleOptions> options, TimeProvider time)
{
    private static readonly DialectSql Select = DialectSql.Portable(
        "SELECT throttle_key, failures, next_allowed_at_ms FROM sign_in_throttle WHERE throttle_key = @Key");
    private static readonly DialectSql Update = DialectSql.Portable(
        "UPDATE sign_in_throttle SET failures = @Failures, next_allowed_at_ms = @NextAllowedAtMs, updated_at_ms = @Now WHERE throttle_key = @Key");
    private static readonly DialectSql Insert = DialectSql.Portable(
        "INSERT INTO sign_in_throttle (throttle_key, failures, next_allowed_at_ms, updated_at_ms) VALUES (@Key, @Failures, @NextAllowedAtMs, @Now)");
    private static readonly DialectSql Delete = DialectSql.Portable("DELETE FROM sign_in_throttle WHERE throttle_key = @Key");
    private static readonly DialectSql DeleteQuiet = DialectSql.Portable("DELETE FROM sign_in_throttle WHERE updated_at_ms < @Before");

    /// <summary>The keys an attempt for <paramref name="userName"/> counts against.</summary>
    /// <param name="address">The client address (<see cref="AddressKey"/>).</param>
    /// <param name="deviceId">The id in a valid device cookie of this account, or null.</param>
    public IReadOnlyList<ThrottleKey> KeysFor(string userName, IPAddress? address, string? deviceId)
    {
        var o = options.Value;
        if (deviceId is not null) return [new ThrottleKey("device:" + deviceId, o.FreeFailuresPerDevice, o.MaxDelay)];
        var name = userName.Trim().ToLowerInvariant();
        if (name.Length > 300) name = name[..300];
        return
        [
            new ThrottleKey("address:" + AddressKey(address), o.FreeFailuresPerAddress, o.MaxDelay),
            new ThrottleKey("account:" + name, o.FreeFailuresPerAccount, o.AccountMaxDelay),
        ];
    }

    /// <summary>An IPv4 address as it is; an IPv6 address by its /64 (one subscriber's whole network); none as <c>unknown</c>.</summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>The delay after <paramref name="failures"/> counted attempts against <paramref name="key"/> (zero while they are free).</summary>
    public TimeSpan DelayAfter(int failures, ThrottleKey key)
    {
        if (failures < key.FreeFailures) return TimeSpan.Zero;
        var doublings = Math.Min(failures - key.FreeFailures, 30);
        var delay = options.Value.FirstDelay * Math.Pow(2, doublings);
        return delay > key.MaxDelay ? key.MaxDelay : delay;
    }

    /// <summary>
    /// Counts an attempt against every key, or none when any key is still waiting out its delay (then the password must
    /// not be checked, and <see cref="ThrottleGate.RetryAfter"/> says for how long).
    /// </summary>
    public Task<ThrottleGate> TryBeginAsync(IReadOnlyList<ThrottleKey> keys, CancellationToken ct) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.SignInThrottle, ct);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(DeleteQuiet),
                new { Before = now - (long)options.Value.ForgetAfter.TotalMilliseconds }, transaction, cancellationToken: ct));
            var rows = await ReadAsync(connection, transaction, keys, ct);
            var wait = rows.Values.Select(r => r.NextAllowedAtMs - now).DefaultIfEmpty(0).Max();
            if (wait > 0) return new ThrottleGate(false, TimeSpan.FromMilliseconds(wait));
            foreach (var key in keys)
            {
                var failures = (rows.TryGetValue(key.Key, out var row) ? row.Failures : 0) + 1;
                var delay = DelayAfter(failures, key);
                var values = new { key.Key, Failures = failures, NextAllowedAtMs = delay > TimeSpan.Zero ? now + (long)delay.TotalMilliseconds : 0L, Now = now };
                if (row is null)
                    await connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), values, transaction, cancellationToken: ct));
                else
                    await connection.ExecuteAsync(new CommandDefinition(database.Sql(Update), values, transaction, cancellationToken: ct));
            }
            return new ThrottleGate(true, TimeSpan.Zero);
        }, ct);

    /// <summary>The password was right: the account's and device's counts start again; the address's loses this attempt.</summary>
    public Task SucceededAsync(IReadOnlyList<ThrottleKey> keys, CancellationToken ct) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.SignInThrottle, ct);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var rows = await ReadAsync(connection, transaction, keys, ct);
            foreach (var key in keys)
            {
                if (!key.IsAddress)
                {
                    await connection.ExecuteAsync(new CommandDefinition(database.Sql(Delete), new { key.Key }, transaction, cancellationToken: ct));
                    continue;
                }
                if (!rows.TryGetValue(key.Key, out var row)) continue;
                var failures = Math.Max(0, row.Failures - 1);
                var next = DelayAfter(failures, key) > TimeSpan.Zero ? row.NextAllowedAtMs : 0L;
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(Update), new { key.Key, Failures = failures, NextAllowedAtMs = next, Now = now },
                    transaction, cancellationToken: ct));
            }
        }, ct);

    private async Task<Dictionary<string, Row>> ReadAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction,
        IReadOnlyList<ThrottleKey> keys, CancellationToken ct)
    {
        var rows = new Dictionary<string, Row>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var row = await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(Select), new { key.Key }, transaction, cancellationToken: ct));
            if (row is not null) rows[key.Key] = row;
        }
        return rows;
    }

    private sealed class Row
    {
        public string ThrottleKey { get; init; } = "";
        public int Failures { get; init; }
        public long NextAllowedAtMs { get; init; }
    }
}
