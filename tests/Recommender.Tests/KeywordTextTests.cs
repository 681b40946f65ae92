using FluentAssertions;
using Recommender.Core.Catalog;

namespace Recommender.Tests;

public sealed class KeywordTextTests
{
    [Theory]
    [InlineData("Spoilers", "spoiler")]
    [InlineData("SPOILER", "spoiler")]
    [InlineData("spoiling", "spoil")]
    [InlineData("spoiled", "spoil")]
    [InlineData("Café", "cafe")]
    [InlineData("parties", "party")]
    [InlineData("matches", "match")]
    [InlineData("spoil-er", "spoiler")]
    [InlineData("glass", "glass")]
    public void Variants_reduce_to_the_same_token(string word, string expected) =>
        KeywordText.Tokens(word).Should().Equal(expected);

    [Fact]
    public void Text_is_split_on_spaces_and_punctuation() =>
        KeywordText.Tokens("Big SPOILERS: the ending!! #finale").Should().Equal("big", "spoiler", "the", "end", "finale");

    [Fact]
    public void A_hashtag_is_one_token_without_its_hash() =>
        KeywordText.Hashtag("#SpoilerAlert").Should().Be("spoileralert");

    [Fact]
    public void Blank_text_has_no_tokens() => KeywordText.Tokens("  !! ").Should().BeEmpty();
}
