using System.Text;
using AnyAscii;

namespace Recommender.Core.Catalog;

/// <summary>
/// The normalisation shared by keyword filters and item text, so that simple variants match: case, accents
/// (<c>Café</c> = <c>cafe</c>), a leading <c>#</c>, punctuation inside a word (<c>spoil-er</c>), and common English
/// inflections (<c>spoilers</c>, <c>spoiling</c>, <c>spoiled</c> = <c>spoil</c>). Both sides are reduced the same way,
/// so the stemmer need not be linguistically right, only consistent.
/// </summary>
public static class KeywordText
{
    /// <summary>The longest filter term accepted, in characters.</summary>
    public const int MaxTermLength = 100;

    /// <summary>Splits text into normalised, stemmed tokens.</summary>
    public static IEnumerable<string> Tokens(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) yield break;
        var folded = Fold(text);
        var word = new StringBuilder();
        foreach (var c in folded)
        {
            if (char.IsAsciiLetterOrDigit(c)) word.Append(c);
            else if (c is '\'' or '-' or '_' or '.' && word.Length > 0) continue; // inside a word: "spoil-er", "don't"
            else if (word.Length > 0)
            {
                yield return Stem(word.ToString());
                word.Clear();
            }
        }
        if (word.Length > 0) yield return Stem(word.ToString());
    }

    /// <summary>A hashtag as one token: <c>#SpoilerAlert</c> becomes <c>spoileralert</c>, stemmed.</summary>
    public static string? Hashtag(string? hashtag)
    {
        if (string.IsNullOrWhiteSpace(hashtag)) return null;
        var joined = string.Concat(Tokens(Fold(hashtag).Replace(" ", "", StringComparison.Ordinal)));
        return joined.Length == 0 ? null : joined;
    }

    /// <summary>The stemmed tokens of a filter term, or a reason it is not usable.</summary>
    internal static string[] TermTokens(string term) => Tokens(term).ToArray();

    private static string Fold(string text) => text.Transliterate().ToLowerInvariant();

    /// <summary>Strips one common English suffix; words of four letters or fewer are left alone.</summary>
    internal static string Stem(string word)
    {
        if (word.Length <= 4) return word;
        if (word.EndsWith("ies", StringComparison.Ordinal)) return word[..^3] + "y";
        if (word.EndsWith("ing", StringComparison.Ordinal) && word.Length > 5) return word[..^3];
        if (word.EndsWith("ed", StringComparison.Ordinal)) return word[..^2];
        if (word.EndsWith("es", StringComparison.Ordinal) && word.Length > 5 && word[^3] is 's' or 'x' or 'z' or 'h') return word[..^2];
        if (word.EndsWith('s') && !word.EndsWith("ss", StringComparison.Ordinal)) return word[..^1];
        return word;
    }
}
