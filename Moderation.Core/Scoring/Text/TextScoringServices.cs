using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Claims;
using Moderation.Core.Models;
using Moderation.Core.Audit;
using Moderation.Core.Refusals;

namespace Moderation.Core.Scoring.Text;

public static class TextScoringServices
{
    /// <summary>
    /// The built-in text scorer, unless <c>Moderation:Scoring:Text:Enabled</c> is false: one embedder (one ONNX
    /// session) per process, heads from the model registry, claims from the claim bank, and the shipped heads
    /// registered at start-up.
    /// </summary>
    public static IServiceCollection AddTextScoring(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TextScoringOptions>().Bind(configuration.GetSection(TextScoringOptions.Section));
        var options = configuration.GetSection(TextScoringOptions.Section).Get<TextScoringOptions>() ?? new TextScoringOptions();
        if (!options.Enabled) return services;

        services.AddSingleton(_ => new TextEmbedder(precision: options.Precision));
        services.AddSingleton<RegistryTextHeads>();
        services.AddSingleton<ITextHeadSource>(sp => sp.GetRequiredService<RegistryTextHeads>());
        services.AddSingleton<IClaimSource, ClaimBankSource>();
        services.AddSingleton(_ => options.LanguageDetection == LanguageDetection.Accurate ? TextLanguage.Shared : new TextLanguage(options.LanguageDetection));
        services.AddSingleton<IUploadScorer>(sp => new TextScorer(sp.GetRequiredService<TextEmbedder>(), sp.GetRequiredService<ITextHeadSource>(),
            sp.GetRequiredService<IClaimSource>(), sp.GetRequiredService<IOptions<TextScoringOptions>>().Value.ClaimMatch, sp.GetRequiredService<TextLanguage>()));
        services.AddHostedService<ShippedModelsRegistrar>();
        return services;
    }
}

/// <summary>
/// The live and shadow text heads of the model registry. The registry's change stamp is read at most once per
/// <see cref="TextScoringOptions.RefreshInterval"/>; a head is loaded from its stored bytes once and kept while it
/// stays live or shadow, so promoting a version reaches every worker within the interval without a restart.
/// </summary>
public sealed class RegistryTextHeads(ModelRegistry registry, IOptions<TextScoringOptions> options, TimeProvider time, ILogger<RegistryTextHeads> logger)
    : ITextHeadSource
{
    private readonly Dictionary<(string Category, string Version), (HeadCard Card, TextHead Head)> loaded = [];
    private readonly StampedCache<IReadOnlyList<LoadedHead>> cache = new(time, () => options.Value.RefreshInterval);

    public ValueTask<IReadOnlyList<LoadedHead>> CurrentAsync(CancellationToken ct) =>
        cache.GetAsync(registry.ChangeStampAsync, LoadAsync, ct);

    private async Task<IReadOnlyList<LoadedHead>> LoadAsync(CancellationToken ct)
    {
        var active = (await registry.ActiveAsync(ct)).Where(m => m.Scorer == TextScorer.ScorerName).ToList();
        var heads = new List<LoadedHead>(active.Count);
        foreach (var model in active)
        {
            var key = (model.Category, model.Version);
            if (!loaded.TryGetValue(key, out var head))
            {
                var bytes = await registry.ArtifactAsync(model.Category, model.Version, ct)
                    ?? throw new InvalidDataException($"The registry lists {model.Category}@{model.Version} but holds no artifact for it.");
                // A live model that cannot load must stop scoring, not let uploads through unscored for its category.
                if (!Convert.ToHexStringLower(SHA256.HashData(bytes)).Equals(model.ArtifactSha256, StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"The artifact of {model.Category}@{model.Version} does not match its recorded SHA-256.");
                using var stream = new MemoryStream(bytes, writable: false);
                head = (HeadFiles.ParseCard(model.Card) with { ModelVersion = model.Version }, TextHead.Load(stream));
                loaded[key] = head;
                logger.LogInformation("Loaded text head {Category}@{Version} ({State})", model.Category, model.Version, model.State);
            }
            heads.Add(new LoadedHead(head.Card, head.Head, model.State == ModelStates.Shadow));
        }
        foreach (var gone in loaded.Keys.Except(active.Select(m => (m.Category, m.Version))).ToList()) loaded.Remove(gone);
        return heads.OrderBy(h => h.Card.Category, StringComparer.Ordinal).ThenBy(h => h.Shadow).ToList();
    }
}

/// <summary>
/// The claim bank's active misinformation claims, embedded once each, refreshed like <see cref="RegistryTextHeads"/>.
/// A claim in quarantine (<see cref="Signals.SignalQuarantines"/>, read on every call: once per scoring batch) is left out.
/// </summary>
public sealed class ClaimBankSource(ClaimBank bank, TextEmbedder embedder, IOptions<TextScoringOptions> options, TimeProvider time,
    Signals.SignalQuarantines? quarantines = null) : IClaimSource
{
    private readonly Dictionary<string, KnownClaim> embedded = new(StringComparer.Ordinal);
    private readonly StampedCache<IReadOnlyList<KnownClaim>> cache = new(time, () => options.Value.RefreshInterval);

    public async ValueTask<IReadOnlyList<KnownClaim>> CurrentAsync(CancellationToken ct)
    {
        var claims = await cache.GetAsync(bank.ChangeStampAsync, LoadAsync, ct);
        if (quarantines is null || claims.Count == 0) return claims;
        var quarantined = await quarantines.CurrentAsync(ct);
        return quarantined.Count == 0 ? claims : claims.Where(c => !quarantined.Contains(Signals.SignalSourceId.Claim(c.Id).Name)).ToList();
    }

    private async Task<IReadOnlyList<KnownClaim>> LoadAsync(CancellationToken ct)
    {
        var active = (await bank.ActiveAsync(ct)).Where(c => c.Category == TextScorer.Misinformation).ToList();
        var missing = active.Where(c => !embedded.ContainsKey(c.Id)).ToList();
        var vectors = embedder.Embed(missing.Select(c => c.Text).ToList(), ct);
        for (var i = 0; i < missing.Count; i++)
            embedded[missing[i].Id] = new KnownClaim(missing[i].Id, missing[i].Text, missing[i].SourceUrl, vectors[i]);
        foreach (var retired in embedded.Keys.Except(active.Select(c => c.Id)).ToList()) embedded.Remove(retired);
        return active.Select(c => embedded[c.Id]).ToList();
    }
}

/// <summary>
/// A value loaded from the database and kept until its change stamp moves. The stamp (one cheap query) is read
/// at most once per refresh interval; the load runs only when it changed. One load at a time.
/// </summary>
internal sealed class StampedCache<T>(TimeProvider time, Func<TimeSpan> refreshInterval) where T : class
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private T? current;
    private long? stamp;
    private long checkedAt;

    public async ValueTask<T> GetAsync(Func<CancellationToken, Task<long>> readStamp, Func<CancellationToken, Task<T>> load, CancellationToken ct)
    {
        if (Fresh()) return current!;
        await gate.WaitAsync(ct);
        try
        {
            if (Fresh()) return current!;
            var now = await readStamp(ct);
            if (now != stamp || current is null)
            {
                current = await load(ct);
                stamp = now;
            }
            checkedAt = time.GetTimestamp();
            return current;
        }
        finally
        {
            gate.Release();
        }
    }

    private bool Fresh() => current is not null && time.GetElapsedTime(checkedAt) < refreshInterval();
}

/// <summary>
/// At start-up, registers the shipped heads (<see cref="TextScoringOptions.ModelsDirectory"/>) that the registry
/// does not hold yet: live where the category has no live model, otherwise shadow, so that a new default
/// arriving with an upgrade is compared on real traffic before a person promotes it.
/// </summary>
public sealed class ShippedModelsRegistrar(ModelRegistry registry, IOptions<TextScoringOptions> options, ILogger<ShippedModelsRegistrar> logger)
    : IHostedService
{
    public const string Actor = AuditActors.ShippedModels;

    public async Task StartAsync(CancellationToken ct)
    {
        var directory = options.Value.FullModelsDirectory;
        if (!Directory.Exists(directory))
        {
            logger.LogWarning("No text heads at {Directory}: the text scorer scores with what the registry holds", directory);
            return;
        }
        var known = await registry.ListAsync(null, ct);
        foreach (var category in Directory.GetFiles(directory, "*.zip").Select(Path.GetFileNameWithoutExtension).OfType<string>()
                     .Where(ScorerOutput.IsValidCategory).Order(StringComparer.Ordinal))
        {
            var package = HeadFiles.ReadPackage(directory, category);
            if (known.Any(m => m.Category == category && m.Version == package.Card.ModelVersion)) continue;
            var state = known.Any(m => m.Category == category && m.Scorer == TextScorer.ScorerName && m.State == ModelStates.Live) ? ModelStates.Shadow : ModelStates.Live;
            try
            {
                await registry.RegisterAsync(category, package.Card.ModelVersion, TextScorer.ScorerName, package.CardJson, package.MetricsJson,
                    package.Artifact, state, Actor, ct);
                logger.LogInformation("Registered shipped head {Category}@{Version} as {State}", category, package.Card.ModelVersion, state);
            }
            catch (Refusal e)
            {
                // Another host registering the same shipped heads at the same moment: it won, which is what we wanted.
                logger.LogInformation("Shipped head {Category}@{Version} not registered here: {Reason}", category, package.Card.ModelVersion, e.Message);
            }
        }
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
