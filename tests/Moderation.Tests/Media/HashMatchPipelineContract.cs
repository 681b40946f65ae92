using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Moderation.Core.Media;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using SkiaSharp;

namespace Moderation.Tests.Media;

/// <summary>The API host with the hash-match scorer on (and no other scorer), media limits large enough for real images.</summary>
public abstract class MediaApiFixture(DatabaseProvider provider) : ApiFixture(provider)
{
    protected override bool WithScorer => false;

    protected override IDictionary<string, string?> HostSettings => new Dictionary<string, string?>(Settings)
    {
        ["Moderation:Limits:MaxMediaBytes"] = "2097152",
        ["Moderation:Limits:MaxRequestBytes"] = "16777216",
        ["Moderation:Scoring:Media:Enabled"] = "true",
        // Read the banks' change stamp on every batch, so a retired entry stops matching at once.
        ["Moderation:Scoring:Media:RefreshInterval"] = "00:00:00",
        ["Moderation:Scoring:Media:Video:FramesPerSecond"] = "2",
    };
}

public sealed class SqliteMediaApiFixture() : MediaApiFixture(DatabaseProvider.Sqlite);
public sealed class PostgresMediaApiFixture() : MediaApiFixture(DatabaseProvider.Postgres);

/// <summary>
/// Uploads with images and videos go through the real API host and the Hangfire job: every frame is hashed and
/// matched against the hash banks, a match routes by its bank's action and becomes a <c>hash_match</c> signal, and
/// the upload's status shows the evidence frame by frame. Once per provider.
/// </summary>
public abstract class HashMatchPipelineContract<TFixture>(TFixture fixture) : IDisposable where TFixture : MediaApiFixture
{
    private readonly string scratch = Directory.CreateTempSubdirectory("moderation-media-").FullName;

    private TestApi Api => fixture.Api;

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private async Task<string> BankWithAsync(string action, params string[] hashes)
    {
        var name = Unique("bank");
        (await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name, category = "harm.violence", action })).StatusCode.Should().Be(HttpStatusCode.Created);
        var csv = "hash,source\n" + string.Join('\n', hashes.Select((h, i) => $"{h},test scene {i}"));
        var imported = await Api.Client.PostAsync($"/v1/hashbanks/{name}/entries", new StringContent(csv, Encoding.UTF8, "text/csv"));
        imported.StatusCode.Should().Be(HttpStatusCode.OK, await imported.Content.ReadAsStringAsync());
        return name;
    }

    private static object Media(string kind, string fileName, byte[] bytes) => new { kind, fileName, contentBase64 = Convert.ToBase64String(bytes) };

    private async Task<JsonElement> UploadAndWaitAsync(params object[] media)
    {
        var id = (await Api.PostUploadAsync(new { externalId = Unique("media"), caption = "holiday", media })).GetProperty("id").GetString()!;
        var upload = await Api.WaitUntilRoutedAsync(id, TimeSpan.FromSeconds(120));
        upload.GetProperty("status").GetString().Should().NotBe("queued", upload.ToString());
        return upload;
    }

    [Fact]
    public async Task A_resized_recompressed_copy_of_a_banked_image_is_actioned_with_per_frame_evidence_and_a_hash_match_signal()
    {
        var scene = SyntheticPhotos.Photo(101, 480, 360);
        var banked = PdqHasher.Hash(scene.Luma, scene.Width, scene.Height).Hash.ToString();
        var bank = await BankWithAsync("ineligible", banked);

        var copy = TestMedia.Encode(TestMedia.HalfSize(scene), SKEncodedImageFormat.Jpeg, 50);
        var other = TestMedia.Encode(SyntheticPhotos.Photo(102), SKEncodedImageFormat.Png);
        var truncated = TestMedia.Encode(SyntheticPhotos.Photo(103), SKEncodedImageFormat.Jpeg, 90);
        truncated = truncated[..(truncated.Length / 2)];
        var upload = await UploadAndWaitAsync(Media("image", "copy.jpg", copy), Media("image", "other.png", other), Media("image", "cut.jpg", truncated));

        upload.GetProperty("status").GetString().Should().Be("actioned", upload.ToString());
        var score = upload.GetProperty("scores").EnumerateArray().Single();
        score.GetProperty("category").GetString().Should().Be("harm.violence");
        score.GetProperty("score").GetDouble().Should().Be(1.0);
        score.GetProperty("scorer").GetString().Should().Be(HashMatchScorer.ScorerName);
        score.GetProperty("modelVersion").GetString().Should().Be($"hash-bank:{bank}");
        var explanation = score.GetProperty("explanations")[0].GetString()!;
        explanation.Should().Contain($"hash bank '{bank}'").And.Contain("media 0 (image), frame 0").And.MatchRegex("at distance [0-9]+ of 256");

        var media = upload.GetProperty("media").EnumerateArray().ToList();
        var matched = media[0].GetProperty("frames").EnumerateArray().Single();
        matched.GetProperty("hash").GetString().Should().MatchRegex("^[0-9a-f]{64}$");
        matched.GetProperty("quality").GetInt32().Should().BeGreaterThanOrEqualTo(50);
        var match = matched.GetProperty("matches").EnumerateArray().Single();
        match.GetProperty("bank").GetString().Should().Be(bank);
        match.GetProperty("distance").GetInt32().Should().BeLessThanOrEqualTo(31);
        match.GetProperty("action").GetString().Should().Be("ineligible");
        explanation.Should().Contain(match.GetProperty("entryId").GetString()!);

        media[1].GetProperty("frames").EnumerateArray().Single().GetProperty("matches").GetArrayLength().Should().Be(0);
        var cut = media[2].GetProperty("frames").EnumerateArray().Single();
        cut.GetProperty("problem").GetString().Should().NotBeNullOrEmpty();

        var signal = (await Api.ReadAllSignalsAsync()).Single(s => s.GetProperty("uploadId").GetString() == upload.GetProperty("id").GetString());
        signal.GetProperty("source").GetString().Should().Be("hash_match");
        signal.GetProperty("category").GetString().Should().Be("harm.violence");
        signal.GetProperty("action").GetString().Should().Be("ineligible");
        signal.GetProperty("demotionMultiplier").GetDouble().Should().Be(0.0);
        signal.GetProperty("modelVersion").GetString().Should().Be($"hash-bank:{bank}");
    }

    [Fact]
    public async Task A_bank_that_asks_for_no_action_sends_a_match_to_review_and_a_retired_entry_stops_matching()
    {
        var scene = SyntheticPhotos.Photo(111);
        var bank = await BankWithAsync("none", PdqHasher.Hash(scene.Luma, scene.Width, scene.Height).Hash.ToString());
        var png = TestMedia.Encode(scene, SKEncodedImageFormat.Png);

        var first = await UploadAndWaitAsync(Media("image", "a.png", png));
        first.GetProperty("status").GetString().Should().Be("in_review", first.ToString());
        var entryId = first.GetProperty("media")[0].GetProperty("frames")[0].GetProperty("matches")[0].GetProperty("entryId").GetString();

        (await Api.Client.PostAsJsonAsync($"/v1/hashbanks/{bank}/entries/{entryId}/retire", new { reason = "cleared on appeal" })).StatusCode.Should().Be(HttpStatusCode.OK);
        var second = await UploadAndWaitAsync(Media("image", "a.png", png));
        second.GetProperty("status").GetString().Should().Be("allowed", second.ToString());
        second.GetProperty("scores").GetArrayLength().Should().Be(0);
        second.GetProperty("media")[0].GetProperty("frames")[0].GetProperty("matches").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Video_frames_are_sampled_and_a_banked_still_inside_a_video_is_matched_at_its_time()
    {
        var scene = SyntheticPhotos.Photo(121, 320, 240);
        var bank = await BankWithAsync("demote", PdqHasher.Hash(scene.Luma, scene.Width, scene.Height).Hash.ToString());
        var video = TestMedia.StillVideo(TestMedia.Encode(scene, SKEncodedImageFormat.Png), 2, scratch);

        var upload = await UploadAndWaitAsync(Media("video", "clip.mp4", video));
        upload.GetProperty("status").GetString().Should().Be("actioned", upload.ToString());
        var frames = upload.GetProperty("media")[0].GetProperty("frames").EnumerateArray().ToList();
        frames.Should().HaveCount(4, "2 seconds sampled at 2 frames a second");
        frames.Select(f => f.GetProperty("positionMs").GetInt64()).Should().Equal(0, 500, 1000, 1500);
        frames.Should().OnlyContain(f => f.GetProperty("matches").GetArrayLength() == 1);
        var score = upload.GetProperty("scores").EnumerateArray().Single();
        score.GetProperty("explanations")[0].GetString().Should().Contain("media 0 (video), frame").And.Contain(" s: matches entry");
        var signal = (await Api.ReadAllSignalsAsync()).Single(s => s.GetProperty("uploadId").GetString() == upload.GetProperty("id").GetString());
        signal.GetProperty("action").GetString().Should().Be("demote");
        signal.GetProperty("source").GetString().Should().Be("hash_match");
    }

    [Fact]
    public async Task A_corrupt_video_is_recorded_with_its_reason_and_the_upload_is_still_routed()
    {
        var good = File.ReadAllBytes(TestMedia.TestPattern(scratch, 2));
        // Keep the container's header (so the intake accepts it as MP4) and overwrite the rest with noise.
        var corrupt = (byte[])good.Clone();
        new Random(5).NextBytes(corrupt.AsSpan(64));
        var upload = await UploadAndWaitAsync(Media("video", "broken.mp4", corrupt));
        upload.GetProperty("status").GetString().Should().Be("allowed", upload.ToString());
        var frame = upload.GetProperty("media")[0].GetProperty("frames").EnumerateArray().First();
        frame.GetProperty("problem").GetString().Should().NotBeNullOrEmpty();
    }

    private async Task<string> BankOfAsync(string algorithm, string action, string plainList)
    {
        var name = Unique("bank");
        (await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name, category = "harm.violence", action, algorithm })).StatusCode.Should().Be(HttpStatusCode.Created);
        var imported = await Api.Client.PostAsync($"/v1/hashbanks/{name}/entries?source=partner%20list", new StringContent(plainList, Encoding.UTF8, "text/plain"));
        imported.StatusCode.Should().Be(HttpStatusCode.OK, await imported.Content.ReadAsStringAsync());
        return name;
    }

    [Fact]
    public async Task A_file_whose_md5_is_banked_matches_the_exact_file_bank_even_when_no_frame_can_be_decoded()
    {
        var good = File.ReadAllBytes(TestMedia.TestPattern(scratch, 2));
        var corrupt = (byte[])good.Clone();
        new Random(9).NextBytes(corrupt.AsSpan(64));
        var bank = await BankOfAsync(HashAlgorithms.Md5, "none", $"# exact files\n{HashAlgorithms.Digest(HashAlgorithms.Md5, corrupt).ToUpperInvariant()}\n");

        var upload = await UploadAndWaitAsync(Media("video", "broken.mp4", corrupt));
        upload.GetProperty("status").GetString().Should().Be("in_review", upload.ToString());
        var whole = upload.GetProperty("media")[0].GetProperty("frames").EnumerateArray().First();
        whole.GetProperty("frame").GetInt32().Should().Be(-1);
        var match = whole.GetProperty("matches").EnumerateArray().Single();
        (match.GetProperty("bank").GetString(), match.GetProperty("algorithm").GetString()).Should().Be((bank, "md5"));
        upload.GetProperty("scores")[0].GetProperty("explanations")[0].GetString().Should().Contain("the file's md5 is the entry's");
    }

    [Fact]
    public async Task A_reencoded_copy_of_a_banked_video_matches_its_vpdq_entry_by_the_share_of_matching_frames()
    {
        var original = TestMedia.TestPattern(scratch, 3);
        var sampler = new VideoFrameSampler(Microsoft.Extensions.Options.Options.Create(new MediaScoringOptions { Video = { FramesPerSecond = 2 } }));
        var sample = await sampler.SampleAsync(original, CancellationToken.None);
        var lines = string.Join('\n', sample.Frames.Select(f =>
        {
            var hash = PdqHasher.Hash(f.Luma.Luma, f.Luma.Width, f.Luma.Height);
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{f.Index},{hash.Quality},{hash.Hash},{f.PositionMs / 1000.0:0.###}");
        }));
        var bank = await BankOfAsync(HashAlgorithms.Vpdq, "demote", lines);

        var copyDirectory = Directory.CreateDirectory(Path.Combine(scratch, "copy")).FullName;
        var copy = File.ReadAllBytes(TestMedia.TestPattern(copyDirectory, 3, codec: "mpeg4"));
        var upload = await UploadAndWaitAsync(Media("video", "copy.mp4", copy));
        upload.GetProperty("status").GetString().Should().Be("actioned", upload.ToString());
        var whole = upload.GetProperty("media")[0].GetProperty("frames").EnumerateArray().First();
        whole.GetProperty("frame").GetInt32().Should().Be(-1);
        var match = whole.GetProperty("matches").EnumerateArray().Single(m => m.GetProperty("bank").GetString() == bank);
        match.GetProperty("algorithm").GetString().Should().Be("vpdq");
        match.GetProperty("detail").GetString().Should().Contain("frames match the entry");
        upload.GetProperty("media")[0].GetProperty("frames")[1].GetProperty("pdq").GetString().Should().MatchRegex("^[0-9a-f]{64}$");
    }

    public void Dispose()
    {
        try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteHashMatchPipelineTests(SqliteMediaApiFixture fixture)
    : HashMatchPipelineContract<SqliteMediaApiFixture>(fixture), IClassFixture<SqliteMediaApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresHashMatchPipelineTests(PostgresMediaApiFixture fixture)
    : HashMatchPipelineContract<PostgresMediaApiFixture>(fixture), IClassFixture<PostgresMediaApiFixture>;
