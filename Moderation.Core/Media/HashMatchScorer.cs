using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Signals;
using Moderation.Core.Uploads;

namespace Moderation.Core.Media;

/// <summary>The active entries of every hash bank in a multi-index, and the bank details a match reports.</summary>
public sealed class HashBankIndex
{
    private readonly HashIndex index = new();
    private readonly List<ActiveHashEntry> entries;

    public HashBankIndex(IReadOnlyList<ActiveHashEntry> active)
    {
        entries = active.ToList();
        foreach (var entry in entries) index.Add(entry.Hash);
        index.Search(default); // build the tables now, not on the first upload
    }

    public int Count => entries.Count;

    public ActiveHashEntry this[int entry] => entries[entry];

    /// <summary>
    /// Every entry within <paramref name="maxDistance"/> of the image, of a rotation or mirror of it, or of either seen
    /// as cut from a larger picture (<see cref="HashResult.Variants"/>), nearest first.
    /// </summary>
    public IReadOnlyList<FrameMatch> Match(HashResult hash, int maxDistance) =>
        index.SearchAny(hash.Variants, maxDistance)
            .Select(m => new FrameMatch(entries[m.Entry].Bank, entries[m.Entry].Id, m.Distance, entries[m.Entry].Category, entries[m.Entry].Action))
            .ToList();
}

/// <summary>
/// The hash banks as an index, reloaded when their change stamp moves (read at most once per
/// <see cref="MediaScoringOptions.RefreshInterval"/>), so a new import or a retired entry reaches every worker
/// within the interval, without a restart.
/// </summary>
public sealed class HashBankIndexSource(HashBanks banks, IOptions<MediaScoringOptions> options, TimeProvider time, ILogger<HashBankIndexSource> logger)
{
    private readonly StampedCache<HashBankIndex> cache = new(time, () => options.Value.RefreshInterval);

    public ValueTask<HashBankIndex> CurrentAsync(CancellationToken ct) => cache.GetAsync(banks.ChangeStampAsync, LoadAsync, ct);

    private async Task<HashBankIndex> LoadAsync(CancellationToken ct)
    {
        var index = new HashBankIndex(await banks.MatchableAsync(ct));
        logger.LogInformation("Loaded {Count} active hash-bank entries", index.Count);
        return index;
    }
}

/// <summary>
/// Reads the frames of one media item: an image's (sampled if animated) or a video's key frames, as luminance for
/// the hash or as RGB squares for image models. Both scorers read through here, with the same limits and sampling, so
/// their frame numbers agree.
/// </summary>
public sealed class MediaFrameReader(MediaStore store, VideoFrameSampler video, IOptions<MediaScoringOptions> options)
{
    /// <returns>The frames that could be read and, when not everything could, why.</returns>
    /// <exception cref="IOException">The stored file cannot be read: a storage fault to retry, not a verdict on the upload.</exception>
    public async Task<(IReadOnlyList<SampledFrame> Frames, string? Problem)> ReadAsync(MediaItem item, CancellationToken ct)
    {
        if (item.Kind == MediaKind.Video)
        {
            var sample = await video.SampleAsync(VideoPath(item), ct);
            return (sample.Frames, sample.Problem);
        }
        var bytes = await ReadBytesAsync(item, ct);
        try
        {
            var frames = ImageDecoder.DecodeLuma(bytes, Limits(bytes));
            var problem = frames.Any(f => f.Partial) ? "the file ends early or is damaged; hashed what could be read" : null;
            return (frames.Select(f => new SampledFrame(f.Index, null, f)).ToList(), problem);
        }
        catch (MediaRejectedException e)
        {
            return ([], e.Message);
        }
    }

    /// <summary>The same frames as planar RGB squares of each of <paramref name="sizes"/> (0–255, upright, stretched).</summary>
    /// <exception cref="IOException">The stored file cannot be read: a storage fault to retry, not a verdict on the upload.</exception>
    public async Task<(IReadOnlyList<RgbFrame> Frames, string? Problem)> ReadRgbAsync(MediaItem item, IReadOnlyCollection<int> sizes, CancellationToken ct)
    {
        if (item.Kind == MediaKind.Video)
            // ffmpeg scales to the largest square a model needs; smaller ones are made from it.
            return await video.SampleRgbAsync(VideoPath(item), sizes.Max(), sizes, ct);
        var bytes = await ReadBytesAsync(item, ct);
        try
        {
            var frames = ImageDecoder.DecodeRgbFrames(bytes, sizes, Limits(bytes));
            return (frames, frames.Any(f => f.Partial) ? "the file ends early or is damaged; scored what could be read" : null);
        }
        catch (MediaRejectedException e)
        {
            return ([], e.Message);
        }
    }

    private DecodeLimits Limits(byte[] bytes)
    {
        var o = options.Value;
        return new DecodeLimits(MaxBytes: Math.Max(bytes.Length, 1), MaxPixels: o.MaxPixels, MaxFrames: o.MaxAnimationFrames);
    }

    private string VideoPath(MediaItem item)
    {
        var path = store.PathFor(item.Sha256);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Media file {item.Sha256} of the upload is missing from the media store.", path);
    }

    private async Task<byte[]> ReadBytesAsync(MediaItem item, CancellationToken ct)
    {
        await using var stream = store.OpenRead(item.Sha256);
        var bytes = new byte[stream.Length];
        await stream.ReadExactlyAsync(bytes, ct);
        return bytes;
    }
}

/// <summary>
/// Hashes every image and sampled video frame of an upload (PDQ-style, <see cref="PdqHasher"/>) and matches each
/// against the active entries of every hash bank within <see cref="MediaScoringOptions.MatchDistance"/>, through a
/// multi-index (not a scan). A match is known content: it scores the bank's category 1.0 with model version
/// <c>hash-bank:{bank}</c> and carries the bank's action (<see cref="MatchVerdict"/>), which routing applies as is and
/// the signal feed sends with source <c>hash_match</c>. What the scorer saw in every frame (hash, quality, matches,
/// or why an item could not be read) is stored as evidence for the upload's status. A file that cannot be decoded
/// never fails the batch: it is recorded with its reason and the upload is scored on the rest.
/// </summary>
public sealed class HashMatchScorer(
    MediaFrameReader reader,
    HashBankIndexSource banks,
    MediaFrameLog evidenceLog,
    IOptions<MediaScoringOptions> options,
    ILogger<HashMatchScorer> logger) : IUploadScorer
{
    public const string ScorerName = "hash_match";

    /// <summary>The model version of a bank's matches: one score per bank and category.</summary>
    public static string ModelVersionOf(string bank) => $"hash-bank:{bank}";

    /// <summary>Explanations kept per score: the nearest matches first.</summary>
    public const int MaxExplanations = 10;

    public string Name => ScorerName;

    public async Task<IReadOnlyList<UploadScores>> ScoreAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct)
    {
        var work = batch.SelectMany(u => u.Media.Select(m => (Upload: u, Item: m))).ToList();
        if (work.Count == 0) return [];
        var index = await banks.CurrentAsync(ct);
        var evidence = new IReadOnlyList<FrameEvidence>[work.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, work.Count),
            new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (i, token) => evidence[i] = await ExamineAsync(work[i].Upload.Id, work[i].Item, index, token));

        await evidenceLog.RecordAsync(work.SelectMany((w, i) => evidence[i].Select(e => (w.Upload.Id, e))).ToList(), ct);

        var byUpload = work.Select((w, i) => (w.Upload.Id, w.Item, Evidence: evidence[i])).ToLookup(x => x.Id);
        return batch.Select(upload => new UploadScores(upload.Id, Scores(byUpload[upload.Id].Select(x => (x.Item, x.Evidence))))).ToList();
    }

    private async Task<IReadOnlyList<FrameEvidence>> ExamineAsync(string uploadId, MediaItem item, HashBankIndex index, CancellationToken ct)
    {
        var o = options.Value;
        IReadOnlyList<SampledFrame> frames;
        string? problem;
        try
        {
            (frames, problem) = await reader.ReadAsync(item, ct);
        }
        catch (Exception e) when (e is not (OperationCanceledException or IOException or UnauthorizedAccessException or FfmpegUnavailableException))
        {
            // A decoder fault on hostile bytes is a verdict on the file, not a reason to fail the batch.
            logger.LogWarning(e, "Media {Ordinal} of upload {UploadId} could not be read", item.Ordinal, uploadId);
            (frames, problem) = ([], $"could not be read: {e.Message}");
        }
        if (frames.Count == 0) return [new FrameEvidence(item.Ordinal, -1, null, null, null, [], problem ?? "no frame could be read")];

        var result = new List<FrameEvidence>(frames.Count);
        foreach (var frame in frames)
        {
            var hash = PdqHasher.Hash(frame.Luma.Luma, frame.Luma.Width, frame.Luma.Height);
            var low = hash.Quality < o.MinQuality;
            var matches = low ? [] : index.Match(hash, o.MatchDistance);
            var note = low ? $"quality {hash.Quality} is below {o.MinQuality}: too little detail to match" : null;
            // The item's problem (a truncated file, an unreadable stretch of video) is told once, on its first frame.
            if (result.Count == 0 && problem is not null) note = note is null ? problem : $"{problem}; {note}";
            result.Add(new FrameEvidence(item.Ordinal, frame.Index, frame.PositionMs, hash.Hash.ToString(), hash.Quality, matches, note));
        }
        return result;
    }

    private static List<CategoryScore> Scores(IEnumerable<(MediaItem Item, IReadOnlyList<FrameEvidence> Evidence)> media)
    {
        var hits = media.SelectMany(m => m.Evidence.SelectMany(e => e.Matches.Select(match => (m.Item, Frame: e, Match: match)))).ToList();
        return hits.GroupBy(h => (h.Match.Bank, h.Match.Category, h.Match.Action))
            .OrderBy(g => g.Key.Bank, StringComparer.Ordinal)
            .Select(g => new CategoryScore(g.Key.Category, 1.0, ModelVersionOf(g.Key.Bank),
                g.OrderBy(h => h.Match.Distance).ThenBy(h => h.Item.Ordinal).ThenBy(h => h.Frame.Frame).Take(MaxExplanations).Select(Explain).ToList(),
                Match: new MatchVerdict(SignalSource.HashMatch, g.Key.Action)))
            .ToList();
    }

    private static string Explain((MediaItem Item, FrameEvidence Frame, FrameMatch Match) hit)
    {
        var where = hit.Frame.PositionMs is { } ms
            ? string.Create(CultureInfo.InvariantCulture, $"frame {hit.Frame.Frame} at {ms / 1000.0:0.###} s")
            : $"frame {hit.Frame.Frame}";
        return $"media {hit.Item.Ordinal} ({hit.Item.Kind}), {where}: matches entry {hit.Match.EntryId} of hash bank '{hit.Match.Bank}' " +
               $"at distance {hit.Match.Distance} of {PerceptualHash.Bits} bits ({hit.Match.Category}, action {hit.Match.Action})";
    }
}
