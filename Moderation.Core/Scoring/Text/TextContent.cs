using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Moderation.Core.Scoring.Text;

/// <summary>
/// Whether a text holds words a text model can judge. A model given an empty string, a row of emoji or a bare link
/// still returns a probability (the shipped harm head once gave an empty caption 0.94), and that number means
/// nothing: such a text gets no text score, and the reason says what it held instead.
/// </summary>
public static partial class TextContent
{
    /// <summary>
    /// Null when the text has a word to judge: a run of two or more letters (a hashtag's letters count) or a letter
    /// of a script written without spaces (Chinese, Japanese, Thai, ...). Otherwise what the text holds, e.g.
    /// "it is empty" or "it holds only emoji and links". Links and @handles are not words.
    /// </summary>
    public static string? NothingToJudge(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.All(c => char.IsWhiteSpace(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format))
            return "it is empty";
        var held = new List<string>();
        var rest = text;
        if (TextNormalizer.Link().IsMatch(rest))
        {
            held.Add("links");
            rest = TextNormalizer.Link().Replace(rest, " ");
        }
        if (TextNormalizer.Handle().IsMatch(rest))
        {
            held.Add("@handles");
            rest = TextNormalizer.Handle().Replace(rest, " ");
        }
        // Letters dressed as symbols (circled, full-width, mathematical) are words once read as a reader reads them;
        // flags (pairs of regional indicator letters) are not.
        if (HasWord(rest) || HasWord(TextNormalizer.Normalize(RegionalIndicators().Replace(rest, " ")))) return null;
        bool symbols = false, digits = false, punctuation = false;
        foreach (var rune in rest.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.OtherSymbol or UnicodeCategory.ModifierSymbol or UnicodeCategory.Surrogate || rune.Value == 0xFFFD
                || (rune.Value >= 0x1F000 && rune.Value <= 0x1FAFF))
                symbols = true;
            else if (Rune.IsDigit(rune) || category is UnicodeCategory.OtherNumber or UnicodeCategory.LetterNumber) digits = true;
            else if (Rune.IsLetter(rune)) punctuation = true; // a lone letter says as little as a mark
            else if (!Rune.IsWhiteSpace(rune) && category is not (UnicodeCategory.Format or UnicodeCategory.Control)) punctuation = true;
        }
        if (symbols) held.Add("emoji or symbols");
        if (digits) held.Add("numbers");
        if (punctuation) held.Add("punctuation or single letters");
        return held.Count == 0 ? "it holds only invisible characters" : $"it holds only {Join(held)}";
    }

    private static bool HasWord(string text)
    {
        var run = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetter(rune) || (run > 0 && Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark))
            {
                if (IsUnspacedScript(rune.Value) || ++run >= 2) return true;
            }
            else run = 0;
        }
        return false;
    }

    /// <summary>Scripts written without spaces between words, where one character is a word or a syllable.</summary>
    private static bool IsUnspacedScript(int c) => c is
        >= 0x0E00 and <= 0x0EFF        // Thai, Lao
        or >= 0x1000 and <= 0x109F     // Myanmar
        or >= 0x1780 and <= 0x17FF     // Khmer
        or >= 0x3040 and <= 0x30FF     // Hiragana, Katakana
        or >= 0x3400 and <= 0x4DBF     // CJK extension A
        or >= 0x4E00 and <= 0x9FFF     // CJK unified ideographs
        or >= 0xAC00 and <= 0xD7AF     // Hangul syllables
        or >= 0x20000 and <= 0x2FFFF;  // CJK extensions B and later

    private static string Join(List<string> parts) => parts.Count == 1 ? parts[0] : string.Join(", ", parts[..^1]) + " and " + parts[^1];

    [GeneratedRegex(@"\uD83C[\uDDE6-\uDDFF]")]
    private static partial Regex RegionalIndicators();
}
