using System.Diagnostics;
using System.Text;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Moderation.Core.Storage;

namespace Moderation.Bench;

/// <summary>
/// Uploads accepted per second at N concurrent clients against a bare endpoint in the same host that does one
/// durable insert of the same body into the same database (same connection settings: WAL, synchronous=FULL).
/// Scoring jobs are enqueued but not run (no in-process worker), so only the accept path is measured.
/// Rounds alternate which side goes first.
/// </summary>
public static class IngestBenchmark
{
    public static async Task<int> RunAsync(BenchOptions o)
    {
        await using var host = await BenchHost.StartAsync(o, new Dictionary<string, string> { ["Moderation:Worker:InProcess"] = "false" },
            map: app => app.MapPost("/bench/bare-insert", BareInsertAsync));
        await using (var connection = await host.Database.OpenAsync())
            await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS bench_bare_uploads (id TEXT NOT NULL PRIMARY KEY, body TEXT NOT NULL, received_at_ms INTEGER NOT NULL)");
        using var client = host.CreateClient(o.Clients);

        // Warm both paths (JIT, connection pools) before measuring.
        await PostAllAsync(client, "/bench/bare-insert", "warm-bare", Math.Min(200, o.Uploads), o.Clients);
        await PostAllAsync(client, "/v1/uploads", "warm-ingest", Math.Min(200, o.Uploads), o.Clients);

        Console.WriteLine($"ingest: {o.Uploads} uploads per side per round, {o.Clients} clients, {o.Rounds} rounds, SQLite embedded default");
        Console.WriteLine($"{"round",5} {"bare/s",9} {"ingest/s",9} {"ratio",6}");
        var bare = new List<double>();
        var ingest = new List<double>();
        for (var round = 1; round <= o.Rounds; round++)
        {
            double b, i;
            if (round % 2 == 1)
            {
                b = await PostAllAsync(client, "/bench/bare-insert", $"bare-{round}", o.Uploads, o.Clients);
                i = await PostAllAsync(client, "/v1/uploads", $"ingest-{round}", o.Uploads, o.Clients);
            }
            else
            {
                i = await PostAllAsync(client, "/v1/uploads", $"ingest-{round}", o.Uploads, o.Clients);
                b = await PostAllAsync(client, "/bench/bare-insert", $"bare-{round}", o.Uploads, o.Clients);
            }
            bare.Add(b);
            ingest.Add(i);
            Console.WriteLine($"{round,5} {Measure.F(b, "0"),9} {Measure.F(i, "0"),9} {Measure.F(i / b, "0.00"),6}");
        }
        var ratio = Measure.Median(ingest) / Measure.Median(bare);
        Console.WriteLine($"ingest: ratio={Measure.F(ratio)} ingest_per_s={Measure.F(Measure.Median(ingest), "0")} bare_per_s={Measure.F(Measure.Median(bare), "0")} uploads={o.Uploads} clients={o.Clients} rounds={o.Rounds} target=0.5");
        return 0;
    }

    private static async Task<double> PostAllAsync(HttpClient client, string path, string prefix, int count, int clients)
    {
        var elapsed = await Measure.ConcurrentAsync(count, clients, async i =>
        {
            using var content = new StringContent(Measure.UploadJson($"{prefix}-{i}", i), Encoding.UTF8, "application/json");
            using var response = await client.PostAsync(path, content);
            if ((int)response.StatusCode != 202) throw new InvalidOperationException($"{path} {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        });
        return count / elapsed.TotalSeconds;
    }

    /// <summary>The baseline: read the body, insert it in one transaction, answer 202.</summary>
    private static async Task<IResult> BareInsertAsync(HttpRequest request, ModerationDatabase database, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(ct);
        var id = Guid.CreateVersion7().ToString();
        await database.InTransactionAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO bench_bare_uploads (id, body, received_at_ms) VALUES (@id, @body, @now)",
            new { id, body, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, transaction, cancellationToken: ct)), ct);
        return Results.Accepted($"/bench/{id}", new { id });
    }
}
