namespace Moderation.Core.Scoring.Text;

/// <summary>Bound from <c>Moderation:Scoring:Text</c>: the built-in text scorer.</summary>
public sealed class TextScoringOptions
{
    public const string Section = "Moderation:Scoring:Text";

    /// <summary>Score uploads' words with the text models. On by default; off leaves scoring to plug-ins.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The heads registered at start-up as the live models of categories that have none yet (default: the
    /// shipped ones, <c>models/text</c> beside the program). After that the model registry decides what is live.
    /// </summary>
    public string? ModelsDirectory { get; set; }

    /// <summary>
    /// How the encoder runs: <c>Int8</c> (default; weights quantised when the model loads, several times faster on
    /// CPU) or <c>Float32</c>. Heads should be trained with the same precision: the shipped ones were trained in int8.
    /// </summary>
    public TextPrecision Precision { get; set; } = TextPrecision.Int8;

    /// <summary>
    /// How each text's language is identified before it is scored (<c>Accurate</c>, the default; <c>Fast</c>; <c>Off</c>):
    /// a text in another language than English gets <c>language_unsupported</c> instead of an English model's score.
    /// </summary>
    public LanguageDetection LanguageDetection { get; set; } = LanguageDetection.Accurate;

    /// <summary>How a claim-bank match raises <c>misinformation</c>.</summary>
    public ClaimMatchOptions ClaimMatch { get; set; } = new();

    /// <summary>How often a scorer re-reads the registry and the claim bank for changes (one cheap query).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    public string FullModelsDirectory => Path.GetFullPath(ModelsDirectory ?? ShippedModelsDirectory);

    /// <summary>The shipped default heads, beside the program.</summary>
    public static string ShippedModelsDirectory => Path.Combine(AppContext.BaseDirectory, "models", "text");
}
