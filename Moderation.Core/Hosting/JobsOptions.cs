using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Hosting;

/// <summary>Bound from <c>Moderation:Worker</c>: the Hangfire server that runs scoring jobs.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Moderation:Worker";

    /// <summary>Run a Hangfire server inside the API host. Turn off when stand-alone workers do the work.</summary>
    public bool InProcess { get; set; } = true;

    /// <summary>Concurrent jobs per process; zero means one per processor.</summary>
    [Range(0, 256)]
    public int WorkerCount { get; set; }

    /// <summary>How often an idle worker looks for new jobs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A job fetched by a worker that died becomes visible to others after this long.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The Hangfire store for the embedded default; empty means <c>hangfire.db</c> in the data directory.</summary>
    public string? SqliteStoragePath { get; set; }
}
