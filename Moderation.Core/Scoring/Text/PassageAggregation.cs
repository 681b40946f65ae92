using System.Globalization;

namespace Moderation.Core.Scoring.Text;

/// <summary>
/// How a head makes one probability of a long text's passages, and its calibration: the chosen method's result
/// <c>p</c> becomes <c>σ(Slope · logit(p) + Offset)</c>. Chosen per head when it is trained, on held-back long texts
/// (several held-back posts joined, harmful when any of them is), by log loss after calibration; the model card
/// gives every method's figures. A head without one (trained before this existed) takes the highest passage as is.
/// </summary>
/// <param name="Method">
/// <c>max</c> (the highest passage), <c>noisy-or</c> (1 − Π(1 − pᵢ): several weak passages add up), <c>mean-top2</c>
/// (the mean of the two highest) or <c>mean</c>.
/// </param>
public sealed record PassageAggregation(string Method, double Slope = 1, double Offset = 0)
{
    public static readonly PassageAggregation Max = new(MaxMethod);

    public const string MaxMethod = "max", NoisyOrMethod = "noisy-or", MeanTop2Method = "mean-top2", MeanMethod = "mean";

    public static readonly IReadOnlyList<string> Methods = [MaxMethod, NoisyOrMethod, MeanTop2Method, MeanMethod];

    public double Combine(ReadOnlySpan<double> passages)
    {
        if (passages.IsEmpty) throw new ArgumentException("There are no passages to combine.", nameof(passages));
        var raw = Raw(Method, passages);
        if (Slope == 1 && Offset == 0) return raw;
        return Sigmoid(Slope * Logit(raw) + Offset);
    }

    /// <summary>The method's combination before calibration.</summary>
    public static double Raw(string method, ReadOnlySpan<double> p)
    {
        switch (method)
        {
            case MaxMethod:
            {
                var max = p[0];
                foreach (var v in p) max = Math.Max(max, v);
                return max;
            }
            case NoisyOrMethod:
            {
                // In log space: a product of many (1 - p) underflows.
                var logNone = 0.0;
                foreach (var v in p) logNone += Math.Log(Math.Clamp(1 - v, 1e-12, 1));
                return 1 - Math.Exp(logNone);
            }
            case MeanTop2Method:
            {
                double first = double.MinValue, second = double.MinValue;
                foreach (var v in p)
                    if (v > first) (first, second) = (v, first);
                    else if (v > second) second = v;
                return p.Length == 1 ? first : (first + second) / 2;
            }
            case MeanMethod:
            {
                var sum = 0.0;
                foreach (var v in p) sum += v;
                return sum / p.Length;
            }
            default:
                throw new InvalidDataException($"Unknown passage aggregation '{method}' (known: {string.Join(", ", Methods)}).");
        }
    }

    public static double Logit(double p)
    {
        p = Math.Clamp(p, 1e-7, 1 - 1e-7);
        return Math.Log(p / (1 - p));
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Method} (calibrated: slope {Slope:0.###}, offset {Offset:0.###})");
}
