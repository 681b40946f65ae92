using System.ComponentModel.DataAnnotations;

namespace Moderation.Core.Media;

/// <summary>Bound from <c>Moderation:Scoring:Images</c>: the image scorer (ResNet18 embeddings, image heads, custom ONNX models).</summary>
public sealed class ImageScoringOptions
{
    public const string Section = "Moderation:Scoring:Images";

    /// <summary>The categories an image model is expected for, when none is configured.</summary>
    public static readonly IReadOnlyList<string> DefaultCategories = ["harm.violence", "harm.sexual", "harm.hate"];

    /// <summary>Embed every image and sampled video frame and score it with the registry's image models. On by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Categories the image scorer should cover (default harm.violence, harm.sexual, harm.hate). One with no live image
    /// model is named in the upload's frame evidence ("no image head for harm.violence") rather than given a score.
    /// </summary>
    public string[]? Categories { get; set; }

    public IReadOnlyList<string> ExpectedCategories => Categories is { Length: > 0 } c ? c : DefaultCategories;

    /// <summary>Images per ONNX Runtime call to ResNet18 (the graph's batch dimension is made dynamic at load).</summary>
    [Range(1, 256)]
    public int BatchSize { get; set; } = 8;

    /// <summary>ResNet18 calls run at once; default one per core.</summary>
    [Range(1, 1024)]
    public int? Parallelism { get; set; }

    /// <summary>ONNX Runtime threads inside one call; 1 when the concurrency comes from <see cref="Parallelism"/>.</summary>
    [Range(1, 1024)]
    public int ThreadsPerRun { get; set; } = 1;

    /// <summary>Decoded frames held at once before they are embedded: bounds memory for a batch of long videos.</summary>
    [Range(1, 100_000)]
    public int MaxFramesInMemory { get; set; } = 256;

    /// <summary>How often the scorer re-reads the model registry's change stamp; promotions apply within it.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The ResNet18 model folder (default: <c>DnnImageModels</c> beside the program, from the NuGet package).</summary>
    public string? ModelsDirectory { get; set; }

    /// <summary>Register the image models that ship in <c>models/image</c> (nsfwjs) at start-up; see <see cref="ShippedImageModelsRegistrar"/>.</summary>
    public bool RegisterShippedModels { get; set; } = true;

    /// <summary>Where the shipped image models are (default: <c>models/image</c> beside the program).</summary>
    public string? ShippedModelsDirectory { get; set; }

    public EmbedderThreading Threading => new(Parallelism, BatchSize, ThreadsPerRun);
}
