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
    /// written as PKCS#8 PEM to a 0600 file (its directory 0700). The file is created exclusively (<c>O_EXCL</c>), so of
    /// hosts or threads that find no key at once exactly one writes it and every other reads that one: all sign with the
    /// same key. (A write-then-rename would not do: <see cref="File.Move(string, string, bool)"/> without overwrite
    /// checks and renames in two steps on Unix, so two creators could each install, and use, their own key.) A reader
    /// that finds the file before its few hundred bytes are written waits for them, up to two seconds.
    /// </summary>
    public static ECDsa LoadOrCreate(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            PrivateFiles.EnsureDirectory(Path.GetDirectoryName(full)!);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var pem = key.ExportPkcs8PrivateKeyPem();
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.Read };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = PrivateFiles.FileMode;
            try
            {
                using var stream = new FileStream(full, options);
                stream.Write(System.Text.Encoding.ASCII.GetBytes(pem));
                stream.Flush(flushToDisk: true);
                return ReadPem(full, privateKey: true);
            }
            catch (IOException) when (File.Exists(full))
            {
                // Another host or thread created it first: use theirs, once it is whole.
            }
        }
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return ReadPem(full, privateKey: true);
            }
            catch (InvalidDataException) when (attempt < 40)
            {
                Thread.Sleep(50); // still being written by its creator (a file that stays unreadable is reported after 2 s)
            }
        }
    }
}
