using System.Text;
using FluentAssertions;
using Moderation.Core.Media;
using Moderation.Training.Images;
using SkiaSharp;
using Moderation.Core.Refusals;

namespace Moderation.Tests.Media;

/// <summary>
/// Image heads trained with train-images on generated pictures, and custom ONNX classifiers built in the test: the
/// mechanism, not a shipped model (the repository has no labelled images, so no image head ships).
/// </summary>
public sealed class ImageModelTests : IDisposable
{
    private readonly string scratch = Directory.CreateTempSubdirectory("moderation-images-").FullName;

    public void Dispose() => Directory.Delete(scratch, recursive: true);

    /// <summary>Writes warm (label 1) and cool (label 0) scenes and a CSV labelling them for harm.violence.</summary>
    private string LabelledScenes(int perClass, string category = "harm.violence", int firstSeed = 0)
    {
        var csv = new StringBuilder("path,category,label\n");
        Directory.CreateDirectory(Path.Combine(scratch, "img"));
        for (var i = 0; i < perClass; i++)
            foreach (var warm in new[] { true, false })
            {
                var name = $"img/{(warm ? "warm" : "cool")}-{firstSeed + i}.jpg";
                File.WriteAllBytes(Path.Combine(scratch, name), TestImageModels.Scene(warm, firstSeed + i));
                csv.Append($"{name},{category},{(warm ? 1 : 0)}\n");
            }
        var path = Path.Combine(scratch, "labels.csv");
        File.WriteAllText(path, csv.ToString());
        return path;
    }

    [Fact]
    public void The_embedder_gives_the_same_features_in_mini_batches_as_one_image_at_a_time()
    {
        var pixels = Enumerable.Range(0, 5).Select(i => ImageDecoder.DecodeRgbSquare(TestImageModels.Scene(i % 2 == 0, i), ImageEmbedder.Side)).ToList();
        using var single = new ImageEmbedder(threading: new EmbedderThreading(Parallelism: 1, BatchSize: 1));
        using var batched = new ImageEmbedder(threading: new EmbedderThreading(Parallelism: 2, BatchSize: 4));
        var one = pixels.Select(single.EmbedPixels).ToList();
        var many = batched.Embed(pixels);
        many.Should().HaveCount(5);
        for (var i = 0; i < 5; i++)
            many[i].Zip(one[i], (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-3f, $"image {i} must embed the same in a batch");
    }

    [Fact]
    public async Task Train_images_writes_a_head_per_category_that_separates_new_pictures_of_the_two_classes()
    {
        var csv = LabelledScenes(15);
        var output = Path.Combine(scratch, "heads");
        using var embedder = new ImageEmbedder();
        var reports = ImageHeadTraining.Train(csv, output, embedder);

        var report = reports.Should().ContainSingle().Subject;
        report.Category.Should().Be("harm.violence");
        report.ValidationRows.Should().Be(6, "every fifth warm and every fifth cool scene is held back");
        report.TrainingRows.Should().Be(24);
        report.RocAuc.Should().BeGreaterThan(0.95);
        report.ExpectedCalibrationError.Should().BeInRange(0, 1);
        File.Exists(Path.Combine(output, "harm.violence.zip")).Should().BeTrue();
        File.ReadAllText(Path.Combine(output, "harm.violence.json")).Should().Contain(ImageEmbedder.ModelName);

        var head = (await FixedImageModels.FromDirectory(output).CurrentAsync(CancellationToken.None)).Heads.Should().ContainSingle().Subject;
        var fresh = Enumerable.Range(100, 4).SelectMany(seed => new[] { TestImageModels.Scene(true, seed), TestImageModels.Scene(false, seed) }).ToList();
        var scores = embedder.EmbedFiles(fresh).Select(head.Head.Predict).ToList();
        for (var i = 0; i < fresh.Count; i += 2)
            scores[i].Should().BeGreaterThan(scores[i + 1], $"warm scene {i / 2} scores above its cool one");
        scores.Where((_, i) => i % 2 == 0).Average().Should().BeGreaterThan(0.5);
        scores.Where((_, i) => i % 2 == 1).Average().Should().BeLessThan(0.5);
    }

    [Fact]
    public void Train_images_names_every_bad_row_by_line()
    {
        File.WriteAllBytes(Path.Combine(scratch, "ok.jpg"), TestImageModels.Scene(true, 1));
        var csv = Path.Combine(scratch, "bad.csv");
        File.WriteAllText(csv, "path,category,label\nok.jpg,harm.violence,2\nmissing.jpg,harm.violence,1\nok.jpg,Harm Violence,0\n,harm.violence,1\n");
        var act = () => ImageHeadTraining.Read(csv);
        var message = act.Should().Throw<LabelledImagesException>().Which.Message;
        message.Should().Contain("line 2: label '2' is not 0 or 1").And.Contain("line 3: missing.jpg does not exist")
            .And.Contain("line 4: 'Harm Violence' is not a category name").And.Contain("line 5: the path is empty");

        File.WriteAllText(csv, "path,label\nok.jpg,1\n");
        act.Should().Throw<LabelledImagesException>().WithMessage("*no 'category' column*");
    }

    [Fact]
    public void Train_images_refuses_a_category_with_one_class_and_a_file_that_is_not_an_image()
    {
        var csv = LabelledScenes(3);
        File.AppendAllText(csv, "img/warm-0.jpg,harm.sexual,1\nimg/warm-1.jpg,harm.sexual,1\n");
        var act = () => ImageHeadTraining.Read(csv);
        act.Should().Throw<LabelledImagesException>().WithMessage("*category harm.sexual has only label 1 rows (2)*both 0 and 1*");

        File.WriteAllText(Path.Combine(scratch, "img", "page.jpg"), "<html><script>alert(1)</script></html>");
        File.WriteAllText(csv, File.ReadAllText(csv).Replace("img/warm-1.jpg,harm.sexual,1", "img/page.jpg,harm.sexual,0"));
        using var embedder = new ImageEmbedder();
        var train = () => ImageHeadTraining.Train(csv, Path.Combine(scratch, "out"), embedder);
        train.Should().Throw<LabelledImagesException>().WithMessage("*line 9: img/page.jpg cannot be used as an image: not an image*");
        Directory.Exists(Path.Combine(scratch, "out")).Should().BeFalse("nothing is written when the input is bad");
    }

    [Fact]
    public void A_custom_onnx_classifier_scores_by_its_manifest_with_a_dynamic_or_a_fixed_batch()
    {
        var pictures = new[] { TestImageModels.Scene(true, 7), TestImageModels.Scene(false, 7), TestImageModels.Scene(true, 8) }
            .Select(p => ImageDecoder.DecodeRgbSquare(p, 32)).ToList();
        using var dynamic = CustomImageModel.Load(TestImageModels.RedDetector(), ImageModelManifest.Parse(TestImageModels.RedDetectorManifest()));
        using var fixedBatch = CustomImageModel.Load(TestImageModels.RedDetector(dynamicBatch: false), ImageModelManifest.Parse(TestImageModels.RedDetectorManifest()));
        var a = dynamic.Score(pictures).Select(s => s["harm.violence"]).ToList();
        var b = fixedBatch.Score(pictures).Select(s => s["harm.violence"]).ToList();
        a[0].Should().BeGreaterThan(0.9);
        a[1].Should().BeLessThan(0.1);
        a[2].Should().BeGreaterThan(0.9);
        b.Should().Equal(a, (x, y) => Math.Abs(x - y) < 1e-5);

        // The same model packaged for the registry loads the same.
        using var packaged = CustomImageModel.FromPackage(CustomImageModel.Package(TestImageModels.RedDetector(), TestImageModels.RedDetectorManifest()));
        packaged.Score(pictures)[0]["harm.violence"].Should().BeApproximately(a[0], 1e-6);
    }

    [Theory]
    [InlineData("""{"name":"m","version":"1","input":{"name":"image","size":32},"output":{"name":"logits"},"labels":[{"index":1,"name":"r","category":"harm.violence"}]}""", "input.name", "no input 'image'; its input is 'pixels'")]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":64},"output":{"name":"logits"},"labels":[{"index":1,"name":"r","category":"harm.violence"}]}""", "input.size", "32×32 pixels, not the manifest's 64×64")]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":32,"layout":"NHWC"},"output":{"name":"logits"},"labels":[{"index":1,"name":"r","category":"harm.violence"}]}""", "input.layout", "read as NHWC it has 32 channels")]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":32},"output":{"name":"probs"},"labels":[{"index":1,"name":"r","category":"harm.violence"}]}""", "output.name", "no output 'probs'; its outputs: logits")]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":32},"output":{"name":"logits"},"labels":[{"index":2,"name":"r","category":"harm.violence"}]}""", "labels", "Label index 2 is beyond the output 'logits', which has 2 values")]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":32},"output":{"name":"logits","activation":"softmax"},"labels":[{"index":1,"name":"r","category":"harm.violence"}]}""", "labels", "list all 2 labels")]
    public void A_manifest_that_does_not_fit_the_graph_is_refused_naming_the_field(string manifest, string field, string reason)
    {
        var act = () => CustomImageModel.Load(TestImageModels.RedDetector(), ImageModelManifest.Parse(manifest));
        var error = act.Should().Throw<Refusal>().Where(r => r.Kind == RefusalKind.Invalid).Which;
        error.Field.Should().Be(field);
        error.Message.Should().Contain(reason);
    }

    [Theory]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":32,"mena":[0,0,0]},"output":{"name":"logits"},"labels":[{"index":1,"name":"r","category":"harm.violence"}]}""", "input.mena")]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":32,"std":[1,0,1]},"output":{"name":"logits"},"labels":[{"index":1,"name":"r","category":"harm.violence"}]}""", "input.std")]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":32},"output":{"name":"logits","activation":"relu"},"labels":[{"index":1,"name":"r","category":"harm.violence"}]}""", "output.activation")]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":32},"output":{"name":"logits"},"labels":[{"index":1,"name":"r"}]}""", "labels")]
    [InlineData("""{"name":"m","version":"1","input":{"name":"pixels","size":32},"output":{"name":"logits"},"labels":[{"index":1,"name":"r","category":"Harm!"}]}""", "labels[0].category")]
    public void A_manifest_that_is_wrong_on_its_own_is_refused_naming_the_field(string manifest, string field)
    {
        var act = () => ImageModelManifest.Parse(manifest);
        act.Should().Throw<Refusal>().Where(r => r.Kind == RefusalKind.Invalid).Which.Field.Should().Be(field);
    }

    [Fact]
    public void Bytes_that_are_not_an_onnx_model_are_refused()
    {
        var act = () => CustomImageModel.Load("<html>not a model</html>"u8.ToArray(), ImageModelManifest.Parse(TestImageModels.RedDetectorManifest()));
        act.Should().Throw<Refusal>().Where(r => r.Kind == RefusalKind.Invalid).Which.Field.Should().Be("model");
        var zip = () => CustomImageModel.FromPackage("PK not a zip"u8.ToArray());
        zip.Should().Throw<Refusal>().Where(r => r.Kind == RefusalKind.Invalid).Which.Field.Should().Be("model");
    }

    [Fact]
    public void A_large_jpeg_decoded_at_a_reduced_scale_gives_the_square_a_full_decode_gives()
    {
        // 2400×1800: JPEG decodes at a quarter (600×450, at least twice 224); PNG cannot scale and decodes in full.
        var jpeg = TestImageModels.Scene(true, 11, 2400, 1800, SKEncodedImageFormat.Jpeg);
        var png = TestImageModels.Scene(true, 11, 2400, 1800, SKEncodedImageFormat.Png);
        var scaled = ImageDecoder.DecodeRgbSquare(jpeg, 224);
        var full = ImageDecoder.DecodeRgbSquare(png, 224);
        scaled.Zip(full, (a, b) => Math.Abs(a - b)).Average().Should().BeLessThan(6, "the same picture, whichever way it was decoded");
    }

    [Fact]
    public void The_frames_of_an_animation_and_a_truncated_image_decode_to_rgb_squares()
    {
        var jpeg = TestImageModels.Scene(true, 3, 320, 240);
        var cut = ImageDecoder.DecodeRgbFrames(jpeg[..(jpeg.Length / 2)], [224, 32]);
        cut.Should().ContainSingle().Which.Partial.Should().BeTrue();
        cut[0].Squares.Keys.Should().BeEquivalentTo([224, 32]);
        cut[0].Squares[32].Should().HaveCount(3 * 32 * 32).And.OnlyContain(v => v >= 0 && v <= 255);
        var whole = ImageDecoder.DecodeRgbFrames(TestImageModels.Scene(true, 3, 320, 240, SKEncodedImageFormat.Png), [224]);
        whole.Should().ContainSingle().Which.Partial.Should().BeFalse();
    }
}
