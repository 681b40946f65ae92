namespace Moderation.Core.Evaluation;

/// <summary>Quality of a binary classifier's calibrated scores against 0/1 labels.</summary>
public static class ClassificationMetrics
{
    /// <summary>
    /// Area under the ROC curve, as the probability that a random positive scores above a random negative
    /// (Mann–Whitney U, ties counted half). NaN when one class is absent.
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        Check(scores, labels);
        var positives = labels.Count(l => l);
        var negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0) return double.NaN;

        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double positiveRankSum = 0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            var averageRank = (start + end) / 2.0 + 1; // ranks are 1-based; ties share their mean rank
            for (var k = start; k <= end; k++)
                if (labels[order[k]]) positiveRankSum += averageRank;
            start = end + 1;
        }
        return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    /// <summary>
    /// Area under the precision–recall curve as average precision: the mean of the precision at each threshold
    /// weighted by the recall it adds (scores tied at a threshold enter together). NaN without positives.
    /// </summary>
    public static double PrAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        Check(scores, labels);
        var positives = labels.Count(l => l);
        if (positives == 0) return double.NaN;
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double truePositives = 0, seen = 0, previousRecall = 0, area = 0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            for (var k = start; k <= end; k++)
            {
                seen++;
                if (labels[order[k]]) truePositives++;
            }
            var recall = truePositives / positives;
            area += (recall - previousRecall) * (truePositives / seen);
            previousRecall = recall;
            start = end + 1;
        }
        return area;
    }

    /// <summary>Precision, recall and F1 when scores at or above <paramref name="threshold"/> count as positive.</summary>
    public static (double Precision, double Recall, double F1) AtThreshold(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, double threshold)
    {
        Check(scores, labels);
        double tp = 0, fp = 0, fn = 0;
        for (var i = 0; i < scores.Count; i++)
        {
            var predicted = scores[i] >= threshold;
            if (predicted && labels[i]) tp++;
            else if (predicted) fp++;
            else if (labels[i]) fn++;
        }
        var precision = tp + fp == 0 ? 0 : tp / (tp + fp);
        var recall = tp + fn == 0 ? 0 : tp / (tp + fn);
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return (precision, recall, f1);
    }

    /// <summary>
    /// Expected calibration error over <paramref name="bins"/> equal-width bins: the sample-weighted mean gap
    /// between the mean predicted probability and the observed positive rate in each bin.
    /// </summary>
    public static double ExpectedCalibrationError(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, int bins = 10)
    {
        Check(scores, labels);
        if (scores.Count == 0) return double.NaN;
        var count = new int[bins];
        var confidence = new double[bins];
        var positives = new double[bins];
        for (var i = 0; i < scores.Count; i++)
        {
            var b = Math.Min(bins - 1, (int)(Math.Clamp(scores[i], 0, 1) * bins));
            count[b]++;
            confidence[b] += scores[i];
            if (labels[i]) positives[b]++;
        }
        double error = 0;
        for (var b = 0; b < bins; b++)
            if (count[b] > 0)
                error += count[b] / (double)scores.Count * Math.Abs(positives[b] / count[b] - confidence[b] / count[b]);
        return error;
    }

    private static void Check(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        if (scores.Count != labels.Count)
            throw new ArgumentException($"{scores.Count} scores but {labels.Count} labels.");
    }
}
