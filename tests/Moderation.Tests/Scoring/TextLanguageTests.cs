using FluentAssertions;
using Moderation.Core.Scoring.Text;

namespace Moderation.Tests.Scoring;

/// <summary>Language identification with Lingua's real models (shipped in its NuGet package).</summary>
public sealed class TextLanguageTests
{
    private static readonly TextLanguage Languages = TextLanguage.Shared;

    [Theory]
    [InlineData("Ayer fui al cine con mis amigos y la película fue increíble", "es")]
    [InlineData("Je suis allé au marché ce matin avec ma sœur", "fr")]
    [InlineData("Flüchtlinge sind Ungeziefer, schickt sie alle zurück", "de")]
    [InlineData("Meu cachorro descobriu o espelho hoje e não para de latir", "pt")]
    [InlineData("Это мой любимый рецепт борща", "ru")]
    [InlineData("今天天气很好，我们去公园散步吧", "zh")]
    [InlineData("오늘 정말 재미있었어요", "ko")]
    [InlineData("هذا أفضل يوم في حياتي", "ar")]
    public void A_text_in_another_language_is_not_supported(string text, string code)
    {
        var verdict = Languages.Identify(text);
        verdict.Supported.Should().BeFalse();
        verdict.IsoCode.Should().Be(code);
        verdict.Confidence.Should().BeInRange(TextLanguage.MinimumConfidence, 1);
    }

    [Theory]
    [InlineData("bitch ass nigga square up lmao")]                  // Lingua alone calls slang like this Yoruba or Tagalog
    [InlineData("ooo Logan pulling bitches")]
    [InlineData("lol ok")]                                           // too short to tell
    [InlineData("Sunday lunch with my abuela 🥘")]
    [InlineData("merci for the love guys, you are the best")]
    [InlineData("Привет 你好 مرحبا I will find you and hurt you")]  // mostly English with greetings in other scripts
    [InlineData("Pasta night at home")]
    public void English_slang_short_posts_and_code_switching_are_read_as_english(string text) =>
        Languages.Identify(text).Supported.Should().BeTrue();

    [Fact]
    public void Identification_can_be_turned_off() =>
        TextLanguage.EnglishOnly.Identify("Ayer fui al cine con mis amigos").Supported.Should().BeTrue();
}
