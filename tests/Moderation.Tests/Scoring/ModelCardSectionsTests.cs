using FluentAssertions;
using Moderation.Training.Text;

namespace Moderation.Tests.Scoring;

/// <summary>
/// <c>train-defaults --category</c> keeps the sections of the heads it did not retrain: they are cut from the previous
/// card by heading, each up to the next heading of the same level.
/// </summary>
public sealed class ModelCardSectionsTests
{
    private const string Card = """
        # Model card

        Header text.

        ## `harm` (harm-default-1)

        harm figures
        ### a sub-heading stays inside
        | a | table |

        ## `harm.hate` (harm.hate-default-1)

        hate figures

        ## Functional suite

        suite figures
        """;

    [Fact]
    public void Each_head_section_runs_from_its_heading_to_the_next_second_level_heading()
    {
        var sections = DefaultHeadsRun.HeadSections(Card.ReplaceLineEndings("\n"));

        sections.Keys.Should().BeEquivalentTo("harm", "harm.hate");
        sections["harm"].Should().StartWith("## `harm` (harm-default-1)\n").And.Contain("### a sub-heading stays inside")
            .And.EndWith("| a | table |\n\n").And.NotContain("hate figures");
        sections["harm.hate"].Should().Contain("hate figures").And.NotContain("suite figures");
    }

    [Fact]
    public void A_card_without_head_sections_gives_none()
    {
        DefaultHeadsRun.HeadSections("# Model card\n\nnothing here\n").Should().BeEmpty();
    }
}
