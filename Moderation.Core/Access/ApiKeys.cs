using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Caching.Memory;
using System.Data.Common;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;
using Moderation.Core.Storage;

namespace Moderation.Core.Access;

/// <summary>What an API key may do.</summary>
public static class ApiScopes
{
    public const string UploadsWrite = "uploads:write";
    public const string SignalsRead = "signals:read";
    /// <summary>Read the claim bank and the model registry.</summary>
    public const string PolicyRead = "policy:read";
    /// <summary>Curate the claim bank and move model versions between live, shadow and retired; implies <see cref="PolicyRead"/>.</summary>
    public const string PolicyWrite = "policy:write";
    /// <summary>Read the demo For You feed and post interactions to it (the recommender demo in the API host).</summary>
    public const string FeedDemo = "feed:demo";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [UploadsWrite, SignalsRead, PolicyRead, PolicyWrite, FeedDemo, Admin];

    /// <summary>
    /// Whether a key holding <paramref name="held"/> may use an endpoint that requires <paramref name="required"/>:
    /// it holds the scope, or admin, or policy:write where policy:read is required.
    /// </summary>
    public static bool Grants(IReadOnlySet<string> held, string required) =>
        held.Contains(required) || held.Contains(Admin) || (required == PolicyRead && held.Contains(PolicyWrite));
}

/// <summary>An authenticated key; <see cref="ExpiresAt"/> bounds how long a host may remember it.</summary>
public sealed record ApiKeyIdentity(string KeyId, string Name, IReadOnlySet<string> Scopes, DateTimeOffset? ExpiresAt = null);

/// <summary>An API key as it is listed: never its secret (only its hash is stored).</summary>
public sealed record ApiKeyInfo(string Id, string Name, IReadOnlyList<string> Scopes, string Prefix, DateTimeOffset CreatedAt, string? CreatedBy,
    DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string? RevokedBy)
{
    /// <summary><c>active</c>, <c>expired</c> or <c>revoked</c>, at <paramref name="now"/>.</summary>
    public string StateAt(DateTimeOffset now) => RevokedAt is not null ? "revoked" : ExpiresAt is { } e && e <= now ? "expired" : "active";
}

/// <summary>A key just made: its record and the secret, which is shown this once and never again.</summary>
public sealed record IssuedApiKey(ApiKeyInfo Key, string Secret);

/// <summary>
/// API keys: 256 random bits, shown once, stored as a SHA-256 hash (a slow password hash adds nothing for a
/// secret of that entropy and would cost every request). The first characters are stored in clear as a lookup
/// prefix, so a presented key is checked against one row, in constant time.
/// </summary>
public sealed class ApiKeyStore(ModerationDatabase database, TimeProvider time)
{
    public const int PrefixLength = 12;
    public const int MinimumKeyLength = 24;

    public const int MaxNameLength = 200;

    private static readonly DialectSql Insert = DialectSql.Portable("""
        INSERT INTO api_keys (id, name, key_prefix, key_hash, scopes, created_at_ms, created_by, expires_at_ms)
        VALUES (@Id, @Name, @Prefix, @Hash, @Scopes, @Now, @CreatedBy, @ExpiresAtMs)
        """);

    private static readonly DialectSql SelectByPrefix = DialectSql.Portable("""
        SELECT id, name, key_hash, scopes, expires_at_ms FROM api_keys
        WHERE key_prefix = @Prefix AND revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > @Now)
        """);

    private const string InfoColumns = "id, name, key_prefix, scopes, created_at_ms, created_by, expires_at_ms, revoked_at_ms, revoked_by";
    private static readonly DialectSql SelectAll = DialectSql.Portable($"SELECT {InfoColumns} FROM api_keys ORDER BY created_at_ms, id");
    private static readonly DialectSql SelectById = DialectSql.Portable($"SELECT {InfoColumns} FROM api_keys WHERE id = @Id");
    private static readonly DialectSql Revoke = DialectSql.Portable(
        "UPDATE api_keys SET revoked_at_ms = @Now, revoked_by = @Actor WHERE id = @Id AND revoked_at_ms IS NULL");

    /// <summary>A new random key: <c>mk_</c> and 43 base64url characters.</summary>
    public static string Generate() =>
        "mk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Stores a key inside the caller's transaction; returns its id.</summary>
    public async Task<string> CreateAsync(DbConnection connection, DbTransaction transaction, string name, string key,
        IEnumerable<string> scopes, CancellationToken ct, string? createdBy = null, DateTimeOffset? expiresAt = null)
    {
        if (key.Length < MinimumKeyLength)
            throw new ArgumentException($"An API key must be at least {MinimumKeyLength} characters long.", nameof(key));
        var scopeList = scopes.Distinct().ToList();
        var unknown = scopeList.Except(ApiScopes.All).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Unknown scopes: {string.Join(", ", unknown)}.", nameof(scopes));
        var id = Guid.CreateVersion7().ToString();
        await connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), new
        {
            Id = id, Name = name, Prefix = key[..PrefixLength], Hash = Hash(key), Scopes = string.Join(' ', scopeList),
            Now = time.GetUtcNow().ToUnixTimeMilliseconds(), CreatedBy = createdBy, ExpiresAtMs = expiresAt?.ToUnixTimeMilliseconds(),
        }, transaction, cancellationToken: ct));
        return id;
    }

    /// <summary>
    /// Makes a key with <paramref name="scopes"/> that works until it is revoked or <paramref name="expiresAt"/> passes;
    /// audited (<c>api_key.created</c>, never with the secret). Refused: a blank or over-long name, no scope, an unknown
    /// scope, an expiry that is not in the future.
    /// </summary>
    public async Task<IssuedApiKey> IssueAsync(string actor, string? name, IReadOnlyCollection<string>? scopes, DateTimeOffset? expiresAt, CancellationToken ct)
    {
        name = name?.Trim() ?? "";
        if (name.Length == 0 || name.Length > MaxNameLength || name.Any(char.IsControl))
            throw Refusal.Invalid("name", $"Name the key (what uses it): 1 to {MaxNameLength} characters, no control characters.");
        if (scopes is null || scopes.Count == 0)
            throw Refusal.Invalid("scopes", $"Give the key at least one scope: {string.Join(", ", ApiScopes.All)}.");
        var unknown = scopes.Where(s => !ApiScopes.All.Contains(s, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
            throw Refusal.Invalid("scopes", $"Unknown scope(s): {string.Join(", ", unknown)}; the scopes are {string.Join(", ", ApiScopes.All)}.");
        var ordered = ApiScopes.All.Where(scopes.Contains).ToList();
        var secret = Generate();
        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            if (expiresAt is { } e && e <= change.Now)
                throw Refusal.Invalid("expiresAt", "The expiry must be in the future.");
            var id = await CreateAsync(change.Connection, change.Transaction, name, secret, ordered, ct, actor, expiresAt);
            change.Record("api_key.created", "api_key", id, afterState: JsonSerializer.Serialize(new
            {
                name, scopes = ordered, prefix = secret[..PrefixLength], expiresAt = expiresAt?.ToUnixTimeMilliseconds(),
            }));
            var row = await change.Connection.QueryFirstAsync<InfoRow>(new CommandDefinition(database.Sql(SelectById), new { Id = id }, change.Transaction, cancellationToken: ct));
            return new IssuedApiKey(row.ToInfo(), secret);
        }, ct);
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<InfoRow>(new CommandDefinition(database.Sql(SelectAll), cancellationToken: ct))).Select(r => r.ToInfo()).ToList();
    }

    public async Task<ApiKeyInfo?> FindAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryFirstOrDefaultAsync<InfoRow>(new CommandDefinition(database.Sql(SelectById), new { Id = id }, cancellationToken: ct)))?.ToInfo();
    }

    /// <summary>
    /// Revokes a key for good; audited (<c>api_key.revoked</c>). Revoking a revoked key changes nothing and records
    /// nothing. Hosts that remember verified keys do so for at most <see cref="MaxCacheTime"/>, so the key stops working
    /// everywhere within that time.
    /// </summary>
    public async Task<ApiKeyInfo> RevokeAsync(string actor, string id, string? reason, CancellationToken ct)
    {
        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var row = await change.Connection.QueryFirstOrDefaultAsync<InfoRow>(new CommandDefinition(database.Sql(SelectById), new { Id = id }, change.Transaction, cancellationToken: ct))
                ?? throw Refusal.NotFound("No such API key.", "id");
            if (row.RevokedAtMs is not null) return row.ToInfo();
            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(Revoke), new { Id = id, Now = change.NowMs, Actor = actor }, change.Transaction, cancellationToken: ct));
            change.Record("api_key.revoked", "api_key", id, string.IsNullOrWhiteSpace(reason) ? null : reason.Trim(),
                JsonSerializer.Serialize(new { revoked = false }), JsonSerializer.Serialize(new { revoked = true }));
            return (await change.Connection.QueryFirstAsync<InfoRow>(new CommandDefinition(database.Sql(SelectById), new { Id = id }, change.Transaction, cancellationToken: ct))).ToInfo();
        }, ct);
    }

    /// <summary>The longest a host may remember a verified key (so a revocation reaches every host within it).</summary>
    public static readonly TimeSpan MaxCacheTime = TimeSpan.FromSeconds(5);

    /// <summary>The memory-cache entry of a verified key (named by the key's hash, never the key itself).</summary>
    public static string CacheEntry(string presented) => "api-key:" + Hash(presented);

    /// <summary>The memory-cache entry that names <see cref="CacheEntry"/> of a key id, so a revocation can forget it.</summary>
    public static string IdCacheEntry(string keyId) => "api-key-id:" + keyId;

    /// <summary>Forgets a revoked key on this host at once (other hosts within <see cref="MaxCacheTime"/>).</summary>
    public static void Forget(IMemoryCache cache, string keyId)
    {
        if (cache.Get(IdCacheEntry(keyId)) is string entry) cache.Remove(entry);
        cache.Remove(IdCacheEntry(keyId));
    }

    /// <summary>The key's identity, or null when the key is unknown, revoked or malformed.</summary>
    public async Task<ApiKeyIdentity?> AuthenticateAsync(string presented, CancellationToken ct)
    {
        if (presented.Length < MinimumKeyLength || presented.Length > 512) return null;
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<KeyRow>(new CommandDefinition(database.Sql(SelectByPrefix),
            new { Prefix = presented[..PrefixLength], Now = time.GetUtcNow().ToUnixTimeMilliseconds() }, cancellationToken: ct));
        var hash = Encoding.ASCII.GetBytes(Hash(presented));
        foreach (var row in rows)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, Encoding.ASCII.GetBytes(row.KeyHash.Trim())))
                return new ApiKeyIdentity(row.Id, row.Name, row.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(),
                    row.ExpiresAtMs is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null);
        }
        return null;
    }

    private sealed class KeyRow
    {
        public string Id { get; init; } = "";
        public string Name { get; init; } = "";
        public string KeyHash { get; init; } = "";
        public string Scopes { get; init; } = "";
        public long? ExpiresAtMs { get; init; }
    }

    private sealed class InfoRow
    {
        public string Id { get; init; } = "";
        public string Name { get; init; } = "";
        public string KeyPrefix { get; init; } = "";
        public string Scopes { get; init; } = "";
        public long CreatedAtMs { get; init; }
        public string? CreatedBy { get; init; }
        public long? ExpiresAtMs { get; init; }
        public long? RevokedAtMs { get; init; }
        public string? RevokedBy { get; init; }

        public ApiKeyInfo ToInfo() => new(Id, Name, Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries), KeyPrefix.Trim(),
            DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs), CreatedBy,
            ExpiresAtMs is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null,
            RevokedAtMs is { } r ? DateTimeOffset.FromUnixTimeMilliseconds(r) : null, RevokedBy);
    }
}
