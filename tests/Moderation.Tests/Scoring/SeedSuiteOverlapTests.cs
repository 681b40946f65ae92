using System.Text.RegularExpressions;
using FluentAssertions;
using Moderation.Training.Text;

namespace Moderation.Tests.Scoring;

/// <summary>
/// The functional suite judges the heads on posts they never trained on. <c>claims_plain.csv</c> and
/// <c>nonprotected_groups.csv</c> were written after seeing which suite cases (or the examples) failed, and rows
/// close to a suite case were removed (training/seed/README.md); this keeps any row added later from bringing a case's
/// wording back into training.
/// </summary>
public sealed partial class SeedSuiteOverlapTests
{
    /// <summary>Share of content words (Jaccard, stop words left out) from which a training row counts as a suite case's copy.</summary>
    private const double MaxOverlap = 0.4;

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "the", "a", "an", "of", "and", "to", "is", "in", "it", "your", "you", "for", "that", "with", "on", "can", "are", "be",
        "by", "or", "as", "from", "this", "its", "at", "if",
    };

    [GeneratedRegex("[a-z0-9]+")]
    private static partial Regex Word();

    private static HashSet<string> ContentWords(string text) =>
        Word().Matches(text.ToLowerInvariant()).Select(m => m.Value).Where(w => !StopWords.Contains(w)).ToHashSet(StringComparer.Ordinal);

    internal static double Overlap(string a, string b) => Overlap(ContentWords(a), ContentWords(b));

    private static double Overlap(HashSet<string> x, HashSet<string> y)
    {
        var common = x.Count(y.Contains);
        var union = x.Count + y.Count - common;
        return union == 0 ? 0 : common / (double)union;
    }

    [Theory]
    [InlineData("claims_plain.csv", 600)]
    [InlineData("nonprotected_groups.csv", 250)]
    public void No_row_of_a_seed_file_written_after_the_suite_shares_forty_percent_of_its_content_words_with_a_suite_case(string file, int rows)
    {
        var root = Storage.MigrationFilesTests.RepositoryRoot();
        var suite = FunctionalSuite.Read(Path.Combine(root, "training", "functional", "cases.csv"));
        var seed = TrainingCorpus.Read($"seed/{file}", Path.Combine(root, "training", "seed", file));
        seed.Should().HaveCountGreaterThan(rows);

        var cases = suite.Select(c => (Case: c, Words: ContentWords(c.Text))).ToList();
        var copies = seed.Select(row => (Row: row, Words: ContentWords(row.Text)))
            .SelectMany(row => cases.Where(c => Overlap(row.Words, c.Words) >= MaxOverlap)
                .Select(c => $"\"{row.Row.Text}\" ~ {c.Case.Id} \"{c.Case.Text}\""))
            .ToList();

        copies.Should().BeEmpty("training rows must not restate the functional suite's cases");
    }

    [Theory]
    [InlineData("COVID-19 is caused by a coronavirus called SARS-CoV-2.", "covid-19 is caused by a coronavirus called SARS-CoV-2", 1.0)]
    [InlineData("Cooking eggs kills salmonella.", "Heat kills salmonella in eggs.", 0.6)]
    [InlineData("the cat", "a dog", 0.0)]
    public void Overlap_is_the_share_of_content_words_in_common(string a, string b, double expected)
    {
        Overlap(a, b).Should().BeApproximately(expected, 1e-9);
    }
}
