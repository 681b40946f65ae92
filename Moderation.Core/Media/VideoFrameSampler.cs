using System.Globalization;
using FFMpegCore;
using FFMpegCore.Enums;
using FFMpegCore.Pipes;
using Microsoft.Extensions.Options;

namespace Moderation.Core.Media;

/// <summary>ffmpeg cannot be run on this machine: a fault to fix and retry, never a verdict on a video.</summary>
public sealed class FfmpegUnavailableException(string message, Exception? inner) : Exception(message, inner);

/// <summary>Frames sampled from a video, and what went wrong while reading it, if anything.</summary>
public sealed record VideoSample(IReadOnlyList<SampledFrame> Frames, string? Problem);

/// <summary>One frame taken from a media item: its number, where in a video it was taken, and its luminance.</summary>
public sealed record SampledFrame(int Index, long? PositionMs, LumaFrame Luma);

/// <summary>
/// Samples key frames from a video with ffmpeg (the system's binary, driven through FFMpegCore): a configurable rate,
/// at most <see cref="VideoSamplingOptions.MaxFrames"/> frames from at most <see cref="VideoSamplingOptions.MaxSeconds"/>
/// of content, stopped after <see cref="VideoSamplingOptions.Timeout"/> of wall-clock time. Frames come out of ffmpeg
/// as 256×256 grey pixels on a pipe: the hash squeezes every image to 64×64 anyway, so the aspect ratio is not
/// needed, and a frame's size is fixed whatever the file declares. Hostile files: only local file input and the
/// container formats the intake accepts (MP4/MOV, Matroska/WebM, AVI) are allowed, so a playlist posing as a video
/// cannot make ffmpeg open other files or the network. A corrupt or endless video gives the frames that could be
/// read, with the problem named.
/// </summary>
public sealed class VideoFrameSampler(IOptions<MediaScoringOptions> options)
{
    /// <summary>Side of the square grey frames ffmpeg hands over.</summary>
    public const int FrameSide = 256;

    private const string AllowedFormats = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi";

    public async Task<VideoSample> SampleAsync(string path, CancellationToken ct)
    {
        var video = options.Value.Video;
        var rate = video.FramesPerSecond.ToString("0.######", CultureInfo.InvariantCulture);
        var seconds = video.MaxSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        var output = new MemoryStream();
        var errors = new List<string>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(video.Timeout);
        var ffOptions = new FFOptions();
        if (!string.IsNullOrWhiteSpace(video.FfmpegPath))
        {
            var binary = Path.GetFullPath(video.FfmpegPath);
            if (!File.Exists(binary))
                throw new FfmpegUnavailableException($"ffmpeg is not at {binary} (Moderation:Scoring:Media:Video:FfmpegPath); install Debian's ffmpeg or correct the path.", null);
            ffOptions.BinaryFolder = Path.GetDirectoryName(binary)!;
        }

        var timedOut = $"reading the video took longer than {video.Timeout.TotalSeconds:0.#} s and was stopped";
        bool succeeded;
        try
        {
            var result = await FFMpegArguments
                .FromFileInput(path, verifyExists: true, input => input
                    .WithCustomArgument($"-nostdin -protocol_whitelist file -format_whitelist {AllowedFormats}"))
                .OutputToPipe(new StreamPipeSink(output), o => o
                    .WithCustomArgument($"-an -sn -dn -t {seconds} -vf fps={rate},scale={FrameSide}:{FrameSide}:flags=area,format=gray -frames:v {video.MaxFrames} -pix_fmt gray")
                    .ForceFormat("rawvideo"))
                .WithLogLevel(FFMpegLogLevel.Error)
                .NotifyOnStandardError(line => { lock (errors) if (errors.Count < 20 && !string.IsNullOrWhiteSpace(line)) errors.Add(line.Trim()); })
                .CancellableThrough(deadline.Token)
                .ProcessAsynchronously(throwOnError: false, ffOptions, deadline.Token);
            succeeded = result.Success && !result.Cancelled;
            if (result.Cancelled && !ct.IsCancellationRequested) lock (errors) errors.Insert(0, timedOut);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            succeeded = false;
            lock (errors) errors.Insert(0, timedOut);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            // No ffmpeg to start: the machine's fault, not the video's. Videos must not pass unread.
            throw new FfmpegUnavailableException(
                $"ffmpeg could not be started ({e.Message}); install Debian's ffmpeg or set Moderation:Scoring:Media:Video:FfmpegPath.", e);
        }
        ct.ThrowIfCancellationRequested();

        var bytes = output.ToArray();
        const int frameBytes = FrameSide * FrameSide;
        var frames = new List<SampledFrame>(bytes.Length / frameBytes);
        for (var i = 0; i + frameBytes <= bytes.Length && i / frameBytes < video.MaxFrames; i += frameBytes)
        {
            var luma = new float[frameBytes];
            for (var k = 0; k < frameBytes; k++) luma[k] = bytes[i + k];
            var index = i / frameBytes;
            frames.Add(new SampledFrame(index, (long)Math.Round(index * 1000 / video.FramesPerSecond), new LumaFrame(index, FrameSide, FrameSide, luma, false)));
        }

        string? problem = null;
        string? firstError;
        lock (errors) firstError = errors.FirstOrDefault();
        if (frames.Count == 0)
            problem = $"no frame could be read from the video{(firstError is null ? "" : $": {Excerpt(firstError)}")}";
        else if (!succeeded || firstError is not null)
            problem = $"read {frames.Count} frame(s); the rest could not be read{(firstError is null ? "" : $": {Excerpt(firstError)}")}";
        return new VideoSample(frames, problem);
    }

    private static string Excerpt(string line) => line.Length <= 300 ? line : line[..300] + "…";
}
