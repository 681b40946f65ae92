using System.CommandLine;
using System.Globalization;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Training.Text;

namespace Moderation.Worker.Commands;

/// <summary>
/// What <c>score</c> and <c>eval</c> share: the text scorer built as the pipeline builds it (the same normalisation,
/// language identification, passages, aggregation and claim matching), from a model directory and, optionally, a file
/// of known false claims. One path, so the two commands and production give the same numbers for the same text.
/// </summary>
internal sealed class TextScoringRun : IDisposable
{
    public static Option<DirectoryInfo?> ModelsOption() =>
        new("--models") { Description = $"Model directory holding <category>.zip and <category>.json (default: the shipped heads, {TextScoringOptions.ShippedModelsDirectory})." };

    public static Option<FileInfo?> ClaimsOption() =>
        new("--claims") { Description = "CSV of known false claims (columns text and source_url, optional id), matched as the claim bank is: a post that asserts one scores misinformation, one that debunks it does not." };

    public static Option<LanguageDetection> LanguageOption() => new("--language")
    {
        DefaultValueFactory = _ => LanguageDetection.Accurate,
        Description = "Language identification, as Moderation:Scoring:Text:LanguageDetection: Accurate (default), Fast or Off.",
    };

    private readonly TextEmbedder embedder = new();

    public TextScoringRun(string modelDirectory, FileInfo? claimsFile, LanguageDetection language)
    {
        Models = TextModels.Load(modelDirectory);
        var claims = claimsFile is null ? [] : ReadClaims(claimsFile);
        Scorer = new TextScorer(embedder, Models, claims.Count == 0 ? null : new FixedClaims(claims), null,
            language == LanguageDetection.Accurate ? TextLanguage.Shared : new TextLanguage(language));
    }

    public TextModels Models { get; }
    public TextScorer Scorer { get; }

    /// <summary>Scores texts in chunks, reporting progress on stderr.</summary>
    public async Task<IReadOnlyList<TextVerdict>> ScoreAsync(IReadOnlyList<string> texts, CancellationToken ct)
    {
        var verdicts = new List<TextVerdict>(texts.Count);
        for (var start = 0; start < texts.Count; start += 256)
        {
            verdicts.AddRange(await Scorer.ScoreTextsAsync(texts.Skip(start).Take(256).ToList(), ct));
            Console.Error.WriteLine($"scored {verdicts.Count}/{texts.Count} texts");
        }
        return verdicts;
    }

    private List<KnownClaim> ReadClaims(FileInfo file)
    {
        var rows = TrainingCorpus.Read("claims", file.FullName);
        if (rows.Count > 0 && !rows[0].Fields.ContainsKey("source_url"))
            throw new LabelledTextsException($"{file.FullName} needs a 'source_url' column beside 'text'.");
        var texts = rows.Select(r => r.Text).ToList();
        var vectors = embedder.Embed(texts);
        return rows.Select((r, i) => new KnownClaim(r["id"] is { Length: > 0 } id ? id : $"claim-{i + 1}", r.Text, r["source_url"], vectors[i])).ToList();
    }

    private sealed class FixedClaims(IReadOnlyList<KnownClaim> claims) : IClaimSource
    {
        public ValueTask<IReadOnlyList<KnownClaim>> CurrentAsync(CancellationToken ct) => ValueTask.FromResult(claims);
    }

    /// <summary>A verdict's score for a category (the live one), or null when the text got none.</summary>
    public static double? ScoreOf(TextVerdict verdict, string category) =>
        verdict.Scores.Where(s => s.Category == category && !s.Shadow).Select(s => (double?)s.Score).FirstOrDefault();

    public static string Format(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    public void Dispose() => embedder.Dispose();
}
