using FluentAssertions;
using Moderation.Core.Scoring.Text;

namespace Moderation.Tests.Scoring;

public sealed class PassageAggregationTests
{
    private static readonly double[] Passages = [0.1, 0.9, 0.2];

    [Theory]
    [InlineData(PassageAggregation.MaxMethod, 0.9)]
    [InlineData(PassageAggregation.MeanTop2Method, 0.55)]
    [InlineData(PassageAggregation.MeanMethod, 0.4)]
    [InlineData(PassageAggregation.NoisyOrMethod, 1 - 0.9 * 0.1 * 0.8)]
    public void Each_method_combines_passages_as_documented(string method, double expected) =>
        new PassageAggregation(method).Combine(Passages).Should().BeApproximately(expected, 1e-9);

    [Fact]
    public void Calibration_maps_the_combined_log_odds()
    {
        var calibrated = new PassageAggregation(PassageAggregation.MaxMethod, Slope: 2, Offset: -1).Combine(Passages);
        calibrated.Should().BeApproximately(PassageAggregation.Sigmoid(2 * PassageAggregation.Logit(0.9) - 1), 1e-9);
    }

    [Fact]
    public void Many_passages_do_not_underflow_and_an_unknown_method_is_refused()
    {
        var many = Enumerable.Repeat(0.999, 10_000).ToArray();
        new PassageAggregation(PassageAggregation.NoisyOrMethod).Combine(many).Should().BeInRange(0.99, 1);
        var act = () => new PassageAggregation("median").Combine(Passages);
        act.Should().Throw<InvalidDataException>().WithMessage("*median*");
    }
}
