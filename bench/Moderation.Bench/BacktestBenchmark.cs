using System.Diagnostics;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Policies;
using Moderation.Core.Storage;
using Npgsql;

namespace Moderation.Bench;

/// <summary>
/// A policy backtest over <c>--uploads</c> scored uploads (100,000; eight categories each, one in twenty decided by a
/// person) on SQLite and, when MODERATION_BENCH_POSTGRES holds an admin connection string, over ten times as many on
/// PostgreSQL: the backtest's time against a plain <c>COUNT(*)</c> over the same score rows, alternating in the same
/// run. Target: under 2 s for 100,000 on the embedded default.
/// </summary>
internal static class BacktestBenchmark
{
    private static readonly string[] Categories = ["harm", "harm.hate", "harm.harassment", "harm.self_harm", "harm.violence", "harm.sexual", "misinformation", "bias"];

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var uploads = options.Uploads == 2000 ? 100_000 : options.Uploads; // 2000 is the shared default; this one wants 100k
        var parts = new List<string>();
        var failed = false;
        foreach (var (provider, admin) in BenchDatabase.Providers(parts))
        {
            var count = provider == DatabaseProvider.Postgres ? uploads * 10 : uploads;
            var (database, drop) = await BenchDatabase.CreateAsync(provider, admin, timeoutSeconds: 600);
            try
            {
                var seedStarted = Stopwatch.GetTimestamp();
                var now = DateTimeOffset.UtcNow;
                await SeedAsync(database, count, now);
                var seed = Stopwatch.GetElapsedTime(seedStarted).TotalSeconds;

                var policies = new PolicyVersions(database, TimeProvider.System, Options.Create(new PolicyVersionOptions()));
                await policies.SeedAsync(new RoutingPolicyOptions { Version = "bench-live" }, CancellationToken.None);
                await policies.CreateDraftAsync("bench-draft", new RoutingPolicyOptions
                {
                    Default = new CategoryThresholds { Review = 0.45, Action = 0.85 },
                    Categories = { ["harm.self_harm"] = new CategoryThresholds { Review = 0.3, Action = 0.8 } },
                }, null, null, "cli:bench", CancellationToken.None);
                var backtest = new PolicyBacktest(database, policies);
                var from = now.AddDays(-8);
                var to = now.AddMinutes(1);

                var backtests = new List<double>();
                var counts = new List<double>();
                BacktestResult? result = null;
                long rows = 0;
                for (var round = 0; round < options.Rounds; round++)
                {
                    var started = Stopwatch.GetTimestamp();
                    rows = await CountAsync(database, from, to);
                    counts.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    started = Stopwatch.GetTimestamp();
                    result = await backtest.RunAsync("bench-draft", null, from, to, null, 100, CancellationToken.None);
                    backtests.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
                var name = provider.ToString().ToLowerInvariant();
                var median = Measure.Median(backtests);
                var ratio = median / Measure.Median(counts);
                Console.WriteLine($"{name,-8} {count:N0} uploads, {rows:N0} score rows (seeded in {seed:0.0}s): backtest {median:0.000}s (rounds {string.Join(", ", backtests.Select(b => b.ToString("0.000")))}), " +
                    $"COUNT(*) {Measure.Median(counts):0.000}s, ratio {ratio:0.0}; {result!.Uploads:N0} uploads, {result.Labelled:N0} labelled, {result.ChangedUploads:N0} would change");
                parts.Add($"{name}_uploads={count} {name}_backtest_s={Measure.F(median, "0.000")} {name}_count_s={Measure.F(Measure.Median(counts), "0.000")} {name}_ratio={Measure.F(ratio, "0.0")}");
                if (provider == DatabaseProvider.Sqlite) failed |= median >= 2.0;
            }
            finally
            {
                await drop();
            }
        }
        Console.WriteLine("backtest: " + string.Join(' ', parts) + " target_sqlite_s=2");
        return failed ? 1 : 0;
    }

    private static async Task<long> CountAsync(ModerationDatabase database, DateTimeOffset from, DateTimeOffset to)
    {
        await using var connection = await database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM scores s JOIN uploads u ON u.id = s.upload_id WHERE u.received_at_ms >= @From AND u.received_at_ms < @To",
            new { From = from.ToUnixTimeMilliseconds(), To = to.ToUnixTimeMilliseconds() }, commandTimeout: 600);
    }

    private static readonly DialectSql SeedUploads = new(
        sqlite: """
            WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < @Count)
            INSERT INTO uploads (id, external_id, creator_id, caption, hashtags, comments, locale, status, policy_version, received_at_ms, enqueued_at_ms, routed_at_ms, updated_at_ms)
            SELECT printf('bench-%08d', n), printf('ext-%08d', n), 'creator-' || (n % 997), 'caption ' || n, '[]', '[]',
                   CASE WHEN n % 7 = 0 THEN 'pt-BR' ELSE 'en' END,
                   CASE WHEN n % 20 = 0 THEN 'actioned' WHEN n % 20 = 1 THEN 'allowed' WHEN n % 10 = 2 THEN 'in_review' ELSE 'allowed' END,
                   'bench-live', @Now - (n % 604800) * 1000, @Now, @Now, @Now FROM g
            """,
        postgres: """
            INSERT INTO uploads (id, external_id, creator_id, caption, hashtags, comments, locale, status, policy_version, received_at_ms, enqueued_at_ms, routed_at_ms, updated_at_ms)
            SELECT 'bench-' || lpad(n::text, 8, '0'), 'ext-' || lpad(n::text, 8, '0'), 'creator-' || (n % 997), 'caption ' || n, '[]', '[]',
                   CASE WHEN n % 7 = 0 THEN 'pt-BR' ELSE 'en' END,
                   CASE WHEN n % 20 = 0 THEN 'actioned' WHEN n % 20 = 1 THEN 'allowed' WHEN n % 10 = 2 THEN 'in_review' ELSE 'allowed' END,
                   'bench-live', @Now - (n % 604800) * 1000, @Now, @Now, @Now
            FROM generate_series(0, @Count - 1) AS n
            """,
        sqlServer: "SELECT 1");

    // Scores skewed low, as real traffic is: mostly benign, a tail into the review and action bands.
    private static readonly DialectSql SeedScores = new(
        sqlite: """
            INSERT INTO scores (upload_id, category, model_version, score, scorer, explanation, shadow, created_at_ms)
            SELECT id, @Category, 'bench-model', ((abs(random()) % 1000) / 1000.0) * ((abs(random()) % 1000) / 1000.0), 'text', '[]', 0, @Now
            FROM uploads
            """,
        postgres: """
            INSERT INTO scores (upload_id, category, model_version, score, scorer, explanation, shadow, created_at_ms)
            SELECT id, @Category, 'bench-model', random() * random(), 'text', '[]', FALSE, @Now FROM uploads
            """,
        sqlServer: "SELECT 1");

    // One upload in twenty decided by a person (the actioned and the allowed ones above).
    private static readonly DialectSql SeedDecisions = DialectSql.Portable("""
        INSERT INTO review_decisions (id, upload_id, kind, queue, decided_by, decided_by_name, action, reason_code, decided_at_ms)
        SELECT 'd-' || id, id, 'review', 'default', 'u-bench', 'bench', CASE WHEN status = 'actioned' THEN 'remove' ELSE 'allow' END, 'bench', @Now
        FROM uploads WHERE external_id LIKE '%0' OR external_id LIKE '%1'
        """);

    private static async Task SeedAsync(ModerationDatabase database, int count, DateTimeOffset now)
    {
        var ms = now.ToUnixTimeMilliseconds();
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(SeedUploads), new { Count = count, Now = ms }, transaction, commandTimeout: 1200));
            foreach (var category in Categories)
                await connection.ExecuteAsync(new CommandDefinition(database.Sql(SeedScores), new { Category = category, Now = ms }, transaction, commandTimeout: 1200));
            await connection.ExecuteAsync(new CommandDefinition(database.Sql(SeedDecisions), new { Now = ms }, transaction, commandTimeout: 1200));
        });
        if (database.Provider == DatabaseProvider.Postgres)
        {
            await using var connection = await database.OpenAsync();
            await connection.ExecuteAsync("ANALYZE uploads; ANALYZE scores; ANALYZE review_decisions;", commandTimeout: 600);
        }
    }
}
