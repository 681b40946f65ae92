using FluentAssertions;
using Moderation.Core.Audit;

namespace Moderation.Tests.Audit;

public sealed class AuditHashTests
{
    /// <summary>
    /// Three fixed events (a non-ASCII reason, a null and an empty field, an emoji) and the hashes of their chain,
    /// computed outside .NET from the documented format (db/README.md): SHA-256 over "audit-v1", seq and time as
    /// big-endian int64, then actor, action, subject type, subject id, reason, before, after and the previous hash,
    /// each as a big-endian int32 byte length (-1 for null) and its UTF-8 bytes. Every stored chain was hashed this
    /// way: if this test fails, the format changed and every existing chain would stop verifying. Do not update the
    /// values; version the format instead ("audit-v2") and keep verifying v1 events.
    /// </summary>
    public static readonly (AuditEntry Entry, long Seq, long OccurredAtMs, string Hash)[] GoldenChain =
    [
        (new AuditEntry("system:scoring", "upload.routed", "upload", "0192f0c4-0000-7000-8000-000000000001", "harm 0.72 \u2265 review 0.5",
            """{"status":"queued"}""", """{"status":"in_review"}"""), 1, 1_767_225_600_000,
            "91ff9d6920cbaa5fb0c6435f05785822044af96ebc1b28cb6522d9585ba16c2f"),
        (new AuditEntry("user:alice", "review.decided", "upload", "0192f0c4-0000-7000-8000-000000000001", "hate-speech", null, ""), 2, 1_767_225_601_500,
            "f6bb85b89dca2a16d56d4fca95b4946e3765c13679c5c2e61dc66262cd75dbaf"),
        (new AuditEntry("api:key-1", "appeal.submitted", "upload", "0192f0c4-0000-7000-8000-000000000001", "C'est une satire \U0001F642"), 3, 1_767_225_602_000,
            "4595148903f191d87d93aa0dcb906bc02cbdfbaaabd5b1fb924e86444f1ac53f"),
    ];

    [Fact]
    public void The_hash_format_is_pinned_by_a_golden_chain()
    {
        var prev = AuditLog.GenesisHash;
        foreach (var (e, seq, at, expected) in GoldenChain)
        {
            var hash = AuditLog.ComputeHash(seq, at, e.Actor, e.Action, e.SubjectType, e.SubjectId, e.Reason, e.BeforeState, e.AfterState, prev);
            hash.Should().Be(expected, $"event {seq} of the golden chain");
            prev = hash;
        }
        AuditLog.GenesisHash.Should().Be(new string('0', 64), "the first event links to 64 zeros");
    }

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
