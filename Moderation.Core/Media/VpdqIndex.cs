using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Moderation.Core.Media;

/// <summary>How vPDQ videos are compared (ThreatExchange's defaults).</summary>
public sealed class VpdqOptions
{
    /// <summary>Frames with a PDQ quality below this are left out on both sides (flat frames match each other).</summary>
    [Range(0, 100)]
    public int MinQuality { get; set; } = 50;

    /// <summary>Two frames match within this many bits (of 256).</summary>
    [Range(0, 63)]
    public int FrameDistance { get; set; } = PerceptualHash.DefaultMatchDistance;

    /// <summary>
    /// A video matches an entry when at least this share (%) of the upload's frames match some frame of the entry AND
    /// at least this share of the entry's frames match some frame of the upload: one shared scene is not a match.
    /// </summary>
    [Range(1, 100)]
    public double MinSharePercent { get; set; } = 80;
}

/// <summary>
/// vPDQ matching as ThreatExchange defines it: each video is the PDQ hashes of frames taken at a fixed rate; both sides
/// are deduplicated (identical hashes count once) and filtered by quality; the upload matches an entry when the share
/// of the upload's frames within <see cref="VpdqOptions.FrameDistance"/> of some entry frame, and the share of the
/// entry's frames within it of some upload frame, both reach <see cref="VpdqOptions.MinSharePercent"/>. Every entry
/// frame is in one multi-index, so an upload's frames are looked up, not compared with every frame of every video.
/// </summary>
public sealed class VpdqIndex
{
    private readonly HashIndex index = new();
    private readonly List<(int Video, int Quality)> frames = [];
    private readonly List<ActiveHashEntry> entries;

    public VpdqIndex(IReadOnlyList<ActiveHashEntry> videos)
    {
        entries = videos.ToList();
        for (var v = 0; v < entries.Count; v++)
            foreach (var frame in Dedupe(entries[v].Frames!))
            {
                index.Add(frame.Hash);
                frames.Add((v, frame.Quality));
            }
        if (entries.Count > 0) index.Search(default);
    }

    public int Count => entries.Count;

    private static IEnumerable<VpdqFrame> Dedupe(IEnumerable<VpdqFrame> video) => video.DistinctBy(f => f.Hash);

    public IReadOnlyList<FrameMatch> Match(IReadOnlyList<VpdqFrame> video, VpdqOptions options)
    {
        if (entries.Count == 0) return [];
        var query = Dedupe(video).Where(f => f.Quality >= options.MinQuality).ToList();
        if (query.Count == 0) return [];
        // Per entry video: which of the upload's frames matched it, and which of its frames were matched.
        var queryMatched = new Dictionary<int, HashSet<int>>();
        var entryMatched = new Dictionary<int, HashSet<int>>();
        var nearest = new Dictionary<int, int>();
        for (var q = 0; q < query.Count; q++)
            foreach (var m in index.Search(query[q].Hash, options.FrameDistance))
            {
                var (video1, quality) = frames[m.Entry];
                if (quality < options.MinQuality) continue;
                (queryMatched.TryGetValue(video1, out var qs) ? qs : queryMatched[video1] = []).Add(q);
                (entryMatched.TryGetValue(video1, out var es) ? es : entryMatched[video1] = []).Add(m.Entry);
                nearest[video1] = Math.Min(nearest.GetValueOrDefault(video1, int.MaxValue), m.Distance);
            }
        var result = new List<FrameMatch>();
        foreach (var (v, matched) in queryMatched)
        {
            var entry = entries[v];
            var entryFrames = Dedupe(entry.Frames!).Count(f => f.Quality >= options.MinQuality);
            if (entryFrames == 0) continue;
            double queryShare = 100.0 * matched.Count / query.Count, entryShare = 100.0 * entryMatched[v].Count / entryFrames;
            if (queryShare < options.MinSharePercent || entryShare < options.MinSharePercent) continue;
            result.Add(new FrameMatch(entry.Bank, entry.Id, nearest[v], entry.Category, entry.Action, HashAlgorithms.Vpdq,
                string.Create(CultureInfo.InvariantCulture,
                    $"vPDQ: {matched.Count} of the video's {query.Count} frames match the entry ({queryShare:0.#}%), {entryMatched[v].Count} of the entry's {entryFrames} frames match the video ({entryShare:0.#}%)")));
        }
        return result.OrderBy(m => m.Bank, StringComparer.Ordinal).ThenBy(m => m.EntryId, StringComparer.Ordinal).ToList();
    }
}
