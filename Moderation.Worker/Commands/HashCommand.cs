using System.CommandLine;
using System.Globalization;
using CsvHelper;
using Moderation.Core.Media;

namespace Moderation.Worker.Commands;

/// <summary>
/// <c>hash</c>: the hash of every file under a directory, as <c>path,hash,quality</c>: PDQ by default (bit-compatible
/// with Facebook's reference, so the list can be exchanged), crop-robust (this service's own), or the exact-file
/// digests (md5, sha256; quality empty). vPDQ is per video: see <c>hashbank import</c> for its line format.
/// </summary>
internal static class HashCommand
{
    public static Command Create()
    {
        var input = new Option<DirectoryInfo>("--input") { Required = true, Description = "Directory to walk (recursively) for images." };
        var output = new Option<FileInfo>("--output") { Required = true, Description = "CSV to write: path (relative to --input), hash, quality (0-100; empty for md5 and sha256)." };
        var algorithm = new Option<string>("--algorithm")
        {
            DefaultValueFactory = _ => HashAlgorithms.Pdq,
            Description = "pdq (the default: Facebook's PDQ, exchangeable), crop-robust (this service's own), md5 or sha256 (exact files), vpdq (videos: PDQ of a frame a second, the hash column holding the frames).",
        };
        algorithm.AcceptOnlyFromAmong(HashAlgorithms.Pdq, HashAlgorithms.CropRobust, HashAlgorithms.Md5, HashAlgorithms.Sha256, HashAlgorithms.Vpdq);
        var command = new Command("hash", "Write the hash of every image under a directory (PDQ by default); files that are not images are listed on stderr.")
        {
            input, output, algorithm,
        };
        command.SetAction(async (parse, ct) =>
        {
            var root = parse.GetValue(input)!;
            if (!root.Exists)
            {
                Console.Error.WriteLine($"error: {root.FullName} does not exist.");
                return 2;
            }
            using var writer = new StreamWriter(parse.GetValue(output)!.FullName);
            using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
            csv.WriteField("path");
            csv.WriteField("hash");
            csv.WriteField("quality");
            csv.NextRecord();
            int hashed = 0, refused = 0;
            foreach (var file in root.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                         .OrderBy(f => f.FullName, StringComparer.Ordinal))
            {
                ct.ThrowIfCancellationRequested();
                var relative = Path.GetRelativePath(root.FullName, file.FullName).Replace('\\', '/');
                try
                {
                    var bytes = File.ReadAllBytes(file.FullName);
                    var chosen = parse.GetValue(algorithm)!;
                    var (hash, quality) = chosen switch
                    {
                        HashAlgorithms.Md5 or HashAlgorithms.Sha256 => (HashAlgorithms.Digest(chosen, bytes), ""),
                        HashAlgorithms.Vpdq => await VideoAsync(file.FullName, ct),
                        _ => Perceptual(chosen, bytes),
                    };
                    csv.WriteField(relative);
                    csv.WriteField(hash);
                    csv.WriteField(quality);
                    csv.NextRecord();
                    hashed++;
                }
                catch (Exception e) when (e is MediaRejectedException or IOException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"skipped {relative}: {e.Message}");
                    refused++;
                }
            }
            Console.Error.WriteLine($"hashed {hashed} files, skipped {refused} others");
            return 0;
        });
        return command;
    }

    /// <summary>
    /// A video's vPDQ: the PDQ hash of a frame a second (ffmpeg, as the scorer samples), as ThreatExchange's frame lines
    /// joined by ';'; the quality column is the frames' lowest.
    /// </summary>
    private static async Task<(string Hash, string Quality)> VideoAsync(string path, CancellationToken ct)
    {
        var sample = await new VideoFrameSampler(Microsoft.Extensions.Options.Options.Create(new MediaScoringOptions())).SampleAsync(path, ct);
        if (sample.Frames.Count == 0) throw new MediaRejectedException(sample.Problem ?? "no frame could be read");
        var frames = sample.Frames.Select(f =>
        {
            var pdq = PdqHasher.Hash(f.Luma.Luma, f.Luma.Width, f.Luma.Height);
            return new VpdqFrame(f.Index, pdq.Quality, pdq.Hash, (f.PositionMs ?? 0) / 1000.0);
        }).ToList();
        return (HashAlgorithms.FormatVpdq(frames), frames.Min(f => f.Quality).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The first frame's hash and quality; EXIF orientation applied (the reference tool does not read it).</summary>
    private static (string Hash, string Quality) Perceptual(string algorithm, byte[] bytes)
    {
        var frame = ImageDecoder.DecodeLuma(bytes, new DecodeLimits(MaxFrames: 1))[0];
        var result = algorithm == HashAlgorithms.Pdq ? PdqHasher.Hash(frame.Luma, frame.Width, frame.Height) : CropRobustHasher.Hash(frame.Luma, frame.Width, frame.Height);
        return (result.Hash.ToString(), result.Quality.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
