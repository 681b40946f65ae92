using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;
using Lingua;

namespace Moderation.Core.Scoring.Text;

/// <summary>The language a text is written in, as far as it can be told, and whether the text heads read it.</summary>
/// <param name="IsoCode">ISO 639-1 code (<c>en</c>, <c>es</c>, ...), or <c>und</c> when it cannot be told.</param>
/// <param name="Confidence">The detector's confidence in that language, 0 to 1 (1 where the script alone decides).</param>
public sealed record TextLanguageVerdict(string IsoCode, string Name, double Confidence, bool Supported, string How);

/// <summary>How language identification runs (<c>Moderation:Scoring:Text:LanguageDetection</c>).</summary>
public enum LanguageDetection
{
    /// <summary>Lingua's high-accuracy models (1- to 5-grams): reliable on short and slangy posts; about 650 MB once every candidate language has been seen.</summary>
    Accurate,

    /// <summary>Lingua's low-accuracy mode (trigrams only): about 50 MB, but it takes one in five slangy English tweets without common words for another language.</summary>
    Fast,

    /// <summary>No identification: every text is scored as English, as before this existed.</summary>
    Off,
}

/// <summary>
/// Tells whether a text is in a language the text heads were trained on (English: the encoder and every training
/// set are English). A text in another language gets no English model's score; the scorer reports
/// <c>language_unsupported</c> instead, and the policy routes it.
/// <para>
/// Identification is Lingua's (the .NET port of pemistahl/lingua), over English and the languages a short-video
/// platform sees most. Wrongly calling English "unsupported" costs more than the reverse (the post escapes scoring),
/// and Lingua, trained on news sentences, reads slangy English tweets as Tagalog or Yoruba one time in ten. So a
/// text is English without asking Lingua when it holds two of the common English words below, which other candidate
/// languages do not use (measured on 2,520 tweets and captions: 88% are settled this way, and Lingua then called
/// 2 of the other 295 English tweets another language, with the accurate models); a Latin-script text of fewer than
/// three words is too short to tell and is scored; and Lingua must be sure (top language at least
/// <see cref="MinimumConfidence"/>, English at most <see cref="MaximumEnglishConfidence"/>).
/// </para>
/// </summary>
public sealed partial class TextLanguage
{
    /// <summary>The confidence the top language needs before a text is called another language.</summary>
    public const double MinimumConfidence = 0.5;

    /// <summary>English's confidence must be at most this for a text to be called another language.</summary>
    public const double MaximumEnglishConfidence = 0.1;

    /// <summary>Characters of a text's words Lingua reads; enough to tell, and its cost grows with the length.</summary>
    public const int MaxCharacters = 400;

    /// <summary>Identifies nothing: every text is English (<see cref="LanguageDetection.Off"/>).</summary>
    public static readonly TextLanguage EnglishOnly = new(LanguageDetection.Off);

    private static readonly Lazy<TextLanguage> SharedAccurate = new(() => new TextLanguage(LanguageDetection.Accurate));

    /// <summary>
    /// One accurate detector per process, for scorers made outside dependency injection (the commands, benchmarks and
    /// tests): Lingua's models are large and loaded once.
    /// </summary>
    public static TextLanguage Shared => SharedAccurate.Value;

    private static readonly Language[] Candidates =
    [
        Language.English,
        // Latin script
        Language.Spanish, Language.Portuguese, Language.French, Language.German, Language.Italian, Language.Dutch, Language.Polish,
        Language.Turkish, Language.Indonesian, Language.Tagalog, Language.Vietnamese, Language.Swedish, Language.Romanian,
        // Other scripts: the script alone decides most of these, and their models load only when such text arrives.
        Language.Russian, Language.Ukrainian, Language.Arabic, Language.Persian, Language.Hebrew, Language.Greek, Language.Hindi,
        Language.Bengali, Language.Thai, Language.Chinese, Language.Japanese, Language.Korean,
    ];

    /// <summary>
    /// Common English words that are not words of the other Latin-script candidates: "a", "in", "me", "no", "is",
    /// "are", "was", "will", "to", "of", "my", "so", "im", "just" and "for" are (Spanish, Dutch, Romanian, Polish,
    /// German, Swedish), and "lol" or "wow" are everyone's.
    /// </summary>
    private static readonly FrozenSet<string> EnglishWords = new[]
    {
        "the", "and", "you", "your", "you're", "this", "that", "these", "those", "with", "what", "they", "them", "their", "there",
        "have", "has", "had", "don't", "dont", "it's", "its", "i'm", "can't", "cant", "would", "could", "should", "about", "from",
        "when", "where", "which", "been", "were", "not", "but", "how", "who", "why", "like", "love", "really", "good", "day",
        "time", "people", "get", "got", "going", "she", "we", "our", "very", "it", "be", "if", "one", "out", "up", "more",
        "some", "here", "know", "want", "make", "made", "back", "new", "now", "only", "think", "need", "still", "too", "much",
        "never", "ever", "every", "always", "today", "night", "home", "look", "didn't", "doesn't", "won't", "isn't", "aren't",
    }.ToFrozenSet(StringComparer.Ordinal);

    private readonly LanguageDetector? detector;

    public TextLanguage(LanguageDetection mode)
    {
        Mode = mode;
        if (mode == LanguageDetection.Off) return;
        var builder = LanguageDetectorBuilder.FromLanguages(Candidates);
        if (mode == LanguageDetection.Fast) builder = builder.WithLowAccuracyMode();
        detector = builder.Build();
    }

    public LanguageDetection Mode { get; }

    /// <summary>The detector and mode, recorded with a <c>language_unsupported</c> outcome.</summary>
    public string Version => Mode switch
    {
        LanguageDetection.Accurate => "lingua-2.0-accurate",
        LanguageDetection.Fast => "lingua-2.0-fast",
        _ => "none",
    };

    public TextLanguageVerdict Identify(string text)
    {
        if (detector is null) return English(1, "language identification is off");
        var words = TextNormalizer.Handle().Replace(TextNormalizer.Link().Replace(text, " "), " ");
        var latinWords = 0;
        var englishWords = new HashSet<string>(StringComparer.Ordinal);
        var otherScript = false;
        foreach (Match word in Word().Matches(words))
        {
            var w = word.Value.ToLowerInvariant().Replace('\u2019', '\'');
            if (w.Any(c => c > 0x24F && char.IsLetter(c))) { otherScript = true; continue; }
            latinWords++;
            if (EnglishWords.Contains(w)) englishWords.Add(w);
            if (englishWords.Count >= 2) return English(1, "common English words");
        }
        if (!otherScript && latinWords < 3) return English(1, "too short to tell");
        var sample = words.Length <= MaxCharacters ? words : words[..MaxCharacters];
        var confidences = detector.ComputeLanguageConfidenceValues(sample);
        if (confidences.Count == 0) return English(0, "no language recognised");
        var (top, confidence) = confidences.First();
        var english = confidences.TryGetValue(Language.English, out var e) ? e : 0;
        if (top == Language.English || confidence < MinimumConfidence || english > MaximumEnglishConfidence)
            return English(english, top == Language.English ? "identified" : $"not sure it is {top} ({confidence.ToString("0.00", CultureInfo.InvariantCulture)})");
        var code = IsoCodes.TryGetValue(top, out var iso) ? iso : "und";
        return new TextLanguageVerdict(code, top.ToString(), Math.Round(confidence, 4), Supported: false, "identified");
    }

    private static TextLanguageVerdict English(double confidence, string how) => new("en", "English", Math.Round(confidence, 4), true, how);

    private static readonly FrozenDictionary<Language, string> IsoCodes = new Dictionary<Language, string>
    {
        [Language.English] = "en", [Language.Spanish] = "es", [Language.Portuguese] = "pt", [Language.French] = "fr", [Language.German] = "de",
        [Language.Italian] = "it", [Language.Dutch] = "nl", [Language.Polish] = "pl", [Language.Turkish] = "tr", [Language.Indonesian] = "id",
        [Language.Tagalog] = "tl", [Language.Vietnamese] = "vi", [Language.Swedish] = "sv", [Language.Romanian] = "ro", [Language.Russian] = "ru",
        [Language.Ukrainian] = "uk", [Language.Arabic] = "ar", [Language.Persian] = "fa", [Language.Hebrew] = "he", [Language.Greek] = "el",
        [Language.Hindi] = "hi", [Language.Bengali] = "bn", [Language.Thai] = "th", [Language.Chinese] = "zh", [Language.Japanese] = "ja",
        [Language.Korean] = "ko",
    }.ToFrozenDictionary();

    [GeneratedRegex(@"[\p{L}\p{M}']+")]
    private static partial Regex Word();
}
