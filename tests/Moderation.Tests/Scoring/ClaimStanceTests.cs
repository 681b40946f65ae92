using FluentAssertions;
using Moderation.Core.Scoring.Text;

namespace Moderation.Tests.Scoring;

public sealed class ClaimStanceTests
{
    [Theory]
    [InlineData("Please never drink bleach, it does not cure covid", "drinking bleach cures covid")]
    [InlineData("No, 5G towers do not spread the coronavirus", "5G mobile networks spread the coronavirus")]
    [InlineData("The idea that vaccines cause autism is a myth that was debunked years ago", "vaccines cause autism")]
    [InlineData("Fact check: the election was not stolen", "the election was stolen")]
    [InlineData("There is no evidence that garlic prevents covid", "eating garlic prevents covid")]
    [InlineData("Stop sharing the chemtrails rumour, it's nonsense", "chemtrails are spraying chemicals on us")]
    public void A_post_that_denies_or_debunks_the_claim_is_recognised(string post, string claim) =>
        ClaimStance.Of(post, claim).Denies.Should().BeTrue();

    [Theory]
    [InlineData("Drinking bleach will cure covid, try it", "drinking bleach cures covid")]
    [InlineData("wake up, the 5G masts are spreading the virus", "5G mobile networks spread the coronavirus")]
    [InlineData("Vaccines are not safe and nobody tested them", "vaccines are not safe")]      // the claim's own negation
    [InlineData("they don't want you to know that lemon water cures cancer", "lemon water cures cancer")]
    [InlineData("I'm not a doctor but drinking bleach cures covid", "drinking bleach cures covid")]
    public void A_post_that_repeats_the_claim_is_not_taken_for_a_denial(string post, string claim) =>
        ClaimStance.Of(post, claim).Denies.Should().BeFalse("a negation of something else than the claim's words is not a denial");
}
