using System.Globalization;
using System.Text;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Evaluation;

namespace Moderation.Training.Text;

/// <summary>What <c>train</c> and <c>eval</c> report for one head on one labelled set.</summary>
public sealed record HeadEvaluation(
    int Rows,
    int Positives,
    double RocAuc,
    double PrAuc,
    double ExpectedCalibrationError,
    IReadOnlyList<(double Threshold, double Precision, double Recall, double F1)> AtThresholds,
    BiasReport? Bias)
{
    public static HeadEvaluation Measure(IReadOnlyList<double> scores, IReadOnlyList<LabelledText> rows, IEnumerable<double> thresholds, bool withBias)
    {
        var labels = rows.Select(r => r.Label).ToArray();
        var at = thresholds.Distinct().Order().Select(t =>
        {
            var (p, r, f1) = ClassificationMetrics.AtThreshold(scores, labels, t);
            return (t, p, r, f1);
        }).ToList();
        return new HeadEvaluation(rows.Count, labels.Count(l => l),
            ClassificationMetrics.RocAuc(scores, labels),
            ClassificationMetrics.PrAuc(scores, labels),
            ClassificationMetrics.ExpectedCalibrationError(scores, labels),
            at,
            withBias ? BiasMetrics.Audit(scores, labels, rows.Select(r => r.Groups).ToArray()) : null);
    }

    public string Format()
    {
        static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("0.0000", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine($"rows={Rows} positives={Positives}");
        text.AppendLine($"roc_auc={F(RocAuc)} pr_auc={F(PrAuc)} ece={F(ExpectedCalibrationError)}");
        foreach (var (t, p, r, f1) in AtThresholds)
            text.AppendLine($"threshold={F(t)} precision={F(p)} recall={F(r)} f1={F(f1)}");
        if (Bias is { } bias)
        {
            text.AppendLine($"{"group",-24} {"n",6} {"subgroup",9} {"bpsn",7} {"bnsp",7}");
            foreach (var g in bias.Groups)
                text.AppendLine($"{g.Group,-24} {g.Count,6} {F(g.SubgroupAuc),9} {F(g.BpsnAuc),7} {F(g.BnspAuc),7}");
            text.AppendLine($"generalised_mean(p=-5): subgroup_auc={F(bias.MeanSubgroupAuc)} bpsn_auc={F(bias.MeanBpsnAuc)} bnsp_auc={F(bias.MeanBnspAuc)}");
        }
        return text.ToString();
    }
}
