using FluentAssertions;
using Recommender.Core.Pipeline;
using Recommender.Core.Ranking;

namespace Recommender.Tests.Stages;

public sealed class DiversityStageTests
{
    private const int A = 0, B = 1, C = 2;

    private static List<DiversityPick> Arrange(int count, RankingOptions? options = null, params DiversityCandidate[] ranked) =>
        new DiversityStage(options ?? new RankingOptions()).Arrange(ranked, count);

    [Fact]
    public void Without_repeats_the_order_is_the_score_order()
    {
        Arrange(3, null, new(A, null, 0.9), new(B, null, 0.5), new(C, null, 0.4))
            .Should().Equal(new DiversityPick(0, 0.9, 1), new DiversityPick(1, 0.5, 1), new DiversityPick(2, 0.4, 1));
    }

    [Fact]
    public void No_creator_twice_in_a_row_and_a_decay_for_each_earlier_item_of_the_creator()
    {
        var picks = Arrange(3, null, new(A, null, 1.0), new(A, null, 0.9), new(B, null, 0.5));

        picks.Select(p => p.Index).Should().Equal(0, 2, 1);
        picks[2].Factor.Should().Be(0.7);
        picks[2].Score.Should().BeApproximately(0.63, 1e-12);
    }

    [Fact]
    public void The_decay_can_move_a_repeat_below_a_lower_score()
    {
        var picks = Arrange(4, new RankingOptions { MaxCreatorRun = 2 }, new(A, null, 1.0), new(B, null, 0.95), new(A, null, 0.9), new(C, null, 0.8));

        picks.Select(p => p.Index).Should().Equal(0, 1, 3, 2);
    }

    [Fact]
    public void A_page_ends_short_rather_than_repeating_a_creator()
    {
        Arrange(2, null, new(A, null, 1.0), new(A, null, 0.9)).Should().ContainSingle();
        Arrange(2, new RankingOptions { MaxCreatorRun = 2 }, new(A, null, 1.0), new(A, null, 0.9)).Should().HaveCount(2);
    }

    [Fact]
    public void No_sensitive_topic_twice_in_a_row_and_a_decay_per_earlier_item_of_the_topic()
    {
        var picks = Arrange(3, null, new(A, "harm", 1.0), new(B, "harm", 0.9), new(C, null, 0.3));

        picks.Select(p => p.Index).Should().Equal(0, 2, 1);
        picks[2].Factor.Should().Be(0.6);
    }

    [Fact]
    public void Nothing_to_arrange_is_an_empty_page()
    {
        Arrange(5).Should().BeEmpty();
    }
}
