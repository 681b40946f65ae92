using System.Collections.Concurrent;
using System.Diagnostics;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Review;
using Moderation.Core.Storage;
using Npgsql;

namespace Moderation.Bench;

/// <summary>
/// Review claiming under load: <c>--clients</c> moderators (32) claim and decide from a queue of <c>--uploads</c>
/// items (100,000) until <c>--claims</c> (3,200) decisions are taken, on SQLite and, when
/// MODERATION_BENCH_POSTGRES holds an admin connection string, on PostgreSQL. Every claim is checked against the
/// claims still held (a double claim is any item handed to a second moderator); claim latency p50/p99 is reported
/// beside a bare primary-key read of the same table by the same number of concurrent readers, in the same run.
/// Seeded items carry views (0 to 5 million) and, one in ten, up to 11 user reports, so the priority the claim
/// orders by is made of score, reach and reports as in production.
/// </summary>
internal static class ClaimBenchmark
{
    public const string PostgresVariable = "MODERATION_BENCH_POSTGRES";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var queueSize = options.Uploads == 2000 ? 100_000 : options.Uploads; // 2000 is the shared default; this one wants 100k
        var claims = options.Claims;
        Console.WriteLine($"claim: {options.Clients} moderators, queue of {queueSize:N0} items, {claims:N0} claim+decide each run");
        var parts = new List<string>();
        var failed = false;

        foreach (var (provider, admin) in BenchDatabase.Providers(parts))
        {
            var (database, drop) = await BenchDatabase.CreateAsync(provider, admin);
            try
            {
                var result = await RunOneAsync(database, queueSize, claims, options.Clients);
                var name = provider.ToString().ToLowerInvariant();
                Console.WriteLine($"{name,-8} seed {result.SeedSeconds:0.0}s, intake {result.IntakeSeconds:0.0}s; {result.Decided} decided, double claims {result.DoubleClaims}, " +
                    $"repeated decisions {result.RepeatedDecisions}, audit chain {(result.ChainIntact ? "intact" : "BROKEN")}");
                Console.WriteLine($"{"",-8} claim p50 {Measure.F(result.ClaimP50)} ms  p99 {Measure.F(result.ClaimP99)} ms | decide p50 {Measure.F(result.DecideP50)} ms  p99 {Measure.F(result.DecideP99)} ms | " +
                    $"bare pk read p50 {Measure.F(result.ReadP50)} ms  p99 {Measure.F(result.ReadP99)} ms");
                parts.Add($"{name}_claims={result.Decided} {name}_double_claims={result.DoubleClaims} {name}_claim_p99_ms={Measure.F(result.ClaimP99)} " +
                    $"{name}_pk_read_p99_ms={Measure.F(result.ReadP99)} {name}_claim_to_read_p99={Measure.F(result.ClaimP99 / result.ReadP99, "0.0")} " +
                    $"{name}_chain={(result.ChainIntact ? "intact" : "broken")}");
                failed |= result.DoubleClaims > 0 || result.RepeatedDecisions > 0 || !result.ChainIntact || result.Decided != claims;
            }
            finally
            {
                await drop();
            }
        }
        Console.WriteLine($"claim: moderators={options.Clients} queue={queueSize} " + string.Join(' ', parts));
        return failed ? 1 : 0;
    }

    private sealed record Result(double SeedSeconds, double IntakeSeconds, int Decided, int DoubleClaims, long RepeatedDecisions, bool ChainIntact,
        double ClaimP50, double ClaimP99, double DecideP50, double DecideP99, double ReadP50, double ReadP99);

    private static async Task<Result> RunOneAsync(ModerationDatabase database, int queueSize, int claims, int clients)
    {
        var options = Options.Create(new ReviewOptions { QualitySampleRate = 0, ExposureCapPerDay = 0 });
        var queue = new ReviewQueue(database, options, TimeProvider.System);
        var decisions = new ReviewDecisions(database, options, new ReviewTasks(database, options, TimeProvider.System), TimeProvider.System);

        var started = Stopwatch.GetTimestamp();
        await SeedAsync(database, queueSize);
        var seed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await AnalyzeAsync(database);
        started = Stopwatch.GetTimestamp();
        // Seeded rows are in review without tasks, as a database from before tasks opened at routing: the start-up backfill opens them.
        await new ReviewTasks(database, options, TimeProvider.System).OpenMissingAsync(CancellationToken.None);
        var intake = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await AnalyzeAsync(database);

        // The baseline first and last, around the claims, so both see the same table and the same machine.
        var reads = new ConcurrentBag<double>();
        await BareReadsAsync(database, queueSize, claims / 2, clients, reads);

        var held = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var claimTimes = new ConcurrentBag<double>();
        var decideTimes = new ConcurrentBag<double>();
        var remaining = claims;
        var doubles = 0;
        var decided = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(m => Task.Run(async () =>
        {
            var reviewer = new Reviewer($"bench-{m}", $"moderator{m}", [ReviewRoles.Moderator]);
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                var t = Stopwatch.GetTimestamp();
                var lease = await queue.ClaimNextAsync(reviewer, null, CancellationToken.None);
                claimTimes.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                if (lease is null) break;
                if (!held.TryAdd(lease.UploadId, reviewer.Id)) Interlocked.Increment(ref doubles);
                t = Stopwatch.GetTimestamp();
                await decisions.DecideAsync(reviewer, lease.UploadId, lease.Kind, ReviewAction.Remove, "spam-scam", null, null, CancellationToken.None);
                decideTimes.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                Interlocked.Increment(ref decided);
            }
        })));

        await BareReadsAsync(database, queueSize, claims / 2, clients, reads);

        await using var connection = await database.OpenAsync();
        var repeated = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM (SELECT upload_id FROM review_decisions GROUP BY upload_id HAVING COUNT(*) > 1) d");
        var chain = await AuditLog.VerifyAsync(database, CancellationToken.None);
        return new Result(seed, intake, decided, doubles, repeated, chain.Intact,
            Percentile(claimTimes, 0.5), Percentile(claimTimes, 0.99), Percentile(decideTimes, 0.5), Percentile(decideTimes, 0.99),
            Percentile(reads, 0.5), Percentile(reads, 0.99));
    }

    private static readonly DialectSql ReadTask = DialectSql.Portable("""
        SELECT upload_id, kind, queue, priority, state, lease_holder, lease_until_ms FROM review_tasks WHERE upload_id = @UploadId AND kind = 'review'
        """);

    /// <summary>The floor: one primary-key read per operation (open a pooled connection, read a row), same concurrency.</summary>
    private static Task BareReadsAsync(ModerationDatabase database, int queueSize, int count, int clients, ConcurrentBag<double> times)
    {
        var sql = database.Sql(ReadTask);
        return Measure.ConcurrentAsync(count, clients, async i =>
        {
            var t = Stopwatch.GetTimestamp();
            await using var connection = await database.OpenAsync();
            await connection.QueryFirstOrDefaultAsync(sql, new { UploadId = UploadId((i * 7919L) % queueSize) });
            times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        });
    }

    private static string UploadId(long n) => $"bench-{n:D8}";

    private static readonly DialectSql SeedUploads = new(
        sqlite: """
            WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < @Count)
            INSERT INTO uploads (id, external_id, creator_id, caption, hashtags, comments, status, policy_version, received_at_ms, enqueued_at_ms, routed_at_ms, updated_at_ms, views, report_count)
            SELECT printf('bench-%08d', n), printf('ext-%08d', n), 'creator-' || (n % 997), 'caption ' || n, '[]', '[]', 'in_review', 'bench', @Now, @Now, @Now - n, @Now,
                   (n * 7919) % 5000000, CASE WHEN n % 10 = 0 THEN n % 12 ELSE 0 END FROM g
            """,
        postgres: """
            INSERT INTO uploads (id, external_id, creator_id, caption, hashtags, comments, status, policy_version, received_at_ms, enqueued_at_ms, routed_at_ms, updated_at_ms, views, report_count)
            SELECT 'bench-' || lpad(n::text, 8, '0'), 'ext-' || lpad(n::text, 8, '0'), 'creator-' || (n % 997), 'caption ' || n, '[]', '[]', 'in_review', 'bench', @Now, @Now, @Now - n, @Now,
                   (n::bigint * 7919) % 5000000, CASE WHEN n % 10 = 0 THEN n % 12 ELSE 0 END
            FROM generate_series(0, @Count - 1) AS n
            """,
        sqlServer: "SELECT 1");

    private static readonly DialectSql SeedRoutes = new(
        sqlite: """
            INSERT INTO routing_decisions (upload_id, category, policy_version, outcome, score, model_version, reason, review_threshold, action_threshold, decided_at_ms)
            SELECT id, CASE abs(random()) % 3 WHEN 0 THEN 'harm' WHEN 1 THEN 'misinformation' ELSE 'bias' END, 'bench', 'review',
                   0.5 + (abs(random()) % 400) / 1000.0, 'bench-model', 'seeded', 0.5, 0.9, @Now
            FROM uploads WHERE policy_version = 'bench'
            """,
        postgres: """
            INSERT INTO routing_decisions (upload_id, category, policy_version, outcome, score, model_version, reason, review_threshold, action_threshold, decided_at_ms)
            SELECT id, (ARRAY['harm', 'misinformation', 'bias'])[1 + floor(random() * 3)::int], 'bench', 'review',
                   0.5 + random() * 0.4, 'bench-model', 'seeded', 0.5, 0.9, @Now
            FROM uploads WHERE policy_version = 'bench'
            """,
        sqlServer: "SELECT 1");

    private static async Task SeedAsync(ModerationDatabase database, int count)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(SeedUploads), new { Count = count, Now = now }, transaction, commandTimeout: 600));
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(SeedRoutes), new { Now = now }, transaction, commandTimeout: 600));
        });
    }

    /// <summary>Fresh planner statistics on PostgreSQL, as autovacuum would have them on a long-lived queue.</summary>
    private static async Task AnalyzeAsync(ModerationDatabase database)
    {
        if (database.Provider != DatabaseProvider.Postgres) return;
        await using var connection = await database.OpenAsync();
        await connection.ExecuteAsync("ANALYZE uploads; ANALYZE review_tasks;");
    }

    private static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}
