using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using CsvHelper;
using Moderation.Core.Scoring.Text;

namespace Moderation.Core.Fairness;

/// <summary>
/// The identity-term list the fairness report matches on real traffic (<c>Fairness/Data/identity-terms.csv</c>,
/// <c>group,terms</c> with terms separated by <c>|</c>). The groups are those of the template audit
/// (<c>training/functional/fairness_terms.csv</c>), so a group's traffic rates sit beside its template AUCs. A term is
/// matched as whole words (<c>\b</c> on both sides, any white space between its words) on the text after
/// <see cref="TextNormalizer"/> (look-alike letters and spelled-out words undone) in lower case. Adjectives that are
/// ordinary words as well ("black", "white", "old", "young", "straight", "deaf", "blind", "polish", "american") count
/// only before a word for people ("black people", "old man", "polish community"); plural nouns and unambiguous
/// adjectives ("muslims", "gay", "refugee") count alone. A text may mention several groups.
/// </summary>
public sealed class IdentityGroups
{
    public const string ResourceName = "fairness/identity-terms.csv";

    private readonly IReadOnlyList<(string Group, Regex Pattern)> patterns;

    private IdentityGroups(IReadOnlyList<(string Group, IReadOnlyList<string> Terms)> groups, string sha256)
    {
        Groups = groups.Select(g => g.Group).ToList();
        Terms = groups.ToDictionary(g => g.Group, g => g.Terms, StringComparer.Ordinal);
        Sha256 = sha256;
        patterns = groups.Select(g => (g.Group, new Regex(
            @"\b(?:" + string.Join("|", g.Terms.OrderByDescending(t => t.Length).Select(t => string.Join(@"\s+", t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Regex.Escape)))) + @")\b",
            RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1)))).ToList();
    }

    /// <summary>The groups in the list's order.</summary>
    public IReadOnlyList<string> Groups { get; }

    public IReadOnlyDictionary<string, IReadOnlyList<string>> Terms { get; }

    /// <summary>SHA-256 of the list as shipped: the report names it, so two reports are known to have matched alike.</summary>
    public string Sha256 { get; }

    /// <summary>The shipped list.</summary>
    public static IdentityGroups Shipped { get; } = Load();

    /// <summary>The groups <paramref name="text"/> mentions (none for a null or empty text).</summary>
    public IReadOnlySet<string> Mentioned(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return new HashSet<string>();
        var normalized = TextNormalizer.Normalize(text).ToLowerInvariant();
        return patterns.Where(p => p.Pattern.IsMatch(normalized)).Select(p => p.Group).ToHashSet(StringComparer.Ordinal);
    }

    private static IdentityGroups Load()
    {
        var bytes = FairnessTemplates.Resource(ResourceName);
        using var reader = new StringReader(System.Text.Encoding.UTF8.GetString(bytes));
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        var groups = csv.GetRecords<TermRow>()
            .Select(r => (r.Group, (IReadOnlyList<string>)r.Terms.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => t.ToLowerInvariant()).ToList()))
            .ToList();
        return new IdentityGroups(groups, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private sealed class TermRow
    {
        [CsvHelper.Configuration.Attributes.Name("group")] public string Group { get; set; } = "";
        [CsvHelper.Configuration.Attributes.Name("terms")] public string Terms { get; set; } = "";
    }
}

/// <summary>
/// The template set of the audit: every template of <c>training/functional/fairness_templates.csv</c> filled with every
/// term of <c>fairness_terms.csv</c> (60 × 55 = 3,300 sentences, evaluation only, never trained on), embedded in this
/// assembly so that any host can audit any registered version, filled exactly as <c>train-defaults</c> fills them for
/// the model card.
/// </summary>
public static class FairnessTemplates
{
    public sealed record Sentence(string Text, bool Harmful, string Group);

    /// <summary>The rendered sentences.</summary>
    public static IReadOnlyList<Sentence> Sentences { get; } = Render();

    /// <summary>SHA-256 of the two files (templates, then terms): which template set an audit was scored on.</summary>
    public static string Sha256 { get; } = Convert.ToHexStringLower(SHA256.HashData([.. Resource("fairness/fairness_templates.csv"), .. Resource("fairness/fairness_terms.csv")]));

    internal static byte[] Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded resource {name} is missing from Moderation.Core.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static List<Sentence> Render()
    {
        var templates = Rows("fairness/fairness_templates.csv");
        var terms = Rows("fairness/fairness_terms.csv");
        return templates.SelectMany(t => terms.Select(term => new Sentence(Fill(t["template"], term), t["label"] == "1", term["group"]))).ToList();

        static string Fill(string template, IReadOnlyDictionary<string, string> term) => template
            .Replace("{Pl}", char.ToUpperInvariant(term["pl"][0]) + term["pl"][1..])
            .Replace("{pl}", term["pl"]).Replace("{sg}", term["sg"]).Replace("{adj}", term["adj"]);
    }

    private static List<Dictionary<string, string>> Rows(string name)
    {
        using var reader = new StringReader(System.Text.Encoding.UTF8.GetString(Resource(name)));
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        csv.Read();
        csv.ReadHeader();
        var header = csv.HeaderRecord!;
        var rows = new List<Dictionary<string, string>>();
        while (csv.Read()) rows.Add(header.ToDictionary(h => h, h => csv.GetField(h) ?? "", StringComparer.Ordinal));
        return rows;
    }
}
