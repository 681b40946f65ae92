namespace Moderation.Tests.Media;

/// <summary>
/// Photograph-like test images with natural-image statistics, from a seed: a dead-leaves scene (occluding objects
/// whose sizes follow a power law, which gives natural images' scale invariance and 1/f² power spectrum, and their
/// sharp edges), each object with its own shading and texture, lit by a smooth fractal illumination, then a lens
/// blur and sensor noise. Not flat shapes: every region has gradients and texture, as in photos.
/// </summary>
internal static class SyntheticPhotos
{
    public static (float[] Luma, int Width, int Height) Photo(int seed, int width = 640, int height = 480)
    {
        var random = new Random(seed);
        var luma = new float[width * height];
        var background = 60 + random.NextDouble() * 120;
        Array.Fill(luma, (float)background);

        // Dead leaves: discs and ellipses, radius density ∝ r^-3 between rMin and rMax, painted back to front.
        double rMin = 3, rMax = Math.Min(width, height) * 0.45;
        var leaves = 900;
        for (var n = 0; n < leaves; n++)
        {
            var u = random.NextDouble();
            // Inverse CDF of p(r) ∝ r^-3 on [rMin, rMax].
            var r = 1 / Math.Sqrt(1 / (rMin * rMin) - u * (1 / (rMin * rMin) - 1 / (rMax * rMax)));
            double cx = random.NextDouble() * width, cy = random.NextDouble() * height;
            var aspect = 0.4 + random.NextDouble() * 1.2;
            var angle = random.NextDouble() * Math.PI;
            double ca = Math.Cos(angle), sa = Math.Sin(angle);
            var level = 20 + random.NextDouble() * 215;
            double gx = (random.NextDouble() - 0.5) * 60 / r, gy = (random.NextDouble() - 0.5) * 60 / r;
            var textureFrequency = 0.2 + random.NextDouble() * 0.8;
            var textureAmplitude = random.NextDouble() * 12;
            var texturePhase = random.NextDouble() * Math.Tau;
            int x0 = Math.Max(0, (int)(cx - r * 1.5)), x1 = Math.Min(width - 1, (int)(cx + r * 1.5));
            int y0 = Math.Max(0, (int)(cy - r * 1.5)), y1 = Math.Min(height - 1, (int)(cy + r * 1.5));
            for (var y = y0; y <= y1; y++)
                for (var x = x0; x <= x1; x++)
                {
                    double dx = x - cx, dy = y - cy;
                    double a = (dx * ca + dy * sa) / r, b = (-dx * sa + dy * ca) / (r * aspect);
                    if (a * a + b * b > 1) continue;
                    var v = level + gx * dx + gy * dy + textureAmplitude * Math.Sin(textureFrequency * (dx * sa - dy * ca) + texturePhase);
                    luma[y * width + x] = (float)v;
                }
        }

        // Smooth illumination: a few octaves of large-scale waves.
        var waves = Enumerable.Range(0, 6).Select(i =>
        {
            var f = 0.002 * Math.Pow(2, i * 0.7) * (0.5 + random.NextDouble());
            var theta = random.NextDouble() * Math.PI;
            return (Fx: f * Math.Cos(theta), Fy: f * Math.Sin(theta), Phase: random.NextDouble() * Math.Tau, Gain: 0.25 / (1 + i));
        }).ToArray();
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                double light = 1;
                foreach (var w in waves) light += w.Gain * Math.Sin(w.Fx * x + w.Fy * y + w.Phase);
                luma[y * width + x] = (float)(luma[y * width + x] * Math.Clamp(light, 0.3, 1.7));
            }

        // Lens blur (a small separable binomial kernel), then sensor noise and 8-bit clipping.
        luma = Blur(luma, width, height);
        for (var i = 0; i < luma.Length; i++)
            luma[i] = (float)Math.Clamp(Math.Round(luma[i] + (random.NextDouble() + random.NextDouble() - 1) * 4), 0, 255);
        return (luma, width, height);
    }

    private static float[] Blur(float[] source, int width, int height)
    {
        float[] kernel = [1 / 16f, 4 / 16f, 6 / 16f, 4 / 16f, 1 / 16f];
        var temp = new float[source.Length];
        var result = new float[source.Length];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                float sum = 0;
                for (var k = -2; k <= 2; k++) sum += kernel[k + 2] * source[y * width + Math.Clamp(x + k, 0, width - 1)];
                temp[y * width + x] = sum;
            }
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                float sum = 0;
                for (var k = -2; k <= 2; k++) sum += kernel[k + 2] * temp[Math.Clamp(y + k, 0, height - 1) * width + x];
                result[y * width + x] = sum;
            }
        return result;
    }
}
