using System.Security.Cryptography;

namespace Moderation.Core.Hosting;

/// <summary>
/// ECDSA P-256 keys the service signs with (audit checkpoints, signal and verdict pages): one key-id rule, PEM loading,
/// and the key a host generates once in its data directory when none is configured.
/// </summary>
public static class SigningKeys
{
    /// <summary>The first 16 hex digits (lower case) of the SHA-256 of the key's DER SubjectPublicKeyInfo.</summary>
    public static string KeyIdOf(ECDsa key) => Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];

    /// <summary>An ECDSA P-256 key from a PEM file (a private key, or only a public one when <paramref name="privateKey"/> is false).</summary>
    /// <exception cref="InvalidDataException">The file holds no P-256 key (of the kind asked for).</exception>
    public static ECDsa ReadPem(string path, bool privateKey)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
        }
        catch (ArgumentException e)
        {
            key.Dispose();
            throw new InvalidDataException($"{path} holds no ECDSA key in PEM: {e.Message}", e);
        }
        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new InvalidDataException($"{path} does not hold an ECDSA P-256 key.");
        }
        if (privateKey)
        {
            try { key.ExportParameters(true); }
            catch (CryptographicException e)
            {
                key.Dispose();
                throw new InvalidDataException($"{path} holds a public key; a private key is needed to sign.", e);
            }
        }
        return key;
    }

    /// <summary>The public half of <paramref name="key"/> as PEM (<c>-----BEGIN PUBLIC KEY-----</c>).</summary>
    public static string PublicPem(ECDsa key) => PemEncoding.WriteString("PUBLIC KEY", key.ExportSubjectPublicKeyInfo());

    /// <summary>
    /// The private key in <paramref name="path"/>, generated there first if the file does not exist: a new P-256 key
    /// written as PKCS#8 PEM to a 0600 file (its directory 0700) and moved into place without replacing a file another
    /// host or thread created meanwhile, so every host sharing the directory signs with the same key.
    /// </summary>
    public static ECDsa LoadOrCreate(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            PrivateFiles.EnsureDirectory(Path.GetDirectoryName(full)!);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var temporary = full + "." + Guid.NewGuid().ToString("N") + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = PrivateFiles.FileMode;
            using (var writer = new StreamWriter(new FileStream(temporary, options)))
                writer.Write(key.ExportPkcs8PrivateKeyPem());
            try
            {
                File.Move(temporary, full, overwrite: false);
            }
            catch (IOException) when (File.Exists(full))
            {
                File.Delete(temporary); // another host made the key first: use theirs
            }
        }
        return ReadPem(full, privateKey: true);
    }
}
