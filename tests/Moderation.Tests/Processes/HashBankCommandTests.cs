using FluentAssertions;
using Moderation.Core.Audit;
using Moderation.Core.Media;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Media;

namespace Moderation.Tests.Processes;

/// <summary><c>hashbank create|import|export|list|retire</c> run as the built worker program against a test database.</summary>
[Collection(HostCollection.Name)]
public sealed class HashBankCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("moderation-hashbank-commands-").FullName;

    private static Task<(int ExitCode, string Output)> RunAsync(TestDatabase database, params string[] args) =>
        ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"), args, new Dictionary<string, string>
        {
            ["Moderation__DataDirectory"] = database.Directory,
            ["Moderation__Database__Provider"] = database.Provider.ToString(),
            ["Moderation__Database__ConnectionString"] = database.ConnectionString,
        });

    private string Write(string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Create_import_export_list_and_retire_manage_banks_and_bad_rows_import_nothing()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        (await RunAsync(database, "migrate")).ExitCode.Should().Be(0);
        var created = await RunAsync(database, "hashbank", "create", "--name", "known-gore", "--category", "harm.violence", "--action", "ineligible");
        created.ExitCode.Should().Be(0, created.Output);

        string h1 = HashBankContract.Hex(21), h2 = HashBankContract.Hex(22);
        var bad = await RunAsync(database, "hashbank", "import", "--bank", "known-gore",
            "--input", Write("bad.csv", $"path,hash,quality\na.jpg,{h1},90\nb.jpg,{h2[..60]},90\nc.jpg,{h2},x\n"));
        bad.ExitCode.Should().Be(2, bad.Output);
        bad.Output.Should().Contain("nothing was").And.Contain("line 3, hash").And.Contain("line 4, quality");

        var good = await RunAsync(database, "hashbank", "import", "--bank", "known-gore", "--source", "partner feed",
            "--input", Write("good.csv", $"path,hash,quality\na.jpg,{h1},90\nb.jpg,{h2},70\n"));
        good.ExitCode.Should().Be(0, good.Output);
        good.Output.Should().Contain("read 2 rows, added 2, already present 0");

        var list = await RunAsync(database, "hashbank", "list");
        list.Output.Should().MatchRegex(@"known-gore\s+pdq\s+harm\.violence\s+ineligible\s+2");

        var exported = Path.Combine(directory, "out.csv");
        (await RunAsync(database, "hashbank", "export", "--bank", "known-gore", "--output", exported)).ExitCode.Should().Be(0);
        var rows = HashBankCsv.Read(new StringReader(File.ReadAllText(exported)), HashAlgorithms.Pdq, null, 10);
        rows.Select(r => (r.Hash.ToString(), r.Quality, r.Source)).Should().Equal((h1, 90, "partner feed: a.jpg"), (h2, 70, "partner feed: b.jpg"));

        var entries = await new HashBanks(database.Database, TimeProvider.System).EntriesAsync("known-gore", false, CancellationToken.None);
        var retired = await RunAsync(database, "hashbank", "retire", "--bank", "known-gore", "--entry", entries[0].Id, "--reason", "duplicate of another list");
        retired.ExitCode.Should().Be(0, retired.Output);
        (await RunAsync(database, "hashbank", "list")).Output.Should().MatchRegex(@"known-gore\s+pdq\s+harm\.violence\s+ineligible\s+1");

        var missing = await RunAsync(database, "hashbank", "import", "--bank", "nope", "--input", Write("one.csv", $"hash\n{h1}\n"));
        missing.ExitCode.Should().Be(2);
        missing.Output.Should().Contain("No hash bank is named 'nope'");

        var events = await AuditLog.ReadAsync(database.Database, 0, 100, CancellationToken.None);
        events.Select(e => e.Action).Should().Equal("hash_bank.created", "hash_bank.imported", "hash_bank.entry_retired");
        events.Should().OnlyContain(e => e.Actor.StartsWith("cli:"));
    }

    [Fact]
    public async Task Hash_robustness_reports_match_rates_on_a_directory_of_photos_and_skips_what_is_not_an_image()
    {
        var photos = Path.Combine(directory, "photos");
        Directory.CreateDirectory(photos);
        for (var seed = 1; seed <= 4; seed++)
            File.WriteAllBytes(Path.Combine(photos, $"p{seed}.jpg"), TestMedia.Encode(SyntheticPhotos.Photo(seed, 320, 240), SkiaSharp.SKEncodedImageFormat.Jpeg, 90));
        File.WriteAllText(Path.Combine(photos, "notes.txt"), "not a photo");
        var (exitCode, output) = await ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"),
            ["hash-robustness", "--input", photos]);
        exitCode.Should().Be(0, output);
        output.Should().Contain("skipped notes.txt").And.MatchRegex(@"half size\s+4/4").And.Contain("different photos: 0/6 pairs");
        output.Should().MatchRegex(@"hash-robustness: photos=4 half_size=1\.000 jpeg_q50=1\.000 crop5_centred=[0-9.]+ crop5_edge=[0-9.]+ crop5_corner=[0-9.]+ mirror=1\.000 all_four=[0-9.]+ crop10_edge=[0-9.]+ false_match_rate=0\.00000 min_pair_distance=[0-9]+ low_quality=0");
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }
}
