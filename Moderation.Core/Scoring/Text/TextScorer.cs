using System.Text;
using System.Text.RegularExpressions;

namespace Moderation.Core.Scoring.Text;

/// <summary>
/// Scores an upload's words (caption, hashtags, transcript, comments) with every head of a model directory.
/// Long texts are scored passage by passage and each category takes its highest passage, so a harmful
/// sentence at the end of a long transcript is not averaged away; the explanation quotes that passage. All
/// passages of a batch go through the embedder in one batched call.
/// </summary>
public sealed partial class TextScorer(TextEmbedder embedder, TextModels models) : IUploadScorer
{
    /// <summary>Windows per upload; beyond it windows are sampled evenly, always keeping the first and the last.</summary>
    public const int MaxWindows = 64;

    /// <summary>
    /// Word pieces per scoring window: about a short post's length, what the heads are trained on. In a longer
    /// window one harmful sentence is diluted by the text around it.
    /// </summary>
    public const int ScoringWindowTokens = 64;

    public string Name => "text";

    public Task<IReadOnlyList<UploadScores>> ScoreAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct)
    {
        var texts = batch.Select(Compose).ToList();
        var scores = ScoreTexts(texts, ct);
        IReadOnlyList<UploadScores> result = batch.Select((u, i) => new UploadScores(u.Id, scores[i])).ToList();
        return Task.FromResult(result);
    }

    /// <summary>Scores plain texts: for each text, one score per head.</summary>
    public IReadOnlyList<IReadOnlyList<CategoryScore>> ScoreTexts(IReadOnlyList<string> texts, CancellationToken ct = default)
    {
        var passages = new List<(int Text, string Passage, int[] Tokens)>();
        for (var i = 0; i < texts.Count; i++)
            foreach (var (passage, tokens) in Passages(texts[i]))
                passages.Add((i, passage, tokens));
        var embeddings = embedder.EmbedTokens(passages.Select(p => p.Tokens).ToList(), ct);
        var passageTexts = passages.Select(p => p.Passage).ToList();

        var results = texts.Select(_ => new List<CategoryScore>()).ToList();
        foreach (var (card, head) in models.Heads)
        {
            ct.ThrowIfCancellationRequested();
            var probabilities = head.Predict(passageTexts, embeddings);
            for (var i = 0; i < texts.Count; i++)
            {
                var best = -1;
                for (var p = 0; p < passages.Count; p++)
                    if (passages[p].Text == i && (best < 0 || probabilities[p] > probabilities[best])) best = p;
                var excerpt = passageTexts[best].Length <= 200 ? passageTexts[best] : passageTexts[best][..200] + "…";
                results[i].Add(new CategoryScore(card.Category, Math.Clamp(probabilities[best], 0, 1), card.ModelVersion,
                    [$"highest-scoring passage: \"{excerpt.Trim()}\""]));
            }
        }
        return results;
    }

    /// <summary>
    /// What is scored: a short text whole; a longer one sentence by sentence (a sentence over
    /// <see cref="ScoringWindowTokens"/> in overlapping windows), so one harmful sentence is judged on its own
    /// and not diluted by the text around it. At most <see cref="MaxWindows"/>, sampled evenly, keeping the last.
    /// </summary>
    public IReadOnlyList<(string Passage, int[] Tokens)> Passages(string text)
    {
        var whole = embedder.Tokenize(text);
        if (whole.Length <= ScoringWindowTokens) return [(text, whole)];
        var passages = new List<(string, int[])>();
        foreach (var sentence in SentenceBreak().Split(text).Where(s => !string.IsNullOrWhiteSpace(s)))
        {
            var tokens = embedder.Tokenize(sentence);
            if (tokens.Length == 0) continue;
            if (tokens.Length <= ScoringWindowTokens) { passages.Add((sentence, tokens)); continue; }
            foreach (var window in TextEmbedder.Windows(tokens, int.MaxValue, ScoringWindowTokens))
                passages.Add((embedder.Decode(window.TokenIds), window.TokenIds));
        }
        if (passages.Count == 0) return [(text, whole[..ScoringWindowTokens])];
        if (passages.Count <= MaxWindows) return passages;
        return Enumerable.Range(0, MaxWindows)
            .Select(i => passages[(int)Math.Round(i * (passages.Count - 1) / (double)(MaxWindows - 1))])
            .Distinct().ToList();
    }

    [GeneratedRegex(@"(?<=[.!?…])\s+|[\r\n]+")]
    private static partial Regex SentenceBreak();

    /// <summary>Every field a viewer reads, one per line; comments are part of what the upload shows.</summary>
    public static string Compose(UploadContent upload)
    {
        var text = new StringBuilder();
        void Line(string? value) { if (!string.IsNullOrWhiteSpace(value)) text.AppendLine(value); }
        Line(upload.Caption);
        Line(string.Join(' ', upload.Hashtags));
        Line(upload.Transcript);
        foreach (var comment in upload.Comments) Line(comment);
        return text.ToString();
    }
}
