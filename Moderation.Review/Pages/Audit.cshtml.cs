using System.Globalization;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Moderation.Core.Audit;
using Moderation.Core.Storage;

namespace Moderation.Review.Pages;

/// <summary>
/// The audit trail for policy staff and admins: verify the hash chain against its signed checkpoints (the same check as
/// <c>Moderation.Worker verify-audit</c>), browse events, export everything as CSV or JSON for regulators. An export first
/// publishes a checkpoint of the head (where a signing key is configured) and holds exactly the events it covers; the
/// checkpoint travels in the <c>Audit-Checkpoint</c> header and in the checkpoint file (download: <c>handler=Checkpoints</c>).
/// </summary>
public sealed class AuditModel(ModerationDatabase database, AuditCheckpoints checkpoints) : PageModel
{
    public const string CheckpointHeader = "Audit-Checkpoint";

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
        Verification = await checkpoints.VerifyAsync([], ct);
        After = Verification.FirstBrokenSeq is { } broken ? Math.Max(0, broken - 5) : Math.Max(0, after);
        Events = await AuditLog.ReadAsync(database, After, PageSize, ct);
        return Page();
    }

    /// <summary>Streams every event, a page at a time (the response is written asynchronously; nothing is held whole).</summary>
    public async Task<IActionResult> OnGetExportAsync(string? format, CancellationToken ct)
    {
        var json = string.Equals(format, "json", StringComparison.OrdinalIgnoreCase);
        // The head is checkpointed first, and the export stops there: the checkpoint vouches for exactly what was exported.
        var checkpoint = await checkpoints.PublishAsync(ct);
        var upTo = checkpoint?.Seq ?? long.MaxValue;
        if (checkpoint is not null) Response.Headers[CheckpointHeader] = JsonSerializer.Serialize(checkpoint, JsonSerializerOptions.Web);
        Response.ContentType = json ? "application/json; charset=utf-8" : "text/csv; charset=utf-8";
        Response.Headers.ContentDisposition = $"attachment; filename=\"audit-{DateTime.UtcNow:yyyyMMddTHHmmssZ}.{(json ? "json" : "csv")}\"";
        long after = 0;
        var first = true;
        if (json) await Response.WriteAsync("[", ct);
        while (true)
        {
            var page = (await AuditLog.ReadAsync(database, after, 1000, ct)).Where(e => e.Seq <= upTo).ToList();
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
                // Reasons and states are free text: escape what a spreadsheet would run as a formula, as the hash-bank export does.
                using var csv = new CsvWriter(chunk, new CsvConfiguration(CultureInfo.InvariantCulture) { InjectionOptions = InjectionOptions.Escape });
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

    /// <summary>Every checkpoint in the database as JSON lines (the format of the checkpoint file and of <c>verify-audit --checkpoints</c>).</summary>
    public async Task<IActionResult> OnGetCheckpointsAsync(CancellationToken ct)
    {
        var lines = (await checkpoints.ReadStoredAsync(ct)).Select(c => JsonSerializer.Serialize(c, JsonSerializerOptions.Web) + "\n");
        Response.Headers.ContentDisposition = $"attachment; filename=\"audit-checkpoints-{DateTime.UtcNow:yyyyMMddTHHmmssZ}.jsonl\"";
        return Content(string.Concat(lines), "application/jsonl; charset=utf-8");
    }
}
