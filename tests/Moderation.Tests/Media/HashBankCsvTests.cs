using FluentAssertions;
using Moderation.Core.Media;

namespace Moderation.Tests.Media;

public sealed class HashBankCsvTests
{
    private static readonly string A = HashBankContract.Hex(1), B = HashBankContract.Hex(2);

    private static IReadOnlyList<HashCsvRow> Read(string csv, string? source = null, int maxRows = 100) =>
        HashBankCsv.Read(new StringReader(csv), HashAlgorithms.Pdq, source, maxRows);

    private static HashCsvException Bad(string csv, int maxRows = 100)
    {
        var act = () => Read(csv, maxRows: maxRows);
        return act.Should().Throw<HashCsvException>().Which;
    }

    [Fact]
    public void The_hash_command_format_and_the_bank_format_are_read()
    {
        var fromHash = Read($"path,hash,quality\r\nimgs/a.jpg,{A},77\r\n\r\n\"b, c.png\",{B.ToUpperInvariant()},100\r\n", "partner list");
        fromHash.Should().Equal(
            new HashCsvRow(2, A, 77, "partner list: imgs/a.jpg"),
            new HashCsvRow(4, B, 100, "partner list: b, c.png"));
        var fromBank = Read($"\uFEFFid,hash,quality,source,added_by,added_at\nx,{A},,case 9,alice,2026-01-01T00:00:00.000Z\n");
        fromBank.Should().Equal(new HashCsvRow(2, A, null, "case 9"));
    }

    [Fact]
    public void Bad_rows_are_reported_by_line_and_column_and_nothing_is_returned()
    {
        var e = Bad($"path,hash,quality\nok.jpg,{A},50\nshort.jpg,abc,50\nq.jpg,{B},101\nempty.jpg,,\nctl.jpg,{A},5\n");
        e.Total.Should().Be(3);
        e.Errors.Select(x => (x.Line, x.Column)).Should().Equal((3, "hash"), (4, "quality"), (5, "hash"));
        e.Errors[0].Reason.Should().Contain("64 hex digits");
        e.Message.Should().Contain("nothing was").And.Contain("line 3, hash");
    }

    [Fact]
    public void A_bad_header_is_line_one()
    {
        Bad($"path,quality\nx,1\n").Errors.Should().ContainSingle().Which.Should().Be(new HashCsvError(1, "header", "there is no 'hash' column"));
        Bad($"hash,qualty\n{A},1\n").Errors.Single().Reason.Should().Contain("'qualty'");
        Bad("").Errors.Single().Line.Should().Be(1);
    }

    [Fact]
    public void Too_many_rows_and_control_characters_in_a_source_are_refused()
    {
        Bad($"hash\n{A}\n{B}\n{A}\n", maxRows: 2).Errors.Single().Should().Be(new HashCsvError(4, "file", "the file has more than 2 rows; split it"));
        Bad($"hash,source\n{A},\"bell\u0007\"\n").Errors.Single().Column.Should().Be("source");
    }

    [Fact]
    public void Export_escapes_sources_a_spreadsheet_would_run()
    {
        var writer = new StringWriter();
        HashBankCsv.Write(writer, HashAlgorithms.Pdq, [new HashBankEntry("id1", "b", A, 90, "=HYPERLINK(\"http://x\")", "alice", DateTimeOffset.UnixEpoch, null, null, null)]);
        var text = writer.ToString();
        text.Should().StartWith("id,algorithm,hash,quality,source,added_by,added_at,state,metadata");
        text.Should().NotContain(",=HYPERLINK").And.NotContain(",\"=HYPERLINK");
        text.Should().Contain("1970-01-01T00:00:00.000Z");
    }

    [Fact]
    public void Plain_lists_of_one_hash_a_line_are_read_per_algorithm_with_comments_and_blank_lines_skipped()
    {
        var md5 = "d41d8cd98f00b204e9800998ecf8427e";
        HashBankCsv.Read(new StringReader($"# partner list 2026-12\n{md5.ToUpperInvariant()}\n\n0123456789abcdef0123456789abcdef\n"), HashAlgorithms.Md5, "partner", 10)
            .Select(r => (r.Line, r.Hash, r.Source)).Should().Equal((2, md5, "partner"), (4, "0123456789abcdef0123456789abcdef", "partner"));
        HashBankCsv.Read(new StringReader($"{A}\n{B}\n"), HashAlgorithms.Pdq, null, 10).Select(r => r.Hash).Should().Equal(A, B);
        // A PDQ hash is not an MD5: the whole list is refused, naming the line.
        var act = () => HashBankCsv.Read(new StringReader($"{md5}\n{A}\n"), HashAlgorithms.Md5, null, 10);
        act.Should().Throw<HashCsvException>().Which.Errors.Single().Should().Match<HashCsvError>(e => e.Line == 2 && e.Reason.Contains("32 hex digits"));
    }

    [Fact]
    public void A_vpdq_file_is_one_video_and_a_csv_carries_one_video_a_row()
    {
        var video = $"0,100,{A},0.000\n1,98,{B},1.000\n2,12,{A},2.000\n";
        var row = HashBankCsv.Read(new StringReader(video), HashAlgorithms.Vpdq, "case 7", 10).Single();
        row.Frames.Should().Be($"0,100,{A},0;1,98,{B},1;2,12,{A},2");
        row.Hash.Should().MatchRegex("^[0-9a-f]{64}$");
        var csv = HashBankCsv.Read(new StringReader($"hash,tags\n\"{row.Frames}\",violence\n"), HashAlgorithms.Vpdq, null, 10).Single();
        csv.Hash.Should().Be(row.Hash, "the same frames are the same video");
        csv.Metadata.Should().Be("{\"tags\":\"violence\"}");
        var bad = () => HashBankCsv.Read(new StringReader($"0,100,{A},0.000\n1,101,{B},1.000\n"), HashAlgorithms.Vpdq, null, 10);
        bad.Should().Throw<HashCsvException>().Which.Errors.Single().Line.Should().Be(2);
    }

    [Fact]
    public void Metadata_columns_are_kept_and_a_row_of_another_algorithm_is_refused()
    {
        var rows = HashBankCsv.Read(new StringReader($"signal_type,signal,quality,tags,reference\npdq,{A},90,\"nsfw,adult\",GIFCT-1\n"), HashAlgorithms.Pdq, null, 10);
        rows.Single().Should().Be(new HashCsvRow(2, A, 90, null, null, "{\"reference\":\"GIFCT-1\",\"tags\":\"nsfw,adult\"}"));
        var act = () => HashBankCsv.Read(new StringReader($"algorithm,hash\nmd5,{A}\n"), HashAlgorithms.Pdq, null, 10);
        act.Should().Throw<HashCsvException>().Which.Errors.Single().Reason.Should().Contain("not this bank's algorithm (pdq)");
    }

    [Fact]
    public void An_export_imports_again_as_the_same_entries_with_their_metadata_and_vpdq_frames()
    {
        var frames = $"0,100,{A},0;1,98,{B},1";
        HashAlgorithms.TryNormalize(HashAlgorithms.Vpdq, frames, out var digest, out _, out _).Should().BeTrue();
        var entry = new HashBankEntry("id1", "b", digest, null, "case 7", "alice", DateTimeOffset.UnixEpoch, null, null, null, frames, "{\"tags\":\"x\"}");
        var writer = new StringWriter();
        HashBankCsv.Write(writer, HashAlgorithms.Vpdq, [entry]);
        var row = HashBankCsv.Read(new StringReader(writer.ToString()), HashAlgorithms.Vpdq, null, 10).Single();
        (row.Hash, row.Frames, row.Source, row.Metadata).Should().Be((digest, frames, "case 7", "{\"tags\":\"x\"}"));
        var plain = new StringWriter();
        HashBankCsv.WritePlain(plain, [entry]);
        plain.ToString().Should().Be(frames + "\n");
    }
}
