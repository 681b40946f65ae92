using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Moderation.Core.Media;
using Moderation.Core.Policies;
using Moderation.Core.Scoring;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Media;

/// <summary>
/// The shipped nsfwjs classifier as a deployment runs it: registered live for harm.sexual at start-up, scoring every
/// image frame through the real host. (No sexual image is used or needed: the conversion is checked against the
/// original's outputs in <see cref="NsfwjsConversionTests"/>; here, that it is wired in and routes to review only.)
/// </summary>
[Collection(HostCollection.Name)]
public sealed class ShippedImageModelTests(SqliteShippedImageApiFixture fixture) : IClassFixture<SqliteShippedImageApiFixture>
{
    [Fact]
    public async Task The_shipped_nsfwjs_model_is_registered_live_for_harm_sexual_and_scores_an_uploaded_photo()
    {
        var models = await fixture.Api.Client.GetFromJsonAsync<JsonElement>("/v1/models?category=harm.sexual");
        var shipped = models.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("version").GetString() == "nsfwjs-mobilenet-v2-4.4.0");
        shipped.GetProperty("state").GetString().Should().Be("live");
        shipped.GetProperty("scorer").GetString().Should().Be(ImageScorer.CustomKind);

        var photo = File.ReadAllBytes(Path.Combine(PdqReferenceTests.FixtureDirectory, "q1050.jpg"));
        var id = (await fixture.Api.PostUploadAsync(new
        {
            externalId = $"shipped-{Guid.NewGuid():N}"[..24],
            media = new[] { new { kind = "image", fileName = "street.jpg", contentBase64 = Convert.ToBase64String(photo) } },
        })).GetProperty("id").GetString()!;
        var upload = await fixture.Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(180));
        var score = upload.GetProperty("scores").EnumerateArray().Single(s => s.GetProperty("modelVersion").GetString() == "nsfwjs-mobilenet-v2-4.4.0");
        score.GetProperty("category").GetString().Should().Be("harm.sexual");
        score.GetProperty("score").GetDouble().Should().BeLessThan(0.05, "a street photograph is neutral");
        upload.GetProperty("status").GetString().Should().Be("allowed", upload.ToString());
    }
}

public sealed class ReviewOnlyRoutingTests
{
    private static RoutingPolicy Policy(params string[] actOn) => new(new RoutingPolicyOptions { ActOnModels = [.. actOn] });

    [Fact]
    public void A_review_only_model_above_the_action_threshold_sends_the_upload_to_review_until_the_policy_lets_it_act()
    {
        var score = new CategoryScore("harm.sexual", 0.99, "nsfwjs-mobilenet-v2-4.4.0", [], ReviewOnly: true);
        var held = Policy().Route([score]);
        held.Status.Should().Be("in_review");
        held.Categories.Single().Outcome.Should().Be(RouteOutcome.Review);
        held.Categories.Single().Reason.Should().Contain("routes to review only until the policy lists it in ActOnModels");

        Policy("nsfwjs-mobilenet-v2-*").Route([score]).Status.Should().Be("actioned");
        Policy("nsfwjs-mobilenet-v2-4.4.0").Route([score]).Status.Should().Be("actioned");
        Policy("nsfwjs-mobilenet-v2-5.0.0").Route([score]).Status.Should().Be("in_review");
    }

    [Fact]
    public void Another_model_s_action_is_not_hidden_by_a_higher_review_only_score()
    {
        var decision = Policy().Route([
            new CategoryScore("harm.sexual", 0.99, "nsfwjs-mobilenet-v2-4.4.0", [], ReviewOnly: true),
            new CategoryScore("harm.sexual", 0.93, "text-head-1", []),
        ]);
        decision.Status.Should().Be("actioned");
        decision.Categories.Single().ModelVersion.Should().Be("text-head-1");
    }
}
