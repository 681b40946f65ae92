using System.CommandLine;
using System.Globalization;
using Moderation.Core.Media;

namespace Moderation.Worker.Commands;

/// <summary>
/// <c>hash-robustness --input DIR</c>: the perceptual hash's robustness check on any photographs (half size, JPEG
/// quality 50, 5% crops, a mirror, all four at once; false matches among different photos), so it can run on photos the project has
/// never seen. Prints a table and one summary line.
/// </summary>
internal static class HashRobustnessCommand
{
    public static Command Create()
    {
        var input = new Option<DirectoryInfo>("--input") { Required = true, Description = "Directory of photographs (searched recursively); files that are not images are skipped." };
        var limit = new Option<int>("--limit") { DefaultValueFactory = _ => 500, Description = "Most photos to use (pairs grow with the square)." };
        var command = new Command("hash-robustness", "Check that resized, recompressed, cropped and mirrored copies of photos still match, and different photos do not.")
        {
            input, limit,
        };
        command.SetAction((parse, ct) =>
        {
            var root = parse.GetValue(input)!;
            if (!root.Exists)
            {
                Console.Error.WriteLine($"error: {root.FullName} does not exist.");
                return Task.FromResult(2);
            }
            var photos = new List<byte[]>();
            foreach (var file in root.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                         .OrderBy(f => f.FullName, StringComparer.Ordinal))
            {
                if (photos.Count >= parse.GetValue(limit)) break;
                var bytes = File.ReadAllBytes(file.FullName);
                try
                {
                    HashRobustness.HashFile(bytes);
                    photos.Add(bytes);
                }
                catch (MediaRejectedException e)
                {
                    Console.Error.WriteLine($"skipped {Path.GetRelativePath(root.FullName, file.FullName)}: {e.Message}");
                }
            }
            if (photos.Count < 2)
            {
                Console.Error.WriteLine($"error: {root.FullName} holds {photos.Count} decodable image(s); the check needs at least 2.");
                return Task.FromResult(2);
            }
            var report = HashRobustness.Measure(photos);
            Console.WriteLine($"{"transform",-20} {"matched",10} {"rate",8} {"mean dist",10} {"max dist",9}  target");
            foreach (var t in report.Transforms)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{t.Transform,-20} {$"{t.Matched}/{t.Total}",10} {t.MatchRate,8:P1} {t.MeanDistance,10:0.0} {t.MaxDistance,9}  {(t.Target ? (t.MatchRate >= 0.95 ? "met (>= 95%)" : "NOT met (>= 95%)") : "reported only")}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"different photos: {report.FalseMatches}/{report.Pairs} pairs within {PerceptualHash.DefaultMatchDistance} ({report.FalseMatchRate:P3}, target < 0.1%); nearest pair {report.MinPairDistance} bits; {report.LowQuality} photo(s) of quality under 50"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"hash-robustness: photos={report.Photos} {string.Join(' ', report.Transforms.Select(t => $"{t.Key}={t.MatchRate:0.000}"))} false_match_rate={report.FalseMatchRate:0.00000} min_pair_distance={report.MinPairDistance} low_quality={report.LowQuality}"));
            return Task.FromResult(0);
        });
        return command;
    }
}
