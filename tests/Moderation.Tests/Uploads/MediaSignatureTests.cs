using System.Text;
using FluentAssertions;
using Moderation.Core.Uploads;

namespace Moderation.Tests.Uploads;

public sealed class MediaSignatureTests
{
    public static TheoryData<string, string, string> Known => new()
    {
        { "FFD8FFE000104A464946000101000001", "image", "image/jpeg" },
        { "89504E470D0A1A0A0000000D49484452", "image", "image/png" },
        { "474946383961010001000000000000FF", "image", "image/gif" },
        { "524946462400000057454250565038", "image", "image/webp" },
        { "000000206674797069736F6D00000200", "video", "video/mp4" },
        { "0000001466747970717420200000000000", "video", "video/quicktime" },
        { "0000001C6674797061766966000000000", "image", "image/avif" },
        { "1A45DFA3A34286810142F7810142F281", "video", "video/webm" },
        { "52494646000000004156492000000000", "video", "video/x-msvideo" },
    };

    [Theory]
    [MemberData(nameof(Known))]
    public void Recognises_accepted_formats_from_their_first_bytes(string hex, string kind, string contentType)
    {
        var bytes = Convert.FromHexString(hex.Length % 2 == 0 ? hex : hex + "0");
        MediaSignature.Identify(bytes).Should().Be((kind, contentType));
    }

    [Theory]
    [InlineData("<html><script>alert(1)</script>")]
    [InlineData("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>")]
    [InlineData("PK\u0003\u0004 zip file")]
    [InlineData("%PDF-1.7")]
    [InlineData("MZ executable")]
    [InlineData("")]
    public void Refuses_bytes_that_are_not_an_accepted_image_or_video(string content)
    {
        MediaSignature.Identify(Encoding.ASCII.GetBytes(content)).Should().BeNull();
    }
}
