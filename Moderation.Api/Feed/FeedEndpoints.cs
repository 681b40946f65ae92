using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Moderation.Api.Edge;
using Moderation.Core.Access;
using Moderation.Core.Refusals;
using Moderation.Core.Scoring.Text;
using Recommender.Core.Catalog;
using Recommender.Core.Ranking;
using Recommender.Core.Users;

namespace Moderation.Api.Feed;

/// <summary>One item of the demo feed.</summary>
public sealed record FeedItemResponse(
    string UploadId,
    string? ExternalId,
    string CreatorId,
    int Position,
    double Score,
    double Engagement,
    double SafetyMultiplier,
    bool Interstitial,
    bool Autoplay,
    IReadOnlyList<string> Labels,
    IReadOnlyList<string> Reasons);

/// <summary>A page of the demo For You feed, with what the safety layer and the user's controls removed.</summary>
public sealed record FeedResponse(
    string UserId,
    bool KnownUser,
    bool FeedStale,
    string SignalCursor,
    string Embedding,
    int Candidates,
    IReadOnlyDictionary<string, int> Removed,
    IReadOnlyList<FeedItemResponse> Items);

/// <summary>An interaction: <c>kind</c> is like, comment, share, follow, skip or watch (watch needs <c>watchTimeMs</c>).</summary>
public sealed record InteractionRequest(string? UserId, string? ItemId, string? Kind, DateTimeOffset? At, long? WatchTimeMs);

public sealed record InteractionResponse(string UserId, string ItemId, string Kind, DateTimeOffset At);

/// <summary>A user's controls. Omitted fields stay as they are; <c>keywordFilters</c> replaces the whole list (at most 200).</summary>
public sealed record ControlsRequest(string? Sensitivity, bool? IsMinor, IReadOnlyList<string>? KeywordFilters);

/// <summary>"Not interested": <c>kind</c> is item (an upload id), creator or hashtag.</summary>
public sealed record NotInterestedRequest(string? Kind, string? Value);

public sealed record NotInterestedResponse(string Kind, string Value, DateTimeOffset At);

public sealed record ControlsResponse(string UserId, string Sensitivity, bool IsMinor, IReadOnlyList<string> KeywordFilters, IReadOnlyList<NotInterestedResponse> NotInterested);

public static class FeedEndpoints
{
    public const int MaxCount = 100;

    /// <summary>Bodies here are small (200 keyword filters of 100 characters are about 21 KB); room for a list far over that to be refused by its count.</summary>
    public const long MaxBodyBytes = 256 * 1024;

    public static IServiceCollection AddFeedDemo(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(FeedOptions.Section).Get<FeedOptions>() ?? new FeedOptions();
        if (options.HashedDimensions is < 16 or > 4096)
            throw new OptionsValidationException(FeedOptions.Section, typeof(FeedOptions), [$"{FeedOptions.Section}:HashedDimensions must be from 16 to 4096."]);
        if (options.SyncInterval <= TimeSpan.Zero)
            throw new OptionsValidationException(FeedOptions.Section, typeof(FeedOptions), [$"{FeedOptions.Section}:SyncInterval must be positive."]);
        if (!options.Enabled) return services;
        services.AddSingleton(options);
        services.AddSingleton(sp => new FeedDemo(sp.GetRequiredService<Moderation.Core.Storage.ModerationDatabase>(), options,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetService<TextEmbedder>()));
        services.AddHostedService<FeedSyncService>();
        return services;
    }

    public static IEndpointRouteBuilder MapFeedDemo(this IEndpointRouteBuilder routes)
    {
        if (routes.ServiceProvider.GetService<FeedDemo>() is null) return routes;
        var feed = routes.MapGroup("/v1").WithTags("Demo feed").RequireAuthorization(ApiScopes.FeedDemo);
        feed.MapGet("/feed/{userId}", GetFeed)
            .WithName("GetFeed")
            .ProducesValidationProblem()
            .WithSummary("The demo For You feed for a user")
            .WithDescription("Ranks the uploads in the database with Recommender.Core: interests from the user's interactions, the safety layer from the risk-signal feed (ineligible removed, interstitial, demotion, labels), diversity. Each item carries its reasons. An unknown user gets a cold start.");
        feed.MapPost("/interactions", PostInteraction)
            .WithName("PostInteraction")
            .AcceptsJson<InteractionRequest>()
            .WithSummary("Record a user interaction for the demo feed")
            .WithDescription("like, comment, share, follow, skip, or watch with watchTimeMs. The user's interests change at once.");
        feed.MapGet("/feed/{userId}/controls", GetControls)
            .WithName("GetFeedControls")
            .ProducesValidationProblem()
            .WithSummary("A user's feed controls");
        feed.MapPut("/feed/{userId}/controls", PutControls)
            .WithName("PutFeedControls")
            .AcceptsJson<ControlsRequest>()
            .WithSummary("Set sensitivity (less, standard, more; minors cannot choose more), minor status and keyword filters")
            .WithDescription("keywordFilters replaces the list: at most 200 terms of up to 100 characters, matched on caption, hashtags and transcript with simple variants. A refused request changes nothing.");
        feed.MapPost("/feed/{userId}/not-interested", PostNotInterested)
            .WithName("PostNotInterested")
            .AcceptsJson<NotInterestedRequest>()
            .WithSummary("Not interested in an item, a creator or a hashtag: filtered for 30 days, then a decaying penalty");
        return routes;
    }

    internal static Ok<ControlsResponse> GetControls(FeedDemo demo, string userId)
    {
        try { return TypedResults.Ok(Controls(userId, demo.Ranker.GetControls(userId))); }
        catch (ArgumentException e) { throw Refuse(e); }
    }

    internal static async Task<Ok<ControlsResponse>> PutControls(HttpRequest request, FeedDemo demo, string userId, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<ControlsRequest>(request, MaxBodyBytes, ct);
        Recommender.Core.Safety.SensitivityLevel? level = null;
        if (body.Sensitivity is not null)
        {
            if (!Enum.TryParse<Recommender.Core.Safety.SensitivityLevel>(body.Sensitivity, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(body.Sensitivity, out _))
                throw Refusal.Invalid("sensitivity", "must be less, standard or more");
            level = parsed;
        }
        try
        {
            var current = demo.Ranker.GetControls(userId);
            // Everything is checked before anything changes: a refused request leaves the controls as they were.
            if (level == Recommender.Core.Safety.SensitivityLevel.More && (body.IsMinor ?? current.IsMinor))
                throw Refusal.Invalid("sensitivity", "minors cannot choose more");
            if (body.KeywordFilters is { } filters)
            {
                if (filters.Count > demo.Ranker.Options.MaxKeywordFilters)
                    throw Refusal.Invalid("keywordFilters", $"at most {demo.Ranker.Options.MaxKeywordFilters} terms; got {filters.Count}");
                // Each term is named by its place in the list, as the JSON reader names a term of the wrong type.
                for (var i = 0; i < filters.Count; i++)
                {
                    var term = filters[i];
                    if (string.IsNullOrWhiteSpace(term)) throw Refusal.Invalid($"keywordFilters[{i}]", "must be a term, not blank or null");
                    if (term.Length > KeywordText.MaxTermLength)
                        throw Refusal.Invalid($"keywordFilters[{i}]", $"is {term.Length} characters; at most {KeywordText.MaxTermLength}");
                    TextInput.NoNul(term, $"keywordFilters[{i}]");
                    if (!KeywordText.Tokens(term).Any()) throw Refusal.Invalid($"keywordFilters[{i}]", "has no letters or digits");
                }
                demo.Ranker.SetKeywordFilters(userId, filters);
            }
            if (body.IsMinor is { } minor) demo.Ranker.SetMinor(userId, minor);
            if (level is { } l) demo.Ranker.SetSensitivity(userId, l);
            return TypedResults.Ok(Controls(userId, demo.Ranker.GetControls(userId)));
        }
        catch (ArgumentException e)
        {
            throw Refuse(e);
        }
    }

    internal static async Task<Ok<NotInterestedResponse>> PostNotInterested(HttpRequest request, FeedDemo demo, string userId, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<NotInterestedRequest>(request, MaxBodyBytes, ct);
        if (body.Kind is null || !Enum.TryParse<NotInterestedKind>(body.Kind, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || int.TryParse(body.Kind, out _))
            throw Refusal.Invalid("kind", "must be item, creator or hashtag");
        try
        {
            demo.Ranker.MarkNotInterested(userId, kind, body.Value ?? "");
            var entry = demo.Ranker.GetControls(userId).NotInterested[^1];
            return TypedResults.Ok(new NotInterestedResponse(kind.ToString().ToLowerInvariant(), entry.Value, entry.At));
        }
        catch (ArgumentException e)
        {
            throw Refuse(e);
        }
    }

    private static ControlsResponse Controls(string userId, UserControls c) =>
        new(userId, c.Sensitivity.ToString().ToLowerInvariant(), c.IsMinor, c.KeywordFilters,
            c.NotInterested.Select(n => new NotInterestedResponse(n.Kind.ToString().ToLowerInvariant(), n.Value, n.At)).ToList());

    /// <summary>Recommender.Core's refusal of an argument, as a refusal naming the request's field.</summary>
    private static Refusal Refuse(ArgumentException e) =>
        Refusal.Invalid(e.ParamName switch { "keywords" => "keywordFilters", "watchTime" => "watchTimeMs", null => "body", var p => p }, e.Message.Split(" (Parameter", 2)[0]);

    internal static async Task<Ok<FeedResponse>> GetFeed(FeedDemo demo, FeedOptions options, string userId, string? count, CancellationToken ct)
    {
        var size = 20;
        if (!string.IsNullOrEmpty(count) && (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < 1 or > MaxCount))
            throw Refusal.Invalid("count", $"must be an integer from 1 to {MaxCount}");
        if (string.IsNullOrWhiteSpace(userId) || userId.Length > Recommender.Core.ForYouRecommender.MaxUserIdLength)
            throw Refusal.Invalid("userId", $"must be 1 to {Recommender.Core.ForYouRecommender.MaxUserIdLength} characters");
        if (options.SyncOnRequest) await demo.SyncAsync(ct);
        var page = demo.Ranker.Rank(userId, size);
        return TypedResults.Ok(new FeedResponse(page.UserId, page.KnownUser, page.FeedStale,
            page.SignalCursor.ToString(CultureInfo.InvariantCulture), demo.EmbeddingName, page.Candidates, page.Removed,
            page.Items.Select(i => Item(demo, i)).ToList()));
    }

    internal static async Task<Ok<InteractionResponse>> PostInteraction(HttpRequest request, FeedDemo demo, TimeProvider? clock, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<InteractionRequest>(request, MaxBodyBytes, ct);
        if (string.IsNullOrWhiteSpace(body.Kind) || !Enum.TryParse<InteractionKind>(body.Kind, ignoreCase: true, out var kind) || !Enum.IsDefined(kind)
            || int.TryParse(body.Kind, out _))
            throw Refusal.Invalid("kind", "must be one of like, comment, share, follow, skip, watch");
        if (body.WatchTimeMs is { } ms && ms < 0) throw Refusal.Invalid("watchTimeMs", "must not be negative");
        if (body.WatchTimeMs is > 86_400_000) throw Refusal.Invalid("watchTimeMs", "must be at most a day (86400000)");
        var at = body.At ?? (clock ?? TimeProvider.System).GetUtcNow();
        try
        {
            demo.Ranker.Record(new Interaction(body.UserId ?? "", body.ItemId ?? "", kind, at,
                body.WatchTimeMs is { } w ? TimeSpan.FromMilliseconds(w) : null));
        }
        catch (ArgumentException e)
        {
            throw Refuse(e);
        }
        return TypedResults.Ok(new InteractionResponse(body.UserId!, body.ItemId!, kind.ToString().ToLowerInvariant(), at));
    }

    private static FeedItemResponse Item(FeedDemo demo, RankedItem i) =>
        new(i.ItemId, demo.ExternalIdOf(i.ItemId), i.CreatorId, i.Position, Math.Round(i.Score, 6), Math.Round(i.Engagement, 6),
            Math.Round(i.SafetyMultiplier, 6), i.Interstitial, i.Autoplay, i.Labels, i.Reasons);
}
