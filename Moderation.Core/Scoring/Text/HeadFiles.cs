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
    IReadOnlyList<string>? Sources = null,
    DecisionTrainingSet? Decisions = null,
    PassageAggregation? Aggregation = null);

/// <summary>
/// What a head trained from moderators' decisions learnt from (<c>train-images --from-decisions</c>): the decisions'
/// time span, the uploads on each side, the frames, and the embedding model their stored vectors came from.
/// </summary>
public sealed record DecisionTrainingSet(
    DateTimeOffset? Since,
    DateTimeOffset FirstDecision,
    DateTimeOffset LastDecision,
    int PositiveUploads,
    int NegativeUploads,
    int TrainingFrames,
    int ValidationFrames,
    string EmbeddingModel);

/// <summary>A head as the model registry stores it: its card and metrics as JSON, its zip's bytes.</summary>
public sealed record HeadPackage(HeadCard Card, string CardJson, string MetricsJson, byte[] Artifact);

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

    /// <summary>
    /// Reads <c>{category}.json</c> and <c>{category}.zip</c> for the registry, checking that they belong together
    /// and that the zip is an archive; <see cref="InvalidDataException"/> or <see cref="FileNotFoundException"/> say why not.
    /// </summary>
    public static HeadPackage ReadPackage(string directory, string category)
    {
        var modelPath = ModelPath(directory, category);
        var cardPath = CardPath(directory, category);
        if (!File.Exists(modelPath) || !File.Exists(cardPath))
            throw new FileNotFoundException($"No '{category}' head in {directory} (expected {Path.GetFileName(modelPath)} and {Path.GetFileName(cardPath)}).");

        var cardJson = File.ReadAllText(cardPath);
        HeadCard? card;
        try
        {
            card = JsonSerializer.Deserialize<HeadCard>(cardJson, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{cardPath} is not a head card: {e.Message}");
        }
        if (card is null || string.IsNullOrWhiteSpace(card.ModelVersion) || string.IsNullOrWhiteSpace(card.Category))
            throw new InvalidDataException($"{cardPath} is not a head card (it needs category and modelVersion).");
        if (card.Category != category)
            throw new InvalidDataException($"{cardPath} is the card of '{card.Category}', not '{category}'.");

        var artifact = File.ReadAllBytes(modelPath);
        try
        {
            using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(artifact), System.IO.Compression.ZipArchiveMode.Read);
            if (zip.Entries.Count == 0) throw new InvalidDataException("it is empty");
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{modelPath} is not a model archive: {e.Message}");
        }
        var metrics = JsonSerializer.Serialize(new
        {
            validationRows = card.ValidationRows,
            validationRocAuc = card.ValidationRocAuc,
            validationPrAuc = card.ValidationPrAuc,
            validationCalibrationError = card.ValidationCalibrationError,
        }, Json);
        return new HeadPackage(card, cardJson, metrics, artifact);
    }

    /// <summary>A card from its JSON (as the model registry stores it).</summary>
    public static HeadCard ParseCard(string json) =>
        JsonSerializer.Deserialize<HeadCard>(json, Json) ?? throw new InvalidDataException("The text is not a head card.");

    public static string SerializeCard(HeadCard card) => JsonSerializer.Serialize(card, Json);

    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
