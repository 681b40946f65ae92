using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Moderation.Core.Hosting;

namespace Moderation.Core.Uploads;

/// <summary>
/// Content-addressed media files under <c>{DataDirectory}/media/ab/cd/&lt;sha256&gt;</c>. The client's file name
/// never becomes part of a path. A file is written to a temporary name, flushed to disk and renamed, so a reader
/// never sees half a file and an answered upload survives a crash. Workers on other machines need the same
/// directory (a shared volume) until an object store backend exists.
/// </summary>
public sealed class MediaStore(IOptions<ModerationOptions> options)
{
    private readonly string root = Path.Combine(options.Value.FullDataDirectory, "media");

    public string Root => root;

    /// <summary>Stores the bytes; returns their SHA-256 (hex), which is also their address.</summary>
    public async Task<string> PutAsync(ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(content.Span));
        var path = PathFor(sha);
        if (File.Exists(path)) return sha;

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
            await using (var stream = new FileStream(temp, create))
            {
                await stream.WriteAsync(content, ct);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return sha;
    }

    public Stream OpenRead(string sha256) =>
        new FileStream(PathFor(sha256), FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous);

    public bool Contains(string sha256) => File.Exists(PathFor(sha256));

    /// <summary>Where the file with this digest lives (for tools such as ffmpeg that read a path, never for client input).</summary>
    public string PathFor(string sha256)
    {
        if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigitLower))
            throw new ArgumentException("Not a SHA-256 hex digest.", nameof(sha256));
        return Path.Combine(root, sha256[..2], sha256[2..4], sha256);
    }
}
