using System.Text.RegularExpressions;

namespace Moderation.Core.Scoring.Text;

/// <summary>Whether a post that is close to a known false claim denies it, and why.</summary>
public sealed record ClaimStanceVerdict(bool Denies, string Why);

/// <summary>
/// Tells a post that repeats a known false claim from one that denies or debunks it. Sentence embeddings place
/// "drinking bleach cures covid" and "never drink bleach, it does not cure covid" close together (cosine 0.89 with
/// all-MiniLM-L6-v2): similarity alone finds the topic, not the stance, and would mark the debunk as misinformation.
/// Two cues decide, as in the stance baselines of the Fake News Challenge (FNC-1): refuting words the claim itself does
/// not use ("myth", "hoax", "debunked", "fact check", "no evidence", "not true", ...), and a negation the claim does not
/// have, bound to one of the claim's own words ("does not <b>cure</b>", "never <b>drink</b>": a negation within three
/// words before a word of the claim). A negation of something else ("they don't want you to know that...") is not a
/// denial. A post that repeats the claim to mock it without either cue still counts as asserting it; a person
/// reviewing the match sees the explanation.
/// </summary>
public static partial class ClaimStance
{
    /// <summary>Words after a negation that it can bind to.</summary>
    private const int NegationReach = 3;

    public static ClaimStanceVerdict Of(string post, string claim)
    {
        var postText = Lower(post);
        var claimText = Lower(claim);
        foreach (var cue in RefutingCue().Matches(postText).Select(m => m.Value).Distinct())
            if (!claimText.Contains(cue, StringComparison.Ordinal))
                return new ClaimStanceVerdict(true, $"it calls the claim false (\"{cue}\")");
        var claimWords = Words(claimText);
        var content = claimWords.Where(w => !IsNegation(w) && w.Length >= 3 && !StopWords.Contains(w)).Select(Stem).ToHashSet(StringComparer.Ordinal);
        var negatedInClaim = Negated(claimWords, content);
        var negatedInPost = Negated(Words(postText), content);
        if (negatedInPost.Except(negatedInClaim).FirstOrDefault() is { } word)
            return new ClaimStanceVerdict(true, $"it negates what the claim says (\"{word}\")");
        return new ClaimStanceVerdict(false, "it repeats the claim");
    }

    /// <summary>The claim's words (stemmed) that a negation in <paramref name="words"/> binds to.</summary>
    private static HashSet<string> Negated(IReadOnlyList<string> words, IReadOnlySet<string> claimWords)
    {
        var negated = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < words.Count; i++)
        {
            if (!IsNegation(words[i])) continue;
            for (var j = i + 1; j < words.Count && j <= i + NegationReach; j++)
                if (claimWords.Contains(Stem(words[j]))) { negated.Add(Stem(words[j])); break; }
        }
        return negated;
    }

    private static bool IsNegation(string word) => Negations.Contains(word) || word.EndsWith("n't", StringComparison.Ordinal);

    /// <summary>A crude English stem, enough to match "cures" with "cure" and "drinking" with "drink".</summary>
    private static string Stem(string word)
    {
        foreach (var suffix in new[] { "ing", "ed", "es", "s" })
            if (word.Length > suffix.Length + 2 && word.EndsWith(suffix, StringComparison.Ordinal)) return word[..^suffix.Length];
        return word;
    }

    private static List<string> Words(string text) => WordPattern().Matches(text).Select(m => m.Value).ToList();

    private static string Lower(string text) => TextNormalizer.Normalize(text).ToLowerInvariant().Replace('\u2019', '\'');

    private static readonly HashSet<string> Negations = new(StringComparer.Ordinal)
    {
        "not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "cannot", "without", "dont", "doesnt", "isnt", "wont", "cant",
    };

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "the", "and", "that", "this", "with", "are", "was", "were", "for", "from", "you", "they", "their", "have", "has", "had", "will",
        "can", "does", "did", "its", "it's", "who", "what", "all", "any", "but", "into", "than", "then", "there", "been", "being",
    };

    /// <summary>Words a post uses to call a claim false.</summary>
    [GeneratedRegex(@"\b(?:myths?|hoax(?:es)?|debunk(?:ed|ing|s)?|fact[- ]?check(?:ed|ers?|ing)?|misinformation|disinformation|fake news|not true|untrue|isn't true|is false|are false|false claims?|no evidence|no proof|no scientific|don't believe|do not believe|doesn't work|does not work|don't fall for|do not fall for|conspiracy theor(?:y|ies|ists?)|rumou?rs?|is a lie|are lies|lies about|stop (?:sharing|spreading)|not how (?:it|this|that) works)\b")]
    private static partial Regex RefutingCue();

    [GeneratedRegex(@"[a-z0-9]+(?:'[a-z]+)?")]
    private static partial Regex WordPattern();
}
