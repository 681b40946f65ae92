using FluentAssertions;
using Moderation.Core.Scoring.Text;

namespace Moderation.Tests.Scoring;

public sealed class TextContentTests
{
    [Theory]
    [InlineData("", "it is empty")]
    [InlineData("   \n\t ", "it is empty")]
    [InlineData("\u200B\u200D", "it is empty")]
    [InlineData("😂😂😂", "it holds only emoji or symbols")]
    [InlineData("🇧🇷🇧🇷", "it holds only emoji or symbols")]
    [InlineData("...!!!?", "it holds only punctuation or single letters")]
    [InlineData(":-D", "it holds only punctuation or single letters")]
    [InlineData("2024 10/10 100%", "it holds only numbers and punctuation or single letters")]
    [InlineData("https://example.com/watch?v=abc123", "it holds only links and punctuation or single letters")]
    [InlineData("www.example.org/clip/7", "it holds only links")]
    [InlineData("@jess_22 @mikey.cooks", "it holds only @handles")]
    [InlineData("https://example.net/a/b?c=1 😂 @lena.art", "it holds only links, @handles and emoji or symbols")]
    [InlineData("bad \uD800 half", null)]
    public void A_text_without_words_says_what_it_holds(string text, string? expected)
    {
        var nothing = TextContent.NothingToJudge(text);
        if (expected is null) nothing.Should().BeNull();
        else nothing.Should().StartWith(expected[..Math.Min(expected.Length, 18)]).And.NotBeNull();
    }

    [Theory]
    [InlineData("lol")]
    [InlineData("ok")]
    [InlineData("#fyp #foryou")]
    [InlineData("ⓚⓘⓛⓛ them")]              // letters dressed as symbols are words once read
    [InlineData("今日")]                     // a script without spaces: one character is a word
    [InlineData("Привет")]
    [InlineData("🔥 this slaps https://x.co/1")]
    public void Words_in_any_script_or_disguise_are_judged(string text) => TextContent.NothingToJudge(text).Should().BeNull();

    [Fact]
    public void Invalid_utf16_alone_is_nothing_to_judge() =>
        TextContent.NothingToJudge("\uD800\uDC00\uDC00").Should().NotBeNull();
}
