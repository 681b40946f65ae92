using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Audit;
using Moderation.Core.Storage;

namespace Moderation.Worker.Commands;

/// <summary>Walks the audit chain; exit code 0 when intact, 1 with the first broken link otherwise.</summary>
internal static class VerifyAuditCommand
{
    public static Command Create()
    {
        var command = new Command("verify-audit", "Verify the hash chain of the audit trail and name the first broken link.");
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            using var host = WorkerHost.CreateBuilder(parse.UnmatchedTokens.ToArray()).Build();
            var result = await AuditLog.VerifyAsync(host.Services.GetRequiredService<ModerationDatabase>(), ct);
            if (result.Intact)
            {
                Console.WriteLine($"audit chain intact: {result.EventsChecked} events verified");
                return 0;
            }
            Console.Error.WriteLine($"audit chain BROKEN at event {result.FirstBrokenSeq}: {result.Problem} ({result.EventsChecked} events before it verified)");
            return 1;
        });
        return command;
    }
}
