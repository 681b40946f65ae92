using System.Globalization;
using System.Text.Json;
using CsvHelper;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Audit;
using Moderation.Core.Storage;

namespace Moderation.Review.Pages;

/// <summary>
/// The audit trail for policy staff and admins: verify the hash chain (the same check as
/// <c>Moderation.Worker verify-audit</c>), browse events, export everything as CSV or JSON for regulators.
/// </summary>
public sealed class AuditModel(ModerationDatabase database) : PageModel
{
    public const int PageSize = 100;

    public AuditVerification? Verification { get; private set; }
    public IReadOnlyList<AuditEvent> Events { get; private set; } = [];
    public long After { get; private set; }

    public async Task OnGetAsync(long after, CancellationToken ct)
    {
        After = Math.Max(0, after);
        Events = await AuditLog.ReadAsync(database, After, PageSize, ct);
    }

    public async Task<IActionResult> OnPostVerifyAsync(long after, CancellationToken ct)
    {
        Verification = await AuditLog.VerifyAsync(database, ct);
        After = Verification.FirstBrokenSeq is { } broken ? Math.Max(0, broken - 5) : Math.Max(0, after);
        Events = await AuditLog.ReadAsync(database, After, PageSize, ct);
        return Page();
    }

    /// <summary>Streams every event, a page at a time (the response is written asynchronously; nothing is held whole).</summary>
    public async Task<IActionResult> OnGetExportAsync(string? format, CancellationToken ct)
    {
        var json = string.Equals(format, "json", StringComparison.OrdinalIgnoreCase);
        Response.ContentType = json ? "application/json; charset=utf-8" : "text/csv; charset=utf-8";
        Response.Headers.ContentDisposition = $"attachment; filename=\"audit-{DateTime.UtcNow:yyyyMMddTHHmmssZ}.{(json ? "json" : "csv")}\"";
        long after = 0;
        var first = true;
        if (json) await Response.WriteAsync("[", ct);
        while (true)
        {
            var page = await AuditLog.ReadAsync(database, after, 1000, ct);
            if (page.Count == 0) break;
            using var chunk = new StringWriter(CultureInfo.InvariantCulture);
            if (json)
            {
                foreach (var e in page)
                {
                    if (!first) chunk.Write(",\n");
                    chunk.Write(JsonSerializer.Serialize(e, JsonSerializerOptions.Web));
                    first = false;
                }
            }
            else
            {
                using var csv = new CsvWriter(chunk, CultureInfo.InvariantCulture);
                if (first)
                {
                    csv.WriteHeader<AuditEvent>();
                    csv.NextRecord();
                    first = false;
                }
                csv.WriteRecords(page);
                csv.Flush();
            }
            await Response.WriteAsync(chunk.ToString(), ct);
            after = page[^1].Seq;
        }
        if (json) await Response.WriteAsync("]", ct);
        return new EmptyResult();
    }
}
