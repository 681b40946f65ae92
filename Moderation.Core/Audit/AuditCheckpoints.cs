using System.Buffers.Binary;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Hosting;
using Moderation.Core.Storage;

namespace Moderation.Core.Audit;

/// <summary>Bound from <c>Moderation:Audit:Checkpoints</c>: the key that signs checkpoints of the audit chain's head, and where they go.</summary>
public sealed class AuditCheckpointOptions
{
    public const string Section = "Moderation:Audit:Checkpoints";

    /// <summary>
    /// A PEM file holding the ECDSA P-256 private key that signs checkpoints (<c>openssl ecparam -name prime256v1 -genkey
    /// -noout -out audit-signing.pem</c>). Empty: no checkpoints are published (verification still checks those it finds
    /// with <see cref="PublicKeyPath"/>).
    /// </summary>
    public string? SigningKeyPath { get; set; }

    /// <summary>
    /// A PEM file holding the public key that verifies checkpoints (<c>openssl ec -in audit-signing.pem -pubout</c>); a
    /// verifier needs only this. Empty: the public half of <see cref="SigningKeyPath"/>.
    /// </summary>
    public string? PublicKeyPath { get; set; }

    /// <summary>Each checkpoint is also appended to this file as a JSON line; empty means <c>audit-checkpoints.jsonl</c> in the data directory. Copy it off the host.</summary>
    public string? FilePath { get; set; }

    /// <summary>When the recurring job <c>audit-checkpoint</c> runs (Hangfire cron, UTC); hourly by default.</summary>
    [Required] public string Cron { get; set; } = "0 * * * *";
}

/// <summary>
/// A signed statement that the audit chain held <see cref="Seq"/> events and that event <see cref="Seq"/>'s hash was
/// <see cref="Hash"/> at <see cref="AtMs"/>. <see cref="Signature"/> is ECDSA P-256 over SHA-256 (IEEE P1363, base64) of
/// <see cref="AuditCheckpoints.SignedBytes"/>; <see cref="KeyId"/> names the key (the first 16 hex digits of the SHA-256
/// of its SubjectPublicKeyInfo).
/// </summary>
public sealed record AuditCheckpoint(long Seq, string Hash, long AtMs, string KeyId, string Signature);

/// <summary>
/// Signed checkpoints of the audit chain's head. The chain alone proves that no stored event was changed without
/// recomputing every later hash; it cannot tell that the last events were deleted, or that an event was edited and every
/// later hash recomputed. A checkpoint can: the signed (seq, hash) of a head must still be in the chain. Checkpoints are
/// published by the recurring job <c>audit-checkpoint</c> and on every export, stored in <c>audit_checkpoints</c> and
/// appended to <see cref="AuditCheckpointOptions.FilePath"/>, which an operator keeps away from the database (someone who
/// can rewrite the database can delete its checkpoints, not the copies elsewhere). Verification checks every checkpoint
/// it is given (the table, the file, and any copy) against the chain.
/// </summary>
public sealed class AuditCheckpoints
{
    public const string JobId = "audit-checkpoint";
    private const string Tag = "audit-checkpoint-v1";

    private static readonly DialectSql SelectHead = new(
        sqlite: "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
        postgres: "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
        sqlServer: "SELECT TOP (1) seq, hash FROM audit_events ORDER BY seq DESC");

    private static readonly DialectSql Insert = DialectSql.InsertIfAbsent("audit_checkpoints",
        "seq, hash, at_ms, key_id, signature", "@Seq, @Hash, @AtMs, @KeyId, @Signature", ["seq", "key_id"]);

    private static readonly DialectSql SelectAll = DialectSql.Portable("SELECT seq, hash, at_ms, key_id, signature FROM audit_checkpoints ORDER BY seq");

    private static readonly DialectSql SelectHash = DialectSql.Portable("SELECT hash FROM audit_events WHERE seq = @Seq");

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ModerationDatabase database;
    private readonly TimeProvider time;
    private readonly ECDsa? signer;
    private readonly ECDsa? verifier;
    private readonly Lock fileGate = new();

    public AuditCheckpoints(ModerationDatabase database, IOptions<AuditCheckpointOptions> options, IOptions<ModerationOptions> moderation, TimeProvider time)
    {
        this.database = database;
        this.time = time;
        var o = options.Value;
        FilePath = string.IsNullOrWhiteSpace(o.FilePath)
            ? Path.Combine(moderation.Value.FullDataDirectory, "audit-checkpoints.jsonl")
            : Path.GetFullPath(o.FilePath);
        if (!string.IsNullOrWhiteSpace(o.SigningKeyPath))
        {
            signer = ECDsa.Create();
            signer.ImportFromPem(File.ReadAllText(o.SigningKeyPath));
            if (signer.KeySize != 256)
                throw new OptionsValidationException(AuditCheckpointOptions.Section, typeof(AuditCheckpointOptions), [$"{AuditCheckpointOptions.Section}:SigningKeyPath must hold an ECDSA P-256 private key."]);
        }
        if (!string.IsNullOrWhiteSpace(o.PublicKeyPath))
        {
            verifier = ECDsa.Create();
            verifier.ImportFromPem(File.ReadAllText(o.PublicKeyPath));
        }
        else if (signer is not null)
        {
            verifier = ECDsa.Create();
            verifier.ImportSubjectPublicKeyInfo(signer.ExportSubjectPublicKeyInfo(), out _);
        }
        KeyId = verifier is null ? null : KeyIdOf(verifier);
    }

    /// <summary>Where checkpoints are appended as JSON lines.</summary>
    public string FilePath { get; }

    /// <summary>Whether this host signs checkpoints.</summary>
    public bool CanSign => signer is not null;

    /// <summary>The key that verifies checkpoints here, or null when none is configured.</summary>
    public string? KeyId { get; }

    public static string KeyIdOf(ECDsa key) => SigningKeys.KeyIdOf(key);

    /// <summary>The bytes a checkpoint's signature covers: the tag, seq, the hash and the time, in the audit hash's framing.</summary>
    public static byte[] SignedBytes(long seq, string hash, long atMs)
    {
        using var buffer = new MemoryStream();
        Span<byte> number = stackalloc byte[8];
        WriteField(buffer, Tag);
        BinaryPrimitives.WriteInt64BigEndian(number, seq);
        buffer.Write(number);
        WriteField(buffer, hash);
        BinaryPrimitives.WriteInt64BigEndian(number, atMs);
        buffer.Write(number);
        return buffer.ToArray();
    }

    private static void WriteField(Stream buffer, string value)
    {
        Span<byte> length = stackalloc byte[4];
        var bytes = Encoding.UTF8.GetBytes(value);
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        buffer.Write(length);
        buffer.Write(bytes);
    }

    /// <summary>
    /// Signs the chain's head now, stores the checkpoint and appends it to the file; returns it (null when the chain is
    /// empty or no signing key is configured). A head already checkpointed by this key is not signed again.
    /// </summary>
    public async Task<AuditCheckpoint?> PublishAsync(CancellationToken ct)
    {
        if (signer is null) return null;
        await using var connection = await database.OpenAsync(ct);
        var head = await connection.QueryFirstOrDefaultAsync<HeadRow>(new CommandDefinition(database.Sql(SelectHead), cancellationToken: ct));
        if (head is null) return null;
        var existing = (await ReadStoredAsync(ct)).LastOrDefault(c => c.Seq == head.Seq && c.KeyId == KeyId);
        if (existing is not null && existing.Hash == head.Hash.Trim()) return existing;
        var at = time.GetUtcNow().ToUnixTimeMilliseconds();
        var hash = head.Hash.Trim();
        var signature = Convert.ToBase64String(signer.SignData(SignedBytes(head.Seq, hash, at), HashAlgorithmName.SHA256));
        var checkpoint = new AuditCheckpoint(head.Seq, hash, at, KeyId!, signature);
        // The file first: a checkpoint that reached the operator's copy but not the table still protects the chain.
        AppendToFile(checkpoint);
        await connection.ExecuteAsync(new CommandDefinition(database.Sql(Insert), checkpoint, cancellationToken: ct));
        return checkpoint;
    }

    private void AppendToFile(AuditCheckpoint checkpoint)
    {
        lock (fileGate)
        {
            PrivateFiles.EnsureFile(FilePath);
            File.AppendAllText(FilePath, JsonSerializer.Serialize(checkpoint, Json) + "\n");
        }
    }

    /// <summary>The checkpoints in the database.</summary>
    public async Task<IReadOnlyList<AuditCheckpoint>> ReadStoredAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<CheckpointRow>(new CommandDefinition(database.Sql(SelectAll), cancellationToken: ct));
        return rows.Select(r => new AuditCheckpoint(r.Seq, r.Hash.Trim(), r.AtMs, r.KeyId.Trim(), r.Signature)).ToList();
    }

    /// <summary>The checkpoints in a JSON-lines file (this host's file or an operator's copy); none if it does not exist.</summary>
    public static IReadOnlyList<AuditCheckpoint> ReadFile(string path)
    {
        if (!File.Exists(path)) return [];
        var list = new List<AuditCheckpoint>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                list.Add(JsonSerializer.Deserialize<AuditCheckpoint>(text, Json) ?? throw new JsonException("null"));
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path} line {line} is not a checkpoint: {e.Message}", e);
            }
        }
        return list;
    }

    /// <summary>
    /// Walks the chain (<see cref="AuditLog.VerifyAsync"/>) and checks every checkpoint in the table, in this host's file
    /// and in <paramref name="moreFiles"/> against it: signed by the configured key, its event still there, with the hash
    /// it had. A chain that ends before a checkpoint was truncated; a different hash at a checkpoint's seq means events up
    /// to it were rewritten (their hashes recomputed). Checkpoints signed by another key are counted, not trusted.
    /// </summary>
    public async Task<AuditVerification> VerifyAsync(IEnumerable<string> moreFiles, CancellationToken ct)
    {
        var chain = await AuditLog.VerifyAsync(database, ct);
        if (!chain.Intact) return chain;
        if (verifier is null)
            return chain with { CheckpointNote = "no checkpoint key is configured: deleting the last events, or rewriting events and every later hash, cannot be detected" };

        var all = (await ReadStoredAsync(ct)).Concat(ReadFile(FilePath));
        foreach (var file in moreFiles) all = all.Concat(ReadFile(file));
        var checkpoints = all.DistinctBy(c => (c.Seq, c.Hash, c.AtMs, c.KeyId, c.Signature)).OrderBy(c => c.Seq).ToList();
        var others = checkpoints.Count(c => c.KeyId != KeyId);
        var mine = checkpoints.Where(c => c.KeyId == KeyId).ToList();
        var lastSeq = chain.EventsChecked;
        var checkedCount = 0;
        await using var connection = await database.OpenAsync(ct);
        foreach (var c in mine)
        {
            if (!IsSigned(c))
                return chain with
                {
                    Intact = false, FirstBrokenSeq = c.Seq, CheckpointsChecked = checkedCount,
                    Problem = $"the checkpoint of event {c.Seq} at {DateTimeOffset.FromUnixTimeMilliseconds(c.AtMs):u} is not signed by the configured key (forged or altered)",
                };
            if (c.Seq > lastSeq)
                return chain with
                {
                    Intact = false, FirstBrokenSeq = lastSeq + 1, CheckpointsChecked = checkedCount, LastCheckpoint = c,
                    Problem = $"the chain was truncated: it ends at event {lastSeq}, but a checkpoint signed at {DateTimeOffset.FromUnixTimeMilliseconds(c.AtMs):u} covers {c.Seq} events",
                };
            var stored = (await connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(database.Sql(SelectHash), new { c.Seq }, cancellationToken: ct)))?.Trim();
            if (!string.Equals(stored, c.Hash, StringComparison.Ordinal))
                return chain with
                {
                    Intact = false, FirstBrokenSeq = c.Seq, CheckpointsChecked = checkedCount, LastCheckpoint = c,
                    Problem = $"the chain was rewritten: event {c.Seq}'s hash is not the one checkpointed at {DateTimeOffset.FromUnixTimeMilliseconds(c.AtMs):u} (an event at or before it was changed and the later hashes recomputed)",
                };
            checkedCount++;
        }
        var last = mine.LastOrDefault();
        var note = last is null
            ? "no checkpoint signed by the configured key was found"
            : $"{checkedCount} checkpoints hold; the latest covers event {last.Seq} (signed {DateTimeOffset.FromUnixTimeMilliseconds(last.AtMs):u}); events after it are protected by the next checkpoint";
        if (others > 0) note += $"; {others} checkpoints signed by other keys were not checked";
        return chain with { CheckpointsChecked = checkedCount, LastCheckpoint = last, CheckpointNote = note };
    }

    private bool IsSigned(AuditCheckpoint c)
    {
        try
        {
            return verifier!.VerifyData(SignedBytes(c.Seq, c.Hash, c.AtMs), Convert.FromBase64String(c.Signature), HashAlgorithmName.SHA256);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private sealed class HeadRow
    {
        public long Seq { get; init; }
        public string Hash { get; init; } = "";
    }

    private sealed class CheckpointRow
    {
        public long Seq { get; init; }
        public string Hash { get; init; } = "";
        public long AtMs { get; init; }
        public string KeyId { get; init; } = "";
        public string Signature { get; init; } = "";
    }
}

/// <summary>Schedules <see cref="AuditCheckpoints.PublishAsync"/> as the recurring job <c>audit-checkpoint</c> where a signing key is configured.</summary>
public sealed class AuditCheckpointSchedule(AuditCheckpoints checkpoints, IOptions<AuditCheckpointOptions> options, IRecurringJobManager recurring,
    ILogger<AuditCheckpointSchedule> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // Hosts without the key leave the schedule alone: the job runs on a server that has it (configure the key where jobs run).
            if (checkpoints.CanSign)
                recurring.AddOrUpdate<AuditCheckpoints>(AuditCheckpoints.JobId, "default", c => c.PublishAsync(CancellationToken.None), options.Value.Cron);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(e, "Could not schedule audit checkpoints");
        }
        return Task.CompletedTask;
    }
}
