namespace Moderation.Core.Scoring.Text;

/// <summary>The heads of one model directory (every <c>{category}.zip</c> with its card), loaded once.</summary>
public sealed class TextModels : ITextHeadSource
{
    private TextModels(string directory, IReadOnlyList<(HeadCard Card, TextHead Head)> heads)
    {
        Directory = directory;
        Heads = heads;
    }

    public string Directory { get; }
    public IReadOnlyList<(HeadCard Card, TextHead Head)> Heads { get; }

    private IReadOnlyList<LoadedHead>? loaded;

    public ValueTask<IReadOnlyList<LoadedHead>> CurrentAsync(CancellationToken ct) =>
        ValueTask.FromResult(loaded ??= Heads.Select(h => new LoadedHead(h.Card, h.Head)).ToList());

    public static TextModels Load(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"The model directory {directory} does not exist.");
        var heads = System.IO.Directory.GetFiles(directory, "*.json")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(name => name is not null && ScorerOutput.IsValidCategory(name) && File.Exists(HeadFiles.ModelPath(directory, name)))
            .Order(StringComparer.Ordinal)
            .Select(name => HeadFiles.Load(directory, name!) is var (head, card) ? (card, head) : default)
            .ToList();
        if (heads.Count == 0)
            throw new FileNotFoundException($"{directory} holds no heads (<category>.zip with <category>.json); train one with 'train'.");
        return new TextModels(directory, heads);
    }
}
