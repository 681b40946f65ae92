using System.Globalization;

namespace Moderation.Bench;

public sealed record BenchOptions
{
    public int Uploads { get; init; } = 2000;
    public int Clients { get; init; } = 32;
    public int Rounds { get; init; } = 3;
    /// <summary>Scorer cost per item, microseconds of CPU.</summary>
    public int CostMicros { get; init; } = 2000;
    /// <summary>Scorer cost per call (model invocation overhead), microseconds of CPU.</summary>
    public int CallMicros { get; init; } = 16000;
    /// <summary>Batch size of the direct loop: the pipeline's own maximum batch (Moderation:Scoring:MaxBatchSize), so both get the same ideal batching.</summary>
    public int Batch { get; init; } = 128;
    public bool Keep { get; init; }
    /// <summary>Score with the built-in text scorer and the shipped heads instead of the fixed-cost scorer.</summary>
    public bool Text { get; init; }
    /// <summary>Random seed of the simulations (recsim, rank).</summary>
    public int Seed { get; init; } = 42;
    /// <summary>Claim-and-decide operations of the claim benchmark.</summary>
    public int Claims { get; init; } = 3200;
    /// <summary>Hangfire workers of the pipeline benchmark's host (1: one job at a time).</summary>
    public int Workers { get; init; } = 1;
    /// <summary>Bits per substring of the hash index (hashmatch): 16 or 8.</summary>
    public int ChunkBits { get; init; } = 16;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            int Next() => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
                ? v : throw new ArgumentException($"{args[i - 1]} needs a positive whole number");
            options = args[i] switch
            {
                "--uploads" => options with { Uploads = Next() },
                "--clients" => options with { Clients = Next() },
                "--rounds" => options with { Rounds = Next() },
                "--cost-us" => options with { CostMicros = Next() },
                "--call-us" => options with { CallMicros = Next() },
                "--batch" => options with { Batch = Next() },
                "--claims" => options with { Claims = Next() },
                "--workers" => options with { Workers = Next() },
                "--chunk-bits" => options with { ChunkBits = Next() },
                "--keep" => options with { Keep = true },
                "--text" => options with { Text = true },
                "--seed" => options with { Seed = Next() },
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
        }
        return options;
    }
}
