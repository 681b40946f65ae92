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

    /// <summary>Key frames as 256×256 grey pixels: what the perceptual hash reads.</summary>
    public async Task<VideoSample> SampleAsync(string path, CancellationToken ct)
    {
        const int frameBytes = FrameSide * FrameSide;
        var (bytes, problemOf) = await RunAsync(path, $"scale={FrameSide}:{FrameSide}:flags=area,format=gray", "gray", frameBytes, ct);
        var frames = new List<SampledFrame>(bytes.Length / frameBytes);
        for (var i = 0; i + frameBytes <= bytes.Length; i += frameBytes)
        {
            var luma = new float[frameBytes];
            for (var k = 0; k < frameBytes; k++) luma[k] = bytes[i + k];
            var index = i / frameBytes;
            frames.Add(new SampledFrame(index, PositionOf(index), new LumaFrame(index, FrameSide, FrameSide, luma, false)));
        }
        return new VideoSample(frames, problemOf(frames.Count));
    }

    /// <summary>
    /// The same key frames (same numbers and positions as <see cref="SampleAsync"/>) in colour, ffmpeg scaling each to
    /// <paramref name="side"/>×<paramref name="side"/> RGB, then made into planar squares of each of <paramref name="sizes"/>:
    /// what image models read.
    /// </summary>
    public async Task<(IReadOnlyList<RgbFrame> Frames, string? Problem)> SampleRgbAsync(string path, int side, IReadOnlyCollection<int> sizes, CancellationToken ct)
    {
        var frameBytes = side * side * 3;
        var (bytes, problemOf) = await RunAsync(path, $"scale={side}:{side}:flags=area,format=rgb24", "rgb24", frameBytes, ct);
        var frames = new List<RgbFrame>(bytes.Length / frameBytes);
        for (var i = 0; i + frameBytes <= bytes.Length; i += frameBytes)
        {
            var index = i / frameBytes;
            frames.Add(new RgbFrame(index, PositionOf(index), ImageDecoder.RgbSquares(bytes.AsSpan(i, frameBytes), side, side, sizes), false));
        }
        return (frames, problemOf(frames.Count));
    }

    /// <summary>
    /// The same key frames (same numbers and positions as <see cref="SampleAsync"/>) in grey at <paramref name="side"/>
    /// × <paramref name="side"/> with the aspect ratio kept (padded with white): what OCR reads, where 256 pixels would
    /// leave a caption's letters a few pixels high.
    /// </summary>
    public async Task<VideoSample> SampleTextFramesAsync(string path, int side, CancellationToken ct)
    {
        var frameBytes = side * side;
        var (bytes, problemOf) = await RunAsync(path,
            $"scale={side}:{side}:force_original_aspect_ratio=decrease:flags=area,pad={side}:{side}:(ow-iw)/2:(oh-ih)/2:color=white,format=gray", "gray", frameBytes, ct);
        var frames = new List<SampledFrame>(bytes.Length / frameBytes);
        for (var i = 0; i + frameBytes <= bytes.Length; i += frameBytes)
        {
            var luma = new float[frameBytes];
            for (var k = 0; k < frameBytes; k++) luma[k] = bytes[i + k];
            var index = i / frameBytes;
            frames.Add(new SampledFrame(index, PositionOf(index), new LumaFrame(index, side, side, luma, false)));
        }
        return new VideoSample(frames, problemOf(frames.Count));
    }

    private long PositionOf(int index) => (long)Math.Round(index * 1000 / options.Value.Video.FramesPerSecond);

    /// <summary>Runs ffmpeg over the video; returns the raw frames (at most MaxFrames) and how to word what went wrong for a frame count.</summary>
    private async Task<(byte[] Frames, Func<int, string?> ProblemOf)> RunAsync(string path, string filter, string pixelFormat, int frameBytes, CancellationToken ct)
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
                    .WithCustomArgument($"-an -sn -dn -t {seconds} -vf fps={rate},{filter} -frames:v {video.MaxFrames} -pix_fmt {pixelFormat}")
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
        if (bytes.Length > (long)frameBytes * video.MaxFrames) bytes = bytes[..(frameBytes * video.MaxFrames)];
        string? firstError;
        lock (errors) firstError = errors.FirstOrDefault();
        return (bytes, count =>
            count == 0 ? $"no frame could be read from the video{(firstError is null ? "" : $": {Excerpt(firstError)}")}"
            : !succeeded || firstError is not null ? $"read {count} frame(s); the rest could not be read{(firstError is null ? "" : $": {Excerpt(firstError)}")}"
            : null);
    }

    private static string Excerpt(string line) => line.Length <= 300 ? line : line[..300] + "…";
}
