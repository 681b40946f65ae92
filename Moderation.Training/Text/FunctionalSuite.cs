using System.Globalization;
using System.Text;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;

namespace Moderation.Training.Text;

/// <summary>One case of the functional suite: a post and what the scorer must make of it.</summary>
/// <param name="Expect">
/// Clauses separated by <c>;</c>: <c>allow</c> (scored, every category below 0.5), <c>flag:CAT</c> (CAT at least 0.5),
/// <c>below:CAT</c> (scored, CAT below 0.5), <c>unscored:no_text</c>, <c>unscored:language</c>.
/// </param>
public sealed record FunctionalCase(string Id, string Functionality, string Expect, string Text);

/// <summary>How one case went, and what the scorer said.</summary>
public sealed record FunctionalResult(FunctionalCase Case, bool Passed, string Observed);

/// <summary>
/// The functional suite (<c>training/functional/cases.csv</c>): ordinary and adversarial posts with expected
/// outcomes, in the manner of HateCheck (Röttger et al. 2021), written for this platform by a different author from
/// the training seeds and never trained on. It runs through <see cref="TextScorer"/>, the path production runs.
/// </summary>
public static class FunctionalSuite
{
    /// <summary>A flag: a score at or above this.</summary>
    public const double Flagged = 0.5;

    /// <summary>Functionalities whose posts are ordinary captions a platform sees every minute.</summary>
    public static readonly IReadOnlySet<string> BenignCaptions = new HashSet<string>(StringComparer.Ordinal) { "short_benign", "benign_caption" };

    public static IReadOnlyList<FunctionalCase> Read(string path)
    {
        var rows = TrainingCorpus.Read("functional/cases.csv", path);
        return rows.Select(r => new FunctionalCase(r["id"], r["functionality"], r["expect"], r.Text)).ToList();
    }

    public static async Task<IReadOnlyList<FunctionalResult>> RunAsync(TextScorer scorer, IReadOnlyList<FunctionalCase> cases, CancellationToken ct = default)
    {
        var verdicts = await scorer.ScoreTextsAsync(cases.Select(c => c.Text).ToList(), ct);
        return cases.Select((c, i) => Judge(c, verdicts[i])).ToList();
    }

    public static FunctionalResult Judge(FunctionalCase c, TextVerdict verdict)
    {
        var scores = verdict.Scores.Where(s => !s.Shadow).GroupBy(s => s.Category).ToDictionary(g => g.Key, g => g.Max(s => s.Score), StringComparer.Ordinal);
        var observed = verdict.Abstention is { } a
            ? $"unscored ({a.Code}: {a.Reason})"
            : string.Join(" ", scores.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key}={s.Value:0.00}")));
        var passed = true;
        foreach (var clause in c.Expect.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (kind, argument) = clause.IndexOf(':') is var colon and > 0 ? (clause[..colon], clause[(colon + 1)..]) : (clause, "");
            passed &= kind switch
            {
                "allow" => verdict.Abstention is null && scores.Values.All(v => v < Flagged),
                "flag" => verdict.Abstention is null && scores.TryGetValue(argument, out var f) && f >= Flagged,
                "below" => verdict.Abstention is null && scores.TryGetValue(argument, out var b) && b < Flagged,
                "unscored" => verdict.Abstention?.Code == (argument == "language" ? AbstentionCodes.LanguageUnsupported : argument == "no_text" ? AbstentionCodes.NoText : argument),
                _ => throw new InvalidDataException($"Case {c.Id}: unknown expectation '{clause}'."),
            };
        }
        return new FunctionalResult(c, passed, observed);
    }

    /// <summary>Share of cases as expected; share of benign captions flagged in any category.</summary>
    public static (double PassRate, double BenignFlagged, int BenignCount) Summary(IReadOnlyList<FunctionalResult> results)
    {
        var benign = results.Where(r => BenignCaptions.Contains(r.Case.Functionality)).ToList();
        var flagged = benign.Count(r => !r.Passed);
        return (results.Count == 0 ? double.NaN : results.Count(r => r.Passed) / (double)results.Count,
            benign.Count == 0 ? double.NaN : flagged / (double)benign.Count, benign.Count);
    }

    /// <summary>A Markdown table of pass rates per functionality and the cases that failed.</summary>
    public static string Format(IReadOnlyList<FunctionalResult> results, int failuresShown = 40)
    {
        var text = new StringBuilder();
        var (rate, benign, benignCount) = Summary(results);
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{results.Count(r => r.Passed)} of {results.Count} cases as expected ({rate:P1}); benign captions (short and longer) flagged in any category: {benign:P1} of {benignCount}."));
        text.AppendLine();
        text.AppendLine("| functionality | expected | cases | as expected |").AppendLine("|---|---|---:|---:|");
        foreach (var g in results.GroupBy(r => r.Case.Functionality))
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {g.Key} | {string.Join(", ", g.Select(r => r.Case.Expect).Distinct())} | {g.Count()} | {g.Count(r => r.Passed)} ({g.Count(r => r.Passed) / (double)g.Count():P0}) |"));
        var failed = results.Where(r => !r.Passed).ToList();
        if (failed.Count > 0)
        {
            text.AppendLine().AppendLine($"Cases not as expected ({Math.Min(failuresShown, failed.Count)} of {failed.Count} shown):").AppendLine();
            foreach (var r in failed.Take(failuresShown))
                text.AppendLine($"- `{r.Case.Id}` {r.Case.Functionality}, expected `{r.Case.Expect}`, got {r.Observed}: \"{Quote(r.Case.Text)}\"");
        }
        return text.ToString();
    }

    private static string Quote(string text) => (text.Length <= 120 ? text : text[..120] + "…").Replace("\n", " ").Replace("|", "\\|");
}
