using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Scoring;
using Moderation.Core.Uploads;

namespace Moderation.Core.Media;

/// <summary>Bound from <c>Moderation:Scoring:Ocr</c>: reading text in images and video frames with Tesseract.</summary>
public sealed class OcrOptions
{
    public const string Section = "Moderation:Scoring:Ocr";

    /// <summary>Read text in every image and in sampled video frames, and hand it to the text scorer. On by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The tesseract binary (default: <c>tesseract</c> on the PATH; Debian's <c>tesseract-ocr</c>).</summary>
    public string? TesseractPath { get; set; }

    /// <summary>
    /// When Tesseract is not installed. False (the default, so the service runs on a machine with only the .NET SDK):
    /// media is scored without its text being read, each item records why ("text not read: tesseract is not on the
    /// PATH…"), a warning is logged and <c>/health/ready</c> reports OCR as degraded. True: fail closed, the scoring job
    /// fails and is retried until Tesseract is there, so no picture goes through unread.
    /// </summary>
    public bool Required { get; set; }

    /// <summary>Tesseract's language data (Debian's <c>tesseract-ocr-eng</c> for <c>eng</c>; several as <c>eng+deu</c>).</summary>
    [RegularExpression("^[a-z_]{3,16}(\\+[a-z_]{3,16}){0,4}$")]
    public string Language { get; set; } = "eng";

    /// <summary>Wall-clock limit for one frame; Tesseract is killed when it passes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Address space Tesseract may use (MB), enforced with prlimit where it exists.</summary>
    [Range(64, 65_536)]
    public int MemoryLimitMb { get; set; } = 1024;

    /// <summary>A picture is shrunk to at most this many pixels on its longer side before it is read.</summary>
    [Range(64, 10_000)]
    public int MaxSide { get; set; } = 2000;

    /// <summary>Video frames read per video, evenly spread over the sampled frames (reading is far slower than hashing).</summary>
    [Range(1, 1000)]
    public int MaxVideoFrames { get; set; } = 6;

    /// <summary>Side of the square (aspect kept, padded) video frames are read at.</summary>
    [Range(128, 4096)]
    public int VideoSide { get; set; } = 960;

    /// <summary>Words Tesseract is less sure of than this (0–100) are dropped: noise in a photo reads as stray letters.</summary>
    [Range(0, 100)]
    public int MinWordConfidence { get; set; } = 60;

    /// <summary>Most characters of read text kept per upload (what the text scorer gets).</summary>
    [Range(16, 100_000)]
    public int MaxTextLength { get; set; } = 4000;
}

/// <summary>Tesseract cannot be run on this machine: a fault to fix and retry, never a verdict on an upload.</summary>
public sealed class TesseractUnavailableException(string message, Exception? inner) : Exception(message, inner);

/// <summary>What Tesseract read in one picture: the lines of words it was sure enough of, and their mean confidence.</summary>
public sealed record ReadText(string Text, double? Confidence);

/// <summary>
/// Runs Tesseract on one greyscale picture as a contained process: the picture goes in on stdin (a PGM, made here, so no
/// decoder of Tesseract's ever sees the uploaded file), the words come out on stdout as TSV; one thread
/// (<c>OMP_THREAD_LIMIT=1</c>), an address-space and CPU-time limit through <c>prlimit</c> where it exists, a wall-clock
/// limit after which the process is killed, and a cap on what it may print. A hang, a crash or garbage is an outcome
/// with its reason, never a hung job.
/// </summary>
public sealed class TesseractRunner(IOptions<OcrOptions> options)
{
    private const int MaxOutputBytes = 4 * 1024 * 1024;

    private static readonly string? Prlimit = File.Exists("/usr/bin/prlimit") ? "/usr/bin/prlimit" : null;

    /// <summary>
    /// Luminance from which a pixel counts as white caption text in the second reading. Meme captions are white with a
    /// dark outline over a photograph, which Tesseract's own binarisation loses in the texture (measured: a character
    /// error rate of about 90% on such pictures, against 0% on plain backgrounds); kept alone as dark on white, they read.
    /// </summary>
    public const byte CaptionWhite = 245;

    /// <summary>
    /// Reads a picture as it is and, unless that already read confidently, once more with only its near-white pixels
    /// kept as dark text on white (see <see cref="CaptionWhite"/>); the reading with more confident characters wins.
    /// </summary>
    public async Task<(ReadText? Text, string? Problem)> ReadPictureAsync(byte[] luma, int width, int height, CancellationToken ct)
    {
        var first = await ReadAsync(luma, width, height, ct);
        if (first.Problem is not null || first.Text is { Confidence: >= 85 }) return first;
        var captions = new byte[luma.Length];
        for (var i = 0; i < luma.Length; i++) captions[i] = luma[i] >= CaptionWhite ? (byte)0 : (byte)255;
        var second = await ReadAsync(captions, width, height, ct);
        if (second.Problem is not null) return first;
        return Weight(second.Text) > Weight(first.Text) ? second : first;
    }

    private static double Weight(ReadText? text) => text is { Confidence: { } c } ? c * text.Text.Count(ch => !char.IsWhiteSpace(ch)) : 0;

    /// <returns>The text read, or the problem (timed out, crashed) as <see cref="OcrProblem"/>.</returns>
    /// <exception cref="TesseractUnavailableException">Tesseract is not installed or its language data is missing.</exception>
    public async Task<(ReadText? Text, string? Problem)> ReadAsync(byte[] luma, int width, int height, CancellationToken ct)
    {
        var o = options.Value;
        var (tesseract, missing) = Locate();
        if (tesseract is null) throw new TesseractUnavailableException(missing!, null);
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (Prlimit is not null)
        {
            start.FileName = Prlimit;
            foreach (var a in new[] { $"--as={(long)o.MemoryLimitMb * 1024 * 1024}", $"--cpu={(int)Math.Ceiling(o.Timeout.TotalSeconds) + 1}", "--core=0", "--nofile=64", "--", tesseract })
                start.ArgumentList.Add(a);
        }
        else start.FileName = tesseract;
        foreach (var a in new[] { "stdin", "stdout", "-l", o.Language, "--psm", "3", "tsv" }) start.ArgumentList.Add(a);
        start.Environment["OMP_THREAD_LIMIT"] = "1";

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new TesseractUnavailableException(
                $"tesseract could not be started ({e.Message}); install Debian's tesseract-ocr and tesseract-ocr-eng, set Moderation:Scoring:Ocr:TesseractPath, or turn OCR off (Moderation:Scoring:Ocr:Enabled=false).", e);
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(o.Timeout);
        var stdout = ReadCappedAsync(process.StandardOutput.BaseStream, MaxOutputBytes, deadline.Token);
        var stderr = ReadCappedAsync(process.StandardError.BaseStream, 64 * 1024, deadline.Token);
        // A process that prints past the cap is stopped at once, not left blocked on a full pipe until the deadline.
        _ = stdout.ContinueWith(t => { if (t.Result.Truncated) Kill(process); }, TaskScheduler.Default);
        try
        {
            await using (var input = process.StandardInput.BaseStream)
            {
                await input.WriteAsync(Encoding.ASCII.GetBytes($"P5\n{width} {height}\n255\n"), deadline.Token);
                await input.WriteAsync(luma, deadline.Token);
            }
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            Kill(process);
            ct.ThrowIfCancellationRequested();
            if (stdout.IsCompleted && stdout.Result.Truncated)
                return (null, $"tesseract printed more than {MaxOutputBytes} bytes and was stopped");
            if (deadline.IsCancellationRequested)
                return (null, $"tesseract took longer than {o.Timeout.TotalSeconds:0.#} s and was stopped");
            // It closed its input early: it died; its exit code below says how.
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        }
        var (output, truncated) = await stdout;
        var (error, _) = await stderr;
        var errors = Encoding.UTF8.GetString(error);
        if (truncated)
        {
            Kill(process);
            return (null, $"tesseract printed more than {MaxOutputBytes} bytes and was stopped");
        }
        if (process.ExitCode != 0)
        {
            if (errors.Contains("Failed loading language", StringComparison.Ordinal) || errors.Contains("Error opening data file", StringComparison.Ordinal))
                throw new TesseractUnavailableException($"tesseract has no '{o.Language}' language data: install Debian's tesseract-ocr-{o.Language.Split('+')[0]} ({Excerpt(errors)}).", null);
            return (null, $"tesseract failed (exit code {process.ExitCode}){(errors.Length > 0 ? $": {Excerpt(errors)}" : "")}");
        }
        return (Parse(Encoding.UTF8.GetString(output), o.MinWordConfidence), null);
    }

    /// <summary>The tesseract binary, or why there is none (and what to do about it).</summary>
    public (string? Path, string? Missing) Locate()
    {
        var o = options.Value;
        var found = string.IsNullOrWhiteSpace(o.TesseractPath) ? OnPath("tesseract") : Path.GetFullPath(o.TesseractPath);
        return found is not null && File.Exists(found)
            ? (found, null)
            : (null, $"tesseract is not {(string.IsNullOrWhiteSpace(o.TesseractPath) ? "on the PATH" : $"at {o.TesseractPath}")}: install Debian's tesseract-ocr and tesseract-ocr-eng, set Moderation:Scoring:Ocr:TesseractPath, or turn OCR off (Moderation:Scoring:Ocr:Enabled=false).");
    }

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>TSV rows of level 5 (words): text and confidence; words grouped into lines by block, paragraph and line.</summary>
    public static ReadText Parse(string tsv, int minConfidence)
    {
        var lines = new List<(string Key, List<string> Words)>();
        var confidences = new List<double>();
        foreach (var row in tsv.Split('\n').Skip(1))
        {
            var f = row.TrimEnd('\r').Split('\t');
            if (f.Length < 12 || f[0] != "5") continue;
            if (!double.TryParse(f[10], NumberStyles.Float, CultureInfo.InvariantCulture, out var confidence) || confidence < minConfidence) continue;
            var word = new string(f[11].Where(c => !char.IsControl(c)).ToArray()).Trim();
            if (word.Length == 0) continue;
            var key = $"{f[2]}.{f[3]}.{f[4]}";
            if (lines.Count == 0 || lines[^1].Key != key) lines.Add((key, []));
            lines[^1].Words.Add(word);
            confidences.Add(confidence);
        }
        return new ReadText(string.Join('\n', lines.Select(l => string.Join(' ', l.Words))), confidences.Count == 0 ? null : Math.Round(confidences.Average(), 1));
    }

    private static async Task<(byte[] Bytes, bool Truncated)> ReadCappedAsync(Stream stream, int cap, CancellationToken ct)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > cap) return (buffer.ToArray(), true);
                buffer.Write(chunk, 0, read);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The process was stopped; what it printed so far is what there is.
        }
        return (buffer.ToArray(), false);
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own meanwhile.
        }
    }

    private static string Excerpt(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 300 ? line : line[..300] + "…";
    }
}

/// <summary>
/// Reads the text in an upload's images and video frames before the scorers run (<see cref="ScoringJob"/>), so the
/// text scorer scores what a picture says (<see cref="UploadContent.ImageText"/>) like any other text of the upload;
/// what was read, with the frame it came from, is stored per frame (<c>media_frame_text</c>) and shown with the upload.
/// Images are read whole (shrunk to <see cref="OcrOptions.MaxSide"/>); videos at up to
/// <see cref="OcrOptions.MaxVideoFrames"/> of the frames the hash scorer samples, read at <see cref="OcrOptions.VideoSide"/>,
/// with the same frame numbers. Text repeated across frames (a caption burnt into a video) is handed on once.
/// </summary>
public sealed class ImageTextReader(
    MediaStore store,
    MediaFrameReader reader,
    VideoFrameSampler video,
    TesseractRunner tesseract,
    MediaFrameLog evidenceLog,
    IOptions<OcrOptions> options,
    ILogger<ImageTextReader> logger)
{
    private int warned;

    /// <summary>The uploads with <see cref="UploadContent.ImageText"/> filled where their media said something.</summary>
    public async Task<IReadOnlyList<UploadContent>> ReadAsync(IReadOnlyList<UploadContent> batch, CancellationToken ct)
    {
        var work = batch.SelectMany(u => u.Media.Select(m => (Upload: u, Item: m))).ToList();
        if (work.Count == 0) return batch;
        if (!options.Value.Required && tesseract.Locate() is (null, var missing))
        {
            // Not installed and not required: the media is still hashed and classified; each item says its text was not read.
            if (Interlocked.Exchange(ref warned, 1) == 0)
                logger.LogWarning("Text in images is not read: {Missing} (Moderation:Scoring:Ocr:Required=true fails scoring instead)", missing);
            await evidenceLog.RecordTextAsync(work.Select(w => (w.Upload.Id, new FrameTextEvidence(w.Item.Ordinal, -1, null, null, null, $"text not read: {missing}"))).ToList(), ct);
            return batch;
        }
        var evidence = new IReadOnlyList<FrameTextEvidence>[work.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, work.Count),
            new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (i, token) => evidence[i] = await ReadItemAsync(work[i].Upload.Id, work[i].Item, token));
        await evidenceLog.RecordTextAsync(work.SelectMany((w, i) => evidence[i].Select(e => (w.Upload.Id, e))).ToList(), ct);

        var max = options.Value.MaxTextLength;
        var byUpload = work.Select((w, i) => (w.Upload.Id, Evidence: evidence[i])).ToLookup(x => x.Id, x => x.Evidence);
        return batch.Select(upload =>
        {
            var lines = byUpload[upload.Id].SelectMany(e => e).Where(e => !string.IsNullOrWhiteSpace(e.Text))
                .SelectMany(e => e.Text!.Split('\n')).Select(l => l.Trim()).Where(l => l.Length > 0)
                .Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (lines.Count == 0) return upload;
            var text = string.Join(' ', lines);
            return upload with { ImageText = text.Length <= max ? text : text[..max] };
        }).ToList();
    }

    private async Task<IReadOnlyList<FrameTextEvidence>> ReadItemAsync(string uploadId, MediaItem item, CancellationToken ct)
    {
        var o = options.Value;
        List<(int Frame, long? PositionMs, byte[] Luma, int Width, int Height)> frames;
        string? problem;
        try
        {
            (frames, problem) = item.Kind == MediaKind.Video ? await VideoFramesAsync(item, ct) : await ImageFramesAsync(item, ct);
        }
        catch (Exception e) when (e is not (OperationCanceledException or IOException or UnauthorizedAccessException or FfmpegUnavailableException))
        {
            logger.LogWarning(e, "Media {Ordinal} of upload {UploadId} could not be read for OCR", item.Ordinal, uploadId);
            (frames, problem) = ([], $"could not be read: {e.Message}");
        }
        if (frames.Count == 0) return [new FrameTextEvidence(item.Ordinal, -1, null, null, null, problem ?? "no frame could be read")];
        var result = new List<FrameTextEvidence>();
        foreach (var (frame, position, luma, width, height) in frames)
        {
            var (text, trouble) = await tesseract.ReadPictureAsync(luma, width, height, ct);
            result.Add(new FrameTextEvidence(item.Ordinal, frame, position, text?.Text, text?.Confidence,
                result.Count == 0 && problem is not null ? (trouble is null ? problem : $"{problem}; {trouble}") : trouble));
        }
        return result;
    }

    private async Task<(List<(int, long?, byte[], int, int)>, string?)> ImageFramesAsync(MediaItem item, CancellationToken ct)
    {
        var (frames, problem) = await reader.ReadAsync(item, ct);
        var max = options.Value.MaxSide;
        return (frames.Select(f =>
        {
            var (luma, width, height) = Shrink(f.Luma.Luma, f.Luma.Width, f.Luma.Height, max);
            return (f.Index, f.PositionMs, luma, width, height);
        }).ToList(), problem);
    }

    private async Task<(List<(int, long?, byte[], int, int)>, string?)> VideoFramesAsync(MediaItem item, CancellationToken ct)
    {
        var o = options.Value;
        var path = store.PathFor(item.Sha256);
        if (!File.Exists(path)) throw new FileNotFoundException($"Media file {item.Sha256} of the upload is missing from the media store.", path);
        var sample = await video.SampleTextFramesAsync(path, o.VideoSide, ct);
        var count = sample.Frames.Count;
        // Evenly spread over the sampled frames: a caption on screen for a few seconds is seen, and the cost is bounded.
        var chosen = count <= o.MaxVideoFrames
            ? Enumerable.Range(0, count)
            : Enumerable.Range(0, o.MaxVideoFrames).Select(i => (int)Math.Round(i * (count - 1) / (double)(o.MaxVideoFrames - 1))).Distinct();
        return (chosen.Select(i => sample.Frames[i]).Select(f => (f.Index, f.PositionMs,
            f.Luma.Luma.Select(v => (byte)Math.Clamp(v, 0, 255)).ToArray(), f.Luma.Width, f.Luma.Height)).ToList(), sample.Problem);
    }

    /// <summary>Luminance as bytes, box-averaged down to at most <paramref name="max"/> on the longer side.</summary>
    private static (byte[] Luma, int Width, int Height) Shrink(float[] luma, int width, int height, int max)
    {
        var factor = Math.Max(1, (int)Math.Ceiling(Math.Max(width, height) / (double)max));
        int w = Math.Max(1, width / factor), h = Math.Max(1, height / factor);
        var result = new byte[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                float sum = 0;
                for (var dy = 0; dy < factor; dy++)
                    for (var dx = 0; dx < factor; dx++) sum += luma[(y * factor + dy) * width + x * factor + dx];
                result[y * w + x] = (byte)Math.Clamp(MathF.Round(sum / (factor * factor)), 0, 255);
            }
        return (result, w, h);
    }
}
