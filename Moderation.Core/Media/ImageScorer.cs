using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Scoring;
using Moderation.Core.Uploads;

namespace Moderation.Core.Media;

/// <summary>What the image scorer found for a batch: scores and embeddings per upload, and the frame evidence to store.</summary>
public sealed record ImageAnalysis(IReadOnlyList<UploadScores> Scores, IReadOnlyList<(string UploadId, FrameScoreEvidence Evidence)> Evidence);

/// <summary>
/// Classifies every image and sampled video frame of an upload: frames are read as the hash-match scorer reads them
/// (<see cref="MediaFrameReader"/>: same limits, same sampling, same frame numbers), embedded with ResNet18 in batches
/// (<see cref="ImageEmbedder"/>), then scored by the registry's image heads and custom ONNX models. Each category
/// takes the highest frame of the upload, and its explanation names the frames that scored highest. Every frame's
/// L2-normalised embedding is returned for near-duplicate search. A category expected of images
/// (<see cref="ImageScoringOptions.Categories"/>) with no live image model gets no invented score: the frame evidence
/// says "no image head for …". A file that cannot be read never fails the batch: it is recorded with its reason.
/// </summary>
public sealed class ImageScorer(
    ImageEmbedder embedder,
    IImageModelSource models,
    MediaFrameReader reader,
    MediaFrameLog evidenceLog,
    IOptions<ImageScoringOptions> options,
    IOptions<MediaScoringOptions> mediaOptions,
    ILogger<ImageScorer> logger) : IUploadScorer
{
    /// <summary>The scorer's name, stored beside its scores.</summary>
    public const string ScorerName = "image";

    /// <summary>The registry's <c>scorer</c> of image heads.</summary>
    public const string HeadKind = "image";

    /// <summary>The registry's <c>scorer</c> of custom ONNX image models.</summary>
    public const string CustomKind = "image-onnx";

    /// <summary>Frames named per score's explanation: the highest first.</summary>
    public const int MaxExplanations = 5;

    public string Name => ScorerName;

    public async Task<IReadOnlyList<UploadScores>> ScoreAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct)
    {
        var analysis = await AnalyseAsync(batch, ct);
        await evidenceLog.RecordScoresAsync(analysis.Evidence, ct);
        return analysis.Scores;
    }

    private sealed record FrameResult(int Index, long? PositionMs, float[] Embedding, List<(FrameScore Score, string Kind)> Scores, string? Problem);

    private sealed class ItemResult
    {
        public List<FrameResult> Frames { get; } = [];
        public string? Problem { get; set; }
    }

    /// <summary>Reads, embeds and scores the batch's media without storing anything (what <see cref="ScoreAsync"/> stores, and the bench measures).</summary>
    public async Task<ImageAnalysis> AnalyseAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct)
    {
        var work = batch.SelectMany(u => u.Media.Select(m => (Upload: u, Item: m))).ToList();
        if (work.Count == 0) return new ImageAnalysis([], []);
        var o = options.Value;
        var set = await models.CurrentAsync(ct);
        var sizes = set.Custom.Select(c => c.Model.Manifest.Input.Size).Append(ImageEmbedder.Side).ToHashSet();
        var reviewOnly = set.Custom.Where(c => c.Model.Manifest.ReviewOnly).Select(c => c.ModelVersion).ToHashSet(StringComparer.Ordinal);
        var live = set.LiveCategories;
        var missing = o.ExpectedCategories.Where(c => !live.Contains(c)).ToList();
        var note = missing.Count == 0 ? null : $"no image head for {string.Join(", ", missing)}: not scored from images";

        var items = work.Select(_ => new ItemResult()).ToArray();
        var m = mediaOptions.Value;
        for (var next = 0; next < work.Count;)
        {
            // A chunk of items whose frames, at most, fit in MaxFramesInMemory (a video may give Video.MaxFrames, an
            // image MaxAnimationFrames) is read in parallel, then embedded and scored in one batched call: memory stays
            // bounded for a batch of long videos, and ResNet18 still gets full batches.
            var chunk = new List<int>();
            for (var budget = 0; next < work.Count && (chunk.Count == 0 || budget < o.MaxFramesInMemory); next++)
            {
                var most = work[next].Item.Kind == MediaKind.Video ? m.Video.MaxFrames : m.MaxAnimationFrames;
                if (chunk.Count > 0 && budget + most > o.MaxFramesInMemory) break;
                chunk.Add(next);
                budget += most;
            }
            var read = new (IReadOnlyList<RgbFrame> Frames, string? Problem)[chunk.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, chunk.Count), new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = embedder.Parallelism },
                async (k, token) => read[k] = await ReadAsync(work[chunk[k]].Upload.Id, work[chunk[k]].Item, sizes, token));
            var pending = new List<(int Item, RgbFrame Frame)>();
            for (var k = 0; k < chunk.Count; k++)
            {
                items[chunk[k]].Problem = read[k].Problem;
                pending.AddRange(read[k].Frames.Select(f => (chunk[k], f)));
            }
            Score(pending, set, items, ct);
        }

        var evidence = new List<(string, FrameScoreEvidence)>();
        var scores = new List<UploadScores>();
        foreach (var upload in batch)
        {
            var mine = work.Select((w, i) => (w.Item, Result: items[i])).Where((_, i) => work[i].Upload.Id == upload.Id).ToList();
            if (mine.Count == 0) continue;
            foreach (var (item, result) in mine)
            {
                foreach (var frame in result.Frames)
                    evidence.Add((upload.Id, new FrameScoreEvidence(item.Ordinal, frame.Index, frame.PositionMs, frame.Scores.Select(s => s.Score).ToList(), frame.Problem)));
                var itemProblem = result.Frames.Count == 0 ? result.Problem ?? "no frame could be read" : result.Problem;
                var problem = string.Join("; ", new[] { itemProblem, note }.OfType<string>());
                if (problem.Length > 0) evidence.Add((upload.Id, new FrameScoreEvidence(item.Ordinal, -1, null, [], problem)));
            }
            var embeddings = mine.SelectMany(m => m.Result.Frames.Select(f => new UploadEmbedding("image", ImageEmbedder.EmbeddingModel, m.Item.Ordinal,
                m.Item.Kind == MediaKind.Video || m.Result.Frames.Count > 1 || f.Index > 0 ? f.Index : null, f.Embedding))).ToList();
            scores.Add(new UploadScores(upload.Id, CategoryScores(mine, reviewOnly), embeddings));
        }
        return new ImageAnalysis(scores, evidence);
    }

    private async Task<(IReadOnlyList<RgbFrame> Frames, string? Problem)> ReadAsync(string uploadId, MediaItem item, IReadOnlyCollection<int> sizes, CancellationToken ct)
    {
        try
        {
            return await reader.ReadRgbAsync(item, sizes, ct);
        }
        catch (Exception e) when (e is not (OperationCanceledException or IOException or UnauthorizedAccessException or FfmpegUnavailableException))
        {
            // A decoder fault on hostile bytes is a verdict on the file, not a reason to fail the batch.
            logger.LogWarning(e, "Media {Ordinal} of upload {UploadId} could not be read for image scoring", item.Ordinal, uploadId);
            return ([], $"could not be read: {e.Message}");
        }
    }

    /// <summary>Embeds the frames in one batched call, then runs every head and custom model over them.</summary>
    private void Score(IReadOnlyList<(int Item, RgbFrame Frame)> pending, ImageModelSet set, ItemResult[] items, CancellationToken ct)
    {
        if (pending.Count == 0) return;
        var vectors = embedder.Embed(pending.Select(p => p.Frame.Squares[ImageEmbedder.Side]).ToList(), ct);
        var results = pending.Select((p, i) => new FrameResult(p.Frame.Index, p.Frame.PositionMs, ImageEmbedder.Normalized(vectors[i]), [],
            p.Frame.Partial ? "the frame was read only in part (the file ends early or is damaged)" : null)).ToList();

        foreach (var head in set.Heads)
            for (var i = 0; i < results.Count; i++)
                results[i].Scores.Add((new FrameScore(head.Category, head.ModelVersion, Math.Clamp(head.Head.Predict(results[i].Embedding), 0, 1), head.Shadow), HeadKind));

        foreach (var model in set.Custom.GroupBy(c => c.Model))
        {
            var size = model.Key.Manifest.Input.Size;
            var perFrame = model.Key.Score(pending.Select(p => p.Frame.Squares[size]).ToList());
            for (var i = 0; i < results.Count; i++)
                foreach (var registered in model)
                {
                    var value = perFrame[i].GetValueOrDefault(registered.Category, double.NaN);
                    if (double.IsFinite(value))
                        results[i].Scores.Add((new FrameScore(registered.Category, registered.ModelVersion, value, registered.Shadow), CustomKind));
                    else
                        results[i] = results[i] with { Problem = Join(results[i].Problem, $"{registered.ModelVersion} gave no number for {registered.Category}") };
                }
        }
        for (var i = 0; i < pending.Count; i++) items[pending[i].Item].Frames.Add(results[i]);
    }

    private static string Join(string? a, string b) => a is null ? b : $"{a}; {b}";

    private static List<CategoryScore> CategoryScores(IReadOnlyList<(MediaItem Item, ItemResult Result)> media, IReadOnlySet<string> reviewOnly)
    {
        var hits = media.SelectMany(m => m.Result.Frames.SelectMany(f => f.Scores.Select(s => (m.Item, Frame: f, s.Score, s.Kind)))).ToList();
        return hits.GroupBy(h => (h.Score.Category, h.Score.ModelVersion, h.Score.Shadow, h.Kind))
            .OrderBy(g => g.Key.Category, StringComparer.Ordinal).ThenBy(g => g.Key.ModelVersion, StringComparer.Ordinal)
            .Select(g =>
            {
                var ranked = g.OrderByDescending(h => h.Score.Score).ThenBy(h => h.Item.Ordinal).ThenBy(h => h.Frame.Index).ToList();
                var what = g.Key.Kind == HeadKind ? "image head" : "custom image model";
                var explanations = ranked.Take(MaxExplanations).Select(h => string.Create(CultureInfo.InvariantCulture,
                    $"media {h.Item.Ordinal} ({h.Item.Kind}), {Where(h.Frame)}: {h.Score.Score:0.000} by {what} {g.Key.ModelVersion}")).ToList();
                if (ranked.Count > 1) explanations.Add($"highest of {ranked.Count} frames");
                return new CategoryScore(g.Key.Category, ranked[0].Score.Score, g.Key.ModelVersion, explanations, g.Key.Shadow,
                    ReviewOnly: reviewOnly.Contains(g.Key.ModelVersion));
            })
            .ToList();
    }

    private static string Where(FrameResult frame) => frame.PositionMs is { } ms
        ? string.Create(CultureInfo.InvariantCulture, $"frame {frame.Index} at {ms / 1000.0:0.###} s")
        : $"frame {frame.Index}";
}
