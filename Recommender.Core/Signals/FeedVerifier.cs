using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Recommender.Core.Signals;

/// <summary>A public key as <c>GET /v1/signals/keys</c> publishes it, as a JSON Web Key too (RFC 7517/7518).</summary>
public sealed record FeedJwk(string Kty, string Crv, string X, string Y, string Kid, string Alg, string Use);

/// <summary>One key of the service's key set.</summary>
/// <param name="KeyId">The first 16 hex digits of the SHA-256 of the key's SubjectPublicKeyInfo (<see cref="FeedKeys.KeyIdOf"/>).</param>
/// <param name="Algorithm"><see cref="FeedSignature.Algorithm"/>.</param>
/// <param name="Pem">The public key, PEM (<c>-----BEGIN PUBLIC KEY-----</c>).</param>
/// <param name="Jwk">The same key as a JWK.</param>
/// <param name="Current">Whether the service signs with it now; the others are previous keys, still published during a rotation.</param>
/// <param name="NotAfter">After this the service stops publishing the key and verifiers stop trusting it; null: no end set.</param>
public sealed record FeedPublicKey(string KeyId, string Algorithm, string Pem, FeedJwk? Jwk, bool Current, DateTimeOffset? NotAfter);

/// <summary>The body of <c>GET /v1/signals/keys</c>.</summary>
public sealed record FeedKeySet(IReadOnlyList<FeedPublicKey> Keys);

/// <summary>The key-id rule, the same as the moderation service's (it names audit checkpoint keys the same way).</summary>
public static class FeedKeys
{
    /// <summary>The first 16 hex digits (lower case) of the SHA-256 of the key's DER SubjectPublicKeyInfo.</summary>
    public static string KeyIdOf(ECDsa key) => Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];

    /// <summary>A P-256 public key from PEM (a public key, or the public half of a private key).</summary>
    public static ECDsa ImportPublicPem(string pem)
    {
        using var any = ECDsa.Create();
        any.ImportFromPem(pem);
        if (any.KeySize != 256) throw new ArgumentException("The key is not an ECDSA P-256 key.", nameof(pem));
        var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(any.ExportSubjectPublicKeyInfo(), out _);
        return key;
    }
}

/// <summary>A page was refused because its signature is missing, invalid, or by a key that is not trusted.</summary>
public sealed class FeedSignatureException(string message, string? keyId = null) : SignalFeedException(message)
{
    /// <summary>The key id the page named, if any.</summary>
    public string? KeyId { get; } = keyId;
}

/// <summary>Options of a <see cref="FeedVerifier"/>.</summary>
public sealed record FeedVerifierOptions
{
    /// <summary>
    /// Public keys (PEM) to trust. When any are given, only they are trusted and the key set is never fetched: pin the
    /// current key and, during a rotation, the next one too. Empty: the keys at <see cref="KeysPath"/> are trusted.
    /// </summary>
    public IReadOnlyList<string> PinnedKeys { get; init; } = [];

    /// <summary>Where the key set is fetched, relative to the client's base address.</summary>
    public string KeysPath { get; init; } = "v1/signals/keys";

    /// <summary>
    /// How long a key id that a refetch did not find stays unknown before a page naming it fetches the key set again.
    /// Together with one refetch per page at most, this bounds what pages naming unknown keys can make the verifier fetch.
    /// </summary>
    public TimeSpan UnknownKeyRetryInterval { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Verifies signed pages of the moderation service (<c>GET /v1/signals</c> and <c>GET /v1/verdicts</c>; see
/// <see cref="FeedSignature"/>) against its published keys or pinned ones. The key set is fetched on first use and
/// fetched again when a page names a key id it does not hold (a rotation), at most once per page and, for a key id a
/// refetch did not find, at most once per <see cref="FeedVerifierOptions.UnknownKeyRetryInterval"/>.
/// </summary>
public sealed class FeedVerifier
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient? client;
    private readonly TimeProvider time;
    private readonly SemaphoreSlim fetching = new(1, 1);
    private readonly Dictionary<string, DateTimeOffset> unknown = new(StringComparer.Ordinal);
    private volatile IReadOnlyList<(FeedPublicKey Key, ECDsa Ecdsa)>? keys;

    /// <summary>A verifier that trusts the keys the service at <paramref name="client"/>'s base address publishes, or only <see cref="FeedVerifierOptions.PinnedKeys"/>.</summary>
    public FeedVerifier(HttpClient client, FeedVerifierOptions? options = null, TimeProvider? time = null)
        : this(options ?? new FeedVerifierOptions(), time ?? TimeProvider.System, client ?? throw new ArgumentNullException(nameof(client)))
    {
    }

    private FeedVerifier(FeedVerifierOptions options, TimeProvider time, HttpClient? client)
    {
        this.client = client;
        this.time = time;
        Options = options;
        if (options.PinnedKeys.Count > 0)
        {
            keys = options.PinnedKeys.Select(pem =>
            {
                var key = FeedKeys.ImportPublicPem(pem);
                return (new FeedPublicKey(FeedKeys.KeyIdOf(key), FeedSignature.Algorithm, pem, null, false, null), key);
            }).ToList();
        }
        else if (client is null) throw new ArgumentException("A verifier without an HTTP client needs pinned keys.", nameof(options));
    }

    /// <summary>A verifier that trusts only these public keys (PEM) and fetches nothing.</summary>
    public static FeedVerifier Pinned(params string[] publicKeyPems) =>
        new(new FeedVerifierOptions { PinnedKeys = publicKeyPems.Length > 0 ? publicKeyPems : throw new ArgumentException("Pin at least one key.", nameof(publicKeyPems)) }, TimeProvider.System, null);

    /// <summary>The verifier's options.</summary>
    public FeedVerifierOptions Options { get; }

    /// <summary>How many times the key set was fetched.</summary>
    public int KeyFetches { get; private set; }

    /// <summary>The key ids trusted now (none before the first fetch).</summary>
    public IReadOnlyList<string> TrustedKeyIds => keys?.Select(k => k.Key.KeyId).ToList() ?? [];

    /// <summary>Reads a page's body and returns it if its signature verifies.</summary>
    /// <exception cref="FeedSignatureException">The page is not signed, altered, or signed by a key that is not trusted.</exception>
    /// <exception cref="SignalFeedException">The key set could not be fetched.</exception>
    public async Task<byte[]> ReadVerifiedAsync(HttpResponseMessage response, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(response);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        var check = await VerifyAsync(response, body, ct);
        if (!check.Valid) throw new FeedSignatureException($"The page {response.RequestMessage?.RequestUri?.PathAndQuery} was refused: {check.Problem}.", check.KeyId);
        return body;
    }

    /// <summary>Checks <paramref name="body"/>, read from <paramref name="response"/>, against the response's signature headers and the request it answers.</summary>
    /// <exception cref="SignalFeedException">The key set could not be fetched.</exception>
    public async Task<FeedSignatureCheck> VerifyAsync(HttpResponseMessage response, byte[] body, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(response);
        var uri = response.RequestMessage?.RequestUri ?? throw new ArgumentException("The response carries no request.", nameof(response));
        var message = new FeedMessage(response.RequestMessage.Method.Method, uri.AbsolutePath, uri.Query, (int)response.StatusCode);
        var headers = Header(response, FeedSignature.ContentDigestHeader) is { } digest
            && Header(response, FeedSignature.SignatureInputHeader) is { } input
            && Header(response, FeedSignature.SignatureHeader) is { } signature
            ? new FeedSignatureHeaders(digest, input, signature)
            : null;

        var fetched = false;
        if (keys is null) { await FetchAsync(ct); fetched = true; }
        var check = FeedSignature.Check(message, body, headers, Lookup);
        if (!check.UnknownKey || Options.PinnedKeys.Count > 0 || fetched) return check;

        var now = time.GetUtcNow();
        lock (unknown)
        {
            if (unknown.TryGetValue(check.KeyId!, out var at) && now - at < Options.UnknownKeyRetryInterval) return check;
        }
        await FetchAsync(ct);
        check = FeedSignature.Check(message, body, headers, Lookup);
        lock (unknown)
        {
            foreach (var stale in unknown.Where(u => now - u.Value >= Options.UnknownKeyRetryInterval).Select(u => u.Key).ToList()) unknown.Remove(stale);
            if (check.UnknownKey) unknown[check.KeyId!] = now;
            else unknown.Remove(check.KeyId!);
        }
        return check;
    }

    private ECDsa? Lookup(string keyId) => keys?.FirstOrDefault(k => k.Key.KeyId == keyId).Ecdsa;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;

    /// <summary>Fetches the key set: keys that are ECDSA P-256, whose id is their own, and whose not-after has not passed.</summary>
    private async Task FetchAsync(CancellationToken ct)
    {
        await fetching.WaitAsync(ct);
        try
        {
            KeyFetches++;
            FeedKeySet? set;
            try
            {
                set = await client!.GetFromJsonAsync<FeedKeySet>(Options.KeysPath, Json, ct);
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or NotSupportedException
                                          || (e is TaskCanceledException && !ct.IsCancellationRequested))
            {
                throw new SignalFeedException($"The signing keys could not be fetched from {Options.KeysPath}: {e.Message}", e);
            }
            var now = time.GetUtcNow();
            var list = new List<(FeedPublicKey, ECDsa)>();
            foreach (var key in set?.Keys ?? [])
            {
                if (key is null || key.Algorithm != FeedSignature.Algorithm || key.NotAfter is { } end && end < now) continue;
                ECDsa ecdsa;
                try { ecdsa = FeedKeys.ImportPublicPem(key.Pem); }
                catch (Exception e) when (e is ArgumentException or CryptographicException) { continue; }
                // A key published under another key's id is not trusted under either.
                if (FeedKeys.KeyIdOf(ecdsa) != key.KeyId) { ecdsa.Dispose(); continue; }
                list.Add((key, ecdsa));
            }
            keys = list;
        }
        finally
        {
            fetching.Release();
        }
    }
}
