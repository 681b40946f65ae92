using System.CommandLine;
using System.Globalization;
using CsvHelper;
using Moderation.Core.Media;

namespace Moderation.Worker.Commands;

/// <summary><c>hash</c>: the perceptual hash of every image under a directory, as <c>path,hash,quality</c>.</summary>
internal static class HashCommand
{
    public static Command Create()
    {
        var input = new Option<DirectoryInfo>("--input") { Required = true, Description = "Directory to walk (recursively) for images." };
        var output = new Option<FileInfo>("--output") { Required = true, Description = "CSV to write: path (relative to --input), hash (64 hex digits), quality (0-100)." };
        var command = new Command("hash", "Write the PDQ-style perceptual hash of every image under a directory; files that are not images are listed on stderr.")
        {
            input, output,
        };
        command.SetAction((parse, ct) =>
        {
            var root = parse.GetValue(input)!;
            if (!root.Exists)
            {
                Console.Error.WriteLine($"error: {root.FullName} does not exist.");
                return Task.FromResult(2);
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
                    var frame = ImageDecoder.DecodeLuma(File.ReadAllBytes(file.FullName), new DecodeLimits(MaxFrames: 1))[0];
                    var result = PdqHasher.Hash(frame.Luma, frame.Width, frame.Height);
                    csv.WriteField(relative);
                    csv.WriteField(result.Hash.ToString());
                    csv.WriteField(result.Quality);
                    csv.NextRecord();
                    hashed++;
                }
                catch (Exception e) when (e is MediaRejectedException or IOException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"skipped {relative}: {e.Message}");
                    refused++;
                }
            }
            Console.Error.WriteLine($"hashed {hashed} images, skipped {refused} other files");
            return Task.FromResult(0);
        });
        return command;
    }
}
