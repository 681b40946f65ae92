using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Dapper;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;
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
/// rather than over HTTP, since it runs inside the service), and user profiles live in memory. Items are keyed by
/// upload id.
/// <para>
/// Item embeddings: with the text model enabled, the vector the text scorer already stored for the upload
/// (<c>upload_embeddings</c>, kind text, this embedder's model: the creator's words, caption, hashtags and
/// transcript), read once the upload is scored, so no upload is embedded twice; an upload scored without one (too
/// few words, or scored by a worker running another model) is embedded here, over the same text. Until then the
/// upload waits outside the catalog, which costs nothing: the feed withholds unscored items anyway. With the text
/// model off, a hashed bag of words of the same text, at once.
/// </para>
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

    /// <summary>Uploads per query when looking up the waiting uploads' stored vectors.</summary>
    private const int LookupChunk = 500;

    // Dapper expands "IN @Ids" into one parameter per id, except for PostgreSQL, which gets the array as one parameter.
    private const string StoredVectorsFrom = """
        SELECT u.id AS id, u.status AS status, e.dimensions AS dimensions, e.vector AS vector
        FROM uploads u
        LEFT JOIN upload_embeddings e ON e.upload_id = u.id AND e.kind = @Kind AND e.model = @Model AND e.media_ordinal = -1 AND e.frame = -1
        """;

    private static readonly DialectSql SelectStoredVectors = new(
        sqlite: StoredVectorsFrom + " WHERE u.id IN @Ids",
        postgres: StoredVectorsFrom + " WHERE u.id = ANY(@Ids)",
        sqlServer: StoredVectorsFrom + " WHERE u.id IN @Ids");

    private readonly ModerationDatabase database;
    private readonly TextEmbedder? embedder;
    private readonly FeedOptions options;
    private readonly SemaphoreSlim syncing = new(1, 1);
    private readonly Dictionary<string, string> externalIds = new(StringComparer.Ordinal);
    // Read but not yet in the catalog: waiting for the text scorer's stored vector. Touched only inside a sync.
    private readonly Dictionary<string, UploadRow> waiting = new(StringComparer.Ordinal);
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
            await PlaceWaitingAsync(ct);
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
            foreach (var r in rows.Where(r => !Catalog.Contains(r.Id)))
                if (embedder is null) Place(r, Hashed(Text(r), options.HashedDimensions));
                else waiting.TryAdd(r.Id, r);
            if (rows.Count > 0)
            {
                ms = rows[^1].ReceivedAtMs;
                id = rows[^1].Id;
                newestMs = Math.Max(newestMs, ms);
            }
            if (rows.Count < UploadPage) return;
        }
    }

    /// <summary>
    /// Puts waiting uploads into the catalog: with the vector the text scorer stored, or, for one already scored
    /// without a vector of this model, embedded here. One not yet scored keeps waiting.
    /// </summary>
    private async Task PlaceWaitingAsync(CancellationToken ct)
    {
        if (embedder is null || waiting.Count == 0) return;
        var unmatched = new List<UploadRow>();
        foreach (var chunk in waiting.Keys.ToList().Chunk(LookupChunk))
        {
            List<StoredVectorRow> found;
            await using (var connection = await database.OpenAsync(ct))
                found = (await connection.QueryAsync<StoredVectorRow>(new CommandDefinition(database.Sql(SelectStoredVectors),
                    new { Kind = TextScorer.EmbeddingKind, Model = embedder.Name, Ids = chunk }, cancellationToken: ct))).ToList();
            var seen = found.Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in chunk.Where(id => !seen.Contains(id))) waiting.Remove(gone);
            foreach (var row in found)
            {
                if (!waiting.TryGetValue(row.Id, out var upload)) continue;
                if (row.Vector is { } bytes && row.Dimensions == TextEmbedder.Dimensions)
                {
                    waiting.Remove(row.Id);
                    Place(upload, UploadEmbeddings.FromBytes(bytes, row.Dimensions.Value));
                }
                else if (row.Status != UploadStatus.Queued)
                {
                    // Scored (the vectors commit with the routing) and still no vector: there will be none.
                    waiting.Remove(row.Id);
                    unmatched.Add(upload);
                }
            }
        }
        if (unmatched.Count == 0) return;
        var embeddings = embedder.Embed(unmatched.Select(Text).ToList(), ct);
        for (var i = 0; i < unmatched.Count; i++) Place(unmatched[i], embeddings[i]);
    }

    private void Place(UploadRow r, float[] embedding)
    {
        Ranker.Upsert(new CatalogItem(r.Id, string.IsNullOrEmpty(r.CreatorId) ? "(no creator)" : r.CreatorId, embedding,
            DateTimeOffset.FromUnixTimeMilliseconds(r.ReceivedAtMs))
        {
            Caption = r.Caption,
            Hashtags = Strings(r.Hashtags),
            Transcript = r.Transcript,
        });
        lock (externalIds) externalIds[r.Id] = r.ExternalId;
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

    private sealed class StoredVectorRow
    {
        public string Id { get; init; } = "";
        public string Status { get; init; } = "";
        public int? Dimensions { get; init; }
        public byte[]? Vector { get; init; }
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
