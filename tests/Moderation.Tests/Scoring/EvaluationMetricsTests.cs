using FluentAssertions;
using Moderation.Core.Evaluation;
using Moderation.Training.Text;

namespace Moderation.Tests.Scoring;

public sealed class EvaluationMetricsTests
{
    private static readonly bool[] Labels = [false, false, true, true];

    [Fact]
    public void Roc_auc_is_one_for_a_perfect_ranking_zero_for_an_inverted_one_and_half_for_ties()
    {
        ClassificationMetrics.RocAuc([0.1, 0.2, 0.8, 0.9], Labels).Should().Be(1);
        ClassificationMetrics.RocAuc([0.9, 0.8, 0.2, 0.1], Labels).Should().Be(0);
        ClassificationMetrics.RocAuc([0.5, 0.5, 0.5, 0.5], Labels).Should().Be(0.5);
    }

    [Fact]
    public void Roc_auc_matches_a_hand_count_of_ordered_pairs()
    {
        // Pairs (positive, negative): (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) -> 3 of 4.
        ClassificationMetrics.RocAuc([0.1, 0.4, 0.35, 0.8], Labels).Should().Be(0.75);
        ClassificationMetrics.RocAuc([0.1, 0.2], [false, false]).Should().Be(double.NaN);
    }

    [Fact]
    public void Average_precision_matches_a_hand_computation()
    {
        // Descending: 0.8(+) p=1 r=.5; 0.4(-); 0.35(+) p=2/3 r=1 -> AP = .5*1 + .5*2/3.
        ClassificationMetrics.PrAuc([0.1, 0.4, 0.35, 0.8], Labels).Should().BeApproximately(0.5 + 1.0 / 3, 1e-12);
        ClassificationMetrics.PrAuc([0.1, 0.2, 0.8, 0.9], Labels).Should().Be(1);
    }

    [Fact]
    public void F1_at_a_threshold_counts_scores_at_the_threshold_as_positive()
    {
        var (precision, recall, f1) = ClassificationMetrics.AtThreshold([0.1, 0.5, 0.5, 0.9], Labels, 0.5);
        precision.Should().BeApproximately(2.0 / 3, 1e-12);
        recall.Should().Be(1);
        f1.Should().BeApproximately(0.8, 1e-12);
    }

    [Fact]
    public void Calibration_error_is_zero_when_predicted_rates_match_observed_rates()
    {
        var scores = Enumerable.Repeat(0.25, 8).ToArray();
        var labels = new[] { true, true, false, false, false, false, false, false };
        ClassificationMetrics.ExpectedCalibrationError(scores, labels).Should().BeApproximately(0, 1e-12);
        ClassificationMetrics.ExpectedCalibrationError([0.95, 0.95], [false, false]).Should().BeApproximately(0.95, 1e-12);
    }

    [Fact]
    public void The_generalised_mean_with_power_minus_five_is_pulled_to_the_worst_group()
    {
        BiasMetrics.GeneralisedMean([1.0, 1.0, 1.0]).Should().BeApproximately(1, 1e-12);
        var mean = BiasMetrics.GeneralisedMean([0.99, 0.99, 0.6]);
        mean.Should().BeLessThan(0.75).And.BeGreaterThan(0.6);
        BiasMetrics.GeneralisedMean([0.9, double.NaN]).Should().BeApproximately(0.9, 1e-12);
    }

    [Fact]
    public void A_model_that_flags_harmless_mentions_of_a_group_has_a_low_bpsn_auc_for_it()
    {
        // "gay" mentions score high even when harmless; "straight" mentions do not.
        var rows = new (double Score, bool Toxic, string Group)[]
        {
            (0.9, false, "gay"), (0.95, true, "gay"), (0.85, false, "gay"), (0.97, true, "gay"),
            (0.1, false, "straight"), (0.8, true, "straight"), (0.2, false, "straight"), (0.9, true, "straight"),
            (0.05, false, ""), (0.7, true, ""),
        };
        var report = BiasMetrics.Audit(rows.Select(r => r.Score).ToArray(), rows.Select(r => r.Toxic).ToArray(),
            rows.Select(r => (IReadOnlySet<string>)(r.Group.Length == 0 ? new HashSet<string>() : new HashSet<string> { r.Group })).ToArray());
        var gay = report.Groups.Single(g => g.Group == "gay");
        var straight = report.Groups.Single(g => g.Group == "straight");
        gay.SubgroupAuc.Should().Be(1, "within the group the ranking is right");
        gay.BpsnAuc.Should().BeLessThan(0.5, "harmless mentions outrank toxic texts elsewhere");
        straight.BpsnAuc.Should().Be(1);
        report.MeanBpsnAuc.Should().BeLessThan(straight.BpsnAuc);
    }
}
