using FluentAssertions;
using Moderation.Core.Signals;

namespace Moderation.Tests.Signals;

/// <summary>The population stability index and its fixed bins, on numbers worked out by hand.</summary>
public sealed class PsiTests
{
    [Fact]
    public void Equal_distributions_have_a_psi_of_zero()
    {
        var shares = SignalHealth.Shares([0.05, 0.15, 0.55, 0.95]);
        SignalHealth.Psi(shares, shares).Should().Be(0);
    }

    [Fact]
    public void A_shift_of_half_the_mass_gives_the_hand_computed_value()
    {
        // Expected: 50% in bin 0 and 50% in bin 5; actual: 20% and 80%.
        // PSI = (0.2 - 0.5) ln(0.2 / 0.5) + (0.8 - 0.5) ln(0.8 / 0.5) = 0.274887 + 0.141001 = 0.415888 (= 0.3 ln 4).
        var expected = new double[10];
        expected[0] = 0.5;
        expected[5] = 0.5;
        var actual = new double[10];
        actual[0] = 0.2;
        actual[5] = 0.8;
        SignalHealth.Psi(actual, expected).Should().BeApproximately(0.415888, 0.000001);
        SignalHealth.Psi(expected, actual).Should().BeApproximately(0.415888, 0.000001, "PSI is symmetric");
    }

    [Fact]
    public void An_empty_bin_counts_as_one_in_ten_thousand()
    {
        // Expected all in bin 0; actual all in bin 9: two terms of (1 - 0.0001) ln(1 / 0.0001) = 0.9999 × 9.210340.
        var expected = new double[10];
        expected[0] = 1;
        var actual = new double[10];
        actual[9] = 1;
        SignalHealth.Psi(actual, expected).Should().BeApproximately(2 * 0.9999 * Math.Log(10_000), 0.000001);
        SignalHealth.Psi(actual, expected).Should().BeApproximately(18.418838, 0.00001);
    }

    [Fact]
    public void Bins_are_ten_equal_widths_with_one_in_the_last()
    {
        SignalHealth.BinOf(0).Should().Be(0);
        SignalHealth.BinOf(0.0999).Should().Be(0);
        SignalHealth.BinOf(0.1).Should().Be(1);
        SignalHealth.BinOf(0.55).Should().Be(5);
        SignalHealth.BinOf(0.9).Should().Be(9);
        SignalHealth.BinOf(1.0).Should().Be(9);
        SignalHealth.Shares([0.05, 0.05, 0.55, 1.0]).Should().Equal(0.5, 0, 0, 0, 0, 0.25, 0, 0, 0, 0.25);
        SignalHealth.Shares([]).Should().OnlyContain(s => s == 0);
    }

    [Fact]
    public void Different_bin_counts_are_refused()
    {
        FluentActions.Invoking(() => SignalHealth.Psi([1.0], [0.5, 0.5])).Should().Throw<ArgumentException>();
    }
}
