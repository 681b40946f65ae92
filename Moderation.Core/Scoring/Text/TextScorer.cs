using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Moderation.Core.Scoring.Text;

/// <summary>What the text scorer made of one text: a score per head, or the reason it gave none.</summary>
/// <param name="Abstention">Set when the text got no score: nothing to judge, or a language the heads do not read.</param>
public sealed record TextVerdict(IReadOnlyList<CategoryScore> Scores, Abstention? Abstention = null);

/// <summary>
/// Scores an upload's words (caption, hashtags, transcript, text read in its images, comments) with every head of a
/// model directory or the model registry. This is the one scoring path: the pipeline, <c>score</c> and <c>eval</c>
/// all run it, so a figure measured with <c>eval</c> is the figure production gets.
/// <list type="number">
/// <item>The text is normalised once (<see cref="TextNormalizer"/>).</item>
/// <item>A text with no words to judge (<see cref="TextContent"/>) or in a language the heads do not read
///   (<see cref="TextLanguage"/>) gets no score: an <see cref="Abstention"/> says why.</item>
/// <item>A text that fits the encoder's window (<see cref="TextEmbedder.WindowTokens"/> word pieces, which holds
///   nearly every caption and comment) is scored whole, as the heads were trained. A longer one is cut at sentence
///   ends into passages of up to <see cref="PassageTokens"/> word pieces, each head scores every passage, and the
///   head's own aggregation (<see cref="PassageAggregation"/>, chosen and calibrated on held-back long texts when
///   it was trained) makes one probability of them; the explanation quotes the highest passage.</item>
/// <item>Known false claims (the claim bank) raise <c>misinformation</c> for a passage that asserts one, and not for
///   one that denies or debunks it (<see cref="ClaimStance"/>); the explanation names the claim either way.</item>
/// <item>A head's <c>misinformation</c> score is <see cref="CategoryScore.ReviewOnly"/> unless the text asserts a claim
///   of the bank. A text model learns how false claims are worded and what they are about; it cannot check a fact,
///   and it scores some true statements about those topics as high as the claims (the model card's functional suite).
///   So by itself it may send an upload to a person, not act on it: acting takes a refuted claim the post repeats, or
///   a policy that lists the head in <c>ActOnModels</c> (<c>misinformation-*</c>).</item>
/// </list>
/// All passages of a batch go through the encoder in one call.
/// </summary>
/// <param name="passageTokens">
/// Word pieces a passage of a long text packs sentences up to (<see cref="PassageTokens"/>); 0 scores every sentence on
/// its own. Only <c>train-defaults</c> sets another, to measure the choice.
/// </param>
public sealed partial class TextScorer(TextEmbedder embedder, ITextHeadSource heads, IClaimSource? claims = null, ClaimMatchOptions? claimMatch = null,
    TextLanguage? language = null, int passageTokens = TextScorer.PassageTokens) : IUploadScorer
{
    /// <summary>Passages per text; beyond it passages are sampled evenly, always keeping the first and the last.</summary>
    public const int MaxWindows = 64;

    /// <summary>
    /// Word pieces a passage of a text too long to score whole packs its sentences up to; 0: every sentence is a passage
    /// of its own. Chosen on held-back long texts made of many posts, one of them harmful (the model card's passage
    /// tables): for harm, hate and bias every size from 128 down to 32 word pieces scored worse than sentences alone
    /// (harm: log loss 0.582 alone, 0.618 at 32, 0.636 at 64, 0.662 at 128), since a harmful line packed with its
    /// neighbours is diluted by them.
    /// </summary>
    public const int PassageTokens = 0;

    /// <summary>Word pieces per window of a sentence too long to be one passage (windows overlap by half).</summary>
    public const int SentenceWindowTokens = 64;

    /// <summary>The category a claim-bank match raises.</summary>
    public const string Misinformation = "misinformation";

    /// <summary>The model version of a misinformation score that only the claim bank produced (no head is live).</summary>
    public const string ClaimBankVersion = "claim-bank";

    /// <summary>The model version of a <c>no_text</c> abstention: the rule that found nothing to judge.</summary>
    public const string NoTextVersion = "text-content-v1";

    /// <summary>Marks the text read in an upload's images, so the quoted passage says where it came from.</summary>
    public const string ImageTextMarker = "[text in image]";

    private readonly ClaimMatchOptions match = claimMatch ?? new ClaimMatchOptions();
    private readonly TextLanguage languages = language ?? TextLanguage.Shared;

    /// <summary>The scorer's name, stored beside its scores and in the model registry.</summary>
    public const string ScorerName = "text";

    public string Name => ScorerName;

    public async Task<IReadOnlyList<UploadScores>> ScoreAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct)
    {
        var current = await heads.CurrentAsync(ct);
        var known = claims is null ? [] : await claims.CurrentAsync(ct);
        var (verdicts, vectors) = ScoreTexts(batch.Select(Compose).ToList(), batch.Select(CreatorText).ToList(), current, known, ct);
        return batch.Select((u, i) => new UploadScores(u.Id, verdicts[i].Scores,
            vectors[i] is { } vector ? [new UploadEmbedding(EmbeddingKind, embedder.Name, null, null, vector)] : null,
            verdicts[i].Abstention is { } abstention ? [abstention] : null)).ToList();
    }

    /// <summary>The kind of the one vector per upload this scorer returns for near-duplicate search.</summary>
    public const string EmbeddingKind = "text";

    /// <summary>
    /// Fewer word pieces than this and an upload gets no vector: "lol" or a lone emoji says nothing about two uploads
    /// being copies of each other, and every short text would cluster with every other.
    /// </summary>
    public const int MinEmbeddingTokens = 4;

    /// <summary>Scores plain texts as the pipeline scores an upload's words: for each text, its verdict.</summary>
    public async Task<IReadOnlyList<TextVerdict>> ScoreTextsAsync(IReadOnlyList<string> texts, CancellationToken ct = default)
    {
        var current = await heads.CurrentAsync(ct);
        var known = claims is null ? [] : await claims.CurrentAsync(ct);
        return ScoreTexts(texts, null, current, known, ct).Verdicts;
    }

    /// <summary>A text prepared for scoring: its passages (none when it is not scored) or why it is not scored.</summary>
    private sealed record Prepared(List<Passage> Passages, Abstention? Abstention, int WholeTokens);

    /// <summary>A stretch of a text scored on its own: the whole text, or a run of sentences.</summary>
    /// <param name="Start">Where it starts in the original text.</param>
    private sealed record Passage(string Text, string Normalized, int[] Tokens, int Start);

    /// <param name="embedTexts">
    /// Per text, its beginning whose vector is kept for near-duplicate search (the creator's own words, before the
    /// comments), or null. The vector is the normalised mean of the sentence embeddings of the passages that start in it.
    /// </param>
    private (List<TextVerdict> Verdicts, float[]?[] Vectors) ScoreTexts(IReadOnlyList<string> texts, IReadOnlyList<string>? embedTexts,
        IReadOnlyList<LoadedHead> current, IReadOnlyList<KnownClaim> known, CancellationToken ct)
    {
        var (prepared, passages, first, encodings) = Encode(texts, current.Any(h => h.Head.ReadsLayers), ct);
        var sentences = encodings.Select(e => e.Sentence).ToArray();
        var vectors = KeptVectors(texts, embedTexts, prepared, first, passages, sentences);
        var claimMatches = MatchClaims(texts.Count, passages, sentences, known);
        var verdicts = texts.Select((_, i) => (Scores: new List<CategoryScore>(), prepared[i].Abstention)).ToList();
        // Heads with the same text features share one featurisation (most of a head's cost); the groups run side by side.
        var byHead = TextHead.PredictMany(current.Select(h => h.Head).ToList(), passages.Select(p => p.Passage.Normalized).ToList(),
            encodings, ct);
        for (var h = 0; h < current.Count; h++)
        {
            var (card, head, shadow) = current[h];
            var probabilities = byHead[h];
            for (var i = 0; i < texts.Count; i++)
            {
                if (first[i + 1] == first[i]) continue;
                var span = probabilities.AsSpan(first[i], first[i + 1] - first[i]);
                var best = first[i] + span.IndexOf(TensorMax(span));
                var score = span.Length == 1 ? span[0] : (card.Aggregation ?? PassageAggregation.Max).Combine(span);
                score = Math.Clamp(score, 0, 1);
                var whole = span.Length == 1 && passages[best].Passage.Start == 0 && passages[best].Passage.Text.Length == texts[i].Length;
                List<string> reasons = whole
                    ? [WholeTextReason(texts[i], prepared[i].WholeTokens)]
                    : [string.Create(CultureInfo.InvariantCulture, $"highest of {span.Length} passages ({span[best - first[i]]:0.00}): \"{Excerpt(passages[best].Passage.Text)}\"")];
                if (card.Category == Misinformation && claimMatches[i] is { } claim)
                {
                    reasons.Insert(0, claim.Reason);
                    if (claim.Asserts) score = Math.Max(score, claim.Score);
                }
                var reviewOnly = card.Category == Misinformation && claimMatches[i] is not { Asserts: true };
                verdicts[i].Scores.Add(new CategoryScore(card.Category, score, card.ModelVersion, reasons, shadow, ReviewOnly: reviewOnly));
            }
        }
        // With claims but no live misinformation head, the claim bank still speaks for the category.
        if (!current.Any(h => h.Card.Category == Misinformation && !h.Shadow))
            for (var i = 0; i < texts.Count; i++)
                if (claimMatches[i] is { Asserts: true } claim)
                    verdicts[i].Scores.Add(new CategoryScore(Misinformation, claim.Score, ClaimBankVersion, [claim.Reason]));
        return (verdicts.Select(v => new TextVerdict(AtLeastItsChildren(v.Scores), v.Abstention)).ToList(), vectors);
    }

    /// <summary>
    /// A parent category scores at least its highest sub-category (live scores only): a post that is harassment is harm,
    /// whatever the parent head, trained on other data, made of it. The explanation says when this raised it.
    /// </summary>
    private static List<CategoryScore> AtLeastItsChildren(List<CategoryScore> scores)
    {
        for (var i = 0; i < scores.Count; i++)
        {
            var parent = scores[i];
            if (parent.Shadow) continue;
            var child = scores.Where(s => !s.Shadow && s.Category.StartsWith(parent.Category + ".", StringComparison.Ordinal)).MaxBy(s => s.Score);
            if (child is null || child.Score <= parent.Score) continue;
            scores[i] = parent with
            {
                Score = child.Score,
                Explanations = [string.Create(CultureInfo.InvariantCulture,
                    $"raised from {parent.Score:0.00} to its highest sub-category, {child.Category} ({child.Score:0.00})"), .. parent.Explanations],
            };
        }
        return scores;
    }

    /// <summary>Prepares every text (one per core) and encodes all their passages in one call.</summary>
    private (Prepared[] Prepared, List<(int Text, Passage Passage)> Passages, int[] First, TextEncoding[] Encodings) Encode(
        IReadOnlyList<string> texts, bool layers, CancellationToken ct)
    {
        // Normalising, checking, identifying the language and tokenising is the scorer's own work beside the model's:
        // side by side, one text per core.
        var prepared = new Prepared[texts.Count];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct },
            i => prepared[i] = Prepare(texts[i]));
        var passages = new List<(int Text, Passage Passage)>();
        for (var i = 0; i < texts.Count; i++)
            foreach (var passage in prepared[i].Passages)
                passages.Add((i, passage));
        // Passages are in text order: text i owns [first[i], first[i + 1]), empty when it is not scored.
        var first = new int[texts.Count + 1];
        for (int i = 0, p = 0; i <= texts.Count; i++)
        {
            first[i] = p;
            if (i < texts.Count) p += prepared[i].Passages.Count;
        }
        return (prepared, passages, first, embedder.Encode(passages.Select(p => p.Passage.Tokens).ToList(), layers, ct));
    }

    /// <summary>
    /// Each text's passage probabilities from the first head, before they are combined (empty for a text that is not
    /// scored): what a head's <see cref="PassageAggregation"/> is chosen on.
    /// </summary>
    internal async Task<IReadOnlyList<double[]>> PassageProbabilitiesAsync(IReadOnlyList<string> texts, CancellationToken ct)
    {
        var current = await heads.CurrentAsync(ct);
        if (current.Count == 0) throw new InvalidOperationException("There is no head to score passages with.");
        var (_, passages, first, encodings) = Encode(texts, current[0].Head.ReadsLayers, ct);
        var probabilities = TextHead.PredictMany([current[0].Head], passages.Select(p => p.Passage.Normalized).ToList(), encodings, ct)[0];
        return texts.Select((_, i) => probabilities[first[i]..first[i + 1]]).ToList();
    }

    private static double TensorMax(ReadOnlySpan<double> values)
    {
        var max = values[0];
        foreach (var v in values) if (v > max) max = v;
        return max;
    }

    /// <summary>
    /// The kept vector of each text: the mean direction of the sentence embeddings of its passages that start in the
    /// creator's words. A text scored whole has one passage, so its comments are in it too.
    /// </summary>
    private float[]?[] KeptVectors(IReadOnlyList<string> texts, IReadOnlyList<string>? embedTexts, Prepared[] prepared, int[] first,
        List<(int Text, Passage Passage)> passages, float[][] sentences)
    {
        var vectors = new float[]?[texts.Count];
        for (var i = 0; i < texts.Count && embedTexts is not null; i++)
        {
            var own = embedTexts[i];
            if (string.IsNullOrWhiteSpace(own) || !texts[i].StartsWith(own, StringComparison.Ordinal)) continue;
            var parts = Enumerable.Range(first[i], first[i + 1] - first[i]).Where(p => passages[p].Passage.Start < own.Length).ToList();
            var wholeText = first[i + 1] - first[i] == 1 && passages[first[i]].Passage.Text.Length == texts[i].Length;
            var ownTokens = wholeText && own.Length < texts[i].Length ? embedder.Tokenize(own).Length : parts.Sum(p => passages[p].Passage.Tokens.Length);
            if (parts.Count == 0 || ownTokens < MinEmbeddingTokens) continue;
            vectors[i] = MeanDirection(parts.Select(p => sentences[p]).ToList());
        }
        return vectors;
    }

    /// <summary>Checks the text, identifies its language and cuts it into passages.</summary>
    private Prepared Prepare(string text)
    {
        var judged = text.Replace(ImageTextMarker, " ", StringComparison.Ordinal);
        if (TextContent.NothingToJudge(judged) is { } nothing)
            return new Prepared([], new Abstention(AbstentionCodes.NoText, $"no text score: {nothing}", NoTextVersion), 0);
        var verdict = languages.Identify(judged);
        if (!verdict.Supported)
            return new Prepared([], new Abstention(AbstentionCodes.LanguageUnsupported, string.Create(CultureInfo.InvariantCulture,
                $"no text score: written in {verdict.Name} ({verdict.IsoCode}, confidence {verdict.Confidence:0.00}); the text models read English"),
                languages.Version, verdict.Confidence), 0);
        var normalized = TextNormalizer.Normalize(text);
        var whole = embedder.TokenizeNormalized(normalized);
        if (whole.Length <= TextEmbedder.WindowTokens) return new Prepared([new Passage(text, normalized, whole, 0)], null, whole.Length);
        return new Prepared(PassagesOf(text), null, whole.Length);
    }

    /// <summary>
    /// A long text's passages: whole sentences packed up to the passage size in word pieces (a longer sentence in
    /// overlapping windows of that size), at most <see cref="MaxWindows"/>, sampled evenly, keeping the last.
    /// </summary>
    private List<Passage> PassagesOf(string text)
    {
        var passages = new List<Passage>();
        var start = 0;
        (int At, StringBuilder Text, List<int> Tokens)? open = null;
        void Close()
        {
            if (open is { } o && o.Tokens.Count > 0)
            {
                var passageText = o.Text.ToString();
                passages.Add(new Passage(passageText, TextNormalizer.Normalize(passageText), [.. o.Tokens], o.At));
            }
            open = null;
        }
        foreach (Match? boundary in SentenceBreak().Matches(text).Append(null))
        {
            var end = boundary?.Index ?? text.Length;
            var sentence = text[start..end];
            var at = start;
            if (boundary is not null) start = boundary.Index + boundary.Length;
            if (string.IsNullOrWhiteSpace(sentence)) continue;
            var tokens = embedder.Tokenize(sentence);
            if (tokens.Length == 0) continue;
            var size = passageTokens > 0 ? passageTokens : SentenceWindowTokens;
            if (tokens.Length > size)
            {
                Close();
                foreach (var window in TextEmbedder.Windows(tokens, int.MaxValue, size))
                {
                    var decoded = embedder.Decode(window.TokenIds);
                    passages.Add(new Passage(decoded, TextNormalizer.Normalize(decoded), window.TokenIds, at));
                }
                continue;
            }
            if (open is { } current && current.Tokens.Count + tokens.Length > passageTokens) Close();
            open ??= (at, new StringBuilder(), new List<int>());
            if (open.Value.Text.Length > 0) open.Value.Text.Append(' ');
            open.Value.Text.Append(sentence.Trim());
            open.Value.Tokens.AddRange(tokens);
        }
        Close();
        if (passages.Count <= MaxWindows) return passages;
        return Enumerable.Range(0, MaxWindows)
            .Select(i => passages[(int)Math.Round(i * (passages.Count - 1) / (double)(MaxWindows - 1))])
            .Distinct().ToList();
    }

    /// <summary>The passages a text is scored by (one, the whole text, when it fits the encoder's window).</summary>
    public IReadOnlyList<(string Passage, int[] Tokens)> Passages(string text) =>
        Prepare(text).Passages.Select(p => (p.Text, p.Tokens)).ToList();

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

    /// <summary>A text's closest known claim: whether the text asserts it, the score that raises, and the explanation.</summary>
    private sealed record ClaimMatch(bool Asserts, double Score, string Reason);

    /// <summary>The closest known claim per text, if any passage is at least as similar as the threshold, with its stance.</summary>
    private ClaimMatch?[] MatchClaims(int textCount, List<(int Text, Passage Passage)> passages, float[][] sentences, IReadOnlyList<KnownClaim> known)
    {
        var matches = new ClaimMatch?[textCount];
        if (known.Count == 0) return matches;
        var best = new (double Similarity, int Passage, KnownClaim? Claim)[textCount];
        for (var p = 0; p < sentences.Length; p++)
            foreach (var claim in known)
            {
                // Both are unit vectors: the dot product is the cosine similarity.
                double similarity = System.Numerics.Tensors.TensorPrimitives.Dot(sentences[p], claim.Embedding);
                if (similarity > best[passages[p].Text].Similarity) best[passages[p].Text] = (similarity, p, claim);
            }
        for (var i = 0; i < textCount; i++)
        {
            var (similarity, passage, claim) = best[i];
            if (claim is null || similarity < match.Threshold) continue;
            var stance = ClaimStance.Of(passages[passage].Passage.Text, claim.Text);
            var described = string.Create(CultureInfo.InvariantCulture,
                $"known false claim {claim.Id} \"{Excerpt(claim.Text)}\" (similarity {similarity:0.00}; source: {claim.SourceUrl})");
            if (stance.Denies)
            {
                matches[i] = new ClaimMatch(false, 0, $"debunks {described}: {stance.Why}, so the claim does not raise the score");
                continue;
            }
            var span = 1 - match.Threshold;
            var score = span <= 0 ? 1 : match.ScoreAtThreshold + (1 - match.ScoreAtThreshold) * (similarity - match.Threshold) / span;
            matches[i] = new ClaimMatch(true, Math.Clamp(score, 0, 1), $"matches {described}");
        }
        return matches;
    }

    /// <summary>
    /// A text scored whole is not quoted back (the moderator sees it beside the score), except the text read in its
    /// pictures, which the moderator would otherwise have to find in the frames: the reason says it was part of it.
    /// </summary>
    private static string WholeTextReason(string text, int tokens)
    {
        var reason = $"scored the whole text ({tokens} word pieces)";
        var marker = text.IndexOf(ImageTextMarker, StringComparison.Ordinal);
        if (marker < 0) return reason;
        var end = text.IndexOfAny(['\r', '\n'], marker);
        var read = text[(marker + ImageTextMarker.Length)..(end < 0 ? text.Length : end)].Trim();
        return $"{reason}, with {ImageTextMarker}: \"{Excerpt(read)}\"";
    }

    private static string Excerpt(string text) => (text.Length <= 200 ? text : text[..200] + "…").Trim();

    [GeneratedRegex(@"(?<=[.!?…])\s+|[\r\n]+")]
    private static partial Regex SentenceBreak();

    /// <summary>Every field a viewer reads, one per line; comments are part of what the upload shows.</summary>
    public static string Compose(UploadContent upload) => Lines(upload, withComments: true);

    /// <summary>
    /// The creator's own words (caption, hashtags, transcript, text in their images), the text whose vector is kept: a
    /// re-upload arrives with other comments, which must not make it look like another item.
    /// </summary>
    public static string CreatorText(UploadContent upload) => Lines(upload, withComments: false);

    private static string Lines(UploadContent upload, bool withComments)
    {
        var text = new StringBuilder();
        void Line(string? value) { if (!string.IsNullOrWhiteSpace(value)) text.AppendLine(value); }
        Line(upload.Caption);
        Line(string.Join(' ', upload.Hashtags.Where(h => !string.IsNullOrWhiteSpace(h))));
        Line(upload.Transcript);
        // Text read in the upload's pictures (OCR), marked so the quoted passage says where it came from.
        Line(upload.ImageText is { Length: > 0 } read && !string.IsNullOrWhiteSpace(read) ? $"{ImageTextMarker} {read}" : null);
        if (withComments)
            foreach (var comment in upload.Comments) Line(comment);
        return text.ToString();
    }
}
