using System.CommandLine;
using System.Globalization;
using Moderation.Core.Media;

namespace Moderation.Worker.Commands;

/// <summary><c>train-images</c>: labelled images in, one calibrated image head per category and its validation figures out.</summary>
internal static class ImageCommands
{
    public static Command TrainImages()
    {
        var input = new Option<FileInfo>("--input") { Required = true, Description = "CSV with path,category,label columns; paths are relative to the CSV; label is 0 or 1." };
        var output = new Option<DirectoryInfo>("--output") { Required = true, Description = "Directory to write <category>.zip and <category>.json into, one pair per category." };
        var l2 = new Option<float>("--l2") { DefaultValueFactory = _ => 1f, Description = "L2 regularisation of the logistic regression (default 1)." };
        l2.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<float>();
            if (!float.IsFinite(value) || value < 0) result.AddError($"--l2 must be a non-negative number, not {value}.");
        });
        var command = new Command("train-images",
            "Train an image head per category on ResNet18 embeddings of labelled images; holds back every fifth positive and negative per category and prints ROC-AUC and calibration error.")
        {
            input, output, l2,
        };
        command.SetAction((parse, ct) =>
        {
            try
            {
                var file = parse.GetValue(input)!;
                using var embedder = new ImageEmbedder();
                var reports = ImageHeadTraining.Train(file.FullName, parse.GetValue(output)!.FullName, embedder, parse.GetValue(l2),
                    line => Console.Error.WriteLine(line), ct);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained {reports.Count} image head(s) from {file.Name}; validation on held-back rows:"));
                foreach (var report in reports)
                {
                    Console.WriteLine(report.Format());
                    if (report.ValidationRows < 20)
                        Console.WriteLine($"  warning: {report.ValidationRows} validation rows are too few for these figures to mean much");
                }
                return Task.FromResult(0);
            }
            catch (Exception e) when (e is LabelledImagesException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(2);
            }
        });
        return command;
    }
}
