using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Recommender.Core.Signals;

/// <summary>
/// A response as its signature covers it: the request's method, path and query, the status, and the exact body bytes.
/// </summary>
/// <param name="Method">The request method (<c>GET</c>).</param>
/// <param name="Path">The request's absolute path as sent (<c>/v1/signals</c>), percent-encoding unchanged.</param>
/// <param name="Query">The request's query with its leading <c>?</c> as sent (<c>?after=0&amp;limit=100</c>); <c>?</c> when there is none.</param>
/// <param name="Status">The response status code.</param>
public sealed record FeedMessage(string Method, string Path, string Query, int Status);

/// <summary>The three response headers that carry a page's signature.</summary>
/// <param name="ContentDigest"><c>Content-Digest: sha-256=:BASE64:</c> (RFC 9530).</param>
/// <param name="SignatureInput"><c>Signature-Input: feed=(...);created=...;keyid="...";alg="ecdsa-p256-sha256"</c> (RFC 9421).</param>
/// <param name="Signature"><c>Signature: feed=:BASE64:</c> (RFC 9421).</param>
public sealed record FeedSignatureHeaders(string ContentDigest, string SignatureInput, string Signature);

/// <summary>The parsed <c>Signature-Input</c> member of a page.</summary>
/// <param name="Components">The covered components as serialised (<c>"@path";req</c>).</param>
/// <param name="Created">The <c>created</c> parameter (Unix seconds), if any.</param>
/// <param name="KeyId">The <c>keyid</c> parameter.</param>
/// <param name="Algorithm">The <c>alg</c> parameter, if any.</param>
/// <param name="Params">The member's value as sent, the <c>"@signature-params"</c> line of the signature base.</param>
public sealed record FeedSignatureInput(IReadOnlyList<string> Components, long? Created, string KeyId, string? Algorithm, string Params);

/// <summary>
/// How the moderation service signs every page of <c>GET /v1/signals</c> and <c>GET /v1/verdicts</c>: a profile of
/// RFC 9421 HTTP Message Signatures with an RFC 9530 <c>Content-Digest</c>, ECDSA P-256 over SHA-256. The signature
/// base binds the body (through its SHA-256) to the request that asked for it (method, path, query) and to the status,
/// so a page cannot be altered, nor served as the answer to another cursor. A verifier needs SHA-256, ECDSA P-256 and
/// string concatenation, no JSON canonicalisation. See docs/recommender.md#signed-pages for the exact text.
/// </summary>
public static class FeedSignature
{
    /// <summary>The RFC 9421 algorithm name: ECDSA with curve P-256 and SHA-256, the signature as r‖s (64 bytes).</summary>
    public const string Algorithm = "ecdsa-p256-sha256";

    /// <summary>The label of the service's signature in <c>Signature-Input</c> and <c>Signature</c>.</summary>
    public const string Label = "feed";

    /// <summary>The RFC 9530 header with the body's SHA-256.</summary>
    public const string ContentDigestHeader = "Content-Digest";

    /// <summary>The RFC 9421 header naming the covered components and the parameters.</summary>
    public const string SignatureInputHeader = "Signature-Input";

    /// <summary>The RFC 9421 header with the signature.</summary>
    public const string SignatureHeader = "Signature";

    /// <summary>The covered components, in the order the service signs them; a verifier requires every one.</summary>
    public static IReadOnlyList<string> Components { get; } = ["\"@status\"", "\"content-digest\"", "\"@method\";req", "\"@path\";req", "\"@query\";req"];

    /// <summary><c>sha-256=:BASE64:</c> of the body's SHA-256, the value of its <c>Content-Digest</c>.</summary>
    public static string ContentDigest(ReadOnlySpan<byte> body) => "sha-256=:" + Convert.ToBase64String(SHA256.HashData(body)) + ":";

    /// <summary>The serialised signature parameters: the component list, then <c>created</c>, <c>keyid</c> and <c>alg</c>.</summary>
    public static string SignatureParams(IReadOnlyList<string> components, long? created, string keyId, string? algorithm)
    {
        var text = new StringBuilder("(").AppendJoin(' ', components).Append(')');
        if (created is { } c) text.Append(";created=").Append(c.ToString(CultureInfo.InvariantCulture));
        text.Append(";keyid=\"").Append(keyId).Append('"');
        if (algorithm is not null) text.Append(";alg=\"").Append(algorithm).Append('"');
        return text.ToString();
    }

    /// <summary>
    /// The RFC 9421 signature base: one line <c>"component": value</c> per covered component, then
    /// <c>"@signature-params": params</c>, lines joined by a line feed, no trailing newline. Null when a component is
    /// not one this profile knows.
    /// </summary>
    public static string? SignatureBase(FeedMessage message, string contentDigest, IReadOnlyList<string> components, string signatureParams)
    {
        var text = new StringBuilder();
        foreach (var component in components)
        {
            var value = component switch
            {
                "\"@status\"" => message.Status.ToString(CultureInfo.InvariantCulture),
                "\"content-digest\"" => contentDigest.Trim(),
                "\"@method\";req" => message.Method.ToUpperInvariant(),
                "\"@path\";req" => message.Path.Length == 0 ? "/" : message.Path,
                "\"@query\";req" => message.Query.Length == 0 ? "?" : message.Query,
                _ => null,
            };
            if (value is null) return null;
            text.Append(component).Append(": ").Append(value).Append('\n');
        }
        return text.Append("\"@signature-params\": ").Append(signatureParams).ToString();
    }

    /// <summary>Signs a page: the three headers the service sends with it.</summary>
    public static FeedSignatureHeaders Sign(ECDsa key, string keyId, FeedMessage message, ReadOnlySpan<byte> body, DateTimeOffset created)
    {
        var digest = ContentDigest(body);
        var parameters = SignatureParams(Components, created.ToUnixTimeSeconds(), keyId, Algorithm);
        var signatureBase = SignatureBase(message, digest, Components, parameters)!;
        byte[] signature;
        lock (key) // one key object serves concurrent requests; its instance methods are not documented thread-safe
            signature = key.SignData(Encoding.UTF8.GetBytes(signatureBase), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return new FeedSignatureHeaders(digest, $"{Label}={parameters}", $"{Label}=:{Convert.ToBase64String(signature)}:");
    }

    /// <summary>
    /// Parses the <see cref="Label"/> member of a <c>Signature-Input</c> field (a structured-field dictionary whose members
    /// are inner lists of strings with optional <c>;req</c>, followed by parameters). Null with <paramref name="problem"/>
    /// when it is absent or malformed.
    /// </summary>
    public static FeedSignatureInput? ParseInput(string field, out string? problem)
    {
        problem = null;
        var member = Member(field, Label);
        if (member is null) { problem = $"Signature-Input has no '{Label}' signature"; return null; }
        var s = member.Trim();
        if (s.Length == 0 || s[0] != '(') { problem = "Signature-Input is not an inner list"; return null; }
        var close = s.IndexOf(')');
        if (close < 0) { problem = "Signature-Input's component list is not closed"; return null; }
        var components = new List<string>();
        foreach (var item in s[1..close].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (item.Length < 2 || item[0] != '"') { problem = $"Signature-Input component {item} is not a string"; return null; }
            components.Add(item);
        }
        long? created = null;
        string? keyId = null, algorithm = null;
        foreach (var parameter in s[(close + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = parameter.IndexOf('=');
            var name = (eq < 0 ? parameter : parameter[..eq]).Trim();
            var value = eq < 0 ? "" : parameter[(eq + 1)..].Trim();
            switch (name)
            {
                case "created" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var c): created = c; break;
                case "keyid" when value.Length >= 2 && value[0] == '"' && value[^1] == '"': keyId = value[1..^1]; break;
                case "alg" when value.Length >= 2 && value[0] == '"' && value[^1] == '"': algorithm = value[1..^1]; break;
                case "created" or "keyid" or "alg": problem = $"Signature-Input parameter {name} is malformed"; return null;
            }
        }
        if (keyId is null) { problem = "Signature-Input names no keyid"; return null; }
        return new FeedSignatureInput(components, created, keyId, algorithm, s);
    }

    /// <summary>The bytes of the <see cref="Label"/> member of a <c>Signature</c> field (<c>feed=:BASE64:</c>), or null.</summary>
    public static byte[]? ParseSignature(string field)
    {
        var member = Member(field, Label)?.Trim();
        if (member is null || member.Length < 2 || member[0] != ':' || member[^1] != ':') return null;
        try { return Convert.FromBase64String(member[1..^1]); }
        catch (FormatException) { return null; }
    }

    /// <summary>The SHA-256 a <c>Content-Digest</c> field states (<c>sha-256=:BASE64:</c>, among other algorithms), or null.</summary>
    public static byte[]? ParseSha256(string field)
    {
        var member = Member(field, "sha-256")?.Trim();
        if (member is null || member.Length < 2 || member[0] != ':' || member[^1] != ':') return null;
        try { return Convert.FromBase64String(member[1..^1]); }
        catch (FormatException) { return null; }
    }

    /// <summary>The value of one member of a structured-field dictionary (members split at top-level commas).</summary>
    private static string? Member(string field, string name)
    {
        var depth = 0;
        var quoted = false;
        var start = 0;
        for (var i = 0; i <= field.Length; i++)
        {
            var end = i == field.Length;
            if (!end)
            {
                var ch = field[i];
                if (quoted) { if (ch == '\\') i++; else if (ch == '"') quoted = false; continue; }
                if (ch == '"') { quoted = true; continue; }
                if (ch == '(') depth++;
                else if (ch == ')') depth--;
                if (ch != ',' || depth != 0) continue;
            }
            var part = field[start..i].Trim();
            start = i + 1;
            var eq = part.IndexOf('=');
            if (eq > 0 && part[..eq].Trim() == name) return part[(eq + 1)..];
        }
        return null;
    }

    /// <summary>
    /// Checks a page against its headers with the key <paramref name="keyFor"/> gives for its key id: the body's SHA-256
    /// against <c>Content-Digest</c>, every required component covered, the algorithm, and the signature over the base.
    /// </summary>
    public static FeedSignatureCheck Check(FeedMessage message, ReadOnlySpan<byte> body, FeedSignatureHeaders? headers, Func<string, ECDsa?> keyFor)
    {
        if (headers is null) return FeedSignatureCheck.Refused(null, "it is not signed (no Content-Digest, Signature-Input and Signature headers)");
        var input = ParseInput(headers.SignatureInput, out var problem);
        if (input is null) return FeedSignatureCheck.Refused(null, problem!);
        if (input.Algorithm is not null && input.Algorithm != Algorithm)
            return FeedSignatureCheck.Refused(input.KeyId, $"it is signed with algorithm '{input.Algorithm}', not {Algorithm}");
        var missing = Components.Where(c => !input.Components.Contains(c)).ToList();
        if (missing.Count > 0) return FeedSignatureCheck.Refused(input.KeyId, $"its signature does not cover {string.Join(", ", missing)}");
        var stated = ParseSha256(headers.ContentDigest);
        if (stated is null) return FeedSignatureCheck.Refused(input.KeyId, "its Content-Digest states no sha-256");
        if (!CryptographicOperations.FixedTimeEquals(stated, SHA256.HashData(body)))
            return FeedSignatureCheck.Refused(input.KeyId, "its body does not match its Content-Digest (altered in transit)");
        var signature = ParseSignature(headers.Signature);
        if (signature is null) return FeedSignatureCheck.Refused(input.KeyId, $"its Signature header has no '{Label}' signature");
        var key = keyFor(input.KeyId);
        if (key is null) return new FeedSignatureCheck(false, input.KeyId, true, $"it is signed by key {input.KeyId}, which is not a trusted key");
        var signatureBase = SignatureBase(message, headers.ContentDigest, input.Components, input.Params);
        if (signatureBase is null) return FeedSignatureCheck.Refused(input.KeyId, "its signature covers a component this verifier does not know");
        bool valid;
        lock (key)
            valid = signature.Length == 64
                && key.VerifyData(Encoding.UTF8.GetBytes(signatureBase), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return valid
            ? new FeedSignatureCheck(true, input.KeyId, false, null)
            : FeedSignatureCheck.Refused(input.KeyId, $"its signature by key {input.KeyId} does not verify (the page, its status or its request was altered)");
    }
}

/// <summary>The outcome of checking a page's signature.</summary>
/// <param name="Valid">Signed by a trusted key over this exact page and request.</param>
/// <param name="KeyId">The key id the page names, if any.</param>
/// <param name="UnknownKey">The signature names a key id the verifier does not hold (a refetch of the key set may find it).</param>
/// <param name="Problem">Why the page is refused, or null.</param>
public sealed record FeedSignatureCheck(bool Valid, string? KeyId, bool UnknownKey, string? Problem)
{
    internal static FeedSignatureCheck Refused(string? keyId, string problem) => new(false, keyId, false, problem);
}
