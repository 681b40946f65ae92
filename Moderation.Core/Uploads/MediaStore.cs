using System.Data.Common;
using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Options;
using Moderation.Core.Hosting;
using Moderation.Core.Storage;

namespace Moderation.Core.Uploads;

/// <summary>
/// A media file written to <c>{DataDirectory}/media/incoming/</c> while its request was read, not yet part of any
/// upload: its length (<see cref="Exceeded"/> when the source held more than the limit, and the file was deleted), its
/// SHA-256 and its first bytes (to recognise the format). <see cref="MediaStore.Commit"/> moves it to its content address
/// when its upload is stored; <see cref="Dispose"/> deletes whatever was not moved (a refused upload, a repeat).
/// </summary>
public sealed record StagedMedia(string TempPath, long Length, string Sha256, byte[] Header, bool Exceeded) : IDisposable
{
    public void Dispose()
    {
        try { if (File.Exists(TempPath)) File.Delete(TempPath); }
        catch (IOException) { /* the sweep removes it later */ }
    }
}

/// <summary>
/// Content-addressed media files under <c>{DataDirectory}/media/ab/cd/&lt;sha256&gt;</c>. The client's file name
/// never becomes part of a path. Media arrive in two steps: <see cref="StageAsync"/> streams a request's file to a
/// temporary name under <c>media/incoming/</c> with one bounded buffer (never the whole file in memory), hashing it as
/// it goes and flushing it to disk; <see cref="Commit"/> renames it to its address inside the transaction that stores
/// its upload, so a refused upload or a repeated external id leaves nothing behind. A crash between a rename and the
/// commit can leave a file that no upload names: <see cref="SweepAsync"/> (run by <see cref="MediaSweeper"/>) deletes
/// such files and stale temporary ones once they are older than <see cref="UploadLimits.OrphanMediaAfter"/>. Workers on
/// other machines need the same directory (a shared volume) until an object store backend exists.
/// </summary>
public sealed class MediaStore(IOptions<ModerationOptions> options)
{
    private const int BufferSize = 81920;
    private readonly string root = Path.Combine(PrivateFiles.EnsureDirectory(options.Value.FullDataDirectory), "media");

    public string Root => root;

    /// <summary>Where files wait between their request and their upload's commit.</summary>
    public string IncomingRoot => Path.Combine(root, "incoming");

    /// <summary>Stores the bytes; returns their SHA-256 (hex), which is also their address.</summary>
    public async Task<string> PutAsync(ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        using var staged = await StageAsync(new MemoryStream(content.ToArray(), writable: false), long.MaxValue, ct);
        Commit(staged);
        return staged.Sha256;
    }

    /// <summary>
    /// Streams <paramref name="source"/> to a new temporary file through one buffer, computing its SHA-256. Reads at
    /// most <paramref name="maxBytes"/> + 1 bytes: past the limit the file is deleted and the result says
    /// <see cref="StagedMedia.Exceeded"/> (the rest of the source is left unread).
    /// </summary>
    public async Task<StagedMedia> StageAsync(Stream source, long maxBytes, CancellationToken ct)
    {
        Directory.CreateDirectory(IncomingRoot);
        var temp = Path.Combine(IncomingRoot, $"{Guid.NewGuid():N}.tmp");
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var header = new byte[MediaSignature.HeaderLength];
        var headerLength = 0;
        long length = 0;
        var buffer = new byte[BufferSize];
        try
        {
            await using (var file = new FileStream(temp, CreateOptions()))
            {
                int read;
                while ((read = await source.ReadAsync(buffer, ct)) > 0)
                {
                    length += read;
                    if (length > maxBytes)
                    {
                        file.Close();
                        File.Delete(temp);
                        return new StagedMedia(temp, length, "", header[..headerLength], Exceeded: true);
                    }
                    if (headerLength < header.Length)
                    {
                        var take = Math.Min(read, header.Length - headerLength);
                        buffer.AsSpan(0, take).CopyTo(header.AsSpan(headerLength));
                        headerLength += take;
                    }
                    hasher.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                }
                await file.FlushAsync(ct);
                file.Flush(flushToDisk: true);
            }
            return new StagedMedia(temp, length, Convert.ToHexStringLower(hasher.GetHashAndReset()), header[..headerLength], Exceeded: false);
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// Moves a staged file to its content address (called inside the transaction that stores its upload, before the
    /// commit). If the address already holds the same bytes, the staged copy is dropped and the stored file's time is
    /// renewed, so a sweep running meanwhile does not take it for an orphan. Repeating it is harmless.
    /// </summary>
    public void Commit(StagedMedia staged)
    {
        if (staged.Exceeded) throw new InvalidOperationException("A file over the limit cannot be stored.");
        var path = PathFor(staged.Sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (File.Exists(path))
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
            staged.Dispose();
            return;
        }
        if (!File.Exists(staged.TempPath))
            throw new FileNotFoundException("The staged media file is gone before its upload was stored.", staged.TempPath);
        File.Move(staged.TempPath, path, overwrite: true);
    }

    public Stream OpenRead(string sha256) =>
        new FileStream(PathFor(sha256), FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous);

    public bool Contains(string sha256) => File.Exists(PathFor(sha256));

    /// <summary>Where the file with this digest lives (for tools such as ffmpeg that read a path, never for client input).</summary>
    public string PathFor(string sha256)
    {
        if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigitLower))
            throw new ArgumentException("Not a SHA-256 hex digest.", nameof(sha256));
        return Path.Combine(root, sha256[..2], sha256[2..4], sha256);
    }

    private static readonly DialectSql SelectReferenced = DialectSql.WithList("SELECT DISTINCT sha256 FROM media WHERE sha256 IN @Shas");

    /// <summary>
    /// Deletes temporary files under <c>incoming/</c> and stored files that no <c>media</c> row names, when they were last
    /// written before <paramref name="olderThan"/> (a file in flight is younger: a request still reading it, or an upload
    /// whose transaction has not committed yet). Returns how many files it deleted.
    /// </summary>
    public async Task<int> SweepAsync(ModerationDatabase database, DateTimeOffset olderThan, CancellationToken ct)
    {
        if (!Directory.Exists(root)) return 0;
        var cutoff = olderThan.UtcDateTime;
        var deleted = 0;
        if (Directory.Exists(IncomingRoot))
            foreach (var temp in Directory.EnumerateFiles(IncomingRoot))
                if (File.GetLastWriteTimeUtc(temp) < cutoff && TryDelete(temp)) deleted++;

        var candidates = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            if (Path.GetDirectoryName(file) == IncomingRoot) continue;
            var name = Path.GetFileName(file);
            if (name.Length == 64 && name.All(char.IsAsciiHexDigitLower) && File.GetLastWriteTimeUtc(file) < cutoff)
                candidates[name] = file;
            else if (name.EndsWith(".tmp", StringComparison.Ordinal) && File.GetLastWriteTimeUtc(file) < cutoff && TryDelete(file))
                deleted++; // left by the store before staging moved to incoming/
        }
        if (candidates.Count == 0) return deleted;
        await using DbConnection connection = await database.OpenAsync(ct);
        foreach (var chunk in candidates.Keys.Chunk(500))
        {
            var referenced = (await connection.QueryAsync<string>(new CommandDefinition(database.Sql(SelectReferenced),
                new { Shas = chunk }, cancellationToken: ct))).Select(s => s.Trim()).ToHashSet(StringComparer.Ordinal);
            foreach (var sha in chunk)
            {
                var path = candidates[sha];
                // Looked at again just before: a commit that reused the file meanwhile renewed its time.
                if (!referenced.Contains(sha) && File.GetLastWriteTimeUtc(path) < cutoff && TryDelete(path)) deleted++;
            }
        }
        return deleted;
    }

    private static bool TryDelete(string path)
    {
        try { File.Delete(path); return true; }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static FileStreamOptions CreateOptions()
    {
        var create = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous, BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        return create;
    }
}
