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
/// <c>Moderation.Worker verify-audit</c>), browse events newest first, narrowed by actor, action, subject and time, with
/// uploads linked to their item pages; export everything as CSV or JSON for regulators. An export first publishes a
/// checkpoint of the head (where a signing key is configured) and holds exactly the events it covers; the checkpoint
/// travels in the <c>Audit-Checkpoint</c> header and in the checkpoint file (download: <c>handler=Checkpoints</c>).
/// </summary>
public sealed class AuditModel(ModerationDatabase database, AuditCheckpoints checkpoints) : PageModel
{
    public const string CheckpointHeader = "Audit-Checkpoint";

    public const int PageSize = 100;

    public AuditVerification? Verification { get; private set; }
    public IReadOnlyList<AuditEvent> Events { get; private set; } = [];
    public AuditFilter Filter { get; private set; } = new();

    /// <summary>The time range as typed (UTC, <c>yyyy-MM-ddTHH:mm</c>), to show it again in the form.</summary>
    public string? From { get; private set; }
    public string? To { get; private set; }

    /// <summary>Whether this page is not the newest (so there is a newer one).</summary>
    public bool Paged { get; private set; }

    public async Task OnGetAsync(string? actor, string? action, string? subject, string? from, string? to, long? before, long? after, CancellationToken ct)
    {
        From = from;
        To = to;
        Filter = new AuditFilter(Clean(actor), Clean(action), Clean(subject), Time(from), Time(to));
        Paged = before is not null || after is not null;
        Events = await AuditLog.SearchAsync(database, Filter, before, after, PageSize, ct);
        if (after is not null && Events.Count < PageSize)
        {
            // Past the newest: show the newest page.
            Paged = false;
            Events = await AuditLog.SearchAsync(database, Filter, null, null, PageSize, ct);
        }
    }

    public async Task<IActionResult> OnPostVerifyAsync(CancellationToken ct)
    {
        Verification = await checkpoints.VerifyAsync([], ct);
        // A broken chain opens at the first broken event (with a few after it); an intact one at the newest.
        long? before = Verification.FirstBrokenSeq is { } broken ? broken + 6 : null;
        Paged = before is not null;
        Events = await AuditLog.SearchAsync(database, Filter, before, null, PageSize, ct);
        return Page();
    }

    /// <summary>This page's filters with other paging, as a link.</summary>
    public string Link(long? before = null, long? after = null)
    {
        var query = new Dictionary<string, string?>
        {
            ["actor"] = Filter.Actor, ["action"] = Filter.Action, ["subject"] = Filter.SubjectId, ["from"] = From, ["to"] = To,
            ["before"] = before?.ToString(CultureInfo.InvariantCulture), ["after"] = after?.ToString(CultureInfo.InvariantCulture),
        };
        return Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString("/review/audit", query.Where(p => !string.IsNullOrEmpty(p.Value)));
    }

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>A <c>datetime-local</c> value read as UTC; anything else is no bound.</summary>
    private static long? Time(string? value) =>
        DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? new DateTimeOffset(at, TimeSpan.Zero).ToUnixTimeMilliseconds()
            : null;

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
