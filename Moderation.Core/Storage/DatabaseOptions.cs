using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Storage;

/// <summary>Bound from <c>Moderation:Database</c>. The connection string is a secret: set it from the environment.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Moderation:Database";

    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>Empty means the embedded default: <c>moderation.db</c> in the data directory.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply pending migrations when a host starts. Turn off where a release step runs <c>migrate</c>.</summary>
    public bool MigrateOnStartup { get; set; } = true;

    [Range(1, 3600)]
    public int CommandTimeoutSeconds { get; set; } = 30;
}
