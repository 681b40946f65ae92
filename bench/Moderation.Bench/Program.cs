using Moderation.Bench;

// dotnet run -c Release --project bench/Moderation.Bench -- NAME [options]
// Each benchmark prints its table and ends with one line "NAME: key=value ...".
var benchmarks = new Dictionary<string, (string Description, Func<BenchOptions, Task<int>> Run)>(StringComparer.OrdinalIgnoreCase)
{
    ["pipeline"] = ("uploads posted through the API until scored and routed, against the same scorer called directly", PipelineBenchmark.RunAsync),
    ["embedding"] = ("text embedding: the pipeline's embedder (tokenise, embed, pool) against the raw ONNX session and the package's SentenceEncoder", EmbeddingBenchmark.RunAsync),
    ["scoring"] = ("text scoring: the full text scorer with the shipped heads against the raw ONNX session and the package's SentenceEncoder", ScoringBenchmark.RunAsync),
    ["ingest"] = ("uploads accepted per second at N concurrent clients, against a bare durable-insert endpoint", IngestBenchmark.RunAsync),
    ["rank"] = ("ranking 2,000 candidates for one user (controls, safety layer, diversity), against 2,000 dot products of the same vectors", RankBenchmark.RunAsync),
    ["recsim"] = ("simulated users and sessions with the safety layer off and on, a demotion-strength sweep and control compliance", RecSimBenchmark.RunAsync),
    ["freshness"] = ("time from a routing decision to its effect on the next demo-feed request, on the embedded default (p50, p95)", FreshnessBenchmark.RunAsync),
    ["backtest"] = ("policy backtest: a draft against the live version over 100,000 scored uploads (eight categories each) on SQLite (and 1,000,000 on PostgreSQL), against a COUNT(*) of the same rows", BacktestBenchmark.RunAsync),
    ["claim"] = ("review claims: 32 moderators claiming and deciding from a 100,000-item queue on SQLite (and PostgreSQL), claim p99 against a bare primary-key read", ClaimBenchmark.RunAsync),
    ["hashmatch"] = ("perceptual-hash matching: the multi-index hash index against a linear scan of a 1,000,000-hash bank", HashMatchBenchmark.RunAsync),
    ["images"] = ("image scoring: the image scorer (read, decode, resize, ResNet18, three heads) against the raw ResNet18 sessions on decoded tensors", ImagesBenchmark.RunAsync),
    ["similar"] = ("near-duplicate search for review: the in-memory vector index against reading and comparing every vector from the database per query", SimilarBenchmark.RunAsync),
    ["golive"] = ("a version going live: from the call to each worker's first batch routed by it, several worker hosts on one database (SQLite, and PostgreSQL when configured), while uploads stream in", GoLiveBenchmark.RunAsync),
    ["textvectors"] = ("the text scorer with its per-upload vector against the same scorer's scores alone, uploads with comments", TextVectorsBenchmark.RunAsync),
};

if (args.Length == 0 || args[0] is "list" or "--help" or "-h")
{
    Console.WriteLine("benchmarks:");
    foreach (var (name, (description, _)) in benchmarks) Console.WriteLine($"  {name,-10} {description}");
    Console.WriteLine("options: --uploads N (texts for embedding) --clients N --rounds N --cost-us N --call-us N --batch N --claims N --keep --seed N");
    return args.Length == 0 ? 2 : 0;
}
if (!benchmarks.TryGetValue(args[0], out var benchmark))
{
    Console.Error.WriteLine($"unknown benchmark '{args[0]}'; try 'list'");
    return 2;
}
BenchOptions options;
try
{
    options = BenchOptions.Parse(args.Skip(1).ToArray());
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
return await benchmark.Run(options);
