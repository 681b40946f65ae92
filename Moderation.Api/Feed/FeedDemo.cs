using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Dapper;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Storage;
using Recommender.Core;
using Recommender.Core.Catalog;
using Recommender.Core.Safety;
using Recommender.Core.Signals;
using SignalFeed = Moderation.Core.Signals.SignalFeed;

namespace Moderation.Api.Feed;

/// <summary>Options of the demo For You feed (<c>Moderation:Feed</c>).</summary>
public sealed class FeedOptions
{
    public const string Section = "Moderation:Feed";

    /// <summary>Serve <c>/v1/feed</c> and <c>/v1/interactions</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the background loop reads new uploads and signals.</summary>
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Also catch up before each feed request, so a decision shows on the next request rather than the next tick.</summary>
    public bool SyncOnRequest { get; set; } = true;

    /// <summary>Length of the hashed bag-of-words embedding used when the text model is off.</summary>
    public int HashedDimensions { get; set; } = 256;
}

/// <summary>
/// The API host's demo of <see cref="ForYouRecommender"/>: the catalog is the uploads in the database, the safety
/// layer reads the risk-signal feed through the library's own <see cref="SignalFollower"/> (from the database
/// rather than over HTTP, since it runs inside the service), and user profiles live in memory. Item embeddings
/// are the text model's (all-MiniLM-L6-v2 over caption, hashtags and transcript) when it is enabled, otherwise a
/// hashed bag of words of the same text. Items are keyed by upload id.
/// </summary>
public sealed class FeedDemo
{
    private const int UploadPage = 500;
    // Uploads commit in groups; one received a moment before the newest seen may commit after it. Re-reading a
    // short trailing window (de-duplicated by id) catches those.
    private const long TrailingWindowMs = 10_000;

    private static readonly DialectSql SelectUploads = new(
        sqlite: """
            SELECT id, external_id, creator_id, caption, hashtags, transcript, received_at_ms FROM uploads
            WHERE received_at_ms > @Ms OR (received_at_ms = @Ms AND id > @Id) ORDER BY received_at_ms, id LIMIT @Limit
            """,
        postgres: """
            SELECT id, external_id, creator_id, caption, hashtags, transcript, received_at_ms FROM uploads
            WHERE received_at_ms > @Ms OR (received_at_ms = @Ms AND id > @Id) ORDER BY received_at_ms, id LIMIT @Limit
            """,
        sqlServer: """
            SELECT TOP (@Limit) id, external_id, creator_id, caption, hashtags, transcript, received_at_ms FROM uploads
            WHERE received_at_ms > @Ms OR (received_at_ms = @Ms AND id > @Id) ORDER BY received_at_ms, id
            """);

    private readonly ModerationDatabase database;
    private readonly TextEmbedder? embedder;
    private readonly FeedOptions options;
    private readonly SemaphoreSlim syncing = new(1, 1);
    private readonly Dictionary<string, string> externalIds = new(StringComparer.Ordinal);
    private long newestMs;

    public FeedDemo(ModerationDatabase database, FeedOptions options, TimeProvider time, TextEmbedder? embedder = null)
    {
        this.database = database;
        this.embedder = embedder;
        this.options = options;
        Signals = new SignalStore(new SignalStoreOptions { ItemKey = SignalItemKey.UploadId });
        Follower = new SignalFollower(new DatabaseSignalSource(database), Signals, new SignalFollowerOptions { PageSize = 1000 }, time);
        Catalog = new ItemCatalog(embedder is null ? options.HashedDimensions : TextEmbedder.Dimensions);
        Ranker = new ForYouRecommender(Catalog, Signals, SafetyPolicy.Default, time: time);
    }

    public ForYouRecommender Ranker { get; }
    public ItemCatalog Catalog { get; }
    public SignalStore Signals { get; }
    public SignalFollower Follower { get; }

    /// <summary>Which embedding the items carry.</summary>
    public string EmbeddingName => embedder is null ? $"hashed-bag-of-words-{options.HashedDimensions}" : TextEmbedder.ModelName;

    public string? ExternalIdOf(string uploadId)
    {
        lock (externalIds) return externalIds.GetValueOrDefault(uploadId);
    }

    /// <summary>Reads new uploads into the catalog, then new signals into the store. One sync at a time; a caller that finds one running waits for it.</summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        await syncing.WaitAsync(ct);
        try
        {
            // Uploads first: a signal names an upload that is already in the database, so it finds its item.
            await LoadUploadsAsync(ct);
            await Follower.PollAsync(ct);
        }
        finally
        {
            syncing.Release();
        }
    }

    private async Task LoadUploadsAsync(CancellationToken ct)
    {
        var ms = Math.Max(0, newestMs - TrailingWindowMs);
        var id = "";
        while (true)
        {
            List<UploadRow> rows;
            await using (var connection = await database.OpenAsync(ct))
                rows = (await connection.QueryAsync<UploadRow>(new CommandDefinition(database.Sql(SelectUploads),
                    new { Ms = ms, Id = id, Limit = UploadPage }, cancellationToken: ct))).ToList();
            var fresh = rows.Where(r => !Catalog.Contains(r.Id)).ToList();
            if (fresh.Count > 0)
            {
                var texts = fresh.Select(Text).ToList();
                var embeddings = embedder is null ? texts.Select(t => Hashed(t, options.HashedDimensions)).ToArray() : embedder.Embed(texts, ct);
                for (var i = 0; i < fresh.Count; i++)
                {
                    var r = fresh[i];
                    Ranker.Upsert(new CatalogItem(r.Id, string.IsNullOrEmpty(r.CreatorId) ? "(no creator)" : r.CreatorId, embeddings[i],
                        DateTimeOffset.FromUnixTimeMilliseconds(r.ReceivedAtMs))
                    {
                        Caption = r.Caption,
                        Hashtags = Strings(r.Hashtags),
                        Transcript = r.Transcript,
                    });
                    lock (externalIds) externalIds[r.Id] = r.ExternalId;
                }
            }
            if (rows.Count > 0)
            {
                ms = rows[^1].ReceivedAtMs;
                id = rows[^1].Id;
                newestMs = Math.Max(newestMs, ms);
            }
            if (rows.Count < UploadPage) return;
        }
    }

    private static string Text(UploadRow r) =>
        string.Join("\n", new[] { r.Caption, string.Join(' ', Strings(r.Hashtags)), r.Transcript }.Where(s => !string.IsNullOrWhiteSpace(s)));

    private static string[] Strings(string json)
    {
        try { return JsonSerializer.Deserialize<string[]>(json) ?? []; }
        catch (JsonException) { return []; }
    }

    /// <summary>Feature hashing of the normalised tokens (and token pairs) with a sign bit: a real, model-free text vector.</summary>
    internal static float[] Hashed(string text, int dimensions)
    {
        var vector = new float[dimensions];
        string? previous = null;
        foreach (var token in KeywordText.Tokens(text))
        {
            Add(token, 1f);
            if (previous is not null) Add(previous + " " + token, 0.5f);
            previous = token;
        }
        return vector;

        void Add(string feature, float weight)
        {
            var hash = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(feature));
            vector[(int)(hash % (ulong)dimensions)] += (hash >> 63) == 0 ? weight : -weight;
        }
    }

    private sealed class UploadRow
    {
        public string Id { get; init; } = "";
        public string ExternalId { get; init; } = "";
        public string? CreatorId { get; init; }
        public string? Caption { get; init; }
        public string Hashtags { get; init; } = "[]";
        public string? Transcript { get; init; }
        public long ReceivedAtMs { get; init; }
    }
}

/// <summary>The signal feed read straight from the database, mapped to the library's contract types.</summary>
public sealed class DatabaseSignalSource(ModerationDatabase database) : ISignalSource
{
    public async Task<SignalPage> ReadAsync(long after, int limit, CancellationToken ct)
    {
        Moderation.Core.Signals.SignalPage page;
        try
        {
            page = await SignalFeed.ReadAsync(database, after, Math.Clamp(limit, 1, 1000), ct);
        }
        catch (System.Data.Common.DbException e)
        {
            throw new SignalFeedException($"The signal feed could not be read: {e.Message}", e);
        }
        return new SignalPage(page.Signals.Select(s => new RiskSignal(s.Seq, s.UploadId, s.ExternalId, s.Category, s.Score, s.Action,
            s.DemotionMultiplier, s.Source, s.ModelVersion, s.PolicyVersion, s.CreatedAt, s.ExpiresAt, s.Retracts)).ToList(),
            page.NextCursor.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>Keeps the demo feed's catalog and signals current between requests.</summary>
public sealed class FeedSyncService(FeedDemo demo, FeedOptions options, ILogger<FeedSyncService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await demo.SyncAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be briefly unavailable; the feed withholds unscored items meanwhile (stale feed).
                logger.LogWarning(e, "Feed sync failed; retrying");
            }
            try { await Task.Delay(options.SyncInterval, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
