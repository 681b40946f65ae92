namespace Moderation.Core.Uploads;

/// <summary>
/// Recognises a media file's format from its first bytes, so that the stored content type comes from what the
/// bytes are, never from what the client says they are. Only formats the scorers can decode are accepted.
/// </summary>
public static class MediaSignature
{
    /// <summary>The bytes needed to recognise every accepted format.</summary>
    public const int HeaderLength = 16;

    /// <returns>The kind and content type, or null when the bytes are not an accepted image or video.</returns>
    public static (string Kind, string ContentType)? Identify(ReadOnlySpan<byte> header)
    {
        if (StartsWith(header, [0xFF, 0xD8, 0xFF])) return (MediaKind.Image, "image/jpeg");
        if (StartsWith(header, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])) return (MediaKind.Image, "image/png");
        if (StartsWith(header, "GIF87a"u8) || StartsWith(header, "GIF89a"u8)) return (MediaKind.Image, "image/gif");
        if (StartsWith(header, "RIFF"u8) && header.Length >= 12)
        {
            var form = header.Slice(8, 4);
            if (form.SequenceEqual("WEBP"u8)) return (MediaKind.Image, "image/webp");
            if (form.SequenceEqual("AVI "u8)) return (MediaKind.Video, "video/x-msvideo");
        }
        if (StartsWith(header, "BM"u8) && header.Length >= 14) return (MediaKind.Image, "image/bmp");
        // ISO base media (MP4, MOV, HEIF, AVIF): a box size, then "ftyp" and the major brand.
        if (header.Length >= 12 && header.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            var brand = header.Slice(8, 4);
            if (brand.SequenceEqual("avif"u8) || brand.SequenceEqual("avis"u8)) return (MediaKind.Image, "image/avif");
            if (brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("mif1"u8)) return (MediaKind.Image, "image/heic");
            if (brand.SequenceEqual("qt  "u8)) return (MediaKind.Video, "video/quicktime");
            return (MediaKind.Video, "video/mp4");
        }
        // Matroska and WebM share the EBML magic.
        if (StartsWith(header, [0x1A, 0x45, 0xDF, 0xA3])) return (MediaKind.Video, "video/webm");
        return null;
    }

    private static bool StartsWith(ReadOnlySpan<byte> data, ReadOnlySpan<byte> prefix) =>
        data.Length >= prefix.Length && data[..prefix.Length].SequenceEqual(prefix);
}
