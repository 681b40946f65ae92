using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Media;

/// <summary>Bound from <c>Moderation:Scoring:Media</c>: the hash-match scorer and how media is read for it.</summary>
public sealed class MediaScoringOptions
{
    public const string Section = "Moderation:Scoring:Media";

    /// <summary>Hash every image and sampled video frame and match it against the hash banks. On by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Largest Hamming distance (of 256 bits) that counts as a match; 31 is what PDQ's authors recommend.</summary>
    [Range(0, 63)]
    public int MatchDistance { get; set; } = PerceptualHash.DefaultMatchDistance;

    /// <summary>
    /// Frames whose hash quality is below this are recorded but not matched: a nearly flat frame (a black video
    /// frame, a blank image) has a hash that is mostly noise and would match other flat frames.
    /// </summary>
    [Range(0, 100)]
    public int MinQuality { get; set; } = 50;

    /// <summary>How often the scorer re-reads the hash banks' change stamp (one cheap query); changes apply within it.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Most pixels one image (or animation frame) may declare; checked before decoding.</summary>
    [Range(1, 500_000_000)]
    public long MaxPixels { get; set; } = 40_000_000;

    /// <summary>Frames sampled evenly from an animated image.</summary>
    [Range(1, 1000)]
    public int MaxAnimationFrames { get; set; } = 8;

    public VideoSamplingOptions Video { get; set; } = new();

    /// <summary>How vPDQ banks are matched against uploaded videos.</summary>
    public VpdqOptions Vpdq { get; set; } = new();

    /// <summary>When an entry that suddenly matches a flood of uploads is stopped for a policy user to look at.</summary>
    public HashQuarantineOptions Quarantine { get; set; } = new();
}

/// <summary>
/// A bad entry in a shared list (a logo, a meme template, a blank frame someone hashed) would match innocent uploads by
/// the thousand: an entry that matches more than <see cref="MaxUploads"/> distinct uploads within <see cref="Window"/>
/// is quarantined (it stops matching, its matches are recorded but score nothing) until a policy user releases or
/// retires it.
/// </summary>
public sealed class HashQuarantineOptions
{
    public bool Enabled { get; set; } = true;

    [Range(1, 10_000_000)]
    public int MaxUploads { get; set; } = 100;

    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>How key frames are taken from a video (with ffmpeg): a rate, and limits on frames, content and time.</summary>
public sealed class VideoSamplingOptions
{
    /// <summary>Frames sampled per second of video.</summary>
    [Range(0.001, 30)]
    public double FramesPerSecond { get; set; } = 1;

    /// <summary>Most frames taken from one video; a longer video is sampled only up to this many.</summary>
    [Range(1, 10_000)]
    public int MaxFrames { get; set; } = 60;

    /// <summary>Most seconds of a video read: a stream that claims to run for ever is cut here.</summary>
    [Range(1, 86_400)]
    public double MaxSeconds { get; set; } = 600;

    /// <summary>Wall-clock limit for reading one video; ffmpeg is stopped when it passes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The ffmpeg binary (default: <c>ffmpeg</c> on the PATH; Debian's package).</summary>
    public string? FfmpegPath { get; set; }
}
