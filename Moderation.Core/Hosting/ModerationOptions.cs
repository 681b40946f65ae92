namespace Moderation.Core.Hosting;

/// <summary>Bound from <c>Moderation</c>: where the embedded database, job store and media live.</summary>
public sealed class ModerationOptions
{
    public const string Section = "Moderation";

    /// <summary>Holds the SQLite files, the media store and generated bootstrap credentials.</summary>
    public string DataDirectory { get; set; } = "./data";

    public string FullDataDirectory => Path.GetFullPath(DataDirectory);
}
