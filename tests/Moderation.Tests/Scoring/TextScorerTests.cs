using FluentAssertions;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Training.Text;

namespace Moderation.Tests.Scoring;

public sealed class TextScorerTests(EmbedderFixture fixture) : IClassFixture<EmbedderFixture>, IDisposable
{
    private readonly string models = Directory.CreateTempSubdirectory("moderation-text-models-").FullName;
    private static readonly string[] Topics = ["cooking", "football", "my dog", "this city", "the new phone", "gardening", "the weather", "jazz", "my neighbours", "this game"];

    private TextScorer Scorer()
    {
        var texts = new List<string>();
        var labels = new List<bool>();
        foreach (var t in Topics)
        {
            texts.AddRange([$"I really enjoy {t}, what a lovely day", $"{t} makes me happy, thanks for sharing",
                            $"I will find you and hurt you because of {t}", $"people who like {t} deserve to be beaten up"]);
            labels.AddRange([false, false, true, true]);
        }
        var head = TextHeadTraining.Train(texts, fixture.Embedder.Embed(texts), labels);
        HeadFiles.Save(models, head, new HeadCard("harm.violence", "harm.violence-test-1", TextEmbedder.ModelName, DateTimeOffset.UtcNow,
            "synthetic", "none", texts.Count, 0, double.NaN, double.NaN, double.NaN));
        return new TextScorer(fixture.Embedder, TextModels.Load(models));
    }

    private static UploadContent Upload(string id, string? caption = null, string? transcript = null) =>
        new(id, id, null, caption, [], transcript, [], "en", []);

    [Fact]
    public async Task Each_head_scores_each_upload_with_its_model_version_and_the_passage_that_decided()
    {
        var scorer = Scorer();
        var result = await scorer.ScoreAsync([Upload("calm", caption: "what a lovely day for gardening"), Upload("threat", caption: "I will find you and hurt you")], CancellationToken.None);
        ScorerOutput.Validate(scorer.Name, result, new HashSet<string> { "calm", "threat" });
        var calm = result.Single(r => r.UploadId == "calm").Scores.Single();
        var threat = result.Single(r => r.UploadId == "threat").Scores.Single();
        calm.Category.Should().Be("harm.violence");
        calm.ModelVersion.Should().Be("harm.violence-test-1");
        threat.ReviewOnly.Should().BeFalse("only misinformation waits for a fact-check");
        threat.Score.Should().BeGreaterThan(calm.Score + 0.3);
        threat.Explanations.Single().Should().StartWith("scored the whole text (").And.NotContain("hurt you", "a short text is scored whole; its words are not repeated");
    }

    [Fact]
    public async Task A_threat_at_the_end_of_a_long_transcript_is_not_averaged_away()
    {
        var scorer = Scorer();
        var filler = string.Join(' ', Enumerable.Repeat("today we are cooking a lovely curry with onions and garlic, it makes me happy.", 60));
        var result = await scorer.ScoreAsync([
            Upload("long-calm", transcript: filler),
            Upload("long-threat", transcript: filler + " and I will find you and hurt you."),
        ], CancellationToken.None);
        var calm = result.Single(r => r.UploadId == "long-calm").Scores.Single().Score;
        var threat = result.Single(r => r.UploadId == "long-threat").Scores.Single();
        threat.Score.Should().BeGreaterThan(calm + 0.2);
        threat.Explanations.Single().Should().StartWith("highest of ").And.Contain("hurt you");
    }

    [Fact]
    public async Task A_parent_category_scores_at_least_its_highest_sub_category_and_says_so()
    {
        var violence = Scorer();
        var texts = Topics.SelectMany(t => new[] { $"I really enjoy {t}, what a lovely day", $"I will find you and hurt you because of {t}" }).ToList();
        // A parent head that learnt the opposite: it scores the threat low, its sub-category high.
        var labels = texts.Select((_, i) => i % 2 == 0).ToList();
        var parent = TextHeadTraining.Train(texts, fixture.Embedder.Embed(texts), labels);
        HeadFiles.Save(models, parent, new HeadCard("harm", "harm-test-1", TextEmbedder.ModelName, DateTimeOffset.UtcNow, "synthetic", "none", texts.Count, 0,
            double.NaN, double.NaN, double.NaN));
        var both = new TextScorer(fixture.Embedder, TextModels.Load(models));
        var scores = (await both.ScoreTextsAsync(["I will find you and hurt you"]))[0].Scores;
        var child = scores.Single(s => s.Category == "harm.violence");
        var harm = scores.Single(s => s.Category == "harm");
        harm.Score.Should().Be(child.Score);
        harm.Explanations[0].Should().StartWith("raised from ").And.Contain("harm.violence");
        harm.ModelVersion.Should().Be("harm-test-1");
        _ = violence;
    }

    [Fact]
    public async Task A_text_that_fits_the_encoders_window_is_scored_whole_as_the_heads_were_trained()
    {
        var scorer = Scorer();
        var text = string.Join(" ", Enumerable.Repeat("we cooked a lovely curry today.", 20)) + " I will find you and hurt you.";
        var passages = scorer.Passages(text);
        passages.Should().ContainSingle().Which.Passage.Should().Be(text);
        passages[0].Tokens.Length.Should().BeLessThanOrEqualTo(TextEmbedder.WindowTokens);
        var longer = string.Join(" ", Enumerable.Repeat("we cooked a lovely curry today.", 60));
        scorer.Passages(longer).Should().HaveCountGreaterThan(1).And.OnlyContain(p => p.Tokens.Length <= TextScorer.SentenceWindowTokens);
    }

    [Fact]
    public async Task No_words_and_another_language_get_no_score_and_say_why()
    {
        var scorer = Scorer();
        var result = await scorer.ScoreAsync([
            Upload("empty", caption: ""), Upload("nothing"), Upload("emoji", caption: "😂😂😂 🔥"), Upload("link", caption: "https://example.com/v/1 @jess_22"),
            Upload("spanish", caption: "Ayer fui al cine con mis amigos y la película fue increíble"),
            Upload("words", caption: "lol"),
        ], CancellationToken.None);
        ScorerOutput.Validate(scorer.Name, result, result.Select(r => r.UploadId).ToHashSet());
        UploadScores Of(string id) => result.Single(r => r.UploadId == id);
        foreach (var id in new[] { "empty", "nothing", "emoji", "link" })
        {
            Of(id).Scores.Should().BeEmpty(id);
            Of(id).Abstentions!.Single().Code.Should().Be(AbstentionCodes.NoText);
        }
        Of("empty").Abstentions![0].Reason.Should().Be("no text score: it is empty");
        Of("emoji").Abstentions![0].Reason.Should().Contain("emoji");
        Of("link").Abstentions![0].Reason.Should().Contain("links").And.Contain("@handles");
        var spanish = Of("spanish");
        spanish.Scores.Should().BeEmpty();
        spanish.Abstentions!.Single().Code.Should().Be(AbstentionCodes.LanguageUnsupported);
        spanish.Abstentions![0].Reason.Should().Contain("Spanish (es");
        spanish.Abstentions![0].ModelVersion.Should().StartWith("lingua");
        Of("words").Scores.Should().ContainSingle();
        Of("words").Abstentions.Should().BeNull();
    }

    [Fact]
    public async Task Hostile_text_gets_a_score_or_a_reason_never_a_crash()
    {
        var scorer = Scorer();
        var megabyte = string.Concat(Enumerable.Repeat("blah blah. ", 100_000));
        var result = await scorer.ScoreAsync([
            Upload("megabyte", transcript: megabyte + "I will find you and hurt you."),
            Upload("ten-thousand", caption: new string('a', 10_000)),
            Upload("surrogates", caption: "bad \uD800 half \uDC00 pairs \uD83D"),
            Upload("controls", caption: "\u0000\u0007\u202Eevil\u200B\uFEFF"),
            Upload("mixed", caption: "Привет 你好 مرحبا I will find you and hurt you"),
            Upload("only-broken", caption: "\uD800\uDC00\uDC00"),
        ], CancellationToken.None);
        result.Should().HaveCount(6).And.OnlyContain(r => r.Scores.Count == 1 || r.Abstentions!.Count == 1);
        result.Single(r => r.UploadId == "only-broken").Abstentions!.Single().Code.Should().Be(AbstentionCodes.NoText);
        result.Where(r => r.UploadId != "only-broken").Should().OnlyContain(r => r.Scores.Count == 1);
        ScorerOutput.Validate(scorer.Name, result, result.Select(r => r.UploadId).ToHashSet());
        result.Single(r => r.UploadId == "megabyte").Scores.Single().Explanations.Single().Should().Contain("hurt you");
        scorer.Passages(megabyte).Count.Should().BeLessThanOrEqualTo(TextScorer.MaxWindows);
    }

    [Fact]
    public async Task A_post_that_debunks_a_known_claim_is_not_raised_and_the_explanation_says_which_claim()
    {
        var claimText = "drinking bleach cures covid";
        var claims = new FixedClaims([new KnownClaim("claim-1", claimText, "https://example.org/fact-check", fixture.Embedder.Embed([claimText])[0])]);
        var scorer = new TextScorer(fixture.Embedder, new FixedHeads([]), claims);
        var result = await scorer.ScoreTextsAsync(["Please never drink bleach, it does not cure covid", "Drinking bleach will cure covid, try it"]);
        result[0].Scores.Should().BeEmpty("a debunk raises nothing, and without a head there is nothing else to say");
        result[1].Scores.Single().Category.Should().Be("misinformation");

        // With a live misinformation head, the debunk keeps the head's own score and the explanation names the claim.
        var texts = new List<string>();
        var labels = new List<bool>();
        foreach (var t in Topics)
        {
            texts.AddRange([$"the truth about {t} is in this report", $"secret cure found: {t} heals every disease overnight"]);
            labels.AddRange([false, true]);
        }
        var head = TextHeadTraining.Train(texts, fixture.Embedder.Embed(texts), labels);
        var card = new HeadCard("misinformation", "misinformation-test-1", TextEmbedder.ModelName, DateTimeOffset.UtcNow, "synthetic", "none", texts.Count, 0,
            double.NaN, double.NaN, double.NaN);
        var withHead = new TextScorer(fixture.Embedder, new FixedHeads([new LoadedHead(card, head)]), claims);
        var debunk = (await withHead.ScoreTextsAsync(["Please never drink bleach, it does not cure covid"]))[0].Scores.Single();
        debunk.Explanations[0].Should().StartWith("debunks known false claim claim-1").And.Contain("does not raise");
        debunk.Score.Should().BeLessThan(0.6);

        // The head's score alone may send an upload to review, not act; a text that repeats a claim of the bank may act.
        var scores = (await withHead.ScoreTextsAsync(["secret cure found: this game heals every disease overnight", "Drinking bleach will cure covid, try it"]))
            .Select(r => r.Scores.Single()).ToList();
        debunk.ReviewOnly.Should().BeTrue();
        scores[0].ReviewOnly.Should().BeTrue("no claim of the bank backs it");
        scores[1].Explanations[0].Should().StartWith("matches known false claim claim-1");
        scores[1].ReviewOnly.Should().BeFalse("it repeats a claim a fact-check refutes");
    }

    [Fact]
    public async Task A_close_claim_raises_misinformation_names_the_claim_and_a_distant_one_does_not()
    {
        var claimText = "drinking bleach cures covid";
        var claims = new FixedClaims([new KnownClaim("claim-1", claimText, "https://example.org/fact-check", fixture.Embedder.Embed([claimText])[0])]);
        var scorer = new TextScorer(fixture.Embedder, new FixedHeads([]), claims);
        var result = await scorer.ScoreTextsAsync(["Drinking bleach will cure covid, try it", "I made pancakes for breakfast"]);
        var matched = result[0].Scores.Single();
        matched.Category.Should().Be("misinformation");
        matched.ModelVersion.Should().Be(TextScorer.ClaimBankVersion);
        matched.Score.Should().BeInRange(0.6, 1.0);
        matched.Explanations.Single().Should().Contain("claim-1").And.Contain("https://example.org/fact-check");
        matched.ReviewOnly.Should().BeFalse();
        result[1].Scores.Should().BeEmpty();
    }

    private sealed class FixedHeads(IReadOnlyList<LoadedHead> heads) : ITextHeadSource
    {
        public ValueTask<IReadOnlyList<LoadedHead>> CurrentAsync(CancellationToken ct) => ValueTask.FromResult(heads);
    }

    private sealed class FixedClaims(IReadOnlyList<KnownClaim> claims) : IClaimSource
    {
        public ValueTask<IReadOnlyList<KnownClaim>> CurrentAsync(CancellationToken ct) => ValueTask.FromResult(claims);
    }

    [Fact]
    public void A_missing_or_empty_model_directory_is_a_clear_error()
    {
        var act = () => TextModels.Load(Path.Combine(models, "absent"));
        act.Should().Throw<DirectoryNotFoundException>();
        var empty = () => TextModels.Load(models);
        empty.Should().Throw<FileNotFoundException>().WithMessage("*holds no heads*");
    }

    public void Dispose()
    {
        try { Directory.Delete(models, recursive: true); }
        catch (IOException) { }
    }
}
