using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Signals;
using Moderation.Core.Uploads;

namespace Moderation.Core.Media;

/// <summary>
/// The active entries of every hash bank, by algorithm: a multi-index per perceptual algorithm (PDQ, crop-robust), a
/// dictionary per exact-file algorithm (MD5, SHA-256), and the frames of every vPDQ video in one multi-index.
/// </summary>
public sealed class HashBankIndex
{
    private readonly Dictionary<string, (HashIndex Index, List<ActiveHashEntry> Entries)> perceptual = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Algorithm, string Value), List<ActiveHashEntry>> exact = new();
    private readonly VpdqIndex videos;

    public HashBankIndex(IReadOnlyList<ActiveHashEntry> active)
    {
        Count = active.Count;
        foreach (var entry in active)
        {
            if (HashAlgorithms.IsPerceptual(entry.Algorithm))
            {
                if (!PerceptualHash.TryParse(entry.Hash, out var hash)) continue;
                if (!perceptual.TryGetValue(entry.Algorithm, out var bucket)) perceptual[entry.Algorithm] = bucket = (new HashIndex(), []);
                bucket.Index.Add(hash);
                bucket.Entries.Add(entry);
            }
            else if (entry.Algorithm is HashAlgorithms.Md5 or HashAlgorithms.Sha256)
            {
                if (!exact.TryGetValue((entry.Algorithm, entry.Hash), out var list)) exact[(entry.Algorithm, entry.Hash)] = list = [];
                list.Add(entry);
            }
        }
        videos = new VpdqIndex(active.Where(e => e.Algorithm == HashAlgorithms.Vpdq && e.Frames is { Count: > 0 }).ToList());
        // Build the tables now, not on the first upload.
        foreach (var (index, _) in perceptual.Values) index.Search(default);
    }

    public int Count { get; }

    /// <summary>Whether any active entry has this algorithm (the scorer skips work no bank needs).</summary>
    public bool Has(string algorithm) => algorithm switch
    {
        HashAlgorithms.Vpdq => videos.Count > 0,
        HashAlgorithms.Md5 or HashAlgorithms.Sha256 => exact.Keys.Any(k => k.Algorithm == algorithm),
        _ => perceptual.ContainsKey(algorithm),
    };

    /// <summary>
    /// Every entry of <paramref name="algorithm"/>'s banks within <paramref name="maxDistance"/> of the picture, of a
    /// rotation or mirror of it, or of either seen as cut from a larger picture (<see cref="HashResult.Variants"/>),
    /// nearest first.
    /// </summary>
    public IReadOnlyList<FrameMatch> Match(string algorithm, HashResult hash, int maxDistance)
    {
        if (!perceptual.TryGetValue(algorithm, out var bucket)) return [];
        return bucket.Index.SearchAny(hash.Variants, maxDistance).Select(m =>
        {
            var e = bucket.Entries[m.Entry];
            return new FrameMatch(e.Bank, e.Id, m.Distance, e.Category, e.Action, algorithm);
        }).ToList();
    }

    /// <summary>Entries whose file digest under <paramref name="algorithm"/> (MD5 or SHA-256) is <paramref name="digest"/>.</summary>
    public IReadOnlyList<FrameMatch> MatchExact(string algorithm, string digest) =>
        exact.TryGetValue((algorithm, digest), out var list)
            ? list.Select(e => new FrameMatch(e.Bank, e.Id, 0, e.Category, e.Action, algorithm, $"the file's {algorithm} is the entry's")).ToList()
            : [];

    /// <summary>The vPDQ videos a video's frames match (see <see cref="VpdqIndex"/>).</summary>
    public IReadOnlyList<FrameMatch> MatchVideo(IReadOnlyList<VpdqFrame> frames, VpdqOptions options) => videos.Match(frames, options);
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

    /// <summary>The stored file's digest under an exact-file algorithm.</summary>
    /// <exception cref="IOException">The stored file cannot be read: a storage fault to retry.</exception>
    public async Task<string> DigestAsync(MediaItem item, string algorithm, CancellationToken ct)
    {
        await using var stream = store.OpenRead(item.Sha256);
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(algorithm == HashAlgorithms.Md5
            ? System.Security.Cryptography.HashAlgorithmName.MD5 : System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(buffer, ct)) > 0) hash.AppendData(buffer, 0, read);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
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
    HashBanks bankStore,
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

        evidence = await ApplyQuarantineAsync(work.Select(w => w.Upload.Id).ToList(), evidence, ct);
        await evidenceLog.RecordAsync(work.SelectMany((w, i) => evidence[i].Select(e => (w.Upload.Id, e))).ToList(), ct);

        var byUpload = work.Select((w, i) => (w.Upload.Id, w.Item, Evidence: evidence[i])).ToLookup(x => x.Id);
        return batch.Select(upload => new UploadScores(upload.Id, Scores(byUpload[upload.Id].Select(x => (x.Item, x.Evidence))))).ToList();
    }

    /// <summary>
    /// Counts every match against its entry's recent matches; an entry past the flood limit is quarantined, and its
    /// matches (in this batch too) are kept as evidence marked quarantined but score nothing.
    /// </summary>
    private async Task<IReadOnlyList<FrameEvidence>[]> ApplyQuarantineAsync(IReadOnlyList<string> uploads, IReadOnlyList<FrameEvidence>[] evidence, CancellationToken ct)
    {
        var flood = options.Value.Quarantine;
        var matched = evidence.SelectMany((e, i) => e.SelectMany(f => f.Matches.Select(m => (m.EntryId, UploadId: uploads[i])))).Distinct().ToList();
        if (matched.Count == 0 || !flood.Enabled) return evidence;
        var quarantined = await bankStore.RecordMatchesAsync(matched, flood.MaxUploads, flood.Window, ct);
        if (quarantined.Count == 0) return evidence;
        return evidence.Select(e => (IReadOnlyList<FrameEvidence>)e.Select(f => f.Matches.Any(m => quarantined.Contains(m.EntryId))
            ? f with { Matches = f.Matches.Select(m => quarantined.Contains(m.EntryId) ? m with { Quarantined = true } : m).ToList() }
            : f).ToList()).ToArray();
    }

    private async Task<IReadOnlyList<FrameEvidence>> ExamineAsync(string uploadId, MediaItem item, HashBankIndex index, CancellationToken ct)
    {
        var o = options.Value;
        // Exact-file banks are matched on the stored bytes, whatever a decoder makes of them.
        var whole = new List<FrameMatch>();
        if (index.Has(HashAlgorithms.Sha256)) whole.AddRange(index.MatchExact(HashAlgorithms.Sha256, item.Sha256));
        if (index.Has(HashAlgorithms.Md5)) whole.AddRange(index.MatchExact(HashAlgorithms.Md5, await reader.DigestAsync(item, HashAlgorithms.Md5, ct)));

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
        if (frames.Count == 0) return [new FrameEvidence(item.Ordinal, -1, null, null, null, whole, problem ?? "no frame could be read")];

        var result = new List<FrameEvidence>(frames.Count + 1);
        var video = new List<VpdqFrame>(frames.Count);
        var cropBanks = index.Has(HashAlgorithms.CropRobust);
        foreach (var frame in frames)
        {
            var pdq = PdqHasher.Hash(frame.Luma.Luma, frame.Luma.Width, frame.Luma.Height);
            // The crop-robust hash is what near-duplicate search compares, so it is kept for every frame.
            var crop = CropRobustHasher.Hash(frame.Luma.Luma, frame.Luma.Width, frame.Luma.Height);
            video.Add(new VpdqFrame(frame.Index, pdq.Quality, pdq.Hash, (frame.PositionMs ?? 0) / 1000.0));
            var matches = new List<FrameMatch>();
            var notes = new List<string>();
            if (pdq.Quality >= o.MinQuality) matches.AddRange(index.Match(HashAlgorithms.Pdq, pdq, o.MatchDistance));
            else notes.Add($"PDQ quality {pdq.Quality} is below {o.MinQuality}: too little detail to match");
            if (cropBanks)
            {
                if (crop.Quality >= o.MinQuality) matches.AddRange(index.Match(HashAlgorithms.CropRobust, crop, o.MatchDistance));
                else notes.Add($"crop-robust quality {crop.Quality} is below {o.MinQuality}: not matched against crop-robust banks");
            }
            var note = notes.Count == 0 ? null : string.Join("; ", notes);
            // The item's problem (a truncated file, an unreadable stretch of video) is told once, on its first frame.
            if (result.Count == 0 && problem is not null) note = note is null ? problem : $"{problem}; {note}";
            result.Add(new FrameEvidence(item.Ordinal, frame.Index, frame.PositionMs, crop.Hash.ToString(), crop.Quality,
                matches.OrderBy(m => m.Distance).ToList(), note, pdq.Hash.ToString(), pdq.Quality));
        }
        if (item.Kind == MediaKind.Video && index.Has(HashAlgorithms.Vpdq)) whole.AddRange(index.MatchVideo(video, o.Vpdq));
        // Frame -1 is the whole item: exact-file and vPDQ matches are about all of it, not one frame.
        if (whole.Count > 0) result.Insert(0, new FrameEvidence(item.Ordinal, -1, null, null, null, whole, null));
        return result;
    }

    private static List<CategoryScore> Scores(IEnumerable<(MediaItem Item, IReadOnlyList<FrameEvidence> Evidence)> media)
    {
        var hits = media.SelectMany(m => m.Evidence.SelectMany(e => e.Matches.Where(match => !match.Quarantined).Select(match => (m.Item, Frame: e, Match: match)))).ToList();
        return hits.GroupBy(h => (h.Match.Bank, h.Match.Category, h.Match.Action))
            .OrderBy(g => g.Key.Bank, StringComparer.Ordinal)
            .Select(g => new CategoryScore(g.Key.Category, 1.0, ModelVersionOf(g.Key.Bank),
                g.OrderBy(h => h.Match.Distance).ThenBy(h => h.Item.Ordinal).ThenBy(h => h.Frame.Frame).Take(MaxExplanations).Select(Explain).ToList(),
                Match: new MatchVerdict(SignalSource.HashMatch, g.Key.Action)))
            .ToList();
    }

    private static string Explain((MediaItem Item, FrameEvidence Frame, FrameMatch Match) hit)
    {
        var bank = $"entry {hit.Match.EntryId} of hash bank '{hit.Match.Bank}'";
        var verdict = $"({hit.Match.Category}, action {hit.Match.Action})";
        if (hit.Frame.Frame < 0)
            return $"media {hit.Item.Ordinal} ({hit.Item.Kind}): matches {bank}: {hit.Match.Detail ?? hit.Match.Algorithm} {verdict}";
        var where = hit.Frame.PositionMs is { } ms
            ? string.Create(CultureInfo.InvariantCulture, $"frame {hit.Frame.Frame} at {ms / 1000.0:0.###} s")
            : $"frame {hit.Frame.Frame}";
        return $"media {hit.Item.Ordinal} ({hit.Item.Kind}), {where}: matches {bank} at distance {hit.Match.Distance} of {PerceptualHash.Bits} bits " +
               $"({hit.Match.Algorithm ?? HashAlgorithms.CropRobust}) {verdict}";
    }
}
