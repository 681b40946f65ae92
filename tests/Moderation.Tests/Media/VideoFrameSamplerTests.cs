using System.Diagnostics;
using FluentAssertions;
using Microsoft.Extensions.Options;
using Moderation.Core.Media;

namespace Moderation.Tests.Media;

/// <summary>Key frames from real videos that ffmpeg makes at test time (lavfi test source), and hostile ones.</summary>
public sealed class VideoFrameSamplerTests : IDisposable
{
    private readonly string scratch = Directory.CreateTempSubdirectory("moderation-video-").FullName;

    private static VideoFrameSampler Sampler(double fps = 1, int maxFrames = 60, double maxSeconds = 600, TimeSpan? timeout = null) =>
        new(Options.Create(new MediaScoringOptions
        {
            Video = new VideoSamplingOptions { FramesPerSecond = fps, MaxFrames = maxFrames, MaxSeconds = maxSeconds, Timeout = timeout ?? TimeSpan.FromSeconds(60) },
        }));

    [Fact]
    public async Task Frames_are_sampled_at_the_configured_rate_with_their_times()
    {
        var video = TestMedia.TestPattern(scratch, 3);
        var sample = await Sampler(fps: 2).SampleAsync(video, CancellationToken.None);
        sample.Problem.Should().BeNull();
        sample.Frames.Select(f => f.PositionMs).Should().Equal(0L, 500L, 1000L, 1500L, 2000L, 2500L);
        sample.Frames.Should().OnlyContain(f => f.Luma.Width == VideoFrameSampler.FrameSide && f.Luma.Luma.Length == VideoFrameSampler.FrameSide * VideoFrameSampler.FrameSide);
        // The test pattern moves: consecutive frames differ, and each has detail enough to hash.
        var hashes = sample.Frames.Select(f => PdqHasher.Hash(f.Luma.Luma, f.Luma.Width, f.Luma.Height)).ToList();
        hashes.Should().OnlyContain(h => h.Quality >= 50);
    }

    [Fact]
    public async Task The_frame_and_duration_limits_cut_a_long_video()
    {
        var video = TestMedia.TestPattern(scratch, 8, "160x120");
        (await Sampler(fps: 2, maxFrames: 5).SampleAsync(video, CancellationToken.None)).Frames.Should().HaveCount(5);
        (await Sampler(fps: 1, maxSeconds: 3).SampleAsync(video, CancellationToken.None)).Frames.Should().HaveCount(3);
    }

    [Fact]
    public async Task A_video_that_never_ends_is_stopped_at_the_time_limit()
    {
        // A named pipe nobody writes to: ffmpeg waits for data for ever.
        var fifo = Path.Combine(scratch, "endless.mp4");
        using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        var watch = Stopwatch.StartNew();
        var sample = await Sampler(timeout: TimeSpan.FromSeconds(2)).SampleAsync(fifo, CancellationToken.None);
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30), "the time limit stops ffmpeg");
        sample.Frames.Should().BeEmpty();
        sample.Problem.Should().Contain("longer than 2 s");
    }

    [Fact]
    public async Task A_zip_or_a_playlist_named_mp4_gives_no_frames_and_a_reason()
    {
        var zip = Path.Combine(scratch, "archive.mp4");
        File.WriteAllBytes(zip, [0x50, 0x4B, 0x03, 0x04, .. new byte[200]]);
        var fromZip = await Sampler().SampleAsync(zip, CancellationToken.None);
        fromZip.Frames.Should().BeEmpty();
        fromZip.Problem.Should().StartWith("no frame could be read");

        // An HLS playlist pointing at a local file: ffmpeg must not follow it (format and protocol allow-lists).
        var secret = TestMedia.TestPattern(scratch, 1);
        var playlist = Path.Combine(scratch, "playlist.mp4");
        File.WriteAllText(playlist, $"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile://{secret}\n#EXT-X-ENDLIST\n");
        var fromPlaylist = await Sampler().SampleAsync(playlist, CancellationToken.None);
        fromPlaylist.Frames.Should().BeEmpty();
        fromPlaylist.Problem.Should().StartWith("no frame could be read");
    }

    [Fact]
    public async Task A_video_with_corrupt_frames_gives_the_frames_that_could_be_read()
    {
        // Motion JPEG in AVI: every frame is coded on its own, so damage stays in the frames it hits.
        var output = Path.Combine(scratch, "damaged.avi");
        TestMedia.Ffmpeg("-f", "lavfi", "-i", "testsrc=duration=4:size=160x120:rate=10", "-c:v", "mjpeg", output);
        var bytes = File.ReadAllBytes(output);
        new Random(3).NextBytes(bytes.AsSpan(bytes.Length / 2, 3000));
        File.WriteAllBytes(output, bytes);
        var sample = await Sampler(fps: 2).SampleAsync(output, CancellationToken.None);
        sample.Frames.Should().NotBeEmpty();
        sample.Frames.Count.Should().BeLessThanOrEqualTo(8);
    }

    [Fact]
    public async Task A_machine_without_ffmpeg_is_a_fault_to_fix_not_a_video_without_frames()
    {
        var video = TestMedia.TestPattern(scratch, 1);
        var sampler = new VideoFrameSampler(Options.Create(new MediaScoringOptions { Video = new VideoSamplingOptions { FfmpegPath = Path.Combine(scratch, "no-such-dir", "ffmpeg") } }));
        var act = () => sampler.SampleAsync(video, CancellationToken.None);
        (await act.Should().ThrowAsync<FfmpegUnavailableException>()).Which.Message.Should().Contain("FfmpegPath");
    }

    public void Dispose()
    {
        try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
    }
}
