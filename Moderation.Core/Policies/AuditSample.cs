using System.Buffers.Binary;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;

namespace Moderation.Core.Policies;

/// <summary>
/// The audit sample's design (<c>Moderation:AuditSample</c>): a share of every routing outcome, stratified by score, goes to
/// a blind audit, so that prevalence, precision and recall can be estimated without the bias of labelling only what a
/// policy sent to people. Each stratum is an outcome (<c>allow</c> or <c>action</c>: every upload routed to review is
/// reviewed, probability 1) and a score band
/// (the upload's highest score): its rate is the inclusion probability every upload in it has, and is stored with the
/// sampled upload, so an estimate weighs each label by the inverse.
/// </summary>
public sealed class AuditSampleOptions : IValidatableObject
{
    public const string Section = "Moderation:AuditSample";

    /// <summary>
    /// Draw the sample at routing. Off by default: a sampled upload the policy allowed or actioned goes to a person's
    /// queue (blind, as any routed item), which a deployment should size against its reviewers first.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// Per outcome, the bands: a rate for uploads whose highest score is below <see cref="AuditBand.Below"/> (make the last
    /// band's bound above 1). Empty: <see cref="DefaultRates"/>; any outcome set here replaces them all (an outcome left
    /// out is not sampled).
    /// </summary>
    public Dictionary<string, List<AuditBand>> Rates { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The rates in force.</summary>
    public IReadOnlyDictionary<string, List<AuditBand>> EffectiveRates => Rates.Count > 0 ? Rates : DefaultRates;

    public static readonly IReadOnlyDictionary<string, List<AuditBand>> DefaultRates = new Dictionary<string, List<AuditBand>>(StringComparer.Ordinal)
    {
        // Most traffic is allowed with low scores: a small share of it still finds what the models miss.
        [RouteOutcome.Allow] = [new(0.2, 0.002), new(0.5, 0.01), new(1.01, 0.05)],
        // Automatic actions are never seen by a person otherwise: audit a larger share.
        [RouteOutcome.Action] = [new(1.01, 0.05)],
    };

    /// <summary>Salts the sampling hash, so that who knows an upload id cannot tell whether it will be audited.</summary>
    public string Salt { get; set; } = "";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (outcome, bands) in EffectiveRates)
        {
            if (outcome is not (RouteOutcome.Allow or RouteOutcome.Action))
                yield return new ValidationResult($"Moderation:AuditSample:Rates: '{outcome}' is not sampled: only allow and action are (every upload the policy sends to review is reviewed).", [nameof(Rates)]);
            double previous = 0;
            foreach (var band in bands)
            {
                if (band.Rate is < 0 or > 1) yield return new ValidationResult($"Moderation:AuditSample:Rates:{outcome}: a rate must be between 0 and 1 (got {band.Rate}).", [nameof(Rates)]);
                if (band.Below <= previous) yield return new ValidationResult($"Moderation:AuditSample:Rates:{outcome}: bands must rise (got Below={band.Below} after {previous}).", [nameof(Rates)]);
                previous = band.Below;
            }
        }
    }
}

/// <summary>Uploads whose highest score is below <see cref="Below"/> (and not below the previous band's bound) are sampled at <see cref="Rate"/>.</summary>
public sealed class AuditBand
{
    public AuditBand() { }

    public AuditBand(double below, double rate)
    {
        Below = below;
        Rate = rate;
    }

    public double Below { get; set; } = 1.01;
    public double Rate { get; set; }
}

/// <summary>Whether an upload is in the audit sample, and with what probability it was going to be.</summary>
public sealed record AuditDraw(string Stratum, double InclusionProbability, bool Included);

/// <summary>
/// Draws the audit sample: Poisson sampling, each upload independently with its stratum's probability, decided by a
/// salted hash of the upload id rather than a random number, so that a retried routing draws the same answer and a
/// sampled upload can be re-derived.
/// </summary>
public sealed class AuditSampler(AuditSampleOptions options)
{
    public bool Enabled => options.Enabled;

    public AuditDraw Draw(string uploadId, string outcome, double highestScore)
    {
        var bands = options.EffectiveRates.GetValueOrDefault(outcome) ?? [];
        var index = bands.FindIndex(b => highestScore < b.Below);
        if (index < 0) return new AuditDraw($"{outcome}:none", 0, false);
        var band = bands[index];
        var stratum = $"{outcome}:{index}";
        return new AuditDraw(stratum, band.Rate, band.Rate > 0 && Uniform(uploadId) < band.Rate);
    }

    /// <summary>A number in [0, 1) fixed by the upload id and the salt.</summary>
    public double Uniform(string uploadId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"audit-v1\n{options.Salt}\n{uploadId}"), hash);
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }
}

/// <summary>
/// Estimates from an audit sample: a ratio of Horvitz–Thompson totals (Hájek), each label weighing the inverse of its
/// inclusion probability, with a 95% interval: Wilson's on the effective sample size that the linearised variance of
/// Poisson sampling implies (n_eff = p(1 − p) / V), which keeps the interval inside [0, 1] and honest near its ends.
/// </summary>
public sealed class AuditEstimator
{
    private double numerator, denominator, sumW, sumW2;
    private readonly List<(double Weight, double Factor, bool Yes)> units = [];

    /// <summary>A sampled unit in the estimate's domain (e.g. an actioned upload, for an action's precision): is it a "yes", and its inclusion probability.</summary>
    public void Add(bool yes, double inclusionProbability)
    {
        if (inclusionProbability is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(inclusionProbability), "must be in (0, 1]");
        var w = 1 / inclusionProbability;
        denominator += w;
        if (yes) numerator += w;
        sumW += w;
        sumW2 += w * w;
        units.Add((w, 1 - inclusionProbability, yes));
    }

    /// <summary>Adds another estimator's units (of disjoint uploads).</summary>
    public void Add(AuditEstimator other)
    {
        numerator += other.numerator;
        denominator += other.denominator;
        sumW += other.sumW;
        sumW2 += other.sumW2;
        units.AddRange(other.units);
    }

    public Estimate Estimate()
    {
        if (units.Count == 0) return new Estimate(null, null, null, 0, 0, true);
        var p = numerator / denominator;
        // Linearised variance of the Hájek ratio under Poisson sampling: Σ (1 − π) w² (y − p)² / (Σ w)².
        var variance = units.Sum(u => u.Factor * u.Weight * u.Weight * Math.Pow((u.Yes ? 1 : 0) - p, 2)) / (denominator * denominator);
        var kish = sumW * sumW / sumW2;
        var effective = variance > 0 && p is > 0 and < 1 ? Math.Min(p * (1 - p) / variance, double.MaxValue) : kish;
        if (double.IsInfinity(effective) || effective <= 0) effective = kish;
        var (low, high) = Policies.Estimate.Wilson(p, effective);
        return new Estimate(p, low, high, units.Count, Math.Round(effective, 2), effective < Policies.Estimate.MinEffectiveLabels);
    }
}
