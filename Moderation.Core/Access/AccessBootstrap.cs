using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Audit;
using Moderation.Core.Hosting;
using Moderation.Core.Storage;

namespace Moderation.Core.Access;

/// <summary>Bound from <c>Moderation:Bootstrap</c>; set from the environment, never from a committed file.</summary>
public sealed class BootstrapOptions
{
    public const string Section = "Moderation:Bootstrap";

    public string? ApiKey { get; set; }
    public string? AdminPassword { get; set; }
    public string AdminUserName { get; set; } = "admin";
}

/// <summary>A local user of the review workbench (only the hash of the password is ever stored).</summary>
public sealed class WorkbenchUser
{
    public string Id { get; init; } = "";
    public string UserName { get; init; } = "";
}

/// <summary>
/// Gives an empty database its first admin key and admin user, so the service is never open and never locked.
/// Values come from the environment when set; otherwise they are generated and written, once, to
/// <c>bootstrap-credentials.json</c> (mode 0600) in the data directory, whose path is logged (the secrets are not).
/// </summary>
public sealed class AccessBootstrap(
    ModerationDatabase database,
    ApiKeyStore keys,
    IOptions<BootstrapOptions> options,
    IOptions<ModerationOptions> moderation,
    TimeProvider time,
    ILogger<AccessBootstrap> logger)
{
    public const string CredentialsFileName = "bootstrap-credentials.json";

    private static readonly DialectSql CountPrincipals =
        DialectSql.Portable("SELECT (SELECT COUNT(*) FROM api_keys) + (SELECT COUNT(*) FROM users)");

    private static readonly DialectSql InsertUser = DialectSql.Portable("""
        INSERT INTO users (id, user_name, password_hash, roles, created_at_ms, security_stamp) VALUES (@Id, @UserName, @PasswordHash, @Roles, @Now, @Stamp)
        """);

    /// <returns>True when this call created the first credentials.</returns>
    public async Task<bool> EnsureAsync(CancellationToken ct)
    {
        var o = options.Value;
        var keyFromEnvironment = !string.IsNullOrEmpty(o.ApiKey);
        var passwordFromEnvironment = !string.IsNullOrEmpty(o.AdminPassword);
        if (keyFromEnvironment && o.ApiKey!.Length < ApiKeyStore.MinimumKeyLength)
            throw new InvalidOperationException($"Moderation__Bootstrap__ApiKey must be at least {ApiKeyStore.MinimumKeyLength} characters long.");
        if (passwordFromEnvironment && o.AdminPassword!.Length < 12)
            throw new InvalidOperationException("Moderation__Bootstrap__AdminPassword must be at least 12 characters long.");
        if (passwordFromEnvironment && CommonPasswords.IsCommon(o.AdminPassword!))
            throw new InvalidOperationException("Moderation__Bootstrap__AdminPassword is on the list of common passwords (or is one with digits or symbols added, or repeated); choose another.");

        var apiKey = keyFromEnvironment ? o.ApiKey! : ApiKeyStore.Generate();
        var password = passwordFromEnvironment ? o.AdminPassword! : ApiKeyStore.Generate()[3..27];
        var path = Path.Combine(moderation.Value.FullDataDirectory, CredentialsFileName);
        var wroteFile = false;

        var created = await AuditedChange.RunAsync(database, time, AuditActors.Bootstrap, async change =>
        {
            var (connection, transaction, now) = (change.Connection, change.Transaction, change.NowMs);
            var existing = await connection.ExecuteScalarAsync<long>(new CommandDefinition(database.Sql(CountPrincipals), transaction: transaction, cancellationToken: ct));
            if (existing > 0) return false;

            var keyId = await keys.CreateAsync(connection, transaction, "bootstrap admin key", apiKey, ApiScopes.All, ct, AuditActors.Bootstrap);
            var user = new WorkbenchUser { Id = Guid.CreateVersion7().ToString(), UserName = o.AdminUserName };
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertUser), new
            {
                user.Id, user.UserName, PasswordHash = new PasswordHasher<WorkbenchUser>().HashPassword(user, password), Roles = "admin", Now = now, Stamp = WorkbenchUsers.NewSecurityStamp(),
            }, transaction, cancellationToken: ct));
            change.Record("api_key.created", "api_key", keyId, "first start on an empty database",
                afterState: JsonSerializer.Serialize(new { scopes = ApiScopes.All }));
            change.Record("user.created", "user", user.Id, "first start on an empty database",
                afterState: JsonSerializer.Serialize(new { userName = user.UserName, roles = new[] { "admin" } }));

            // Written before the commit: if it cannot be written, nothing is created and the start fails loudly.
            if (!keyFromEnvironment || !passwordFromEnvironment)
            {
                WriteCredentialsFile(path, keyFromEnvironment ? null : apiKey, user.UserName, passwordFromEnvironment ? null : password);
                wroteFile = true;
            }
            return true;
        }, ct).ConfigureAwait(false);

        if (created)
        {
            if (wroteFile)
                logger.LogWarning("Created the first admin API key and user '{User}'; generated credentials are in {Path} (readable by this account only)", o.AdminUserName, path);
            else
                logger.LogInformation("Created the first admin API key and user '{User}' from the environment", o.AdminUserName);
        }
        return created;
    }

    private static void WriteCredentialsFile(string path, string? apiKey, string userName, string? password)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        JsonSerializer.Serialize(stream, new
        {
            apiKey,
            apiKeyScopes = ApiScopes.All,
            adminUserName = userName,
            adminPassword = password,
            note = "Generated on first start. Store these elsewhere and delete this file.",
        }, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });
        stream.Flush(flushToDisk: true);
    }
}
