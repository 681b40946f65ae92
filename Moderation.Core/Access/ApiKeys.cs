using System.Security.Cryptography;
using System.Text;
using Dapper;
using System.Data.Common;
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

/// <summary>An authenticated key.</summary>
public sealed record ApiKeyIdentity(string KeyId, string Name, IReadOnlySet<string> Scopes);

/// <summary>
/// API keys: 256 random bits, shown once, stored as a SHA-256 hash (a slow password hash adds nothing for a
/// secret of that entropy and would cost every request). The first characters are stored in clear as a lookup
/// prefix, so a presented key is checked against one row, in constant time.
/// </summary>
public sealed class ApiKeyStore(ModerationDatabase database, TimeProvider time)
{
    public const int PrefixLength = 12;
    public const int MinimumKeyLength = 24;

    private static readonly DialectSql Insert = DialectSql.Portable("""
        INSERT INTO api_keys (id, name, key_prefix, key_hash, scopes, created_at_ms) VALUES (@Id, @Name, @Prefix, @Hash, @Scopes, @Now)
        """);

    private static readonly DialectSql SelectByPrefix = DialectSql.Portable("""
        SELECT id, name, key_hash, scopes FROM api_keys WHERE key_prefix = @Prefix AND revoked_at_ms IS NULL
        """);

    /// <summary>A new random key: <c>mk_</c> and 43 base64url characters.</summary>
    public static string Generate() =>
        "mk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Stores a key inside the caller's transaction; returns its id.</summary>
    public async Task<string> CreateAsync(DbConnection connection, DbTransaction transaction, string name, string key,
        IEnumerable<string> scopes, CancellationToken ct)
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
            Now = time.GetUtcNow().ToUnixTimeMilliseconds(),
        }, transaction, cancellationToken: ct));
        return id;
    }

    /// <summary>The key's identity, or null when the key is unknown, revoked or malformed.</summary>
    public async Task<ApiKeyIdentity?> AuthenticateAsync(string presented, CancellationToken ct)
    {
        if (presented.Length < MinimumKeyLength || presented.Length > 512) return null;
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<KeyRow>(new CommandDefinition(database.Sql(SelectByPrefix),
            new { Prefix = presented[..PrefixLength] }, cancellationToken: ct));
        var hash = Encoding.ASCII.GetBytes(Hash(presented));
        foreach (var row in rows)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, Encoding.ASCII.GetBytes(row.KeyHash.Trim())))
                return new ApiKeyIdentity(row.Id, row.Name, row.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet());
        }
        return null;
    }

    private sealed class KeyRow
    {
        public string Id { get; init; } = "";
        public string Name { get; init; } = "";
        public string KeyHash { get; init; } = "";
        public string Scopes { get; init; } = "";
    }
}
