using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Models;
using Moderation.Core.Scoring.Text;

namespace Moderation.Core.Media;

/// <summary>An image head for one category, ready to score; a shadow head is stored but never routed on.</summary>
public sealed record LoadedImageHead(string Category, string ModelVersion, ImageHead Head, bool Shadow = false);

/// <summary>A custom ONNX model scoring one of its manifest's categories (a model mapped to three categories appears three times, sharing one session).</summary>
public sealed record LoadedCustomModel(string Category, string ModelVersion, CustomImageModel Model, bool Shadow = false);

/// <summary>Every image model the scorer runs on the next batch.</summary>
public sealed record ImageModelSet(IReadOnlyList<LoadedImageHead> Heads, IReadOnlyList<LoadedCustomModel> Custom)
{
    public static readonly ImageModelSet Empty = new([], []);

    /// <summary>Categories with a live (not shadow) image model of either kind.</summary>
    public IReadOnlySet<string> LiveCategories =>
        Heads.Where(h => !h.Shadow).Select(h => h.Category).Concat(Custom.Where(c => !c.Shadow).Select(c => c.Category)).ToHashSet(StringComparer.Ordinal);
}

/// <summary>Where the image scorer gets its models: the model registry, or a fixed set (a trained folder, a bench).</summary>
public interface IImageModelSource
{
    /// <summary>Cheap to call per batch: sources cache and reload on change.</summary>
    ValueTask<ImageModelSet> CurrentAsync(CancellationToken ct);
}

/// <summary>A fixed set of image models.</summary>
public sealed class FixedImageModels(ImageModelSet models) : IImageModelSource
{
    public ValueTask<ImageModelSet> CurrentAsync(CancellationToken ct) => ValueTask.FromResult(models);

    /// <summary>The heads <c>train-images</c> wrote to a folder (<c>{category}.zip</c> with <c>{category}.json</c>), all live.</summary>
    public static FixedImageModels FromDirectory(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"The model directory {directory} does not exist.");
        var heads = new List<LoadedImageHead>();
        foreach (var category in Directory.GetFiles(directory, "*.json").Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal))
        {
            if (!File.Exists(HeadFiles.ModelPath(directory, category))) continue;
            var package = HeadFiles.ReadPackage(directory, category);
            if (package.Card.Embedder != ImageEmbedder.ModelName) continue;
            using var stream = new MemoryStream(package.Artifact, writable: false);
            heads.Add(new LoadedImageHead(category, package.Card.ModelVersion, ImageHead.Load(stream)));
        }
        return new FixedImageModels(new ImageModelSet(heads, []));
    }
}

/// <summary>
/// The live and shadow image models of the model registry: heads (scorer <see cref="ImageScorer.HeadKind"/>) and custom
/// ONNX models (scorer <see cref="ImageScorer.CustomKind"/>, one registry row per category the manifest maps). The
/// change stamp is read at most once per <see cref="ImageScoringOptions.RefreshInterval"/>; a model is loaded from its
/// stored bytes once (a custom model once per artifact, whatever number of categories it scores) and kept while it
/// is live or shadow. Sessions of models no longer active are disposed with the source, not at once: a batch in
/// another job may still be running them.
/// </summary>
public sealed class RegistryImageModels(ModelRegistry registry, IOptions<ImageScoringOptions> options, TimeProvider time, ILogger<RegistryImageModels> logger)
    : IImageModelSource, IDisposable
{
    private readonly Dictionary<(string Category, string Version), ImageHead> heads = [];
    private readonly Dictionary<string, CustomImageModel> custom = new(StringComparer.Ordinal);
    private readonly List<CustomImageModel> superseded = [];
    private readonly StampedCache<ImageModelSet> cache = new(time, () => options.Value.RefreshInterval);

    public ValueTask<ImageModelSet> CurrentAsync(CancellationToken ct) => cache.GetAsync(registry.ChangeStampAsync, LoadAsync, ct);

    private async Task<ImageModelSet> LoadAsync(CancellationToken ct)
    {
        var active = (await registry.ActiveAsync(ct)).Where(m => m.Scorer is ImageScorer.HeadKind or ImageScorer.CustomKind).ToList();
        var loadedHeads = new List<LoadedImageHead>();
        var loadedCustom = new List<LoadedCustomModel>();
        foreach (var model in active)
        {
            var shadow = model.State == ModelStates.Shadow;
            if (model.Scorer == ImageScorer.HeadKind)
            {
                if (!heads.TryGetValue((model.Category, model.Version), out var head))
                {
                    using var stream = new MemoryStream(await ArtifactAsync(model, ct), writable: false);
                    heads[(model.Category, model.Version)] = head = ImageHead.Load(stream);
                    logger.LogInformation("Loaded image head {Category}@{Version} ({State})", model.Category, model.Version, model.State);
                }
                loadedHeads.Add(new LoadedImageHead(model.Category, model.Version, head, shadow));
            }
            else
            {
                if (!custom.TryGetValue(model.ArtifactSha256, out var onnx))
                {
                    custom[model.ArtifactSha256] = onnx = CustomImageModel.FromPackage(await ArtifactAsync(model, ct));
                    logger.LogInformation("Loaded custom image model {Version} for {Category} ({State})", model.Version, model.Category, model.State);
                }
                if (!onnx.Manifest.Categories.ContainsKey(model.Category))
                    throw new InvalidDataException($"The custom image model {model.Category}@{model.Version} is registered for {model.Category}, which its manifest does not map.");
                loadedCustom.Add(new LoadedCustomModel(model.Category, model.Version, onnx, shadow));
            }
        }
        foreach (var gone in heads.Keys.Except(active.Select(m => (m.Category, m.Version))).ToList()) heads.Remove(gone);
        foreach (var gone in custom.Keys.Except(active.Select(m => m.ArtifactSha256)).ToList())
        {
            superseded.Add(custom[gone]);
            custom.Remove(gone);
        }
        return new ImageModelSet(
            loadedHeads.OrderBy(h => h.Category, StringComparer.Ordinal).ThenBy(h => h.Shadow).ToList(),
            loadedCustom.OrderBy(c => c.Category, StringComparer.Ordinal).ThenBy(c => c.Shadow).ToList());
    }

    private async Task<byte[]> ArtifactAsync(ModelVersionInfo model, CancellationToken ct)
    {
        var bytes = await registry.ArtifactAsync(model.Category, model.Version, ct)
            ?? throw new InvalidDataException($"The registry lists {model.Category}@{model.Version} but holds no artifact for it.");
        // A live model that cannot load must stop scoring, not let uploads through unscored for its category.
        if (!Convert.ToHexStringLower(SHA256.HashData(bytes)).Equals(model.ArtifactSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"The artifact of {model.Category}@{model.Version} does not match its recorded SHA-256.");
        return bytes;
    }

    public void Dispose()
    {
        foreach (var model in custom.Values.Concat(superseded)) model.Dispose();
    }
}
