using FluentAssertions;
using Moderation.Core.Review;

namespace Moderation.Tests.Review;

public sealed class CohenKappaTests
{
    [Fact]
    public void Perfect_agreement_over_several_labels_is_one()
    {
        CohenKappa.Compute([("remove", "remove"), ("allow", "allow"), ("label", "label"), ("allow", "allow")]).Should().BeApproximately(1.0, 1e-12);
    }

    [Fact]
    public void The_textbook_example_gives_the_textbook_kappa()
    {
        // 50 items: both yes 20, first yes second no 5, first no second yes 10, both no 15 (Wikipedia's worked example): kappa 0.4.
        var pairs = Enumerable.Repeat(("yes", "yes"), 20).Concat(Enumerable.Repeat(("yes", "no"), 5))
            .Concat(Enumerable.Repeat(("no", "yes"), 10)).Concat(Enumerable.Repeat(("no", "no"), 15)).ToList();
        CohenKappa.Compute(pairs).Should().BeApproximately(0.4, 1e-9);
    }

    [Fact]
    public void Agreement_no_better_than_chance_is_zero_and_one_shared_label_is_undefined()
    {
        CohenKappa.Compute([("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")]).Should().BeApproximately(0.0, 1e-12);
        CohenKappa.Compute([("a", "a"), ("a", "a")]).Should().BeNull();
        CohenKappa.Compute([]).Should().BeNull();
    }

    [Fact]
    public void Sampling_follows_the_rate_and_is_stable_per_decision()
    {
        var ids = Enumerable.Range(0, 4000).Select(_ => Guid.CreateVersion7().ToString()).ToList();
        var share = ids.Count(id => ReviewDecisions.Sampled(id, 0.25)) / (double)ids.Count;
        share.Should().BeInRange(0.2, 0.3);
        ids.Should().OnlyContain(id => ReviewDecisions.Sampled(id, 0.25) == ReviewDecisions.Sampled(id, 0.25));
        ReviewDecisions.Sampled(ids[0], 0).Should().BeFalse();
        ReviewDecisions.Sampled(ids[0], 1).Should().BeTrue();
    }
}
