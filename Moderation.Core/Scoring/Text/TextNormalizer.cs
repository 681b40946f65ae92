using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Collections.Frozen;
using AnyAscii;

namespace Moderation.Core.Scoring.Text;

/// <summary>
/// Undoes the spellings people use to slip words past filters, before a text is tokenised or featurised, so
/// that the models see what a reader sees:
/// <list type="bullet">
/// <item>invalid UTF-16 (lone surrogates) becomes U+FFFD instead of failing;</item>
/// <item>invisible format characters (zero-width spaces and joiners, bidi controls, soft hyphens) are removed;</item>
/// <item>a word written with Latin look-alikes is transliterated to ASCII (by AnyAscii): full-width letters,
///   𝐦𝐚𝐭𝐡𝐞𝐦𝐚𝐭𝐢𝐜𝐚𝐥 and ⓒⓘⓡⓒⓛⓔⓓ letters, ligatures, accented Latin, and any word that mixes Latin letters
///   with letters of another script (Cyrillic "а" in "hаte"): mixed-script words are almost always obfuscation.
///   (The hosts run with invariant globalization, where <see cref="string.Normalize()"/> does nothing, so
///   compatibility forms are folded here.)</item>
/// <item>a digit or symbol between letters reads as the letter it imitates (w0men, d1sabled, subhum@n);</item>
/// <item>letters spelled out one by one (m u s l i m s, m.u.s.l.i.m) are joined.</item>
/// </list>
/// It also writes what differs between platforms the same way everywhere, so that no model learns a platform's
/// conventions instead of the content: every link becomes <c>http</c> and every @handle <c>@user</c> (a run of
/// handles one <c>@user</c>), a leading retweet marker (<c>RT @user:</c>) is dropped, and a camel-case hashtag is
/// split into its words (<c>#StopAsianHate</c> reads <c>#Stop Asian Hate</c>). The training sets write handles
/// and links in four different ways; a head trained on them as they are learnt which source a post came from.
/// Text in a single non-Latin script is left as it is.
/// </summary>
public static partial class TextNormalizer
{
    /// <summary>What every link becomes.</summary>
    public const string LinkToken = "http";

    /// <summary>What every @handle becomes.</summary>
    public const string HandleToken = "@user";

    public static string Normalize(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var visible = StripFormatCharacters(ReplaceLoneSurrogates(text));
        var canonical = Canonicalize(visible);
        var words = Word().Replace(canonical, m => Deobfuscate(m.Value));
        var joined = SpelledOut().Replace(words, m => m.Value.Replace(" ", "").Replace(".", "").Replace("-", "").Replace("_", "").Replace("*", ""));
        return HashtagWords().Replace(joined, m => SplitCamelCase(m.Value));
    }

    /// <summary>Links, handles and retweet markers written one way (see the class summary).</summary>
    private static string Canonicalize(string text)
    {
        if (text.Contains('@') || text.Contains("http", StringComparison.OrdinalIgnoreCase) || text.Contains("www.", StringComparison.OrdinalIgnoreCase))
        {
            text = Link().Replace(text, LinkToken);
            text = Handle().Replace(text, HandleToken);
            text = Handles().Replace(text, HandleToken + " ");
            text = Retweet().Replace(text, "");
        }
        return text;
    }

    /// <summary>"#StopAsianHate" → "#Stop Asian Hate"; an all-lower-case tag stays whole (there is no dictionary to split it).</summary>
    private static string SplitCamelCase(string hashtag) => CamelBoundary().Replace(hashtag, " ");

    [GeneratedRegex(@"(?:https?://|www\.)[^\s<>""]+", RegexOptions.IgnoreCase)]
    internal static partial Regex Link();

    // Handles may hold dots inside (@mikey.cooks), not at the end (a sentence's full stop).
    [GeneratedRegex(@"(?<![\p{L}\p{Nd}_@.])@[\p{L}\p{Nd}_](?:[\p{L}\p{Nd}_.]{0,28}[\p{L}\p{Nd}_])?")]
    internal static partial Regex Handle();

    [GeneratedRegex(@"(?:@user[\s,:;]*){2,}")]
    private static partial Regex Handles();

    [GeneratedRegex(@"^\W*\brt\s*(?:@user)?\s*:\s*", RegexOptions.IgnoreCase)]
    private static partial Regex Retweet();

    [GeneratedRegex(@"#[\p{L}\p{Nd}_]{2,}")]
    private static partial Regex HashtagWords();

    [GeneratedRegex(@"(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})")]
    private static partial Regex CamelBoundary();

    private static string ReplaceLoneSurrogates(string text)
    {
        StringBuilder? builder = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var ok = !char.IsSurrogate(c)
                || (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]));
            if (char.IsHighSurrogate(c) && ok)
            {
                builder?.Append(c).Append(text[i + 1]);
                i++;
                continue;
            }
            if (!ok && builder is null) builder = new StringBuilder(text.Length).Append(text, 0, i);
            builder?.Append(ok ? c : '\uFFFD');
        }
        return builder?.ToString() ?? text;
    }

    private static string StripFormatCharacters(string text)
    {
        if (!text.Any(c => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)) return text;
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            // Keep the zero-width joiner inside emoji sequences (surrogate neighbours): it is part of the emoji.
            if (CharUnicodeInfo.GetUnicodeCategory(text[i]) == UnicodeCategory.Format
                && !(text[i] == '\u200D' && i > 0 && char.IsSurrogate(text[i - 1])))
                continue;
            builder.Append(text[i]);
        }
        return builder.ToString();
    }

    private static string Deobfuscate(string word)
    {
        int ascii = 0, latinLike = 0, otherScript = 0;
        foreach (var rune in word.EnumerateRunes())
        {
            if (rune.IsAscii) { if (Rune.IsLetter(rune)) ascii++; }
            else if (IsLatinLookAlike(rune.Value)) latinLike++;
            else if (Rune.IsLetter(rune)) otherScript++;
        }
        // A word wholly in another script (Cyrillic, Greek, CJK, ...) is that language, not a disguise.
        if (ascii + latinLike > 0 && otherScript > 0) word = string.Concat(word.Select(c => LookAlikes.GetValueOrDefault(c, c)));
        if (latinLike > 0 || (ascii > 0 && otherScript > 0)) word = word.Transliterate();
        return ascii + latinLike + otherScript >= 2 && word.Any(c => LeetLetter(c) != c) ? UnLeet(word) : word;
    }

    /// <summary>
    /// Cyrillic and Greek letters drawn like Latin ones (the Latin targets of Unicode's confusables data, UTS #39,
    /// for these scripts). Transliteration alone would read Cyrillic "с" as "s" and "р" as "r"; a reader sees c and p.
    /// </summary>
    internal static readonly FrozenDictionary<char, char> LookAlikes = new Dictionary<char, char>
    {
        ['а'] = 'a', ['в'] = 'b', ['е'] = 'e', ['ё'] = 'e', ['к'] = 'k', ['м'] = 'm', ['н'] = 'h', ['о'] = 'o', ['р'] = 'p',
        ['с'] = 'c', ['т'] = 't', ['у'] = 'y', ['х'] = 'x', ['ѕ'] = 's', ['і'] = 'i', ['ї'] = 'i', ['ј'] = 'j', ['ԁ'] = 'd',
        ['ԛ'] = 'q', ['ԝ'] = 'w', ['һ'] = 'h', ['ь'] = 'b', ['г'] = 'r', ['п'] = 'n',
        ['А'] = 'A', ['В'] = 'B', ['Е'] = 'E', ['К'] = 'K', ['М'] = 'M', ['Н'] = 'H', ['О'] = 'O', ['Р'] = 'P', ['С'] = 'C',
        ['Т'] = 'T', ['У'] = 'Y', ['Х'] = 'X', ['Ѕ'] = 'S', ['І'] = 'I', ['Ј'] = 'J',
        ['α'] = 'a', ['β'] = 'b', ['ε'] = 'e', ['ι'] = 'i', ['κ'] = 'k', ['ν'] = 'v', ['ο'] = 'o', ['ρ'] = 'p', ['τ'] = 't',
        ['υ'] = 'u', ['χ'] = 'x', ['γ'] = 'y',
        ['Α'] = 'A', ['Β'] = 'B', ['Ε'] = 'E', ['Ζ'] = 'Z', ['Η'] = 'H', ['Ι'] = 'I', ['Κ'] = 'K', ['Μ'] = 'M', ['Ν'] = 'N',
        ['Ο'] = 'O', ['Ρ'] = 'P', ['Τ'] = 'T', ['Υ'] = 'Y', ['Χ'] = 'X',
    }.ToFrozenDictionary();

    /// <summary>Latin letters beyond ASCII and the compatibility forms that render as Latin letters.</summary>
    private static bool IsLatinLookAlike(int c) => c is
        >= 0x00C0 and <= 0x024F      // Latin-1 letters, Latin Extended-A and -B
        or >= 0x1E00 and <= 0x1EFF   // Latin Extended Additional
        or >= 0x2070 and <= 0x209F   // superscripts and subscripts
        or >= 0x2100 and <= 0x214F   // letterlike symbols
        or >= 0x2460 and <= 0x24FF   // enclosed alphanumerics
        or >= 0xFB00 and <= 0xFB06   // Latin ligatures
        or >= 0xFF01 and <= 0xFF5E   // full-width ASCII
        or >= 0x1D400 and <= 0x1D7FF // mathematical alphanumerics
        or >= 0x1F100 and <= 0x1F1E5; // enclosed alphanumeric supplement (not the regional indicators that make flags)

    /// <summary>
    /// Stand-ins inside a word read as the letters they imitate ("h4te", "p30pl3", "4r3": hate, people, are): every
    /// stand-in of a word that has one between its letters, or has them both before and after its letters. Stand-ins
    /// only before or only after the letters are kept, so "covid19", "2nd", "4am", "mp3" and "them!!!" are what they
    /// were. A word needs two letters of its own to be read this way.
    /// </summary>
    private static string UnLeet(string word)
    {
        int firstLetter = -1, lastLetter = -1, letters = 0;
        for (var i = 0; i < word.Length; i++)
            if (char.IsLetter(word[i]))
            {
                if (firstLetter < 0) firstLetter = i;
                lastLetter = i;
                letters++;
            }
        if (letters < 2) return word;
        bool inside = false, before = false, after = false;
        for (var i = 0; i < word.Length; i++)
        {
            if (char.IsLetter(word[i]) || LeetLetter(word[i]) == word[i]) continue;
            if (i < firstLetter) before = true;
            else if (i > lastLetter) after = true;
            else inside = true;
        }
        if (!inside && !(before && after)) return word;
        var chars = word.ToCharArray();
        for (var i = 0; i < chars.Length; i++) chars[i] = LeetLetter(chars[i]);
        return new string(chars);
    }

    private static char LeetLetter(char c) => c switch
    {
        '0' => 'o', '1' => 'i', '3' => 'e', '4' => 'a', '5' => 's', '7' => 't', '@' => 'a', '$' => 's', '!' => 'i',
        _ => c,
    };

    [GeneratedRegex(@"(?:[\p{L}\p{M}\p{Nd}\p{No}\p{So}@$!]|\p{Cs})+")]
    private static partial Regex Word();

    /// <summary>Four or more single letters separated by one space, dot, dash, underscore or asterisk.</summary>
    [GeneratedRegex(@"(?<![\p{L}\p{Nd}])\p{L}(?:[ .\-_*]\p{L}){3,}(?![\p{L}\p{Nd}])")]
    private static partial Regex SpelledOut();
}
