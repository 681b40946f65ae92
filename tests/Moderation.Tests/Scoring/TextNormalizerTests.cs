using FluentAssertions;
using Moderation.Core.Scoring.Text;

namespace Moderation.Tests.Scoring;

public sealed class TextNormalizerTests
{
    [Theory]
    [InlineData("h\u0430te", "hate")]                           // Cyrillic а inside a Latin word
    [InlineData("\u0455lut", "slut")]                            // Cyrillic ѕ
    [InlineData("\u0441\u0443nt", "cynt")]                       // Cyrillic с and у read as c and y, not s and u
    [InlineData("sc\u0430m \u03BFver", "scam over")]              // Cyrillic а, Greek ο
    [InlineData("m\u200Bu\u200Cs\u200Dl\u2060ims", "muslims")]   // zero-width characters
    [InlineData("ｈａｔｅ", "hate")]                              // full-width
    [InlineData("𝐡𝐚𝐭𝐞", "hate")]                                 // mathematical bold
    [InlineData("w0men", "women")]
    [InlineData("d1sabled", "disabled")]
    [InlineData("subhum@n", "subhuman")]
    [InlineData("m u s l i m s are", "muslims are")]
    [InlineData("ﬁlthy", "filthy")]                              // ligature
    [InlineData("ⓗⓐⓣⓔ", "hate")]                                 // circled letters
    [InlineData("café naïve", "cafe naive")]                     // accents fold, as the uncased tokenizer folds them anyway
    [InlineData("k.y.s", "k.y.s")]                               // three letters are left alone
    [InlineData("k.i.l.l yourself", "kill yourself")]
    [InlineData("g4y p30pl3 4r3 d1sgust1ng fr34ks", "gay people 4r3 disgusting freaks")]   // one letter of its own is too few to read "4r3"
    public void Obfuscated_spellings_read_as_a_reader_reads_them(string input, string expected) =>
        TextNormalizer.Normalize(input).Should().Be(expected);

    [Theory]
    [InlineData("covid19 cases rose in 2020")]
    [InlineData("I scored 3 goals, 2nd time this season")]
    [InlineData("Москва — столица России")]                      // one script, not Latin: untouched
    [InlineData("東京は大きい")]
    [InlineData("wow!! great $100 deal")]
    [InlineData("meet at 4am, bring the mp3 and the 1st aid kit")]
    [InlineData("family: 👨‍👩‍👧 love")]                          // the emoji's zero-width joiners stay
    public void Ordinary_text_is_left_as_it_is(string input) =>
        TextNormalizer.Normalize(input).Should().Be(input);

    [Theory]
    [InlineData("look at this https://t.co/AbC123 and www.example.org/x?y=1", "look at this http and http")]
    [InlineData("@jess_22 you are so right", "@user you are so right")]
    [InlineData("@a @b @c @d thanks all", "@user thanks all")]
    [InlineData("RT @news_bot: big storm coming", "big storm coming")]
    [InlineData("see you at 5 @ the park", "see you at 5 @ the park")]                   // a lone @ is not a handle
    [InlineData("#StopAsianHate #BlackLivesMatter #fyp", "#Stop Asian Hate #Black Lives Matter #fyp")]
    [InlineData("#COVID19 #NYCMarathon", "#COVID19 #NYC Marathon")]
    public void Platform_conventions_are_written_one_way(string input, string expected) =>
        TextNormalizer.Normalize(input).Should().Be(expected);

    [Fact]
    public void Lone_surrogates_become_replacement_characters_instead_of_failing()
    {
        var broken = "bad \uD800 text \uDC00 end \uD83D";
        var normalized = TextNormalizer.Normalize(broken);
        normalized.Should().Be("bad \uFFFD text \uFFFD end \uFFFD");
    }

    [Fact]
    public void Empty_and_null_are_empty() => (TextNormalizer.Normalize(null) + TextNormalizer.Normalize("")).Should().BeEmpty();
}
