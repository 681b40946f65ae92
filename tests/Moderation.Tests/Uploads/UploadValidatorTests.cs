using FluentAssertions;
using Moderation.Api.Uploads;
using Moderation.Core.Uploads;

namespace Moderation.Tests.Uploads;

public sealed class UploadValidatorTests
{
    private static readonly UploadLimits Limits = new();
    private static readonly byte[] Png = Convert.FromHexString("89504E470D0A1A0A0000000D4948445200000001");

    /// <summary>Media as staged: the validator reads only the length and the first bytes, never the file.</summary>
    private static IncomingMedia Media(string? kind, string? fileName, byte[]? bytes, int index = 0) =>
        new($"media[{index}]", kind, fileName,
            bytes is null ? null : new StagedMedia("not-read", bytes.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)),
                bytes[..Math.Min(bytes.Length, MediaSignature.HeaderLength)], Exceeded: false),
            bytes?.Length ?? 0);

    private static Dictionary<string, string[]> Errors(UploadRequest request, params IncomingMedia[] media) =>
        UploadValidator.Validate(request, media, Limits).Errors;

    [Fact]
    public void A_complete_upload_is_accepted_verbatim()
    {
        var (upload, errors) = UploadValidator.Validate(new UploadRequest
        {
            ExternalId = "vid-1", CreatorId = "c-1", Caption = "<script>alert(1)</script>'; DROP TABLE uploads;--",
            Hashtags = ["#a"], Comments = ["nice"], Locale = "pt-BR", Transcript = "hello",
        }, [Media("image", "../../etc/passwd", Png)], Limits);
        errors.Should().BeEmpty();
        upload!.Caption.Should().Be("<script>alert(1)</script>'; DROP TABLE uploads;--");
        upload.Media.Single().FileName.Should().Be("../../etc/passwd");
        upload.Media.Single().ContentType.Should().Be("image/png");
    }

    [Fact]
    public void The_external_id_is_required()
    {
        Errors(new UploadRequest { Caption = "x" }).Should().ContainKey("externalId").WhoseValue.Should().Contain("is required");
        Errors(new UploadRequest { ExternalId = "  ", Caption = "x" }).Should().ContainKey("externalId");
    }

    [Fact]
    public void Text_over_its_limit_is_refused_with_the_field_and_the_limit()
    {
        var errors = Errors(new UploadRequest { ExternalId = "x", Caption = new string('a', 10_001) });
        errors["caption"].Single().Should().Be("is 10001 characters long; the limit is 10000");
    }

    [Fact]
    public void Too_many_hashtags_are_refused()
    {
        var errors = Errors(new UploadRequest { ExternalId = "x", Hashtags = Enumerable.Range(0, 101).Select(i => (string?)$"#{i}").ToList() });
        errors["hashtags"].Single().Should().Contain("101 items; at most 100");
    }

    [Fact]
    public void A_null_list_item_and_a_nul_character_are_named_by_index()
    {
        var errors = Errors(new UploadRequest { ExternalId = "x", Hashtags = ["#ok", null], Comments = ["a\0b"] });
        errors.Should().ContainKey("hashtags[1]");
        errors["comments[0]"].Single().Should().Contain("NUL");
    }

    [Fact]
    public void Ids_and_names_cannot_hold_line_breaks()
    {
        Errors(new UploadRequest { ExternalId = "a\nb", Caption = "x" }).Should().ContainKey("externalId");
    }

    [Fact]
    public void A_malformed_locale_is_refused()
    {
        Errors(new UploadRequest { ExternalId = "x", Caption = "c", Locale = "english please" }).Should().ContainKey("locale");
    }

    [Fact]
    public void Media_whose_bytes_do_not_match_the_declared_kind_is_refused()
    {
        var errors = Errors(new UploadRequest { ExternalId = "x" }, Media("video", "a.mp4", Png));
        errors["media[0].content"].Single().Should().Be("is image/png, which is not of the declared kind 'video'");
    }

    [Fact]
    public void Html_named_jpg_is_refused()
    {
        var html = "<html><img src=x onerror=alert(1)>"u8.ToArray();
        Errors(new UploadRequest { ExternalId = "x" }, Media("image", "cat.jpg", html))["media[0].content"].Single()
            .Should().StartWith("is not a recognised image");
    }

    [Fact]
    public void Invalid_base64_is_refused()
    {
        UploadValidator.DecodeBase64("not base64!!").Should().BeNull();
        UploadValidator.DecodeBase64(Convert.ToBase64String(Png)).Should().Equal(Png);
        Errors(new UploadRequest { ExternalId = "x" }, Media("image", "a.png", null)).Should().ContainKey("media[0].contentBase64");
    }

    [Fact]
    public void Media_over_the_size_limit_is_refused_before_it_is_decoded()
    {
        // The endpoint stages nothing when the declared size is over the limit: the size alone is refused.
        var big = new IncomingMedia("media[0]", "image", "big.png", null, Limits.MaxMediaBytes + 1);
        Errors(new UploadRequest { ExternalId = "x" }, big)["media[0].content"].Single().Should().Contain("larger than the limit");
        var staged = Media("image", "big.png", Png) with { Content = new StagedMedia("gone", Limits.MaxMediaBytes + 1, "", Png[..8], Exceeded: true) };
        Errors(new UploadRequest { ExternalId = "x" }, staged)["media[0].content"].Single().Should().Contain("larger than the limit");
    }

    [Fact]
    public void Unknown_kinds_and_missing_file_names_are_refused()
    {
        var errors = Errors(new UploadRequest { ExternalId = "x" }, Media("audio", null, Png));
        errors.Should().ContainKeys("media[0].kind", "media[0].fileName");
    }

    [Fact]
    public void An_upload_with_nothing_to_score_is_refused()
    {
        Errors(new UploadRequest { ExternalId = "x" }).Should().ContainKey("$");
        Errors(new UploadRequest { ExternalId = "x", Hashtags = ["", "  "], Comments = [" "], Caption = "\t" }).Should().ContainKey("$")
            .WhoseValue.Should().Contain(e => e.Contains("not blank"));
        Errors(new UploadRequest { ExternalId = "x", Hashtags = ["", "cats"] }).Should().NotContainKey("$");
    }
}
