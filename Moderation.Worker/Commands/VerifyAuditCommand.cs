using System.CommandLine;
using Moderation.Core.Audit;

namespace Moderation.Worker.Commands;

/// <summary>
/// Walks the audit chain and checks it against every signed checkpoint (the table, the configured checkpoint file and
/// each <c>--checkpoints</c> copy); exit code 0 when intact, 1 with the first broken link, the truncation or the rewrite
/// otherwise, 2 when a checkpoint file cannot be read.
/// </summary>
internal static class VerifyAuditCommand
{
    public static Command Create()
    {
        var files = new Option<FileInfo[]>("--checkpoints")
        {
            Description = "A copy of the checkpoint file kept away from the database (JSON lines, as written to Moderation:Audit:Checkpoints:FilePath); repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("verify-audit", "Verify the hash chain of the audit trail against its signed checkpoints and name the first broken link, a truncation or a rewrite.") { files };
        return WorkerHost.WithService<AuditCheckpoints>(command, async (parse, checkpoints, ct) =>
        {
            var copies = (parse.GetValue(files) ?? []).Select(f => f.FullName).ToList();
            var missing = copies.FirstOrDefault(f => !File.Exists(f));
            if (missing is not null)
            {
                Console.Error.WriteLine($"error: --checkpoints: {missing} does not exist");
                return 2;
            }
            var result = await checkpoints.VerifyAsync(copies, ct);
            if (result.Intact)
            {
                Console.WriteLine($"audit chain intact: {result.EventsChecked} events verified");
                if (result.CheckpointNote is { } note) Console.WriteLine($"checkpoints: {note}");
                return 0;
            }
            Console.Error.WriteLine($"audit chain BROKEN at event {result.FirstBrokenSeq}: {result.Problem} ({result.EventsChecked} events verified by their links)");
            return 1;
        }, e => e is InvalidDataException ? $"error: {e.Message}" : null);
    }
}
