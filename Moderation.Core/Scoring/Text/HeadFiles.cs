using System.Security.Cryptography;
using System.Text.Json;

namespace Moderation.Core.Scoring.Text;

/// <summary>The card saved beside a head: what it is, what it was trained on, how it validated.</summary>
public sealed record HeadCard(
    string Category,
    string ModelVersion,
    string Embedder,
    DateTimeOffset TrainedAt,
    string TrainingFile,
    string TrainingSha256,
    int TrainingRows,
    int ValidationRows,
    double ValidationRocAuc,
    double ValidationPrAuc,
    double ValidationCalibrationError,
    double L2Regularization = 0,
    IReadOnlyList<string>? Sources = null);

/// <summary>A model directory holds <c>{category}.zip</c> (the ML.NET model) and <c>{category}.json</c> (its card).</summary>
public static class HeadFiles
{
    // A validation set with one class has no AUC: NaN is written as "NaN" rather than failing the save.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string ModelPath(string directory, string category) => Path.Combine(directory, $"{category}.zip");
    public static string CardPath(string directory, string category) => Path.Combine(directory, $"{category}.json");

    public static void Save(string directory, TextHead head, HeadCard card)
    {
        Directory.CreateDirectory(directory);
        head.Save(ModelPath(directory, card.Category));
        File.WriteAllText(CardPath(directory, card.Category), JsonSerializer.Serialize(card, Json));
    }

    public static (TextHead Head, HeadCard Card) Load(string directory, string category)
    {
        var model = ModelPath(directory, category);
        var card = CardPath(directory, category);
        if (!File.Exists(model) || !File.Exists(card))
            throw new FileNotFoundException($"No '{category}' head in {directory} (expected {Path.GetFileName(model)} and {Path.GetFileName(card)}).");
        return (TextHead.Load(model), JsonSerializer.Deserialize<HeadCard>(File.ReadAllText(card), Json)
            ?? throw new InvalidDataException($"{card} is not a head card."));
    }

    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
