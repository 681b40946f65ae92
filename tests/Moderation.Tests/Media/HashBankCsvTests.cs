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
}
