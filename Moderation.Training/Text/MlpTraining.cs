using System.Numerics.Tensors;
using Moderation.Core.Scoring.Text;

namespace Moderation.Training.Text;

/// <summary>
/// Training of a head's network (<see cref="MlpHead"/>: one rectified hidden layer and a logistic output) with Adam,
/// dropout and weight decay, deterministic for a seed.
/// </summary>
public static class MlpTraining
{
    /// <summary>How a network is trained; the defaults are those the shipped heads were chosen with.</summary>
    public sealed record Options(int Hidden = 256, int Epochs = 10, float LearningRate = 1e-3f, float WeightDecay = 1e-4f,
        float Dropout = 0.1f, int BatchSize = 64, int Seed = 17);

    /// <summary>
    /// Trains on features <paramref name="x"/> with labels and example weights. Deterministic for a seed: each batch's
    /// examples are split over a fixed number of workers whose gradients are added in a fixed order, whatever the
    /// machine's core count.
    /// </summary>
    public static MlpHead Train(IReadOnlyList<float[]> x, IReadOnlyList<bool> y, IReadOnlyList<float> weights, Options? options = null,
        CancellationToken ct = default)
    {
        var o = options ?? new Options();
        if (x.Count == 0 || x.Count != y.Count || x.Count != weights.Count) throw new ArgumentException("Features, labels and weights must be as many, and not none.");
        var d = x[0].Length;
        var h = o.Hidden;
        var random = new Random(o.Seed);
        var w1 = new float[h * d];
        var b1 = new float[h];
        var w2 = new float[h];
        // He initialisation for the rectified layer, Glorot-like for the output.
        var scale1 = MathF.Sqrt(2f / d);
        for (var i = 0; i < w1.Length; i++) w1[i] = (float)(Gaussian(random) * scale1);
        var scale2 = MathF.Sqrt(1f / h);
        for (var i = 0; i < h; i++) w2[i] = (float)(Gaussian(random) * scale2);
        var net = new MlpHead(d, h, w1, b1, w2, 0);

        var meanWeight = weights.Average();
        var parameters = w1.Length + b1.Length + w2.Length + 1;
        var m = new float[parameters];
        var v = new float[parameters];
        var order = Enumerable.Range(0, x.Count).ToArray();
        var grads = Enumerable.Range(0, Workers).Select(_ => new float[parameters]).ToArray();
        var step = 0;
        for (var epoch = 0; epoch < o.Epochs; epoch++)
        {
            random.Shuffle(order);
            for (var start = 0; start < order.Length; start += o.BatchSize)
            {
                ct.ThrowIfCancellationRequested();
                var end = Math.Min(order.Length, start + o.BatchSize);
                var seed = random.Next();
                Parallel.For(0, Workers, k =>
                {
                    var g = grads[k];
                    Array.Clear(g);
                    var pre = new float[h];
                    var keep = new float[h];
                    var dropout = new Random(seed + k);
                    for (var n = start + k; n < end; n += Workers)
                    {
                        var i = order[n];
                        var xi = x[i];
                        double logit = net.b2;
                        for (var j = 0; j < h; j++)
                        {
                            pre[j] = TensorPrimitives.Dot(net.w1.AsSpan(j * d, d), xi) + net.b1[j];
                            keep[j] = dropout.NextSingle() < o.Dropout ? 0 : 1 / (1 - o.Dropout);
                            if (pre[j] > 0) logit += pre[j] * keep[j] * net.w2[j];
                        }
                        var error = (float)((1 / (1 + Math.Exp(-logit)) - (y[i] ? 1 : 0)) * weights[i] / meanWeight);
                        var ow2 = w1.Length + b1.Length;
                        for (var j = 0; j < h; j++)
                        {
                            if (pre[j] <= 0 || keep[j] == 0) continue;
                            g[ow2 + j] += error * pre[j] * keep[j];
                            var dj = error * net.w2[j] * keep[j];
                            TensorPrimitives.MultiplyAdd(xi, dj, g.AsSpan(j * d, d), g.AsSpan(j * d, d));
                            g[w1.Length + j] += dj;
                        }
                        g[parameters - 1] += error;
                    }
                });
                var total = grads[0];
                for (var k = 1; k < Workers; k++) TensorPrimitives.Add(total, grads[k], total);
                TensorPrimitives.Divide(total, end - start, total);
                Adam(net, total, m, v, ++step, o.LearningRate, o.WeightDecay);
            }
        }
        return net;
    }

    /// <summary>Workers per batch: fixed, so a seed gives the same network on any machine.</summary>
    private const int Workers = 2;

    private static void Adam(MlpHead net, float[] g, float[] m, float[] v, int t, float rate, float decay)
    {
        const float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;
        var c1 = 1 - MathF.Pow(beta1, t);
        var c2 = 1 - MathF.Pow(beta2, t);
        var o = 0;
        void Update(Span<float> p, bool decayed)
        {
            for (var i = 0; i < p.Length; i++, o++)
            {
                m[o] = beta1 * m[o] + (1 - beta1) * g[o];
                v[o] = beta2 * v[o] + (1 - beta2) * g[o] * g[o];
                p[i] -= rate * (m[o] / c1 / (MathF.Sqrt(v[o] / c2) + epsilon) + (decayed ? decay * p[i] : 0));
            }
        }
        Update(net.w1, true);
        Update(net.b1, false);
        Update(net.w2, true);
        Update(new Span<float>(ref net.b2), false);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

}
