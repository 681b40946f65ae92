using FluentAssertions;
using Moderation.Core.Scoring;

namespace Moderation.Tests.Similarity;

/// <summary>A scorer's vectors are checked with its scores, before anything is stored: a bad one fails the batch.</summary>
public sealed class ScorerEmbeddingOutputTests
{
    private static readonly HashSet<string> Batch = ["u1"];

    private static void Validate(params UploadEmbedding[] embeddings) =>
        ScorerOutput.Validate("image", [new UploadScores("u1", [], embeddings)], Batch);

    [Fact]
    public void Unit_vectors_of_known_kinds_pass()
    {
        var act = () => Validate(new UploadEmbedding("image", "resnet18", 0, 2, [0.6f, 0.8f]), new UploadEmbedding("image", "resnet18", 0, 3, [1f, 0f]));
        act.Should().NotThrow();
    }

    [Theory]
    [InlineData("video", 0, "kind 'video'")]
    [InlineData("image", null, "names its media item")]
    public void A_vector_with_a_bad_kind_or_place_fails_the_batch_naming_the_upload(string kind, int? ordinal, string reason)
    {
        var act = () => Validate(new UploadEmbedding(kind, "resnet18", ordinal, null, [1f]));
        act.Should().Throw<InvalidScorerOutputException>().WithMessage($"*upload u1*{reason}*");
    }

    [Fact]
    public void An_unnormalised_or_repeated_vector_fails_the_batch()
    {
        var act = () => Validate(new UploadEmbedding("image", "resnet18", 0, null, [2f, 0f]));
        act.Should().Throw<InvalidScorerOutputException>().WithMessage("*not L2-normalised*");
        act = () => Validate(new UploadEmbedding("image", "resnet18", 0, 1, [1f]), new UploadEmbedding("image", "resnet18", 0, 1, [1f]));
        act.Should().Throw<InvalidScorerOutputException>().WithMessage("*two image embeddings of resnet18*");
    }
}
