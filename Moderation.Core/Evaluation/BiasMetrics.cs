namespace Moderation.Core.Evaluation;

/// <summary>The unintended-bias metrics of one identity group (Jigsaw Unintended Bias in Toxicity Classification).</summary>
/// <param name="SubgroupAuc">AUC among texts that mention the group: can the model tell toxic from not within it?</param>
/// <param name="BpsnAuc">Background positive, subgroup negative: low when harmless mentions of the group score above toxic texts elsewhere (false flags on the group).</param>
/// <param name="BnspAuc">Background negative, subgroup positive: low when toxic texts about the group score below harmless texts elsewhere (misses).</param>
public sealed record GroupBias(string Group, int Count, double SubgroupAuc, double BpsnAuc, double BnspAuc);

public sealed record BiasReport(IReadOnlyList<GroupBias> Groups, double MeanSubgroupAuc, double MeanBpsnAuc, double MeanBnspAuc);

public static class BiasMetrics
{
    /// <summary>The Jigsaw challenge's power: the generalised mean with p = -5 lets the worst groups dominate.</summary>
    public const double Power = -5;

    /// <param name="groups">For each example, the groups it mentions (empty for none).</param>
    public static BiasReport Audit(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, IReadOnlyList<IReadOnlySet<string>> groups)
    {
        if (scores.Count != labels.Count || scores.Count != groups.Count)
            throw new ArgumentException("Scores, labels and groups must have the same length.");
        var names = groups.SelectMany(g => g).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var results = new List<GroupBias>();
        foreach (var name in names)
        {
            var inGroup = groups.Select(g => g.Contains(name)).ToArray();
            results.Add(new GroupBias(name, inGroup.Count(x => x),
                Auc(scores, labels, i => inGroup[i]),
                Auc(scores, labels, i => inGroup[i] ? !labels[i] : labels[i]),
                Auc(scores, labels, i => inGroup[i] ? labels[i] : !labels[i])));
        }
        return new BiasReport(results,
            GeneralisedMean(results.Select(r => r.SubgroupAuc)),
            GeneralisedMean(results.Select(r => r.BpsnAuc)),
            GeneralisedMean(results.Select(r => r.BnspAuc)));
    }

    /// <summary>M_p = (mean of x^p)^(1/p), over the defined values (NaN ones, from a group missing a class, are left out).</summary>
    public static double GeneralisedMean(IEnumerable<double> values, double power = Power)
    {
        var defined = values.Where(v => !double.IsNaN(v)).ToList();
        if (defined.Count == 0) return double.NaN;
        if (defined.Any(v => v <= 0)) return 0; // a zero dominates a negative power completely
        return Math.Pow(defined.Average(v => Math.Pow(v, power)), 1 / power);
    }

    private static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, Func<int, bool> include)
    {
        var index = Enumerable.Range(0, scores.Count).Where(include).ToArray();
        return ClassificationMetrics.RocAuc(index.Select(i => scores[i]).ToArray(), index.Select(i => labels[i]).ToArray());
    }
}
