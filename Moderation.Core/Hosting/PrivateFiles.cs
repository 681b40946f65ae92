using Microsoft.Data.Sqlite;

namespace Moderation.Core.Hosting;

/// <summary>
/// The data directory and the database files the app creates are its own: a directory it creates is 0700 and a SQLite
/// file it creates is 0600 (on Unix; SQLite gives its -wal and -shm files the database file's mode), so other local
/// users cannot read uploads, credentials or the audit trail whatever the umask. Directories and files that already
/// exist keep the mode the operator gave them.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="path"/> (and missing parents) as 0700 if it does not exist; returns the full path.</summary>
    public static string EnsureDirectory(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) return full;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(full);
        else Directory.CreateDirectory(full, DirectoryMode);
        return full;
    }

    /// <summary>Creates an empty file as 0600 if it does not exist (its directory as 0700), for a store that then opens it.</summary>
    public static void EnsureFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full)) return;
        EnsureDirectory(Path.GetDirectoryName(full)!);
        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode;
        try
        {
            using var _ = new FileStream(full, options);
        }
        catch (IOException) when (File.Exists(full))
        {
            // Another host or thread created it first.
        }
    }

    /// <summary>The file a SQLite connection string opens, created 0600 if missing; nothing for in-memory or URI data sources.</summary>
    public static void EnsureSqliteFile(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        var source = builder.DataSource;
        if (string.IsNullOrWhiteSpace(source) || source == ":memory:" || builder.Mode == SqliteOpenMode.Memory
            || source.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || builder.Mode == SqliteOpenMode.ReadOnly) return;
        EnsureFile(source);
    }
}
