using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Models;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Scoring;

/// <summary>A host with the built-in text scorer on: the shipped heads, registered live at start-up, score real uploads.</summary>
public abstract class TextPipelineFixture(DatabaseProvider provider) : ApiFixture(provider)
{
    protected override bool WithScorer => false;

    protected override IDictionary<string, string?> HostSettings => new Dictionary<string, string?>
    {
        ["Moderation:Scoring:Text:Enabled"] = "true",
        ["Moderation:Scoring:Text:RefreshInterval"] = "00:00:00.100",
    };
}

public sealed class SqliteTextPipelineFixture() : TextPipelineFixture(DatabaseProvider.Sqlite);
public sealed class PostgresTextPipelineFixture() : TextPipelineFixture(DatabaseProvider.Postgres);

public abstract class TextPipelineContract<TFixture>(TFixture fixture) where TFixture : TextPipelineFixture
{
    private static readonly string[] ShippedCategories =
        ["bias", "harm", "harm.harassment", "harm.hate", "harm.self_harm", "harm.sexual", "harm.violence", "misinformation"];

    private TestApi Api => fixture.Api;

    private async Task<JsonElement> ScoreAsync(string caption, string? transcript = null)
    {
        var id = (await Api.PostUploadAsync(new { externalId = $"text-{Guid.NewGuid():N}", caption, transcript }))
            .GetProperty("id").GetString()!;
        var upload = await Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(120));
        upload.GetProperty("status").GetString().Should().NotBe("queued");
        return upload;
    }

    private static JsonElement Score(JsonElement upload, string category, bool shadow = false) =>
        upload.GetProperty("scores").EnumerateArray()
            .Single(s => s.GetProperty("category").GetString() == category && s.GetProperty("shadow").GetBoolean() == shadow);

    private async Task<List<JsonElement>> LiveModelsAsync() =>
        (await Api.Client.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("models").EnumerateArray()
            .Where(m => m.GetProperty("state").GetString() == "live").Select(m => m.Clone()).ToList();

    [Fact]
    public async Task The_shipped_heads_are_registered_live_and_score_real_uploads()
    {
        var live = await LiveModelsAsync();
        live.Select(m => m.GetProperty("category").GetString()).Should().BeEquivalentTo(ShippedCategories);
        var all = (await Api.Client.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("models").EnumerateArray();
        all.Where(m => m.GetProperty("registeredBy").GetString() == "system:shipped-models")
            .Select(m => m.GetProperty("category").GetString()).Should().BeEquivalentTo(ShippedCategories);

        var calm = await ScoreAsync("Lovely morning walk with my dog in the park, the sun is out");
        var threat = await ScoreAsync("I know where you live and I am going to stab you tonight");

        calm.GetProperty("status").GetString().Should().Be("allowed");
        foreach (var category in ShippedCategories)
        {
            var score = Score(calm, category);
            score.GetProperty("score").GetDouble().Should().BeLessThan(0.5, category);
            score.GetProperty("scorer").GetString().Should().Be("text");
            score.GetProperty("modelVersion").GetString().Should()
                .Be(live.Single(m => m.GetProperty("category").GetString() == category).GetProperty("version").GetString());
        }
        threat.GetProperty("status").GetString().Should().BeOneOf("in_review", "actioned");
        Score(threat, "harm.violence").GetProperty("score").GetDouble().Should().BeGreaterThan(0.5);
        Score(threat, "harm.violence").GetProperty("explanations")[0].GetString().Should().StartWith("scored the whole text");
        Score(threat, "harm.sexual").GetProperty("score").GetDouble().Should().BeLessThan(0.5);
    }

    [Fact]
    public async Task An_upload_with_no_words_gets_no_text_score_and_says_why()
    {
        var upload = await ScoreAsync("😂😂😂 https://example.com/clip/7");
        upload.GetProperty("status").GetString().Should().Be("allowed");
        upload.GetProperty("scores").EnumerateArray().Should().BeEmpty("nothing is scored for words that are not there");
        var unscored = upload.GetProperty("unscored").EnumerateArray().Single();
        unscored.GetProperty("code").GetString().Should().Be("no_text");
        unscored.GetProperty("scorer").GetString().Should().Be("text");
        unscored.GetProperty("reason").GetString().Should().Contain("emoji").And.Contain("links");
        upload.GetProperty("statusDetail").GetString().Should().StartWith("not scored: text: no text score");
        var signals = await Api.ReadAllSignalsAsync();
        signals.Should().NotContain(s => s.GetProperty("uploadId").GetString() == upload.GetProperty("id").GetString());
    }

    [Fact]
    public async Task An_upload_in_another_language_goes_to_review_unscored_and_the_signal_says_why()
    {
        var upload = await ScoreAsync("Los inmigrantes son basura, hay que echarlos a todos del país");
        upload.GetProperty("status").GetString().Should().Be("in_review");
        upload.GetProperty("scores").EnumerateArray().Should().BeEmpty("an English model's score of Spanish means nothing");
        var unscored = upload.GetProperty("unscored").EnumerateArray().Single();
        unscored.GetProperty("code").GetString().Should().Be("language_unsupported");
        unscored.GetProperty("reason").GetString().Should().Contain("Spanish (es");
        var route = upload.GetProperty("routing").GetProperty("categories").EnumerateArray().Single();
        route.GetProperty("category").GetString().Should().Be("language_unsupported");
        route.GetProperty("outcome").GetString().Should().Be("review");
        var signal = (await Api.ReadAllSignalsAsync()).Single(s => s.GetProperty("uploadId").GetString() == upload.GetProperty("id").GetString());
        signal.GetProperty("category").GetString().Should().Be("language_unsupported");
        signal.GetProperty("action").GetString().Should().Be("none");
        signal.GetProperty("demotionMultiplier").GetDouble().Should().Be(1.0);
    }

    [Fact]
    public async Task A_harmful_sentence_at_the_end_of_a_long_transcript_is_not_averaged_away()
    {
        var filler = string.Join(" ", Enumerable.Range(0, 40).Select(i => $"Step {i}: stir the sauce gently and add a pinch of salt."));
        var upload = await ScoreAsync("cooking tutorial", filler + " And you, the guy in the comments, I will find you and stab you.");
        var violence = Score(upload, "harm.violence");
        violence.GetProperty("score").GetDouble().Should().BeGreaterThan(0.5);
        violence.GetProperty("explanations")[0].GetString().Should().Contain("stab you");
    }

    [Fact]
    public async Task A_claim_in_the_bank_raises_misinformation_and_is_named_until_it_is_retired()
    {
        var post = await Api.Client.PostAsJsonAsync("/v1/claims", new
        {
            text = "5G mobile networks spread the coronavirus",
            sourceUrl = "https://www.who.int/emergencies/diseases/novel-coronavirus-2019/advice-for-public/myth-busters",
        });
        post.StatusCode.Should().Be(HttpStatusCode.Created);
        var claimId = (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await Task.Delay(300); // the scorer re-reads the bank every 100 ms here

        const string caption = "wake up people, the coronavirus is being spread by the 5G masts they put up everywhere";
        var matched = Score(await ScoreAsync(caption), "misinformation");
        matched.GetProperty("score").GetDouble().Should().BeGreaterThanOrEqualTo(0.6);
        matched.GetProperty("explanations")[0].GetString().Should().Contain(claimId).And.Contain("who.int");

        var retire = await Api.Client.PostAsJsonAsync($"/v1/claims/{claimId}/retire", new { reason = "test over" });
        retire.StatusCode.Should().Be(HttpStatusCode.OK);
        await Task.Delay(300);
        var after = Score(await ScoreAsync(caption), "misinformation");
        after.GetProperty("explanations").EnumerateArray().Should().NotContain(e => e.GetString()!.Contains(claimId));
    }

    [Fact]
    public async Task A_misinformation_score_from_the_head_alone_sends_to_review_and_a_repeated_bank_claim_acts()
    {
        static JsonElement Route(JsonElement upload) => upload.GetProperty("routing").GetProperty("categories").EnumerateArray()
            .Single(c => c.GetProperty("category").GetString() == "misinformation");
        const string caption = "the covid vaccine contains microchips so the government can track you";

        // The head is sure, above the default action threshold (0.9), but cannot check a fact: a person decides.
        var alone = await ScoreAsync(caption);
        Score(alone, "misinformation").GetProperty("score").GetDouble().Should().BeGreaterThanOrEqualTo(0.9);
        alone.GetProperty("status").GetString().Should().Be("in_review");
        Route(alone).GetProperty("outcome").GetString().Should().Be("review");
        Route(alone).GetProperty("reason").GetString().Should().Contain("review only").And.Contain("ActOnModels");

        // Once the claim is in the bank with its fact-check, a post that repeats it is actioned.
        var post = await Api.Client.PostAsJsonAsync("/v1/claims", new
        {
            text = "COVID-19 vaccines contain microchips to track people",
            sourceUrl = "https://www.reuters.com/article/factcheck-coronavirus-vaccine-microchip",
        });
        post.StatusCode.Should().Be(HttpStatusCode.Created);
        var claimId = (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        try
        {
            await Task.Delay(300); // the scorer re-reads the bank every 100 ms here
            var repeated = await ScoreAsync(caption);
            Score(repeated, "misinformation").GetProperty("explanations")[0].GetString().Should().StartWith("matches").And.Contain(claimId);
            repeated.GetProperty("status").GetString().Should().Be("actioned");
            Route(repeated).GetProperty("outcome").GetString().Should().Be("action");

            // A post that debunks the same claim gets nothing from it, and its head score acts on nothing either.
            var debunk = await ScoreAsync("No, the covid vaccine does not contain microchips. That claim is false, there is nothing in it that can track you.");
            Score(debunk, "misinformation").GetProperty("explanations")[0].GetString().Should().StartWith("debunks");
            debunk.GetProperty("status").GetString().Should().NotBe("actioned");
        }
        finally
        {
            (await Api.Client.PostAsJsonAsync($"/v1/claims/{claimId}/retire", new { reason = "test over" })).StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task A_shadow_model_is_scored_and_stored_but_not_routed_on_until_it_is_promoted()
    {
        var registry = Api.Services.GetRequiredService<ModelRegistry>();
        var live = (await registry.ActiveAsync(CancellationToken.None)).Single(m => m.Category == "harm.sexual" && m.State == ModelStates.Live);
        var artifact = await registry.ArtifactAsync(live.Category, live.Version, CancellationToken.None);
        var candidate = $"harm.sexual-candidate-{Guid.NewGuid():N}"[..40];
        await registry.RegisterAsync("harm.sexual", candidate, "text", live.Card, live.Metrics, artifact!, ModelStates.Shadow, "test", CancellationToken.None);
        await Task.Delay(300);

        var upload = await ScoreAsync("selling my spicy pics, dm me for nudes");
        var liveScore = Score(upload, "harm.sexual");
        var shadowScore = Score(upload, "harm.sexual", shadow: true);
        liveScore.GetProperty("modelVersion").GetString().Should().Be(live.Version);
        shadowScore.GetProperty("modelVersion").GetString().Should().Be(candidate);
        shadowScore.GetProperty("score").GetDouble().Should().BeApproximately(liveScore.GetProperty("score").GetDouble(), 1e-9);
        upload.GetProperty("routing").GetProperty("categories").EnumerateArray()
            .Single(c => c.GetProperty("category").GetString() == "harm.sexual").GetProperty("modelVersion").GetString().Should().Be(live.Version);
        var signals = await Api.ReadAllSignalsAsync();
        signals.Should().NotContain(s => s.GetProperty("modelVersion").GetString() == candidate);

        var promote = await Api.Client.PostAsJsonAsync($"/v1/models/harm.sexual/{candidate}/state", new { state = "live", reason = "candidate agrees" });
        promote.StatusCode.Should().Be(HttpStatusCode.OK);
        await Task.Delay(300);
        var later = await ScoreAsync("selling my spicy pics, dm me for nudes");
        Score(later, "harm.sexual").GetProperty("modelVersion").GetString().Should().Be(candidate);
        later.GetProperty("scores").EnumerateArray().Should().NotContain(s => s.GetProperty("modelVersion").GetString() == live.Version);
        (await registry.FindAsync("harm.sexual", live.Version, CancellationToken.None))!.State.Should().Be(ModelStates.Retired);
    }

    [Fact]
    public async Task The_feed_reuses_the_scorers_stored_text_vector_and_embeds_only_uploads_scored_without_one()
    {
        var demo = Api.Services.GetRequiredService<Moderation.Api.Feed.FeedDemo>();
        var embedder = Api.Services.GetRequiredService<Moderation.Core.Scoring.Text.TextEmbedder>();
        var vectors = Api.Services.GetRequiredService<Moderation.Core.Similarity.UploadEmbeddings>();
        var worded = (await Api.PostUploadAsync(new { externalId = $"feed-{Guid.NewGuid():N}", caption = "Sunrise over the harbour, fishing boats heading out", hashtags = new[] { "sea" } }))
            .GetProperty("id").GetString()!;
        var terse = (await Api.PostUploadAsync(new { externalId = $"feed-{Guid.NewGuid():N}", caption = "wow" }))
            .GetProperty("id").GetString()!;

        // Not in the catalog while unscored (the feed withholds such items anyway), and no embedding was made for them.
        await demo.SyncAsync(CancellationToken.None);
        foreach (var id in new[] { worded, terse }) await Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(120));
        await demo.SyncAsync(CancellationToken.None);

        var stored = (await vectors.ForUploadAsync(worded, CancellationToken.None)).Single(v => v.Embedding.Kind == "text");
        stored.Embedding.Model.Should().Be(embedder.Name);
        demo.Catalog.Find(worded)!.Embedding.Should().Equal(stored.Embedding.Vector, "the item carries the vector the scorer stored");

        // "wow" is too short for a stored vector: the feed embeds it itself, over the same words.
        (await vectors.ForUploadAsync(terse, CancellationToken.None)).Should().NotContain(v => v.Embedding.Kind == "text");
        var own = demo.Catalog.Find(terse)!.Embedding;
        Moderation.Core.Media.ImageEmbedder.Cosine(own, embedder.Embed(["wow"])[0]).Should().BeGreaterThan(0.999);
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteTextPipelineTests(SqliteTextPipelineFixture fixture)
    : TextPipelineContract<SqliteTextPipelineFixture>(fixture), IClassFixture<SqliteTextPipelineFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresTextPipelineTests(PostgresTextPipelineFixture fixture)
    : TextPipelineContract<PostgresTextPipelineFixture>(fixture), IClassFixture<PostgresTextPipelineFixture>;
