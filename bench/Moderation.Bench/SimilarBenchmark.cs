using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moderation.Core.Scoring;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;

namespace Moderation.Bench;

/// <summary>
/// Near-duplicate search for the review workbench on SQLite: <see cref="NearDuplicates"/> (vectors kept in memory,
/// refreshed incrementally) against a stateless search that reads every vector of the kind from the database for each
/// query and compares them, same queries, same results required. Then the in-memory scan alone at the configured
/// capacity (200,000 MiniLM vectors), which is the limit of the approach. Options: --uploads N review uploads with a
/// text vector (default 20,000), --rounds N.
/// </summary>
internal static class SimilarBenchmark
{
    private const string Model = "all-MiniLM-L6-v2";
    private const int Dimensions = 384;

    private static readonly DialectSql InsertUpload = DialectSql.Portable("""
        INSERT INTO uploads (id, external_id, creator_id, caption, hashtags, comments, status, policy_version, received_at_ms, enqueued_at_ms, routed_at_ms, updated_at_ms)
        VALUES (@Id, @Id, 'bench', 'caption', '[]', '[]', 'in_review', 'bench', @Now, @Now, @Now, @Now)
        """);

    private static readonly DialectSql InsertRoute = DialectSql.Portable("""
        INSERT INTO routing_decisions (upload_id, category, policy_version, outcome, score, model_version, reason, review_threshold, action_threshold, decided_at_ms)
        VALUES (@Id, 'harm', 'bench', 'review', 0.7, 'bench-model', 'seeded', 0.5, 0.9, @Now)
        """);

    public static async Task<int> RunAsync(BenchOptions o)
    {
        var count = o.Uploads == new BenchOptions().Uploads ? 20_000 : o.Uploads;
        var directory = Directory.CreateTempSubdirectory("moderation-bench-similar-").FullName;
        var database = new ModerationDatabase(SqlDialect.For(DatabaseProvider.Sqlite), $"Data Source={Path.Combine(directory, "bench.db")};Pooling=True");
        try
        {
            await new DatabaseMigrator(database, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
            var random = new Random(o.Seed);
            var centres = Enumerable.Range(0, 200).Select(_ => Unit(random, null, 0)).ToList();
            var ids = Enumerable.Range(0, count).Select(i => $"sim-{i:D8}").ToArray();
            var started = Stopwatch.GetTimestamp();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            // One in five uploads is a near-copy of one of 200 originals (a spam wave); the rest are unrelated.
            foreach (var chunk in ids.Chunk(5000))
                await database.InTransactionAsync(async (connection, transaction) =>
                {
                    await TransactionLock.TakeAsync(connection, transaction, database.Dialect, TransactionLock.AppendLog, CancellationToken.None);
                    await connection.ExecuteAsync(database.Sql(InsertUpload), chunk.Select(id => new { Id = id, Now = now }), transaction);
                    await connection.ExecuteAsync(database.Sql(InsertRoute), chunk.Select(id => new { Id = id, Now = now }), transaction);
                    await UploadEmbeddings.WriteAsync(connection, transaction, database.Dialect, chunk.Select(id =>
                    {
                        var n = int.Parse(id[4..], System.Globalization.CultureInfo.InvariantCulture);
                        var vector = n % 5 == 0 ? Unit(random, centres[n / 5 % centres.Count], 0.02) : Unit(random, null, 0);
                        return (id, new UploadEmbedding("text", Model, null, null, vector));
                    }), now, CancellationToken.None);
                });
            var seed = Stopwatch.GetElapsedTime(started).TotalSeconds;

            var store = new UploadEmbeddings(database, TimeProvider.System);
            var options = new SimilarityOptions();
            var search = new NearDuplicates(database, store, Options.Create(options), TimeProvider.System, NullLogger<NearDuplicates>.Instance);
            var queries = Enumerable.Range(0, 200).Select(i => ids[i % 2 == 0 ? random.Next(count / 5) * 5 : random.Next(count)]).ToList();
            started = Stopwatch.GetTimestamp();
            await search.FindAsync(queries[0], CancellationToken.None); // loads the index
            var load = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var threshold = (float)options.ThresholdFor("text");
            Console.WriteLine($"similar: {count:N0} review uploads with a {Dimensions}-number text vector (seeded in {seed:0.0} s, index loaded in {load:0.00} s), {queries.Count} queries, threshold {threshold}");
            Console.WriteLine($"{"round",5} {"index q/s",10} {"db scan q/s",12} {"speed-up",9}");

            var ratios = new List<double>();
            var indexRates = new List<double>();
            var scanRates = new List<double>();
            var found = 0;
            for (var round = 1; round <= o.Rounds; round++)
            {
                var t0 = Stopwatch.GetTimestamp();
                var results = new List<IReadOnlyList<SimilarUpload>>();
                foreach (var q in queries) results.Add(await search.FindAsync(q, CancellationToken.None));
                var indexSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                // The stateless search reads the whole table per query: a tenth of the queries, its rate per query.
                var sample = Enumerable.Range(0, queries.Count).Where(i => i % 10 == 0).ToList();
                t0 = Stopwatch.GetTimestamp();
                foreach (var i in sample)
                {
                    var own = (await store.ForUploadAsync(queries[i], CancellationToken.None)).Single().Embedding.Vector;
                    var all = await store.ReviewedSinceAsync("text", Model, 0, int.MaxValue, CancellationToken.None);
                    var expected = all.Where(e => e.UploadId != queries[i] && System.Numerics.Tensors.TensorPrimitives.Dot(own, e.Embedding.Vector) >= threshold)
                        .Select(e => e.UploadId).Order(StringComparer.Ordinal).ToList();
                    var got = results[i].Select(r => r.UploadId).Order(StringComparer.Ordinal).ToList();
                    if (!expected.SequenceEqual(got)) throw new InvalidOperationException($"query {queries[i]}: the index and the scan disagree");
                }
                var scanSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                found = results.Sum(r => r.Count);
                indexRates.Add(queries.Count / indexSeconds);
                scanRates.Add(sample.Count / scanSeconds);
                ratios.Add(indexRates[^1] / scanRates[^1]);
                Console.WriteLine($"{round,5} {Measure.F(indexRates[^1], "0"),10} {Measure.F(scanRates[^1], "0.0"),12} {Measure.F(ratios[^1], "0"),9}");
            }

            // The approach's limit: the scan alone over a full index of the default capacity.
            var cap = options.MaxVectorsPerModel;
            var full = new VectorIndex(Dimensions, cap);
            for (var added = 0; added < cap; added += 10_000)
                full.AddRange(Enumerable.Range(added, 10_000).Select(i => (new VectorKey($"c{i}", null, null, i), Unit(random, null, 0))).ToList());
            var probes = Enumerable.Range(0, 20).Select(_ => Unit(random, null, 0)).ToList();
            var t1 = Stopwatch.GetTimestamp();
            foreach (var p in probes) full.Search(p, threshold);
            var searchMs = Stopwatch.GetElapsedTime(t1).TotalMilliseconds / probes.Count;
            Console.WriteLine($"in-memory scan of {cap:N0} vectors: {Measure.F(searchMs, "0.0")} ms per query, {full.VectorBytes / 1048576.0:0} MB of vectors");
            Console.WriteLine($"similar: speedup={Measure.F(Measure.Median(ratios), "0")} index_q_per_s={Measure.F(Measure.Median(indexRates), "0")} " +
                $"db_scan_q_per_s={Measure.F(Measure.Median(scanRates), "0.0")} vectors={count} load_s={Measure.F(load, "0.00")} found={found} same_results=true " +
                $"scan_ms_at_cap={Measure.F(searchMs, "0.0")} cap={cap} cap_mb={full.VectorBytes / 1048576} rounds={o.Rounds}");
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (!o.Keep) Directory.Delete(directory, recursive: true);
        }
    }

    private static float[] Unit(Random random, float[]? centre, double noise)
    {
        var v = new float[Dimensions];
        for (var i = 0; i < Dimensions; i++)
            v[i] = centre is null ? (float)(random.NextDouble() * 2 - 1) : centre[i] + (float)((random.NextDouble() * 2 - 1) * noise);
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
        System.Numerics.Tensors.TensorPrimitives.Divide(v, norm, v);
        return v;
    }
}
