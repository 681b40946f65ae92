using FluentAssertions;
using Moderation.Core.Scoring.Text;
using Moderation.Training.Text;

namespace Moderation.Tests.Scoring;

/// <summary>
/// The functional suite (<c>training/functional/cases.csv</c>, never trained on) against the shipped heads, through the
/// scorer the pipeline runs. The floors are the levels the model card reports for the shipped heads, so a retrained head
/// that does worse on ordinary or adversarial posts fails here; the targets are in the model card.
/// </summary>
public sealed class FunctionalSuiteTests(EmbedderFixture fixture) : IClassFixture<EmbedderFixture>
{
    private static string SuitePath => Path.Combine(Storage.MigrationFilesTests.RepositoryRoot(), "training", "functional", "cases.csv");

    [Fact]
    public async Task The_shipped_heads_treat_ordinary_and_adversarial_posts_as_the_model_card_reports()
    {
        var cases = FunctionalSuite.Read(SuitePath);
        cases.Should().HaveCountGreaterThan(1000);
        var scorer = new TextScorer(fixture.Embedder, TextModels.Load(TextScoringOptions.ShippedModelsDirectory));
        var results = await FunctionalSuite.RunAsync(scorer, cases);
        var report = FunctionalSuite.Format(results, failuresShown: 200);
        var (passRate, benignFlagged, _) = FunctionalSuite.Summary(results);

        benignFlagged.Should().BeLessThanOrEqualTo(ShippedBenignFlagged, report);
        passRate.Should().BeGreaterThanOrEqualTo(ShippedPassRate, report);
        double Rate(string functionality) => results.Where(r => r.Case.Functionality == functionality).Average(r => r.Passed ? 1.0 : 0.0);
        Rate("no_words").Should().Be(1.0, "nothing is scored for words that are not there\n" + report);
        Rate("language").Should().BeGreaterThanOrEqualTo(0.95, report);
    }

    /// <summary>
    /// The shipped heads' figures (MODEL_CARD.md, functional suite: 1,089 of 1,206 as expected, 90.3 %; benign captions
    /// flagged 1.9 % of 262), with a little room for rounding. The targets (95 %, at most 3 %) are in the card.
    /// </summary>
    private const double ShippedPassRate = 0.895, ShippedBenignFlagged = 0.03;
}
