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
/// and Lingua, trained on news sentences, reads slangy English tweets as Tagalog or Yoruba one time in ten. So
/// Lingua is asked only about a text that shows a sign of another language: a text is English without asking when it
/// holds two common English words (<see cref="EnglishWords"/>), when it is in Latin script and has fewer than three
/// words (too short to tell), or when it has no function word of another candidate language and no accented letter
/// (<see cref="ForeignWords"/>). Lingua must then be sure: top language at least <see cref="MinimumConfidence"/>,
/// English at most <see cref="MaximumEnglishConfidence"/>.
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

    /// <summary>Words of the list below that are also words of another Latin-script candidate: never evidence of English.</summary>
    private static readonly FrozenSet<string> SharedWithOtherCandidates = new[]
    {
        "me", "is", "are", "was", "will", "to", "of", "my", "so", "im", "just", "for", "u", "ya", "r", "he", "us", "die", "live",
        "old", "man", "men", "go", "see", "come", "boy", "baby", "post", "link", "game", "video", "photo", "free", "ever", "dead",
        "hate", "fat", "mom", "dad", "want", "get", "best",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// Function words of the other Latin-script candidates (articles, pronouns, prepositions, conjunctions, common
    /// verbs), less the ones English uses too ("a", "in", "me", "no", "so", "die", "will", "am", "pas", "hat"...). A
    /// Latin-script text with none of them and no accented letters shows no sign of another language, and Lingua is
    /// not asked: most of what it would be asked about is English slang it misreads, and each question costs about
    /// 5 ms, more than the encoder spends on the text.
    /// </summary>
    private static readonly FrozenSet<string> ForeignWords = new[]
    {
        // Spanish
        "el", "la", "los", "las", "que", "del", "y", "en", "un", "una", "es", "por", "con", "para", "lo", "pero", "muy", "más", "mas",
        "como", "está", "esta", "este", "esto", "estoy", "soy", "eres", "hoy", "ayer", "mañana", "mis", "tus", "su", "sus", "yo", "tú",
        "él", "ella", "nosotros", "ustedes", "aquí", "también", "porque", "cuando", "donde", "qué", "todo", "todos", "nada",
        "siempre", "hay", "ser", "fue", "tengo", "tiene", "mi", "te", "les", "al", "muy",
        // Portuguese
        "o", "os", "as", "um", "uma", "não", "nao", "pra", "do", "da", "dos", "das", "na", "nos", "em", "é", "eu", "você", "voce",
        "ele", "ela", "muito", "isso", "isto", "esse", "essa", "hoje", "ontem", "aqui", "tudo", "tem", "foi", "meu", "minha", "sempre",
        // French
        "le", "des", "du", "et", "est", "une", "je", "tu", "il", "elle", "nous", "vous", "ils", "elles", "qui", "ce", "cette", "ces",
        "pour", "avec", "dans", "sur", "mais", "très", "tres", "trop", "aussi", "c'est", "j'ai", "suis", "mon", "ma", "mes", "ton",
        "ta", "tes", "sa", "ses", "aujourd'hui", "hier", "demain", "ici", "toujours", "rien", "tout", "tous", "quand", "où", "parce",
        // German
        "der", "das", "und", "ist", "nicht", "ich", "du", "wir", "ihr", "sie", "ein", "eine", "einen", "mit", "auf", "für", "fur",
        "zu", "von", "den", "dem", "des", "auch", "sehr", "heute", "gestern", "morgen", "immer", "nichts", "alles", "wenn", "weil",
        "wo", "wie", "aber", "mein", "meine", "dein", "bin", "bist", "sind", "habe", "hat", "haben", "noch", "schon", "nur",
        "kein", "keine",
        // Italian
        "il", "gli", "di", "che", "è", "e", "non", "per", "sono", "sei", "siamo", "mio", "mia", "tuo", "tua", "oggi", "ieri",
        "domani", "qui", "niente", "tutto", "tutti", "dove", "perché", "perche", "ma", "anche", "molto", "troppo", "questo",
        "questa", "della", "delle", "dei", "nel", "nella",
        // Dutch
        "de", "het", "een", "ik", "jij", "je", "wij", "zij", "niet", "met", "op", "voor", "van", "dat", "dit", "maar", "ook", "heel",
        "vandaag", "gisteren", "altijd", "niets", "wanneer", "waar", "hoe", "mijn", "jouw", "zijn", "ben", "bent", "heb", "hebben",
        "nog", "al", "geen", "naar",
        // Polish
        "w", "z", "się", "sie", "nie", "jest", "że", "ze", "jak", "ale", "mój", "moj", "moja", "ten", "ta", "te", "jestem", "dzisiaj",
        "dziś", "wczoraj", "jutro", "tutaj", "zawsze", "nic", "wszystko", "kiedy", "gdzie", "bardzo", "też", "tez", "już", "juz",
        "tylko", "czy",
        // Turkish
        "ve", "bir", "bu", "şu", "ben", "sen", "biz", "siz", "onlar", "değil", "degil", "çok", "cok", "için", "icin", "ile", "ama",
        "ki", "mi", "ne", "nasıl", "nasil", "bugün", "bugun", "dün", "yarın", "burada", "hep", "hiç", "hic", "şey", "sey", "var", "yok",
        // Indonesian and Malay
        "dan", "yang", "di", "ke", "dari", "ini", "itu", "aku", "saya", "kamu", "kita", "kami", "mereka", "tidak", "gak", "nggak",
        "ada", "untuk", "dengan", "sudah", "udah", "belum", "akan", "juga", "sangat", "banget", "hari", "besok", "kemarin", "sini",
        "selalu", "apa", "siapa", "kapan", "dimana", "bagaimana", "tapi", "karena", "cuma", "aja", "sih", "deh", "kok", "lagi",
        "bisa", "mau", "sama", "buat", "banyak", "baru", "enak", "sekali", "orang", "anak", "makan", "ala", "terus", "gue", "lu",
        // Tagalog
        "ang", "ng", "sa", "mga", "ako", "ikaw", "ka", "siya", "tayo", "sila", "hindi", "oo", "ito", "iyan", "iyon", "na", "pa",
        "lang", "naman", "talaga", "ngayon", "bukas", "kahapon", "dito", "palagi", "wala", "lahat", "kailan", "saan", "paano",
        "pero", "dahil", "po", "ko", "mo", "niya", "namin",
        // Swedish
        "och", "att", "det", "är", "ett", "jag", "vi", "ni", "inte", "med", "på", "som", "till", "av", "om", "men", "också", "mycket",
        "idag", "igår", "imorgon", "här", "alltid", "ingenting", "allt", "när", "hur", "mitt", "har", "hade",
        // Romanian
        "și", "si", "în", "nu", "cu", "pe", "că", "ca", "pentru", "mai", "foarte", "azi", "astăzi", "mâine", "aici", "mereu", "nimic",
        "tot", "toți", "când", "unde", "cum", "dar", "meu", "mea", "sunt", "ești",
        // Vietnamese (mostly told by its letters; these are written without their marks too)
        "la", "va", "cua", "khong", "toi", "ban", "rat", "voi", "cho", "duoc", "nguoi", "nay",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// Common English words, slang and profanity included (the posts Lingua misreads are slangy), less those that are
    /// words of another Latin-script candidate ("a", "in", "me", "is", "are", "was", "will", "to", "of", "my", "so",
    /// "just", "for": Spanish, Dutch, Romanian, Polish, German, Swedish) or everyone's internet words ("lol", "wow").
    /// </summary>
    private static readonly FrozenSet<string> EnglishWords = new[]
    {
        "the", "and", "you", "your", "you're", "youre", "yours", "this", "that", "these", "those", "with", "what", "they", "them", "their",
        "there", "have", "has", "had", "don't", "dont", "it's", "its", "i'm", "can't", "cant", "would", "could", "should", "about",
        "from", "when", "where", "which", "been", "were", "not", "but", "how", "who", "why", "like", "love", "really", "good", "day",
        "time", "people", "get", "got", "going", "she", "we", "our", "very", "it", "be", "if", "one", "out", "up", "more", "some",
        "here", "know", "want", "make", "made", "back", "new", "now", "only", "think", "need", "still", "too", "much", "never", "ever",
        "every", "always", "today", "night", "home", "look", "didn't", "doesn't", "won't", "isn't", "aren't", "wasn't", "i've",
        "i'll", "i'd", "he's", "she's", "that's", "what's", "there's", "let's", "we're", "they're", "ain't", "gonna", "wanna",
        "gotta", "y'all", "yall", "ya", "u", "ur", "r", "im", "thats", "whats", "lets", "theyre", "wont", "didnt", "doesnt", "isnt",
        "just", "my", "me", "him", "her", "his", "hers", "he", "us", "because", "cause", "cuz", "though", "should've", "would've",
        "got", "getting", "go", "went", "come", "coming", "see", "saw", "said", "say", "says", "tell", "told", "call", "called",
        "right", "left", "big", "little", "old", "young", "best", "better", "worst", "bad", "nice", "great", "happy", "funny",
        "man", "men", "woman", "women", "girl", "girls", "boy", "boys", "guy", "guys", "friend", "friends", "mom", "dad", "baby",
        "after", "before", "again", "first", "last", "next", "week", "year", "morning", "tonight", "tomorrow", "yesterday",
        "thing", "things", "way", "life", "world", "work", "school", "game", "music", "song", "video", "photo", "watch",
        "bitch", "bitches", "ass", "fuck", "fucking", "shit", "damn", "hoe", "hoes", "lmao", "smh", "tbh", "idk", "omg",
        "niggas", "nigga", "pussy", "dick", "stupid", "ugly", "hate", "kill", "dead", "die", "crazy", "fat",
        "check", "follow", "share", "click", "link", "free", "live", "stream", "subscribe", "comment", "post",
    }.Where(w => !SharedWithOtherCandidates.Contains(w)).ToFrozenSet(StringComparer.Ordinal);



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
        var foreignSigns = 0;
        var otherScript = false;
        var disguised = false;
        foreach (Match word in Word().Matches(words))
        {
            var w = word.Value.ToLowerInvariant().Replace('\u2019', '\'');
            // A word of Cyrillic or Greek letters that all look Latin ("іѕ", "tһе") is an English word in disguise, not Ukrainian.
            if (w.Any(c => c > 0x24F && char.IsLetter(c)))
            {
                if (!w.All(c => c <= 0x7F || !char.IsLetter(c) || TextNormalizer.LookAlikes.ContainsKey(c))) { otherScript = true; continue; }
                w = string.Concat(w.Select(c => TextNormalizer.LookAlikes.GetValueOrDefault(c, c)));
                disguised = true;
            }
            latinWords++;
            if (EnglishWords.Contains(w)) englishWords.Add(w);
            else if (ForeignWords.Contains(w) || w.Any(c => c > 0x7F && char.IsLetter(c))) foreignSigns++;
            if (englishWords.Count >= 2) return English(1, "common English words");
        }
        if (!otherScript && latinWords < 3) return English(1, "too short to tell");
        if (disguised && !otherScript) return English(1, "Latin words written with look-alike letters");
        if (!otherScript && foreignSigns == 0) return English(1, "no sign of another language");
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
