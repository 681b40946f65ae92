using System.Buffers.Text;
using System.Text.RegularExpressions;
using Moderation.Core.Uploads;

namespace Moderation.Api.Uploads;

/// <summary>
/// A media file as it arrived (inline base64 or a multipart part), staged on disk but not yet checked.
/// <paramref name="Content"/> is null when there was nothing to stage: base64 that is not base64, or a declared size
/// over the limit (which is then never decoded).
/// </summary>
public sealed record IncomingMedia(string Field, string? Kind, string? FileName, StagedMedia? Content, long DeclaredLength);

/// <summary>
/// Checks an upload against the limits and turns it into a <see cref="NewUpload"/>, or collects every problem
/// as field → reasons for a problem-details answer. Nothing is stored unless the whole upload is valid.
/// Content is never altered: hostile strings are stored verbatim and made inert where they are displayed.
/// </summary>
public static partial class UploadValidator
{
    [GeneratedRegex(@"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")]
    private static partial Regex LocaleTag();

    public static (NewUpload? Upload, Dictionary<string, string[]> Errors) Validate(
        UploadRequest request, IReadOnlyList<IncomingMedia> media, UploadLimits limits)
    {
        var errors = new Dictionary<string, List<string>>();
        void Add(string field, string reason)
        {
            if (!errors.TryGetValue(field, out var list)) errors[field] = list = [];
            list.Add(reason);
        }

        if (string.IsNullOrWhiteSpace(request.ExternalId)) Add("externalId", "is required");
        else CheckText("externalId", request.ExternalId, limits.MaxExternalIdLength, Add, singleLine: true);
        CheckText("creatorId", request.CreatorId, limits.MaxCreatorIdLength, Add, singleLine: true);
        CheckText("caption", request.Caption, limits.MaxCaptionLength, Add);
        CheckText("transcript", request.Transcript, limits.MaxTranscriptLength, Add);
        CheckList("hashtags", request.Hashtags, limits.MaxHashtags, limits.MaxHashtagLength, Add, singleLine: true);
        CheckList("comments", request.Comments, limits.MaxComments, limits.MaxCommentLength, Add, singleLine: false);
        if (request.Locale is not null && (request.Locale.Length > limits.MaxLocaleLength || !LocaleTag().IsMatch(request.Locale)))
            Add("locale", $"must be a BCP 47 language tag of at most {limits.MaxLocaleLength} characters, like 'en' or 'pt-BR'");

        var accepted = new List<NewMedia>();
        if (media.Count > limits.MaxMediaItems)
            Add("media", $"has {media.Count} items; at most {limits.MaxMediaItems} are allowed");
        else
            foreach (var item in media)
                CheckMedia(item, limits, Add, accepted);

        // Blank hashtags and comments are not content: an upload of only "" would be accepted with nothing to judge.
        var hasContent = !string.IsNullOrWhiteSpace(request.Caption) || !string.IsNullOrWhiteSpace(request.Transcript)
            || request.Hashtags?.Any(h => !string.IsNullOrWhiteSpace(h)) == true
            || request.Comments?.Any(c => !string.IsNullOrWhiteSpace(c)) == true || media.Count > 0;
        if (!hasContent && errors.Count == 0)
            Add("$", "an upload needs at least one of caption, transcript, hashtags, comments or media that is not blank");

        if (errors.Count > 0)
            return (null, errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));

        return (new NewUpload(
            request.ExternalId!,
            request.CreatorId,
            request.Caption,
            request.Hashtags?.Select(h => h!).ToList() ?? [],
            request.Transcript,
            request.Comments?.Select(c => c!).ToList() ?? [],
            request.Locale,
            accepted), []);
    }

    private static void CheckMedia(IncomingMedia item, UploadLimits limits, Action<string, string> add, List<NewMedia> accepted)
    {
        var ok = true;
        if (!MediaKind.IsKnown(item.Kind)) { add($"{item.Field}.kind", "must be 'image' or 'video'"); ok = false; }
        if (string.IsNullOrWhiteSpace(item.FileName)) { add($"{item.Field}.fileName", "is required"); ok = false; }
        else if (!CheckText($"{item.Field}.fileName", item.FileName, limits.MaxFileNameLength, add, singleLine: true)) ok = false;
        if (item.DeclaredLength > limits.MaxMediaBytes)
        {
            add($"{item.Field}.content", $"is larger than the limit of {limits.MaxMediaBytes} bytes");
            return;
        }
        var content = item.Content;
        if (content is null) { add($"{item.Field}.contentBase64", "is required and must be valid base64"); return; }
        if (content.Length == 0) { add($"{item.Field}.content", "is empty"); return; }
        if (content.Exceeded || content.Length > limits.MaxMediaBytes) { add($"{item.Field}.content", $"is larger than the limit of {limits.MaxMediaBytes} bytes"); return; }
        var identified = MediaSignature.Identify(content.Header);
        if (identified is null)
        {
            add($"{item.Field}.content", "is not a recognised image (JPEG, PNG, GIF, WebP, BMP, HEIC, AVIF) or video (MP4, QuickTime, WebM, Matroska, AVI)");
            return;
        }
        if (item.Kind is not null && identified.Value.Kind != item.Kind)
        {
            add($"{item.Field}.content", $"is {identified.Value.ContentType}, which is not of the declared kind '{item.Kind}'");
            return;
        }
        if (ok) accepted.Add(new NewMedia(identified.Value.Kind, item.FileName!, identified.Value.ContentType, content));
    }

    /// <summary>Decodes strict base64 (no whitespace, correct padding); null when it is not base64.</summary>
    public static byte[]? DecodeBase64(string? text)
    {
        if (!IsStrictBase64(text, out var length)) return null;
        var bytes = new byte[length];
        return Convert.TryFromBase64String(text, bytes, out var written) && written == length ? bytes : null;
    }

    /// <summary>Strict base64: not empty, no white space, correct padding; <paramref name="length"/> is the decoded size.</summary>
    public static bool IsStrictBase64([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? text, out int length)
    {
        length = 0;
        return !string.IsNullOrEmpty(text) && text.AsSpan().IndexOfAny(" \t\r\n") < 0 && Base64.IsValid(text, out length);
    }

    /// <summary>
    /// A stream of the bytes a strict base64 text encodes, decoded a block at a time as it is read (so staging a file
    /// from inline base64 holds one block of decoded bytes, not the whole file). Check <see cref="IsStrictBase64"/> first.
    /// </summary>
    public static Stream Base64Stream(string text) => new Base64TextStream(text);

    private sealed class Base64TextStream(string text) : Stream
    {
        private const int CharsPerBlock = 64 * 1024; // a multiple of 4: only the last block carries padding
        private readonly byte[] block = new byte[CharsPerBlock / 4 * 3];
        private int position, blockStart, blockLength;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (blockStart == blockLength)
            {
                if (position >= text.Length) return 0;
                var chars = text.AsSpan(position, Math.Min(CharsPerBlock, text.Length - position));
                if (!Convert.TryFromBase64Chars(chars, block, out blockLength)) throw new InvalidDataException("Not valid base64.");
                position += chars.Length;
                blockStart = 0;
            }
            var take = Math.Min(buffer.Length, blockLength - blockStart);
            block.AsSpan(blockStart, take).CopyTo(buffer);
            blockStart += take;
            return take;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => ValueTask.FromResult(Read(buffer.Span));
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => Task.FromResult(Read(buffer, offset, count));
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>The decoded size of a base64 text, without decoding it (for the size limit).</summary>
    public static long DecodedLength(string? text) => text is null ? 0 : (long)text.Length / 4 * 3;

    private static bool CheckText(string field, string? value, int max, Action<string, string> add, bool singleLine = false)
    {
        if (value is null) return true;
        if (value.Length > max) { add(field, $"is {value.Length} characters long; the limit is {max}"); return false; }
        // NUL cannot be stored by PostgreSQL and has no place in text; line breaks have none in ids and names.
        if (value.Contains('\0')) { add(field, "contains a NUL character"); return false; }
        if (singleLine && value.Any(c => char.IsControl(c))) { add(field, "contains control characters"); return false; }
        return true;
    }

    private static void CheckList(string field, List<string?>? values, int maxCount, int maxLength, Action<string, string> add, bool singleLine)
    {
        if (values is null) return;
        if (values.Count > maxCount) { add(field, $"has {values.Count} items; at most {maxCount} are allowed"); return; }
        for (var i = 0; i < values.Count; i++)
        {
            if (values[i] is null) add($"{field}[{i}]", "must be a string, not null");
            else CheckText($"{field}[{i}]", values[i], maxLength, add, singleLine);
        }
    }
}
