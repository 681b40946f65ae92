using System.Runtime.CompilerServices;
using Moderation.Core.Storage;

namespace Moderation.Core.Review;

/// <summary>
/// On SQLite, review writes from one process wait their turn here, in order, instead of in SQLite's busy handler,
/// which sleeps and retries: with 32 moderators claiming at once that retrying, not the work, set the tail
/// latency. Other processes (workers) still meet the busy handler; PostgreSQL and SQL Server pass straight through.
/// </summary>
internal static class WriteGate
{
    private static readonly ConditionalWeakTable<ModerationDatabase, SemaphoreSlim> Gates = new();

    public static async Task<T> RunAsync<T>(ModerationDatabase database, Func<Task<T>> write, CancellationToken ct)
    {
        if (database.Provider != DatabaseProvider.Sqlite) return await write();
        var gate = Gates.GetValue(database, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            return await write();
        }
        finally
        {
            gate.Release();
        }
    }
}
