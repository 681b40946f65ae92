using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Moderation.Core.Audit;
using Moderation.Core.Storage;
using Moderation.Core.Refusals;

namespace Moderation.Core.Access;

/// <summary>A review-workbench account as the admin page lists it; <see cref="SignsInWith"/> names its OpenID Connect provider, if any.</summary>
/// <see cref="SecurityStamp"/> is carried by each of the account's cookies: a new stamp ends every session issued under the old one.
public sealed record WorkbenchAccount(string Id, string UserName, IReadOnlyList<string> Roles, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt,
    string? SignsInWith = null, string SecurityStamp = "")
{
    public bool Disabled => DisabledAt is not null;
}

/// <summary>
/// A sign-in by an OpenID Connect provider: its name, the user's subject there, the user name it gave, and the
/// workbench roles its role claim maps to (null: the provider does not manage roles; an admin assigns them).
/// </summary>
public sealed record ExternalSignIn(string Provider, string Subject, string UserName, IReadOnlyList<string>? Roles);

/// <summary>
/// Local users of the review workbench: passwords hashed with ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/>
/// (PBKDF2, rehashed on sign-in when its parameters move on). Every change is an audit event in the same transaction.
/// </summary>
public sealed class WorkbenchUsers(ModerationDatabase database, TimeProvider time)
{
    public const int MinimumPasswordLength = 12;
    private static readonly PasswordHasher<WorkbenchUser> Hasher = new();

    // Verified against when the user name is unknown, so a wrong name costs as long as a wrong password.
    private static readonly string DecoyHash = Hasher.HashPassword(new WorkbenchUser(), "decoy-password-for-unknown-users");

    private const string Columns =
        "id, user_name, password_hash, roles, created_at_ms, disabled_at_ms, security_stamp, (SELECT MIN(l.provider) FROM user_logins l WHERE l.user_id = users.id) AS signs_in_with";

    private static readonly DialectSql SelectByName = DialectSql.Portable($"SELECT {Columns} FROM users WHERE user_name = @UserName");
    private static readonly DialectSql SelectById = DialectSql.Portable($"SELECT {Columns} FROM users WHERE id = @Id");
    private static readonly DialectSql SelectAll = DialectSql.Portable($"SELECT {Columns} FROM users ORDER BY user_name");
    private static readonly DialectSql UpdateHash = DialectSql.Portable("UPDATE users SET password_hash = @Hash WHERE id = @Id");
    private static readonly DialectSql ResetHash = DialectSql.Portable("UPDATE users SET password_hash = @Hash, security_stamp = @Stamp WHERE id = @Id");
    private static readonly DialectSql UpdateRoles = DialectSql.Portable("UPDATE users SET roles = @Roles, security_stamp = @Stamp WHERE id = @Id");
    private static readonly DialectSql UpdateStamp = DialectSql.Portable("UPDATE users SET security_stamp = @Stamp WHERE id = @Id");
    private static readonly DialectSql SelectRevealMedia = DialectSql.Portable("SELECT reveal_media FROM users WHERE id = @Id");
    private static readonly DialectSql UpdateRevealMedia = DialectSql.Portable("UPDATE users SET reveal_media = @Reveal WHERE id = @Id");
    private static readonly DialectSql UpdateDisabled = DialectSql.Portable("UPDATE users SET disabled_at_ms = @DisabledAtMs, security_stamp = @Stamp WHERE id = @Id");
    private static readonly DialectSql Insert = DialectSql.Portable("""
        INSERT INTO users (id, user_name, password_hash, roles, created_at_ms, security_stamp) VALUES (@Id, @UserName, @PasswordHash, @Roles, @Now, @Stamp)
        """);

    /// <summary>A new security stamp: 128 random bits.</summary>
    public static string NewSecurityStamp() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
    private static readonly DialectSql SelectLogin = DialectSql.Portable("SELECT user_id FROM user_logins WHERE provider = @Provider AND subject = @Subject");
    private static readonly DialectSql InsertLogin = DialectSql.Portable("""
        INSERT INTO user_logins (provider, subject, user_id, created_at_ms, last_sign_in_at_ms) VALUES (@Provider, @Subject, @UserId, @Now, @Now)
        """);
    private static readonly DialectSql TouchLogin = DialectSql.Portable(
        "UPDATE user_logins SET last_sign_in_at_ms = @Now WHERE provider = @Provider AND subject = @Subject");

    /// <summary>The account when the name and password match an enabled user; null otherwise.</summary>
    public async Task<WorkbenchAccount?> SignInAsync(string userName, string password, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectByName), new { UserName = userName.Trim() }, cancellationToken: ct));
        if (row is null)
        {
            Hasher.VerifyHashedPassword(new WorkbenchUser(), DecoyHash, password);
            return null;
        }
        var user = new WorkbenchUser { Id = row.Id, UserName = row.UserName };
        if (row.PasswordHash.Length == 0)
        {
            // An account made by an OpenID Connect sign-in has no local password until an admin sets one.
            Hasher.VerifyHashedPassword(new WorkbenchUser(), DecoyHash, password);
            return null;
        }
        var result = Hasher.VerifyHashedPassword(user, row.PasswordHash, password);
        if (result == PasswordVerificationResult.Failed || row.DisabledAtMs is not null) return null;
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateHash), new { Hash = Hasher.HashPassword(user, password), row.Id }, cancellationToken: ct));
        return row.ToAccount();
    }

    /// <summary>A password sign-in, as an audit event (<c>user.signed_in</c>).</summary>
    public Task RecordSignInAsync(WorkbenchAccount account, CancellationToken ct)
    {
        return AuditedChange.RunAsync(database, time, AuditActors.User(account.UserName), change =>
        {
            change.Record("user.signed_in", "user", account.Id, afterState: JsonSerializer.Serialize(new { method = "password" }));
            return Task.FromResult(true);
        }, ct);
    }

    /// <summary>
    /// The local account of a user an OpenID Connect provider signed in, created on first sign-in (so decisions,
    /// agreement and exposure counts work as for local users). When the provider manages roles
    /// (<see cref="ExternalSignIn.Roles"/> not null) they replace the account's roles at each sign-in; otherwise a new
    /// account starts with <paramref name="defaultRoles"/> and an admin assigns the rest. The account is never matched
    /// to a local user by name: a taken name gets a suffix from the subject. Creation, role changes and the sign-in
    /// are audit events in one transaction. A disabled account is returned as it is, unchanged and not signed in.
    /// </summary>
    public async Task<WorkbenchAccount> SignInExternalAsync(ExternalSignIn login, IReadOnlyCollection<string> defaultRoles, CancellationToken ct)
    {
        var providerActor = AuditActors.Provider(login.Provider);
        return await AuditedChange.RunAsync(database, time, providerActor, async change =>
        {
            var (connection, transaction, now) = (change.Connection, change.Transaction, change.NowMs);
            var keys = new { login.Provider, login.Subject, Now = now };
            Row row;
            var userId = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(database.Sql(SelectLogin), keys, transaction, cancellationToken: ct));
            if (userId is null)
            {
                var roles = ReviewRoles.All.Where((login.Roles ?? [.. defaultRoles]).Contains).ToList();
                var userName = await FreeUserNameAsync(connection, transaction, login, ct);
                userId = Guid.CreateVersion7().ToString();
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), new
                {
                    Id = userId, UserName = userName, PasswordHash = "", Roles = string.Join(' ', roles), Now = now, Stamp = NewSecurityStamp(),
                }, transaction, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(InsertLogin), new { login.Provider, login.Subject, UserId = userId, Now = now }, transaction, cancellationToken: ct));
                change.Record("user.created", "user", userId, afterState: JsonSerializer.Serialize(new { userName, roles, provider = login.Provider, subject = login.Subject }));
                row = (await connection.QueryFirstAsync<Row>(new CommandDefinition(database.Sql(SelectById), new { Id = userId }, transaction, cancellationToken: ct)));
            }
            else
            {
                row = await connection.QueryFirstAsync<Row>(new CommandDefinition(database.Sql(SelectById), new { Id = userId }, transaction, cancellationToken: ct));
                if (row.DisabledAtMs is not null) return row.ToAccount();
                var held = ReviewRoles.Parse(row.Roles);
                if (login.Roles is not null)
                {
                    var roles = ReviewRoles.All.Where(login.Roles.Contains).ToList();
                    if (!roles.SequenceEqual(held))
                    {
                        await connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateRoles), new { Roles = string.Join(' ', roles), row.Id, Stamp = NewSecurityStamp() }, transaction, cancellationToken: ct));
                        change.Record("user.roles_changed", "user", row.Id, "role claim at sign-in",
                            JsonSerializer.Serialize(new { roles = held }), JsonSerializer.Serialize(new { roles }));
                        row = await connection.QueryFirstAsync<Row>(new CommandDefinition(database.Sql(SelectById), new { Id = userId }, transaction, cancellationToken: ct));
                    }
                }
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(TouchLogin), keys, transaction, cancellationToken: ct));
            }
            change.Record([new AuditEntry(AuditActors.User(row.UserName), "user.signed_in", "user", row.Id, null,
                AfterState: JsonSerializer.Serialize(new { method = "oidc", provider = login.Provider, subject = login.Subject }))]);
            return row.ToAccount();
        }, ct);
    }

    /// <summary>The provider's user name made safe for a workbench name, with a suffix from the subject if another account has it.</summary>
    private async Task<string> FreeUserNameAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, ExternalSignIn login, CancellationToken ct)
    {
        var clean = new string(login.UserName.Trim().Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '@' ? c : '_').ToArray());
        if (clean.Length > 56) clean = clean[..56];
        var suffix = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(login.Provider + "\n" + login.Subject)));
        if (clean.Length < 2) clean = "user-" + suffix[..8];
        foreach (var candidate in new[] { clean, $"{clean}-{suffix[..6]}", $"{clean}-{suffix[..12]}" })
        {
            var taken = await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectByName), new { UserName = candidate }, transaction, cancellationToken: ct));
            if (taken is null) return candidate;
        }
        throw Refusal.Invalid("userName", $"No free workbench name for '{clean}'.");
    }

    public async Task<WorkbenchAccount?> FindAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectById), new { Id = id }, cancellationToken: ct));
        return row?.ToAccount();
    }

    /// <summary>Whether the user chose to see media unblurred by default (their override of the category default).</summary>
    public async Task<bool> RevealsMediaAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(database.Sql(SelectRevealMedia), new { Id = id }, cancellationToken: ct)) == 1;
    }

    /// <summary>A preference of the user's own, not an account change: not audited.</summary>
    public async Task SetRevealMediaAsync(string id, bool reveal, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateRevealMedia), new { Id = id, Reveal = reveal ? 1 : 0 }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<WorkbenchAccount>> ListAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<Row>(new CommandDefinition(database.Sql(SelectAll), cancellationToken: ct))).Select(r => r.ToAccount()).ToList();
    }

    public async Task<WorkbenchAccount> CreateAsync(string actor, string userName, string password, IReadOnlyCollection<string> roles, CancellationToken ct)
    {
        userName = userName.Trim();
        if (userName.Length is < 2 or > 64 || !userName.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '@'))
            throw Refusal.Invalid("userName", "User names are 2 to 64 characters: letters, digits, '.', '-', '_' or '@'.");
        CheckPassword(password);
        var cleanRoles = CheckRoles(roles);
        var user = new WorkbenchUser { Id = Guid.CreateVersion7().ToString(), UserName = userName };
        var stamp = NewSecurityStamp();
        return await AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var existing = await change.Connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectByName), new { UserName = userName },
                change.Transaction, cancellationToken: ct));
            if (existing is not null) throw Refusal.Conflict($"A user named '{userName}' already exists.", "userName");
            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), new
            {
                user.Id, user.UserName, PasswordHash = Hasher.HashPassword(user, password), Roles = string.Join(' ', cleanRoles), Now = change.NowMs, Stamp = stamp,
            }, change.Transaction, cancellationToken: ct));
            change.Record("user.created", "user", user.Id, afterState: JsonSerializer.Serialize(new { userName, roles = cleanRoles }));
            return new WorkbenchAccount(user.Id, userName, cleanRoles, change.Now, null, SecurityStamp: stamp);
        }, ct);
    }

    public Task SetRolesAsync(string actorId, string actor, string id, IReadOnlyCollection<string> roles, CancellationToken ct)
    {
        var cleanRoles = CheckRoles(roles);
        return ChangeAsync(actor, id, "user.roles_changed", async (connection, transaction, row) =>
        {
            if (row.Id == actorId && !cleanRoles.Contains(ReviewRoles.Admin))
                throw Refusal.Forbidden("You cannot remove the admin role from your own account.", "roles");
            // A new stamp: the user's sessions end, and the next sign-in carries the new roles.
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateRoles), new { Roles = string.Join(' ', cleanRoles), row.Id, Stamp = NewSecurityStamp() }, transaction, cancellationToken: ct));
            return (new { roles = ReviewRoles.Parse(row.Roles) }, new { roles = cleanRoles });
        }, ct);
    }

    public Task SetDisabledAsync(string actorId, string actor, string id, bool disabled, CancellationToken ct) =>
        ChangeAsync(actor, id, disabled ? "user.disabled" : "user.enabled", async (connection, transaction, row) =>
        {
            if (row.Id == actorId && disabled) throw Refusal.Forbidden("You cannot disable your own account.", "disabled");
            var at = disabled ? time.GetUtcNow().ToUnixTimeMilliseconds() : (long?)null;
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateDisabled), new { DisabledAtMs = at, row.Id, Stamp = NewSecurityStamp() }, transaction, cancellationToken: ct));
            return (new { disabled = row.DisabledAtMs is not null }, new { disabled });
        }, ct);

    public Task ResetPasswordAsync(string actor, string id, string password, CancellationToken ct)
    {
        CheckPassword(password);
        return ChangeAsync(actor, id, "user.password_reset", async (connection, transaction, row) =>
        {
            var user = new WorkbenchUser { Id = row.Id, UserName = row.UserName };
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(ResetHash), new { Hash = Hasher.HashPassword(user, password), row.Id, Stamp = NewSecurityStamp() }, transaction, cancellationToken: ct));
            return ((object?)null, (object?)null);
        }, ct);
    }

    /// <summary>
    /// Sign-out: a new security stamp, so every cookie of the account stops working on every host (this one and any
    /// copied or stolen); audited as <c>user.signed_out</c>. An unknown account changes nothing.
    /// </summary>
    public Task SignOutAsync(string id, string actor, CancellationToken ct) =>
        AuditedChange.RunAsync(database, time, actor, async change =>
        {
            var row = await change.Connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectById), new { Id = id }, change.Transaction, cancellationToken: ct));
            if (row is null) return false;
            await change.Connection.ExecuteAsync(new CommandDefinition(database.Sql(UpdateStamp), new { row.Id, Stamp = NewSecurityStamp() }, change.Transaction, cancellationToken: ct));
            change.Record("user.signed_out", "user", row.Id);
            return true;
        }, ct);

    private async Task ChangeAsync(string actor, string id, string action,
        Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Row, Task<(object? Before, object? After)>> change, CancellationToken ct)
    {
        await AuditedChange.RunAsync(database, time, actor, async audited =>
        {
            var row = await audited.Connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(database.Sql(SelectById), new { Id = id },
                    audited.Transaction, cancellationToken: ct))
                ?? throw Refusal.NotFound("No such user.", "id");
            var (before, after) = await change(audited.Connection, audited.Transaction, row);
            audited.Record(action, "user", row.Id, null,
                before is null ? null : JsonSerializer.Serialize(before), after is null ? null : JsonSerializer.Serialize(after));
            return true;
        }, ct);
    }

    /// <summary>Refuses a password that is too short, too long or common (<see cref="CommonPasswords"/>).</summary>
    public static void CheckPassword(string password)
    {
        if (password.Length < MinimumPasswordLength || password.Length > 256)
            throw Refusal.Invalid("password", $"Passwords are {MinimumPasswordLength} to 256 characters long.");
        if (CommonPasswords.IsCommon(password))
            throw Refusal.Invalid("password", "That password is on a list of common passwords (or is one with digits or symbols added, or repeated); choose another: a few unrelated words make a good one.");
    }

    private static List<string> CheckRoles(IReadOnlyCollection<string> roles)
    {
        var unknown = roles.Where(r => !ReviewRoles.IsKnown(r)).ToList();
        if (unknown.Count > 0) throw Refusal.Invalid("roles", $"Unknown role(s): {string.Join(", ", unknown)}.");
        if (roles.Count == 0) throw Refusal.Invalid("roles", "Choose at least one role.");
        return ReviewRoles.All.Where(roles.Contains).ToList();
    }

    private sealed class Row
    {
        public string Id { get; init; } = "";
        public string UserName { get; init; } = "";
        public string PasswordHash { get; init; } = "";
        public string Roles { get; init; } = "";
        public long CreatedAtMs { get; init; }
        public long? DisabledAtMs { get; init; }
        public string? SignsInWith { get; init; }
        public string SecurityStamp { get; init; } = "";

        public WorkbenchAccount ToAccount() => new(Id, UserName, ReviewRoles.Parse(Roles), DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs),
            DisabledAtMs is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null, SignsInWith, SecurityStamp.Trim());
    }
}
