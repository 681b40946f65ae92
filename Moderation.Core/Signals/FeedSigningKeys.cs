using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Moderation.Core.Hosting;

namespace Moderation.Core.Signals;

/// <summary>Bound from <c>Moderation:Signals:Signing</c>: the key that signs every page of the signal and verdict feeds, and the previous keys still published.</summary>
public sealed class FeedSigningOptions
{
    public const string Section = "Moderation:Signals:Signing";

    /// <summary>The file name of the key generated in the data directory when <see cref="KeyPath"/> is empty.</summary>
    public const string DefaultKeyFile = "feed-signing-key.pem";

    /// <summary>
    /// A PEM file holding the ECDSA P-256 private key that signs pages (<c>openssl ecparam -name prime256v1 -genkey -noout
    /// -out feed-signing.pem</c>). Empty: <c>feed-signing-key.pem</c> in the data directory, generated (0600) on first start
    /// and reused by every host that shares the directory.
    /// </summary>
    public string? KeyPath { get; set; }

    /// <summary>Keys that signed before a rotation, still published so that pages they signed (hosts not yet rotated, caches) keep verifying.</summary>
    public List<PreviousFeedSigningKey> PreviousKeys { get; set; } = [];
}

/// <summary>A previous signing key: its PEM file (public, or the old private key) and until when it is published.</summary>
public sealed class PreviousFeedSigningKey
{
    /// <summary>A PEM file with the key (<c>openssl ec -in old.pem -pubout</c>, or the old private key itself: only its public half is used).</summary>
    public string Path { get; set; } = "";

    /// <summary>When the key stops being published (and verifiers stop trusting it); empty: while it stays configured.</summary>
    public DateTimeOffset? NotAfter { get; set; }
}

/// <summary>Checks at start-up, before any hosted service runs, that the configured key files hold P-256 keys (the signing one a private key).</summary>
public sealed class FeedSigningOptionsValidator : IValidateOptions<FeedSigningOptions>
{
    public ValidateOptionsResult Validate(string? name, FeedSigningOptions options)
    {
        var failures = new List<string>();
        void Check(string setting, string path, bool privateKey)
        {
            try
            {
                using var _ = SigningKeys.ReadPem(path, privateKey);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
            {
                failures.Add($"{FeedSigningOptions.Section}:{setting}: {e.Message}");
            }
        }
        if (!string.IsNullOrWhiteSpace(options.KeyPath)) Check("KeyPath", options.KeyPath, privateKey: true);
        for (var i = 0; i < options.PreviousKeys.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.PreviousKeys[i].Path)) failures.Add($"{FeedSigningOptions.Section}:PreviousKeys:{i}:Path is required.");
            else Check($"PreviousKeys:{i}:Path", options.PreviousKeys[i].Path, privateKey: false);
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>A public key the service publishes: id, algorithm, PEM and JWK coordinates, whether it signs now, and its end.</summary>
public sealed record FeedSigningPublicKey(string KeyId, string Pem, string X, string Y, bool Current, DateTimeOffset? NotAfter);

/// <summary>
/// The feed's signing keys: the current private key (configured, or generated once in the data directory) and the public
/// keys published at <c>GET /v1/signals/keys</c> (the current one and the configured previous ones whose not-after has not
/// passed). Key ids follow <see cref="SigningKeys.KeyIdOf"/>, the rule audit checkpoints use.
/// </summary>
public sealed class FeedSigningKeys
{
    private readonly TimeProvider time;
    private readonly IReadOnlyList<FeedSigningPublicKey> keys;

    public FeedSigningKeys(IOptions<FeedSigningOptions> options, IOptions<ModerationOptions> moderation, TimeProvider time)
    {
        this.time = time;
        var o = options.Value;
        KeyPath = string.IsNullOrWhiteSpace(o.KeyPath)
            ? Path.Combine(moderation.Value.FullDataDirectory, FeedSigningOptions.DefaultKeyFile)
            : Path.GetFullPath(o.KeyPath);
        try
        {
            Current = string.IsNullOrWhiteSpace(o.KeyPath) ? SigningKeys.LoadOrCreate(KeyPath) : SigningKeys.ReadPem(KeyPath, privateKey: true);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new OptionsValidationException(FeedSigningOptions.Section, typeof(FeedSigningOptions), [$"{FeedSigningOptions.Section}:KeyPath: {e.Message}"]);
        }
        CurrentKeyId = SigningKeys.KeyIdOf(Current);
        var list = new List<FeedSigningPublicKey> { Describe(Current, true, null) };
        for (var i = 0; i < o.PreviousKeys.Count; i++)
        {
            var previous = o.PreviousKeys[i];
            ECDsa key;
            try
            {
                key = SigningKeys.ReadPem(previous.Path, privateKey: false);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
            {
                throw new OptionsValidationException(FeedSigningOptions.Section, typeof(FeedSigningOptions), [$"{FeedSigningOptions.Section}:PreviousKeys:{i}:Path: {e.Message}"]);
            }
            using (key)
            {
                if (list.All(k => k.KeyId != SigningKeys.KeyIdOf(key))) list.Add(Describe(key, false, previous.NotAfter));
            }
        }
        keys = list;
    }

    /// <summary>The current private key's file.</summary>
    public string KeyPath { get; }

    /// <summary>The key that signs pages now.</summary>
    public ECDsa Current { get; }

    /// <summary>The current key's id.</summary>
    public string CurrentKeyId { get; }

    /// <summary>The keys published now: the current one first, then the previous ones whose not-after has not passed.</summary>
    public IReadOnlyList<FeedSigningPublicKey> Published()
    {
        var now = time.GetUtcNow();
        return keys.Where(k => k.NotAfter is not { } end || end >= now).ToList();
    }

    private static FeedSigningPublicKey Describe(ECDsa key, bool current, DateTimeOffset? notAfter)
    {
        var q = key.ExportParameters(false).Q;
        return new FeedSigningPublicKey(SigningKeys.KeyIdOf(key), SigningKeys.PublicPem(key), Base64Url.EncodeToString(q.X), Base64Url.EncodeToString(q.Y), current, notAfter);
    }
}
