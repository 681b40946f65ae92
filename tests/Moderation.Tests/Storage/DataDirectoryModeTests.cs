using FluentAssertions;
using Moderation.Core.Hosting;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Storage;

/// <summary>
/// Issue 16, item 17: a data directory the app creates is 0700 and the SQLite files it creates there (moderation.db,
/// hangfire.db, and SQLite's -wal/-shm beside them) are 0600, whatever the process's umask allows.
/// </summary>
[Collection(HostCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryModeTests
{
    [Fact]
    public async Task The_data_directory_and_database_files_the_host_creates_are_private()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var data = Path.Combine(database.Directory, "fresh", "data");
        Directory.Exists(data).Should().BeFalse();

        await using (var api = await TestApi.StartAsync(database, settings: new Dictionary<string, string?>
        {
            ["Moderation:DataDirectory"] = data,
            // The default: moderation.db in the data directory.
            ["Moderation:Database:ConnectionString"] = "",
        }))
        {
            (await api.PostUploadAsync(new { externalId = "private-" + Guid.NewGuid().ToString("N"), caption = "x" })).GetProperty("id").GetString().Should().NotBeNull();

            File.GetUnixFileMode(data).Should().Be(PrivateFiles.DirectoryMode);
            File.GetUnixFileMode(Path.Combine(data, "moderation.db")).Should().Be(PrivateFiles.FileMode);
            File.GetUnixFileMode(Path.Combine(data, "hangfire.db")).Should().Be(PrivateFiles.FileMode);
            foreach (var side in Directory.EnumerateFiles(data, "*.db-*"))
                File.GetUnixFileMode(side).Should().Be(PrivateFiles.FileMode, side);
        }
    }

    [Fact]
    public void Existing_directories_and_files_keep_the_mode_the_operator_gave_them()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        var root = Path.Combine(Path.GetTempPath(), "modes-" + Guid.NewGuid().ToString("N"));
        try
        {
            var shared = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;
            Directory.CreateDirectory(root, shared);
            var file = Path.Combine(root, "moderation.db");
            File.WriteAllBytes(file, []);
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

            PrivateFiles.EnsureDirectory(root);
            PrivateFiles.EnsureSqliteFile($"Data Source={file}");
            PrivateFiles.EnsureFile(Path.Combine(root, "new", "hangfire.db"));

            File.GetUnixFileMode(root).Should().Be(shared);
            File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            File.GetUnixFileMode(Path.Combine(root, "new")).Should().Be(PrivateFiles.DirectoryMode);
            File.GetUnixFileMode(Path.Combine(root, "new", "hangfire.db")).Should().Be(PrivateFiles.FileMode);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
