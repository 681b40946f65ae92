using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using Recommender.Core.Signals;

namespace Recommender.Tests;

/// <summary>The follower verifies every page of a real signed feed (Kestrel, keys at /v1/signals/keys) before applying it.</summary>
public sealed class SignedFeedTests
{
    private static SignalFollower Follower(FeedServer server, SignalStore store, FeedVerifier? verifier = null) =>
        new(new HttpSignalSource(server.Client(), verifier), store, new SignalFollowerOptions { PageSize = 10 });

    private static async Task<(SignalFollower Follower, SignalStore Store)> FollowingAsync(FeedServer server, FeedVerifier? verifier = null)
    {
        server.Append(1, "item-1");
        server.Append(2, "item-2");
        var store = new SignalStore();
        var follower = Follower(server, store, verifier);
        (await follower.PollAsync()).Should().BeEquivalentTo(new { Applied = 2, Error = (string?)null });
        return (follower, store);
    }

    private static void NothingApplied(SignalPollResult result, SignalFollower follower, SignalStore store, string because)
    {
        result.Applied.Should().Be(0);
        result.Error.Should().Contain(because);
        follower.LastError.Should().Be(result.Error);
        follower.RefusedPages.Should().Be(1);
        follower.ConsecutiveFailures.Should().Be(1);
        store.Cursor.Should().Be(2, "the cursor does not move past a refused page");
        store.Counts.Applied.Should().Be(2);
        store.SignalsFor("item-3", DateTimeOffset.UtcNow).Should().BeEmpty();
    }

    [Fact]
    public async Task Signed_pages_are_verified_with_the_published_keys_fetched_once()
    {
        await using var server = await FeedServer.StartAsync();
        var (follower, store) = await FollowingAsync(server);
        server.Append(3, "item-3");

        (await follower.PollAsync()).Applied.Should().Be(1);

        server.KeyRequests.Should().Be(1);
        follower.RefusedPages.Should().Be(0);
        store.Cursor.Should().Be(3);
    }

    [Fact]
    public async Task A_tampered_body_is_refused_and_nothing_applied()
    {
        await using var server = await FeedServer.StartAsync();
        var (follower, store) = await FollowingAsync(server);
        server.Append(3, "item-3");
        server.Signing = PageSigning.TamperedBody;

        var result = await follower.PollAsync();

        NothingApplied(result, follower, store, "does not match its Content-Digest");
        server.Signing = PageSigning.Signed;
        (await follower.PollAsync()).Should().BeEquivalentTo(new { Applied = 1, Error = (string?)null }, "the next good page resumes at the cursor");
        store.SignalsFor("item-3", DateTimeOffset.UtcNow).Should().ContainSingle().Which.Action.Should().Be("ineligible");
    }

    [Fact]
    public async Task A_missing_signature_is_refused_and_nothing_applied()
    {
        await using var server = await FeedServer.StartAsync();
        var (follower, store) = await FollowingAsync(server);
        server.Append(3, "item-3");
        server.Signing = PageSigning.Unsigned;

        NothingApplied(await follower.PollAsync(), follower, store, "not signed");
    }

    [Fact]
    public async Task A_page_signed_for_another_request_is_refused()
    {
        await using var server = await FeedServer.StartAsync();
        var (follower, store) = await FollowingAsync(server);
        server.Append(3, "item-3");
        server.Signing = PageSigning.OtherRequest;

        NothingApplied(await follower.PollAsync(), follower, store, "does not verify");
    }

    [Fact]
    public async Task A_page_signed_by_an_unknown_key_is_refused_after_a_bounded_refetch_of_the_keys()
    {
        await using var server = await FeedServer.StartAsync();
        var (follower, store) = await FollowingAsync(server);
        server.Append(3, "item-3");
        server.Signing = PageSigning.UnknownKey;

        var result = await follower.PollAsync();

        NothingApplied(result, follower, store, "not a trusted key");
        server.KeyRequests.Should().Be(2, "an unknown key id fetches the key set once more");
        for (var i = 0; i < 3; i++) (await follower.PollAsync()).Applied.Should().Be(0);
        // Each poll's page names a new unknown key here; each page may refetch once at most.
        server.KeyRequests.Should().BeLessThanOrEqualTo(5);
        store.Counts.Applied.Should().Be(2);
    }

    [Fact]
    public async Task A_key_id_a_refetch_did_not_find_is_not_fetched_again_until_the_retry_interval()
    {
        await using var server = await FeedServer.StartAsync();
        server.Append(1, "item-1");
        var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        server.SignWith = stranger;
        var verifier = new FeedVerifier(server.Client());
        var follower = Follower(server, new SignalStore(), verifier);

        for (var i = 0; i < 4; i++) (await follower.PollAsync()).Error.Should().Contain("not a trusted key");

        verifier.KeyFetches.Should().Be(2, "the first fetch, then one refetch for the unknown key id; later pages naming it wait for the retry interval");
        follower.RefusedPages.Should().Be(4);
    }

    [Fact]
    public async Task A_key_rotation_is_followed_and_pages_of_the_old_key_verify_while_it_is_published()
    {
        await using var server = await FeedServer.StartAsync();
        var (follower, store) = await FollowingAsync(server);
        var old = server.Rotate();
        server.Append(3, "item-3");

        (await follower.PollAsync()).Should().BeEquivalentTo(new { Applied = 1, Error = (string?)null }, "a new key id refetches the key set");
        server.KeyRequests.Should().Be(2);

        server.SignWith = old; // a host not yet rotated, or a cached page
        server.Append(4, "item-4");
        (await follower.PollAsync()).Should().BeEquivalentTo(new { Applied = 1, Error = (string?)null });
        store.Cursor.Should().Be(4);
        follower.RefusedPages.Should().Be(0);
    }

    [Fact]
    public async Task A_key_no_longer_published_is_no_longer_trusted()
    {
        await using var server = await FeedServer.StartAsync();
        var (follower, store) = await FollowingAsync(server);
        var old = server.Rotate(publishOld: false);
        server.Append(3, "item-3");
        (await follower.PollAsync()).Applied.Should().Be(1);

        server.SignWith = old;
        server.Append(4, "item-4");
        var result = await follower.PollAsync();

        result.Error.Should().Contain("not a trusted key");
        store.Cursor.Should().Be(3);
    }

    [Fact]
    public async Task Pinned_keys_are_the_only_keys_trusted_and_the_key_set_is_never_fetched()
    {
        await using var server = await FeedServer.StartAsync();
        var pinned = FeedVerifier.Pinned(server.PublicPem());
        var (follower, store) = await FollowingAsync(server, pinned);
        server.KeyRequests.Should().Be(0);

        server.Rotate();
        server.Append(3, "item-3");
        var result = await follower.PollAsync();
        result.Error.Should().Contain("not a trusted key", "the published new key is not pinned");
        store.Cursor.Should().Be(2);

        var both = FeedVerifier.Pinned(server.PublicPem(), pinned.Options.PinnedKeys[0]);
        var repinned = Follower(server, store, both);
        (await repinned.PollAsync()).Should().BeEquivalentTo(new { Applied = 1, Error = (string?)null });
        server.KeyRequests.Should().Be(0);
    }

    [Fact]
    public async Task A_key_published_under_an_id_that_is_not_its_own_is_not_trusted()
    {
        await using var server = await FeedServer.StartAsync();
        server.Append(1, "item-1");
        server.KeyIdOverride = "00000000000000ff";
        var store = new SignalStore();
        var follower = Follower(server, store);

        var result = await follower.PollAsync();

        result.Error.Should().Contain("key 00000000000000ff, which is not a trusted key");
        store.Cursor.Should().Be(0);
        server.KeyIdOverride = null;
        (await follower.PollAsync()).Applied.Should().Be(1, "the same key under its own id is trusted");
    }

    [Fact]
    public async Task A_follower_pinned_to_another_key_refuses_the_page()
    {
        await using var server = await FeedServer.StartAsync();
        server.Append(1, "item-1");
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = server.PublicPem();
        // A verifier pinned to another key learns nothing from the page's key id.
        var result = await Follower(server, new SignalStore(), FeedVerifier.Pinned(server.PublicPem(other))).PollAsync();
        result.Error.Should().Contain("not a trusted key");
        (await Follower(server, new SignalStore(), FeedVerifier.Pinned(pem)).PollAsync()).Applied.Should().Be(1);
    }
}

/// <summary>The signature base is the documented text, so a verifier in any language can rebuild it.</summary>
public sealed class FeedSignatureTests
{
    private const string DocumentedBase = """
        "@status": 200
        "content-digest": sha-256=:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=:
        "@method";req: GET
        "@path";req: /v1/signals
        "@query";req: ?after=41&limit=2
        "@signature-params": ("@status" "content-digest" "@method";req "@path";req "@query";req);created=1764979200;keyid="0123456789abcdef";alg="ecdsa-p256-sha256"
        """;

    [Fact]
    public void The_signature_base_is_the_documented_text()
    {
        var body = Encoding.UTF8.GetBytes("{\"signals\":[],\"nextCursor\":\"41\"}");
        var message = new FeedMessage("GET", "/v1/signals", "?after=41&limit=2", 200);
        var digest = FeedSignature.ContentDigest(body);
        digest.Should().Be("sha-256=:" + Convert.ToBase64String(SHA256.HashData(body)) + ":");
        var parameters = FeedSignature.SignatureParams(FeedSignature.Components, 1764979200, "0123456789abcdef", FeedSignature.Algorithm);

        var text = FeedSignature.SignatureBase(message, digest, FeedSignature.Components, parameters);

        text.Should().Be(DocumentedBase.Replace("RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=", Convert.ToBase64String(SHA256.HashData(body))).ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_signature_made_over_the_documented_text_with_plain_ecdsa_verifies_and_any_change_does_not()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var body = Encoding.UTF8.GetBytes("{\"signals\":[],\"nextCursor\":\"41\"}");
        var digest = "sha-256=:" + Convert.ToBase64String(SHA256.HashData(body)) + ":";
        var keyId = FeedKeys.KeyIdOf(key);
        var text = DocumentedBase.Replace("RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=", Convert.ToBase64String(SHA256.HashData(body)))
            .Replace("0123456789abcdef", keyId).ReplaceLineEndings("\n");
        // An independent signer: the base as text, ECDSA P-256 over SHA-256, r||s in base64.
        var signature = Convert.ToBase64String(key.SignData(Encoding.UTF8.GetBytes(text), HashAlgorithmName.SHA256));
        var headers = new FeedSignatureHeaders(digest,
            $"feed=(\"@status\" \"content-digest\" \"@method\";req \"@path\";req \"@query\";req);created=1764979200;keyid=\"{keyId}\";alg=\"ecdsa-p256-sha256\"",
            $"feed=:{signature}:");
        ECDsa? Trusted(string id) => id == keyId ? key : null;

        FeedSignature.Check(new FeedMessage("GET", "/v1/signals", "?after=41&limit=2", 200), body, headers, Trusted).Valid.Should().BeTrue();
        FeedSignature.Check(new FeedMessage("GET", "/v1/signals", "?after=40&limit=2", 200), body, headers, Trusted).Valid.Should().BeFalse();
        FeedSignature.Check(new FeedMessage("GET", "/v1/verdicts", "?after=41&limit=2", 200), body, headers, Trusted).Valid.Should().BeFalse();
        FeedSignature.Check(new FeedMessage("GET", "/v1/signals", "?after=41&limit=2", 203), body, headers, Trusted).Valid.Should().BeFalse();
        FeedSignature.Check(new FeedMessage("GET", "/v1/signals", "?after=41&limit=2", 200), Encoding.UTF8.GetBytes("{\"signals\":[],\"nextCursor\":\"42\"}"), headers, Trusted)
            .Problem.Should().Contain("Content-Digest");
        var partial = headers with { SignatureInput = $"feed=(\"content-digest\");keyid=\"{keyId}\"" };
        FeedSignature.Check(new FeedMessage("GET", "/v1/signals", "?after=41&limit=2", 200), body, partial, Trusted).Problem.Should().Contain("does not cover");
        var otherAlg = headers with { SignatureInput = headers.SignatureInput.Replace("ecdsa-p256-sha256", "hmac-sha256") };
        FeedSignature.Check(new FeedMessage("GET", "/v1/signals", "?after=41&limit=2", 200), body, otherAlg, Trusted).Problem.Should().Contain("hmac-sha256");
    }
}
