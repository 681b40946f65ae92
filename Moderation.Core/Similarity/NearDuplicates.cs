using System.Collections.Concurrent;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Media;
using Moderation.Core.Storage;

namespace Moderation.Core.Similarity;

/// <summary>Another upload close to the one asked about, and why (the strongest reason).</summary>
/// <param name="Similarity">Cosine similarity for an embedding; 1 − distance / 256 for a perceptual hash.</param>
public sealed record SimilarUpload(string UploadId, double Similarity, string Basis);

/// <summary>
/// Finds near-duplicates of an upload among the uploads the policy sent to review: vectors of the same kind and model
/// at or above the kind's cosine threshold (<see cref="VectorIndex"/>, exact), and frames whose perceptual hashes are
/// within <see cref="SimilarityOptions.HashDistance"/> bits (<see cref="HashIndex"/>, multi-index). Both indexes live
/// in memory, are loaded on first use and read what was stored since at most every
/// <see cref="SimilarityOptions.RefreshInterval"/>, so a freshly routed upload is found within it.
/// </summary>
public sealed class NearDuplicates(ModerationDatabase database, UploadEmbeddings embeddings, IOptions<SimilarityOptions> options,
    TimeProvider time, ILogger<NearDuplicates> logger)
{
    private const int Page = 5000;
    private SimilarityOptions O => options.Value;
    private readonly ConcurrentDictionary<(string Kind, string Model), ModelIndex> models = new();
    private readonly FrameHashes hashes = new();

    private static readonly DialectSql SelectOwnFrames = DialectSql.Portable("""
        SELECT upload_id, ordinal, frame, hash FROM media_frames WHERE upload_id = @UploadId AND hash IS NOT NULL AND quality >= @MinQuality
        """);

    // Frames are recorded by the hash-match scorer before the upload is routed, so new ones are found through the
    // upload's routing time, looking back a minute past the previous pass (routing stamps routed_at_ms before its
    // transaction commits), with a full pass every ten minutes, as the review intake does. The status list lets the
    // (status, routed_at_ms) index serve the range.
    private static readonly DialectSql SelectReviewedFrames = DialectSql.Portable("""
        SELECT f.upload_id, f.ordinal, f.frame, f.hash, u.routed_at_ms
        FROM uploads u JOIN media_frames f ON f.upload_id = u.id
        WHERE u.status IN ('in_review', 'allowed', 'actioned') AND u.routed_at_ms >= @Since
          AND f.hash IS NOT NULL AND f.quality >= @MinQuality
          AND EXISTS (SELECT 1 FROM routing_decisions r WHERE r.upload_id = u.id AND r.outcome = 'review')
        """);

    private static readonly TimeSpan HashSlack = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FullHashPass = TimeSpan.FromMinutes(10);

    /// <summary>Near-duplicates of <paramref name="uploadId"/> (never itself), most similar first.</summary>
    public async Task<IReadOnlyList<SimilarUpload>> FindAsync(string uploadId, CancellationToken ct)
    {
        var best = new Dictionary<string, SimilarUpload>(StringComparer.Ordinal);
        void Offer(SimilarUpload candidate)
        {
            if (candidate.UploadId == uploadId) return;
            if (!best.TryGetValue(candidate.UploadId, out var known) || candidate.Similarity > known.Similarity) best[candidate.UploadId] = candidate;
        }

        foreach (var group in (await embeddings.ForUploadAsync(uploadId, ct)).GroupBy(e => (e.Embedding.Kind, e.Embedding.Model)))
        {
            var index = await IndexAsync(group.Key.Kind, group.Key.Model, ct);
            var threshold = (float)O.ThresholdFor(group.Key.Kind);
            foreach (var own in group)
            {
                if (own.Embedding.Vector.Length != index.Dimensions) continue;
                foreach (var hit in index.Search(own.Embedding.Vector, threshold))
                    Offer(new SimilarUpload(hit.Key.UploadId, hit.Similarity, Explain(group.Key.Kind, group.Key.Model, hit.Similarity, own, hit.Key)));
            }
        }

        var frames = await OwnFramesAsync(uploadId, ct);
        if (frames.Count > 0)
        {
            var hashIndex = await HashIndexAsync(ct);
            foreach (var frame in frames)
                foreach (var match in hashIndex.Index.Search(frame.Hash, O.HashDistance))
                {
                    var other = hashIndex.Entries[match.Entry];
                    Offer(new SimilarUpload(other.UploadId, 1 - match.Distance / (double)PerceptualHash.Bits, string.Create(CultureInfo.InvariantCulture,
                        $"perceptual hash {match.Distance} of {PerceptualHash.Bits} bits apart (media {frame.Ordinal} frame {frame.Frame} ~ media {other.Ordinal} frame {other.Frame})")));
                }
        }
        return best.Values.OrderByDescending(s => s.Similarity).ThenBy(s => s.UploadId, StringComparer.Ordinal).Take(O.MaxResults).ToList();
    }

    private static string Explain(string kind, string model, float similarity, StoredEmbedding own, VectorKey other)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{kind} embedding ({model}) cosine {similarity:0.000}");
        return kind == "text" ? text : $"{text} ({Where(own.Embedding.MediaOrdinal, own.Embedding.Frame)} ~ {Where(other.MediaOrdinal, other.Frame)})";
    }

    private static string Where(int? ordinal, int? frame) => frame is null ? $"media {ordinal}" : $"media {ordinal} frame {frame}";

    /// <summary>The index of one kind and model, brought up to date if the last refresh is older than the interval.</summary>
    public async Task<VectorIndex> IndexAsync(string kind, string model, CancellationToken ct)
    {
        var entry = models.GetOrAdd((kind, model), _ => new ModelIndex());
        if (entry.Loaded && time.GetElapsedTime(entry.RefreshedAt) < O.RefreshInterval) return entry.Index ?? Empty;
        await entry.Gate.WaitAsync(ct);
        try
        {
            if (entry.Loaded && time.GetElapsedTime(entry.RefreshedAt) < O.RefreshInterval) return entry.Index ?? Empty;
            while (true)
            {
                var rows = await embeddings.ReviewedSinceAsync(kind, model, entry.LastSeq, Page, ct);
                if (rows.Count == 0) break;
                entry.Index ??= new VectorIndex(rows[0].Embedding.Vector.Length, O.MaxVectorsPerModel);
                var fitting = rows.Where(r => r.Embedding.Vector.Length == entry.Index.Dimensions).ToList();
                if (fitting.Count < rows.Count)
                    logger.LogWarning("{Count} {Kind} vectors of {Model} have another length than the index's {Dimensions}; not searched",
                        rows.Count - fitting.Count, kind, model, entry.Index.Dimensions);
                entry.Index.AddRange(fitting.Select(r => (new VectorKey(r.UploadId, r.Embedding.MediaOrdinal, r.Embedding.Frame, r.Seq), r.Embedding.Vector)).ToList());
                entry.LastSeq = rows[^1].Seq;
                if (rows.Count < Page) break;
            }
            entry.RefreshedAt = time.GetTimestamp();
            entry.Loaded = true;
            return entry.Index ?? Empty;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private async Task<List<FrameHash>> OwnFramesAsync(string uploadId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return (await connection.QueryAsync<FrameRow>(new CommandDefinition(database.Sql(SelectOwnFrames),
                new { UploadId = uploadId, MinQuality = O.MinHashQuality }, cancellationToken: ct)))
            .Select(r => r.ToFrame()).OfType<FrameHash>().ToList();
    }

    private async Task<HashSnapshot> HashIndexAsync(CancellationToken ct)
    {
        if (hashes.Snapshot is { } ready && time.GetElapsedTime(hashes.RefreshedAt) < O.RefreshInterval) return ready;
        await hashes.Gate.WaitAsync(ct);
        try
        {
            if (hashes.Snapshot is { } fresh && time.GetElapsedTime(hashes.RefreshedAt) < O.RefreshInterval) return fresh;
            var now = time.GetUtcNow();
            var full = hashes.Snapshot is null || now - hashes.LastFullPass >= FullHashPass;
            var since = full ? long.MinValue : (hashes.LastPass - HashSlack).ToUnixTimeMilliseconds();
            List<FrameRow> rows;
            await using (var connection = await database.OpenAsync(ct))
                rows = (await connection.QueryAsync<FrameRow>(new CommandDefinition(database.Sql(SelectReviewedFrames),
                    new { Since = since, MinQuality = O.MinHashQuality }, cancellationToken: ct))).ToList();
            var known = full ? [] : hashes.Snapshot!.Entries;
            var seen = full ? new HashSet<(string, int, int)>() : hashes.Seen;
            var added = new List<FrameHash>();
            foreach (var row in rows.OrderBy(r => r.RoutedAtMs))
                if (row.ToFrame() is { } frame && seen.Add((frame.UploadId, frame.Ordinal, frame.Frame))) added.Add(frame);
            if (added.Count > 0 || hashes.Snapshot is null || full)
            {
                var entries = known.Concat(added).ToList();
                if (entries.Count > O.MaxFrameHashes) entries = entries[^O.MaxFrameHashes..];
                var index = new HashIndex();
                foreach (var e in entries) index.Add(e.Hash);
                index.Search(default); // build the tables here, under the gate, not in a reader
                hashes.Snapshot = new HashSnapshot(entries, index);
            }
            hashes.LastPass = now;
            if (full) hashes.LastFullPass = now;
            hashes.Seen = seen;
            hashes.RefreshedAt = time.GetTimestamp();
            return hashes.Snapshot!;
        }
        finally
        {
            hashes.Gate.Release();
        }
    }

    private static readonly VectorIndex Empty = new(0, 1);

    private sealed class ModelIndex
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public volatile bool Loaded;
        public volatile VectorIndex? Index;
        public long LastSeq;
        public long RefreshedAt;
    }

    private sealed record FrameHash(string UploadId, int Ordinal, int Frame, PerceptualHash Hash);

    private sealed record HashSnapshot(List<FrameHash> Entries, HashIndex Index);

    private sealed class FrameHashes
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public volatile HashSnapshot? Snapshot;
        public HashSet<(string, int, int)> Seen = [];
        public DateTimeOffset LastPass = DateTimeOffset.MinValue;
        public DateTimeOffset LastFullPass = DateTimeOffset.MinValue;
        public long RefreshedAt;
    }

    private sealed class FrameRow
    {
        public string UploadId { get; init; } = "";
        public long Ordinal { get; init; }
        public long Frame { get; init; }
        public string? Hash { get; init; }
        public long? RoutedAtMs { get; init; }

        public FrameHash? ToFrame() => PerceptualHash.TryParse(Hash, out var hash) ? new FrameHash(UploadId, (int)Ordinal, (int)Frame, hash) : null;
    }
}
