using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using FluentAssertions;
using Microsoft.Playwright;
using Moderation.Core.Audit;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Review;

/// <summary>The workbench host with an audit signing key (issue 16, item 18).</summary>
public sealed class CheckpointedReviewHostFixture : ReviewHostFixture
{
    private static readonly string KeyPath = WriteKey();

    private static string WriteKey()
    {
        var path = Path.Combine(Path.GetTempPath(), $"audit-signing-{Guid.NewGuid():N}.pem");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(path, key.ExportECPrivateKeyPem());
        return path;
    }

    protected override IReadOnlyDictionary<string, string?> ExtraSettings { get; } = new Dictionary<string, string?>
    {
        ["Moderation:Audit:Checkpoints:SigningKeyPath"] = KeyPath,
    };
}

/// <summary>
/// The audit page checks the chain against signed checkpoints: an export checkpoints the head, and deleting the last
/// events afterwards shows as a truncation; the CSV export escapes formula-like cells.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class AuditCheckpointPageTests(CheckpointedReviewHostFixture fixture) : IClassFixture<CheckpointedReviewHostFixture>
{
    [Fact]
    public async Task An_export_checkpoints_the_head_and_the_page_then_reports_deleted_last_events()
    {
        var db = fixture.Api.Database;
        await db.InTransactionAsync((c, t) => AuditLog.AppendAsync(c, t, db.Dialect,
            [new AuditEntry("op", "test.formula", "upload", "u1", "=HYPERLINK(\"http://evil.example\",\"click\")"), new AuditEntry("op", "test.last", "upload", "u2")],
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), CancellationToken.None));
        var page = await fixture.SignedInPageAsync("admin1");
        await page.GotoAsync("/review/audit");
        await page.ClickAsync("#verify");
        (await page.Locator("#verification").InnerTextAsync()).Should().StartWith("Chain intact");

        var csv = await page.Context.APIRequest.GetAsync("/review/audit?handler=Export&format=csv");
        var checkpoint = JsonSerializer.Deserialize<AuditCheckpoint>(csv.Headers[AuditModelHeader], JsonSerializerOptions.Web)!;
        long head;
        await using (var connection = await db.OpenAsync())
            head = await connection.ExecuteScalarAsync<long>("SELECT MAX(seq) FROM audit_events");
        checkpoint.Seq.Should().Be(head, "the export checkpoints the head it exports");
        var text = await csv.TextAsync();
        text.Should().Contain("test.formula");
        text.Should().NotContain(",=HYPERLINK").And.NotContain(",\"=HYPERLINK", "a spreadsheet must not run it");
        var checkpoints = await (await page.Context.APIRequest.GetAsync("/review/audit?handler=Checkpoints")).TextAsync();
        checkpoints.Should().Contain($"\"seq\":{head}");

        await page.ClickAsync("#verify");
        (await page.Locator("#verification").InnerTextAsync()).Should().StartWith("Chain intact");
        (await page.Locator("#checkpoints").InnerTextAsync()).Should().Contain($"covers event {head}");

        await using (var connection = await db.OpenAsync())
            await connection.ExecuteAsync("DELETE FROM audit_events WHERE seq = @head", new { head });
        await page.ClickAsync("#verify");
        var verdict = await page.Locator("#verification").InnerTextAsync();
        verdict.Should().Contain($"BROKEN at event #{head}").And.Contain("truncated");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ReviewHostFixture.ScreenshotPath("audit-truncated.png") });
        await page.Context.CloseAsync();
    }

    private static string AuditModelHeader => Moderation.Review.Pages.AuditModel.CheckpointHeader.ToLowerInvariant();
}
