using FluentAssertions;
using Moderation.Core.Audit;

namespace Moderation.Tests.Audit;

public sealed class AuditHashTests
{
    private static string H(long seq = 1, string actor = "a", string? reason = "r", string? before = null, string prev = AuditLog.GenesisHash) =>
        AuditLog.ComputeHash(seq, 1000, actor, "act", "upload", "u1", reason, before, "{}", prev);

    [Fact]
    public void The_hash_is_stable_and_hex()
    {
        H().Should().Be(H()).And.HaveLength(64).And.MatchRegex("^[0-9a-f]{64}$");
    }

    [Fact]
    public void Every_field_and_the_previous_hash_change_the_hash()
    {
        var baseline = H();
        new[] { H(seq: 2), H(actor: "b"), H(reason: "s"), H(before: "{}"), H(prev: new string('1', 64)) }
            .Should().OnlyHaveUniqueItems().And.NotContain(baseline);
    }

    [Fact]
    public void Null_and_empty_are_different_and_fields_cannot_bleed_into_each_other()
    {
        H(reason: null).Should().NotBe(H(reason: ""));
        AuditLog.ComputeHash(1, 1, "ab", "c", "t", "s", null, null, null, AuditLog.GenesisHash)
            .Should().NotBe(AuditLog.ComputeHash(1, 1, "a", "bc", "t", "s", null, null, null, AuditLog.GenesisHash));
    }
}
