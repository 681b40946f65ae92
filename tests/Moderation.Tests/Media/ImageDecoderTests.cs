using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using FluentAssertions;
using Moderation.Core.Media;
using Moderation.Tests.Infrastructure;
using SkiaSharp;

namespace Moderation.Tests.Media;

public sealed class ImageDecoderTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("moderation-images-").FullName;

    /// <summary>A generated scene encoded as a real PNG or JPEG file by Skia.</summary>
    internal static byte[] Encode((float[] Luma, int Width, int Height) scene, SKEncodedImageFormat format, int quality = 90)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(scene.Width, scene.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var y = 0; y < scene.Height; y++)
            for (var x = 0; x < scene.Width; x++)
            {
                var v = (byte)Math.Clamp(scene.Luma[y * scene.Width + x], 0, 255);
                // A little colour, so luminance is computed, not copied.
                bitmap.SetPixel(x, y, new SKColor((byte)Math.Min(255, v + 10), v, (byte)Math.Max(0, v - 10)));
            }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    [Fact]
    public void A_jpeg_at_quality_50_hashes_within_the_match_distance_of_the_png()
    {
        foreach (var seed in new[] { 3, 4, 5 })
        {
            var scene = PerceptualHashTests.Scene(seed);
            var png = ImageDecoder.DecodeLuma(Encode(scene, SKEncodedImageFormat.Png)).Single();
            var jpeg = ImageDecoder.DecodeLuma(Encode(scene, SKEncodedImageFormat.Jpeg, 50)).Single();
            png.Width.Should().Be(320);
            png.Height.Should().Be(240);
            png.Partial.Should().BeFalse();
            var distance = PdqHasher.Hash(png.Luma, png.Width, png.Height).Hash.DistanceTo(PdqHasher.Hash(jpeg.Luma, jpeg.Width, jpeg.Height).Hash);
            distance.Should().BeLessThanOrEqualTo(PerceptualHash.DefaultMatchDistance, $"scene {seed}");
        }
    }

    /// <summary>A small PNG whose header declares <paramref name="width"/> × <paramref name="height"/> (a decompression bomb's shape).</summary>
    private static byte[] PngHeader(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // truecolour
        var zeros = new MemoryStream();
        using (var zlib = new System.IO.Compression.ZLibStream(zeros, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
            zlib.Write(new byte[64 * 1024]);
        var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", zeros.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();

        static void Chunk(Stream png, string type, byte[] data)
        {
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
            png.Write(length);
            var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            png.Write(typeAndData);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(typeAndData));
            png.Write(crc);
        }
    }

    [Fact]
    public void Hostile_files_are_refused_with_a_reason_before_any_pixel_is_decoded()
    {
        Refused([], "empty");
        Refused(PngHeader(100_000, 100_000), "declares 100000×100000 pixels");
        Refused(Encoding.UTF8.GetBytes("<html><body><script>alert(1)</script></body></html>"), "not an image");
        Refused(Encoding.UTF8.GetBytes("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"), "not an image");
        Refused([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00], "not an image"); // a zip
        Refused(new byte[200], "not an image");
        var big = Encode(PerceptualHashTests.Scene(1), SKEncodedImageFormat.Png);
        var act = () => ImageDecoder.DecodeLuma(big, new DecodeLimits(MaxBytes: 100));
        act.Should().Throw<MediaRejectedException>().WithMessage("*bytes; the limit is 100*");

        static void Refused(byte[] bytes, string reason)
        {
            var decode = () => ImageDecoder.DecodeLuma(bytes);
            decode.Should().Throw<MediaRejectedException>().WithMessage($"*{reason}*");
        }
    }

    /// <summary>A JPEG with an EXIF APP1 segment holding only an orientation tag, inserted after SOI.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        // TIFF little-endian header, one IFD entry: tag 0x0112 (Orientation), type SHORT, count 1, the value.
        byte[] tiff = [(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, (byte)orientation, 0, 0, 0, 0, 0, 0, 0];
        var payload = Encoding.ASCII.GetBytes("Exif\0\0").Concat(tiff).ToArray();
        var length = payload.Length + 2;
        return jpeg[..2].Concat(new byte[] { 0xFF, 0xE1, (byte)(length >> 8), (byte)length }).Concat(payload).Concat(jpeg[2..]).ToArray();
    }

    [Fact]
    public void Awkward_images_each_give_a_hash_or_a_recorded_reason_and_a_blank_one_never_matches()
    {
        var photo = SyntheticPhotos.Photo(17, 320, 240);
        var upright = PdqHasher.Hash(photo.Luma, photo.Width, photo.Height);
        upright.Quality.Should().BeGreaterThanOrEqualTo(50);

        // A photo stored sideways with EXIF orientation 6 (rotate 90° clockwise to view) is turned upright before hashing:
        // its hash is one of the original's rotation variants, so a banked upright photo finds it.
        var sideways = WithExifOrientation(Encode(photo, SKEncodedImageFormat.Jpeg, 95), 6);
        var turned = ImageDecoder.DecodeLuma(sideways).Single();
        (turned.Width, turned.Height).Should().Be((240, 320));
        // (JPEG at quality 95 alone moves this textured photo a few bits, and a 240×320 picture is filtered along its
        // other axis first: 14 bits when this was written; what matters is that it is found.)
        var turnedHash = PdqHasher.Hash(turned.Luma, turned.Width, turned.Height).Hash;
        upright.Variants.Min(turnedHash.DistanceTo).Should().BeLessThanOrEqualTo(PerceptualHash.DefaultMatchDistance);
        var unrotated = ImageDecoder.DecodeLuma(Encode(photo, SKEncodedImageFormat.Jpeg, 95)).Single();
        (unrotated.Width, unrotated.Height).Should().Be((320, 240), "without the tag the same JPEG is read as stored");

        // 16 bits per channel, and transparency (composited over white), decode to 8-bit luminance and hash.
        var deep = Path.Combine(directory, "deep.png");
        TestMedia.Ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", "-pix_fmt", "rgb48be", deep);
        var deepFrame = ImageDecoder.DecodeLuma(File.ReadAllBytes(deep)).Single();
        PdqHasher.Hash(deepFrame.Luma, deepFrame.Width, deepFrame.Height).Quality.Should().BeGreaterThanOrEqualTo(50);
        var alpha = Path.Combine(directory, "alpha.png");
        TestMedia.Ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", "-vf", "format=rgba,colorchannelmixer=aa=0.5", alpha);
        var alphaFrame = ImageDecoder.DecodeLuma(File.ReadAllBytes(alpha)).Single();
        alphaFrame.Luma.Max().Should().BeLessThanOrEqualTo(255);
        PdqHasher.Hash(alphaFrame.Luma, alphaFrame.Width, alphaFrame.Height).Quality.Should().BeGreaterThanOrEqualTo(50);

        // A fully transparent picture is blank white after compositing: quality 0, which the matcher never matches.
        using var clear = new SKBitmap(new SKImageInfo(200, 200, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        clear.Erase(SKColors.Transparent);
        using var clearData = SKImage.FromBitmap(clear).Encode(SKEncodedImageFormat.Png, 100);
        var blank = ImageDecoder.DecodeLuma(clearData.ToArray()).Single();
        PdqHasher.Hash(blank.Luma, blank.Width, blank.Height).Quality.Should().Be(0);
        // A picture smaller than PDQ's 5 pixels gets the reference's answer: no bits, quality 0.
        PdqHasher.Hash(new float[16], 4, 4).Should().Match<HashResult>(h => h.Quality == 0 && h.Hash == default);
    }

    [Fact]
    public void A_truncated_jpeg_gives_what_could_be_read_or_a_reason_never_a_crash()
    {
        var jpeg = Encode(PerceptualHashTests.Scene(2), SKEncodedImageFormat.Jpeg, 80);
        foreach (var keep in new[] { 0.9, 0.5, 0.1, 0.01 })
        {
            var truncated = jpeg[..(int)(jpeg.Length * keep)];
            try
            {
                var frame = ImageDecoder.DecodeLuma(truncated).Single();
                frame.Partial.Should().BeTrue($"{keep:P0} of the file");
                frame.Luma.Should().HaveCount(320 * 240);
            }
            catch (MediaRejectedException e)
            {
                e.Message.Should().NotBeNullOrWhiteSpace();
            }
        }
    }

    [Fact]
    public async Task The_hash_command_writes_every_image_under_a_directory_and_lists_what_it_skipped()
    {
        var images = Directory.CreateDirectory(Path.Combine(directory, "in", "nested")).Parent!.FullName;
        File.WriteAllBytes(Path.Combine(images, "a.png"), Encode(PerceptualHashTests.Scene(6), SKEncodedImageFormat.Png));
        File.WriteAllBytes(Path.Combine(images, "nested", "b.jpg"), Encode(PerceptualHashTests.Scene(7), SKEncodedImageFormat.Jpeg, 50));
        File.WriteAllText(Path.Combine(images, "page.jpg"), "<html>not a picture</html>");
        var output = Path.Combine(directory, "hashes.csv");

        var (exitCode, text) = await ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"),
            ["hash", "--input", images, "--output", output], workingDirectory: directory);
        exitCode.Should().Be(0, text);
        var lines = File.ReadAllLines(output);
        lines[0].Should().Be("path,hash,quality");
        lines.Skip(1).Select(l => l.Split(',')[0]).Should().Equal("a.png", "nested/b.jpg");
        foreach (var line in lines.Skip(1))
        {
            PerceptualHash.TryParse(line.Split(',')[1], out var hash).Should().BeTrue(line);
            int.Parse(line.Split(',')[2]).Should().BeInRange(0, 100);
        }
        text.Should().Contain("skipped page.jpg: not an image");
    }

    [Fact]
    public async Task The_hash_command_writes_pdq_by_default_as_the_reference_tool_does_and_md5_on_request()
    {
        var output = Path.Combine(directory, "pdq.csv");
        var (exitCode, text) = await ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"),
            ["hash", "--input", PdqReferenceTests.FixtureDirectory, "--output", output], workingDirectory: directory);
        exitCode.Should().Be(0, text);
        var ours = File.ReadAllLines(output).Skip(1).Select(l => l.Split(',')).ToDictionary(f => f[0], f => (f[1], f[2]));
        foreach (var (file, hash, quality) in PdqReferenceTests.Reference())
            ours[file].Should().Be((hash.ToString(), quality.ToString(System.Globalization.CultureInfo.InvariantCulture)), file);

        var md5 = Path.Combine(directory, "md5.csv");
        (exitCode, text) = await ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"),
            ["hash", "--algorithm", "md5", "--input", PdqReferenceTests.FixtureDirectory, "--output", md5], workingDirectory: directory);
        exitCode.Should().Be(0, text);
        var videos = Directory.CreateDirectory(Path.Combine(directory, "videos")).FullName;
        TestMedia.TestPattern(videos, 3);
        var vpdq = Path.Combine(directory, "vpdq.csv");
        (exitCode, text) = await ChildProcess.RunToEndAsync(ChildProcess.BuiltAssembly("Moderation.Worker", "Moderation.Worker.dll"),
            ["hash", "--algorithm", "vpdq", "--input", videos, "--output", vpdq], workingDirectory: directory);
        exitCode.Should().Be(0, text);
        var video = HashBankCsv.Read(new StringReader(File.ReadAllText(vpdq)), HashAlgorithms.Vpdq, null, 10).Single();
        HashAlgorithms.TryParseVpdq(video.Frames!, out var frames, out _).Should().BeTrue();
        frames.Select(f => f.Seconds).Should().Equal(0, 1, 2);

        File.ReadAllLines(md5).Should().Contain($"reference.csv,{Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(File.ReadAllBytes(Path.Combine(PdqReferenceTests.FixtureDirectory, "reference.csv"))))},");
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
    }
}
