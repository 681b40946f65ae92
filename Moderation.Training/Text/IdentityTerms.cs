using System.Text.RegularExpressions;
using Moderation.Core.Scoring.Text;

namespace Moderation.Training.Text;

/// <summary>
/// Counterfactual augmentation for fairness: a training text that names an identity group is copied with the group
/// swapped for another, keeping its label, so a head learns that what is said decides the label, not who it is said
/// about (Garg et al. 2019, "Counterfactual Fairness in Text Classification through Robustness"). Public abuse data
/// names some groups mostly in abuse ("gay", "muslims", "jews"), and a head trained on it as it is scores "I am gay"
/// as hateful.
/// <para>
/// Only unambiguous mentions are swapped: plural group nouns ("muslims", "immigrants", "women"), and an identity
/// adjective before a word for people ("black people", "a trans woman", "gay guys"). A bare "black", "old" or
/// "straight" is left alone ("black coffee", "old car"). Groups are swapped within the same form, so the sentence
/// stays grammatical, and across every axis (religion, race, sexuality, disability, nationality, age, migration).
/// The evaluation templates use other sentences (<c>training/functional/fairness_templates.csv</c>, never read here).
/// </para>
/// </summary>
public static partial class IdentityTerms
{
    /// <summary>Plural nouns for groups of people.</summary>
    private static readonly string[] Plurals =
    [
        "muslims", "christians", "catholics", "jews", "hindus", "buddhists", "sikhs", "atheists", "mormons",
        "gays", "lesbians", "bisexuals", "immigrants", "refugees", "migrants", "asylum seekers", "women", "girls", "men", "boys",
        "asians", "latinos", "hispanics", "mexicans", "africans", "arabs", "indians", "europeans", "americans", "canadians",
        "nigerians", "pakistanis", "chinese", "koreans", "filipinos", "jamaicans", "brazilians", "russians", "germans",
        "irish", "poles", "millennials", "boomers", "teenagers", "pensioners", "wheelchair users", "feminists",
    ];

    /// <summary>Adjectives for groups, swapped only before a word for people.</summary>
    private static readonly string[] Adjectives =
    [
        "gay", "lesbian", "bisexual", "queer", "straight", "trans", "transgender", "nonbinary", "muslim", "christian",
        "catholic", "jewish", "hindu", "buddhist", "sikh", "atheist", "black", "white", "asian", "latino", "hispanic",
        "mexican", "african", "arab", "chinese", "indian", "japanese", "korean", "european", "american", "canadian",
        "nigerian", "pakistani", "filipino", "irish", "polish", "russian", "german", "brazilian", "jamaican", "indigenous",
        "deaf", "blind", "disabled", "autistic", "old", "elderly", "young", "immigrant", "refugee", "middle eastern",
        "african american", "native american",
    ];

    private const string People = "people|person|persons|folks|folk|man|men|woman|women|guy|guys|girl|girls|boy|boys|kids|children|families|family|community|communities|friends|neighbours|neighbors|students|workers|voters|parents|couples|couple";

    [GeneratedRegex(@"\b(muslims|christians|catholics|jews|hindus|buddhists|sikhs|atheists|mormons|gays|lesbians|bisexuals|immigrants|refugees|migrants|asylum seekers|women|girls|men|boys|asians|latinos|hispanics|mexicans|africans|arabs|indians|europeans|americans|canadians|nigerians|pakistanis|koreans|filipinos|jamaicans|brazilians|russians|germans|poles|millennials|boomers|teenagers|pensioners|wheelchair users|feminists)\b", RegexOptions.IgnoreCase)]
    private static partial Regex PluralMention();

    [GeneratedRegex(@"\b(african american|native american|middle eastern|gay|lesbian|bisexual|queer|straight|trans|transgender|nonbinary|muslim|christian|catholic|jewish|hindu|buddhist|sikh|atheist|black|white|asian|latino|hispanic|mexican|african|arab|chinese|indian|japanese|korean|european|american|canadian|nigerian|pakistani|filipino|irish|polish|russian|german|brazilian|jamaican|indigenous|deaf|blind|disabled|autistic|old|elderly|young|immigrant|refugee)(?=\s+(?:" + People + @")\b)", RegexOptions.IgnoreCase)]
    private static partial Regex AdjectiveMention();

    /// <summary>True when the text names a group in a form this can swap.</summary>
    public static bool Mentions(string text) => PluralMention().IsMatch(text) || AdjectiveMention().IsMatch(text);

    /// <summary>
    /// The text with every swappable mention replaced by another group of the same form, chosen with
    /// <paramref name="random"/> (one new group per original group, so "muslims ... muslims" stays consistent); null
    /// when it names none.
    /// </summary>
    public static string? Swap(string text, Random random)
    {
        if (!Mentions(text)) return null;
        var chosen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string Pick(string original, string[] pool)
        {
            if (chosen.TryGetValue(original, out var again)) return again;
            string replacement;
            do replacement = pool[random.Next(pool.Length)];
            while (string.Equals(replacement, original, StringComparison.OrdinalIgnoreCase));
            return chosen[original] = replacement;
        }
        var swapped = PluralMention().Replace(text, m => Cased(m.Value, Pick(m.Value, Plurals)));
        swapped = AdjectiveMention().Replace(swapped, m => Cased(m.Value, Pick(m.Value, Adjectives)));
        return swapped == text ? null : swapped;
    }

    /// <summary>The replacement written in the original's case: all capitals, capitalised, or as it is.</summary>
    private static string Cased(string original, string replacement) =>
        original.Length > 1 && original.All(c => !char.IsLetter(c) || char.IsUpper(c)) ? replacement.ToUpperInvariant()
        : char.IsUpper(original[0]) ? char.ToUpperInvariant(replacement[0]) + replacement[1..]
        : replacement;
}
