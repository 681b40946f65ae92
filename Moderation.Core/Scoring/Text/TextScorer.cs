using System.Text;
using System.Text.RegularExpressions;

namespace Moderation.Core.Scoring.Text;

/// <summary>
/// Scores an upload's words (caption, hashtags, transcript, comments) with every head of a model directory.
/// Long texts are scored passage by passage and each category takes its highest passage, so a harmful
/// sentence at the end of a long transcript is not averaged away; the explanation quotes that passage. All
/// passages of a batch go through the embedder in one batched call.
/// </summary>
public sealed partial class TextScorer(TextEmbedder embedder, ITextHeadSource heads, IClaimSource? claims = null, ClaimMatchOptions? claimMatch = null)
    : IUploadScorer
{
    /// <summary>Windows per upload; beyond it windows are sampled evenly, always keeping the first and the last.</summary>
    public const int MaxWindows = 64;

    /// <summary>
    /// Word pieces per scoring window: about a short post's length, what the heads are trained on. In a longer
    /// window one harmful sentence is diluted by the text around it.
    /// </summary>
    public const int ScoringWindowTokens = 64;

    /// <summary>The category a claim-bank match raises.</summary>
    public const string Misinformation = "misinformation";

    /// <summary>The model version of a misinformation score that only the claim bank produced (no head is live).</summary>
    public const string ClaimBankVersion = "claim-bank";

    private readonly ClaimMatchOptions match = claimMatch ?? new ClaimMatchOptions();

    /// <summary>The scorer's name, stored beside its scores and in the model registry.</summary>
    public const string ScorerName = "text";

    public string Name => ScorerName;

    public async Task<IReadOnlyList<UploadScores>> ScoreAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct)
    {
        var current = await heads.CurrentAsync(ct);
        var known = claims is null ? [] : await claims.CurrentAsync(ct);
        var (scores, vectors) = ScoreTexts(batch.Select(Compose).ToList(), batch.Select(CreatorText).ToList(), current, known, ct);
        return batch.Select((u, i) => new UploadScores(u.Id, scores[i],
            vectors[i] is { } vector ? [new UploadEmbedding(EmbeddingKind, embedder.Name, null, null, vector)] : null)).ToList();
    }

    /// <summary>The kind of the one vector per upload this scorer returns for near-duplicate search.</summary>
    public const string EmbeddingKind = "text";

    /// <summary>
    /// Fewer word pieces than this and an upload gets no vector: "lol" or a lone emoji says nothing about two uploads
    /// being copies of each other, and every short text would cluster with every other.
    /// </summary>
    public const int MinEmbeddingTokens = 4;

    /// <summary>Scores plain texts: for each text, one score per head (and the claim bank's verdict).</summary>
    public async Task<IReadOnlyList<IReadOnlyList<CategoryScore>>> ScoreTextsAsync(IReadOnlyList<string> texts, CancellationToken ct = default)
    {
        var current = await heads.CurrentAsync(ct);
        var known = claims is null ? [] : await claims.CurrentAsync(ct);
        return ScoreTexts(texts, null, current, known, ct).Scores;
    }

    /// <param name="embedTexts">
    /// Per text, its beginning whose vector is kept for near-duplicate search (the creator's own words, before the
    /// comments), or null. The vector is the normalised mean of the embeddings of the scored passages that start in it.
    /// </param>
    private (List<IReadOnlyList<CategoryScore>> Scores, float[]?[] Vectors) ScoreTexts(IReadOnlyList<string> texts, IReadOnlyList<string>? embedTexts,
        IReadOnlyList<LoadedHead> current, IReadOnlyList<KnownClaim> known, CancellationToken ct)
    {
        // Normalising and tokenising is the scorer's own work beside the model's: side by side, one text per core.
        var perText = new List<(string Passage, int[] Tokens, int Start)>[texts.Count];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct },
            i => perText[i] = PassagesAt(texts[i]));
        var passages = new List<(int Text, string Passage, int[] Tokens, int Start)>();
        for (var i = 0; i < texts.Count; i++)
            foreach (var (passage, tokens, start) in perText[i])
                passages.Add((i, passage, tokens, start));
        // Passages are in text order and every text has at least one: text i owns [first[i], first[i + 1]).
        var first = new int[texts.Count + 1];
        for (var p = passages.Count - 1; p >= 0; p--) first[passages[p].Text] = p;
        first[texts.Count] = passages.Count;
        var embeddings = embedder.EmbedTokens(passages.Select(p => p.Tokens).ToList(), ct);

        // The kept vector averages the scored passages of the creator's words, which are the start of the scored
        // text: nothing is embedded for it alone. A short text is scored whole, so its comments are in it too.
        var vectors = new float[]?[texts.Count];
        for (var i = 0; i < texts.Count && embedTexts is not null; i++)
        {
            var own = embedTexts[i];
            if (string.IsNullOrWhiteSpace(own) || !texts[i].StartsWith(own, StringComparison.Ordinal)) continue;
            var parts = Enumerable.Range(first[i], first[i + 1] - first[i]).Where(p => passages[p].Start < own.Length).ToList();
            var wholeText = first[i + 1] - first[i] == 1 && passages[first[i]].Start == 0 && passages[first[i]].Passage == texts[i];
            var ownTokens = wholeText && own.Length < texts[i].Length ? embedder.Tokenize(own).Length : parts.Sum(p => passages[p].Tokens.Length);
            if (parts.Count == 0 || ownTokens < MinEmbeddingTokens) continue;
            vectors[i] = MeanDirection(parts.Select(p => embeddings[p]).ToList());
        }
        var passageTexts = passages.Select(p => p.Passage).ToList();

        var claimMatches = MatchClaims(texts.Count, passages.Select(p => p.Text).ToList(), embeddings, known);
        var results = texts.Select(_ => new List<CategoryScore>()).ToList();
        // Heads with the same text features share one featurisation (most of a head's cost); the groups run side by side.
        var normalizedPassages = passageTexts.Select(TextNormalizer.Normalize).ToList();
        var byHead = TextHead.PredictMany(current.Select(h => h.Head).ToList(), normalizedPassages, embeddings, ct);
        for (var h = 0; h < current.Count; h++)
        {
            var (card, _, shadow) = current[h];
            var probabilities = byHead[h];
            for (var i = 0; i < texts.Count; i++)
            {
                var best = first[i];
                for (var p = first[i] + 1; p < first[i + 1]; p++)
                    if (probabilities[p] > probabilities[best]) best = p;
                var score = Math.Clamp(probabilities[best], 0, 1);
                List<string> reasons = [$"highest-scoring passage: \"{Excerpt(passageTexts[best])}\""];
                if (card.Category == Misinformation && claimMatches[i] is { } claim)
                {
                    reasons.Insert(0, claim.Reason);
                    score = Math.Max(score, claim.Score);
                }
                results[i].Add(new CategoryScore(card.Category, score, card.ModelVersion, reasons, shadow));
            }
        }
        // With claims but no live misinformation head, the claim bank still speaks for the category.
        if (!current.Any(h => h.Card.Category == Misinformation && !h.Shadow))
            for (var i = 0; i < texts.Count; i++)
                if (claimMatches[i] is { } claim)
                    results[i].Add(new CategoryScore(Misinformation, claim.Score, ClaimBankVersion, [claim.Reason]));
        return (results.Select(r => (IReadOnlyList<CategoryScore>)r).ToList(), vectors);
    }

    /// <summary>The normalised mean of unit vectors: one direction for a text read in several passages.</summary>
    private static float[] MeanDirection(IReadOnlyList<float[]> vectors)
    {
        if (vectors.Count == 1) return (float[])vectors[0].Clone();
        var sum = new float[vectors[0].Length];
        foreach (var v in vectors) System.Numerics.Tensors.TensorPrimitives.Add(sum, v, sum);
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(sum);
        if (norm > 1e-12f) System.Numerics.Tensors.TensorPrimitives.Divide(sum, norm, sum);
        return sum;
    }

    /// <summary>The closest known claim per text, if any passage is at least as similar as the threshold.</summary>
    private (double Score, string Reason)?[] MatchClaims(int textCount, IReadOnlyList<int> passageText, float[][] embeddings, IReadOnlyList<KnownClaim> known)
    {
        var matches = new (double Score, string Reason)?[textCount];
        if (known.Count == 0) return matches;
        var best = new (double Similarity, int Passage, KnownClaim? Claim)[textCount];
        for (var p = 0; p < embeddings.Length; p++)
            foreach (var claim in known)
            {
                // Both are unit vectors: the dot product is the cosine similarity.
                double similarity = System.Numerics.Tensors.TensorPrimitives.Dot(embeddings[p], claim.Embedding);
                if (similarity > best[passageText[p]].Similarity) best[passageText[p]] = (similarity, p, claim);
            }
        for (var i = 0; i < textCount; i++)
        {
            var (similarity, _, claim) = best[i];
            if (claim is null || similarity < match.Threshold) continue;
            var span = 1 - match.Threshold;
            var score = span <= 0 ? 1 : match.ScoreAtThreshold + (1 - match.ScoreAtThreshold) * (similarity - match.Threshold) / span;
            matches[i] = (Math.Clamp(score, 0, 1), string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"matches known false claim {claim.Id} \"{Excerpt(claim.Text)}\" (similarity {similarity:0.00}; source: {claim.SourceUrl})"));
        }
        return matches;
    }

    private static string Excerpt(string text) => (text.Length <= 200 ? text : text[..200] + "…").Trim();

    /// <summary>
    /// What is scored: a short text whole; a longer one sentence by sentence (a sentence over
    /// <see cref="ScoringWindowTokens"/> in overlapping windows), so one harmful sentence is judged on its own
    /// and not diluted by the text around it. At most <see cref="MaxWindows"/>, sampled evenly, keeping the last.
    /// </summary>
    public IReadOnlyList<(string Passage, int[] Tokens)> Passages(string text) =>
        PassagesAt(text).Select(p => (p.Passage, p.Tokens)).ToList();

    /// <summary><see cref="Passages"/> with where each passage's sentence starts in <paramref name="text"/> (0 for a text scored whole).</summary>
    private List<(string Passage, int[] Tokens, int Start)> PassagesAt(string text)
    {
        var whole = embedder.Tokenize(text);
        if (whole.Length <= ScoringWindowTokens) return [(text, whole, 0)];
        var passages = new List<(string, int[], int)>();
        var start = 0;
        foreach (Match? boundary in SentenceBreak().Matches(text).Append(null))
        {
            var end = boundary?.Index ?? text.Length;
            var sentence = text[start..end];
            var at = start;
            if (boundary is not null) start = boundary.Index + boundary.Length;
            if (string.IsNullOrWhiteSpace(sentence)) continue;
            var tokens = embedder.Tokenize(sentence);
            if (tokens.Length == 0) continue;
            if (tokens.Length <= ScoringWindowTokens) { passages.Add((sentence, tokens, at)); continue; }
            foreach (var window in TextEmbedder.Windows(tokens, int.MaxValue, ScoringWindowTokens))
                passages.Add((embedder.Decode(window.TokenIds), window.TokenIds, at));
        }
        if (passages.Count == 0) return [(text, whole[..ScoringWindowTokens], 0)];
        if (passages.Count <= MaxWindows) return passages;
        return Enumerable.Range(0, MaxWindows)
            .Select(i => passages[(int)Math.Round(i * (passages.Count - 1) / (double)(MaxWindows - 1))])
            .Distinct().ToList();
    }

    [GeneratedRegex(@"(?<=[.!?…])\s+|[\r\n]+")]
    private static partial Regex SentenceBreak();

    /// <summary>Every field a viewer reads, one per line; comments are part of what the upload shows.</summary>
    public static string Compose(UploadContent upload) => Lines(upload, withComments: true);

    /// <summary>
    /// The creator's own words (caption, hashtags, transcript), the text whose vector is kept: a re-upload arrives
    /// with other comments, which must not make it look like another item.
    /// </summary>
    public static string CreatorText(UploadContent upload) => Lines(upload, withComments: false);

    private static string Lines(UploadContent upload, bool withComments)
    {
        var text = new StringBuilder();
        void Line(string? value) { if (!string.IsNullOrWhiteSpace(value)) text.AppendLine(value); }
        Line(upload.Caption);
        Line(string.Join(' ', upload.Hashtags));
        Line(upload.Transcript);
        // OCR (issue 15): text read in the upload's pictures, marked so the quoted passage says where it came from.
        Line(upload.ImageText is { Length: > 0 } read ? $"[text in image] {read}" : null);
        if (withComments)
            foreach (var comment in upload.Comments) Line(comment);
        return text.ToString();
    }
}
