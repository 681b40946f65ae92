using FluentAssertions;
using Moderation.Training.Text;

namespace Moderation.Tests.Scoring;

public sealed class IdentityTermsTests
{
    [Fact]
    public void A_group_is_swapped_for_another_of_the_same_form_everywhere_in_the_text()
    {
        var swapped = IdentityTerms.Swap("Muslims are great neighbours and muslims cook the best food", new Random(1))!;
        swapped.Should().NotContainEquivalentOf("muslims");
        var match = System.Text.RegularExpressions.Regex.Match(swapped, "^(.+) are great neighbours and (.+) cook the best food$");
        match.Success.Should().BeTrue(swapped);
        match.Groups[1].Value.Should().Be(char.ToUpperInvariant(match.Groups[2].Value[0]) + match.Groups[2].Value[1..],
            "one group replaces both mentions, capitalised where the original was");
    }

    [Fact]
    public void An_adjective_is_swapped_only_before_a_word_for_people()
    {
        IdentityTerms.Swap("black coffee and an old car", new Random(1)).Should().BeNull();
        var swapped = IdentityTerms.Swap("I love how black people dance", new Random(2))!;
        swapped.Should().NotContain("black people").And.EndWith(" people dance");
    }

    [Fact]
    public void The_same_seed_gives_the_same_copies() =>
        IdentityTerms.Swap("refugees are welcome here", new Random(7)).Should().Be(IdentityTerms.Swap("refugees are welcome here", new Random(7)));
}
