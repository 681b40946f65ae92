using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Audit;
using Moderation.Core.Storage;

namespace Moderation.Worker.Commands;

/// <summary>Walks the audit chain; exit code 0 when intact, 1 with the first broken link otherwise.</summary>
internal static class VerifyAuditCommand
{
    public static Command Create() => WorkerHost.OneShot("verify-audit", "Verify the hash chain of the audit trail and name the first broken link.", async (services, ct) =>
    {
        var result = await AuditLog.VerifyAsync(services.GetRequiredService<ModerationDatabase>(), ct);
        if (result.Intact)
        {
            Console.WriteLine($"audit chain intact: {result.EventsChecked} events verified");
            return 0;
        }
        Console.Error.WriteLine($"audit chain BROKEN at event {result.FirstBrokenSeq}: {result.Problem} ({result.EventsChecked} events before it verified)");
        return 1;
    });
}
