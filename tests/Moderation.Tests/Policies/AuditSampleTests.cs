using FluentAssertions;
using Moderation.Core.Policies;

namespace Moderation.Tests.Policies;

/// <summary>The audit sample's design and estimators: draws at the stated rates, and intervals that cover the truth.</summary>
public sealed class AuditSampleTests
{
    [Fact]
    public void Draws_follow_each_stratum_rate_and_repeat_for_the_same_upload()
    {
        var sampler = new AuditSampler(new AuditSampleOptions { Salt = "test" });
        const int n = 200_000;
        var included = Enumerable.Range(0, n).Count(i => sampler.Draw($"upload-{i}", RouteOutcome.Action, 0.95).Included);
        // Rate 0.05: mean 10,000, standard deviation about 97.
        included.Should().BeInRange(10_000 - 450, 10_000 + 450);
        sampler.Draw("upload-7", RouteOutcome.Allow, 0.1).Should().Be(sampler.Draw("upload-7", RouteOutcome.Allow, 0.1), "a retried routing draws the same");
        sampler.Draw("u", RouteOutcome.Allow, 0.1).InclusionProbability.Should().Be(0.002);
        sampler.Draw("u", RouteOutcome.Allow, 0.3).InclusionProbability.Should().Be(0.01);
        sampler.Draw("u", RouteOutcome.Allow, 0.3).Stratum.Should().Be("allow:1");
        new AuditSampler(new AuditSampleOptions { Salt = "other" }).Uniform("upload-7").Should().NotBe(sampler.Uniform("upload-7"), "the salt changes every draw");
    }

    /// <summary>
    /// 1,000 simulated audits of one population of 20,000 scored uploads (mostly benign, violating more often the higher
    /// the score), sampled by stratum at rates from 1% to 20%: the 95% intervals of prevalence, of the automatic action's
    /// precision and of recall must each cover the population's true value in at least 93% of the audits.
    /// </summary>
    [Fact]
    public void Ninety_five_percent_intervals_cover_the_truth_in_at_least_93_percent_of_1000_simulated_audits()
    {
        var random = new Random(2026);
        const int population = 20_000;
        var score = new double[population];
        var violating = new bool[population];
        var outcome = new string[population];
        for (var i = 0; i < population; i++)
        {
            score[i] = random.NextDouble() * random.NextDouble();
            violating[i] = random.NextDouble() < 1 / (1 + Math.Exp(-10 * (score[i] - 0.55)));
            outcome[i] = score[i] >= 0.85 ? RouteOutcome.Action : score[i] >= 0.5 ? RouteOutcome.Review : RouteOutcome.Allow;
        }
        double Rate(int i) => outcome[i] switch
        {
            RouteOutcome.Action => 0.2,
            RouteOutcome.Review => 0.1,
            _ => score[i] < 0.2 ? 0.01 : 0.05,
        };
        var truePrevalence = violating.Count(v => v) / (double)population;
        var actioned = Enumerable.Range(0, population).Where(i => outcome[i] == RouteOutcome.Action).ToList();
        var truePrecision = actioned.Count(i => violating[i]) / (double)actioned.Count;
        var bad = Enumerable.Range(0, population).Where(i => violating[i]).ToList();
        var trueRecall = bad.Count(i => outcome[i] != RouteOutcome.Allow) / (double)bad.Count;

        const int audits = 1000;
        int coveredPrevalence = 0, coveredPrecision = 0, coveredRecall = 0;
        double meanLabels = 0;
        for (var audit = 0; audit < audits; audit++)
        {
            var prevalence = new AuditEstimator();
            var precision = new AuditEstimator();
            var recall = new AuditEstimator();
            for (var i = 0; i < population; i++)
            {
                var pi = Rate(i);
                if (random.NextDouble() >= pi) continue;
                prevalence.Add(violating[i], pi);
                if (outcome[i] == RouteOutcome.Action) precision.Add(violating[i], pi);
                if (violating[i]) recall.Add(outcome[i] != RouteOutcome.Allow, pi);
            }
            var p = prevalence.Estimate();
            meanLabels += p.Labels / (double)audits;
            if (p.Low <= truePrevalence && truePrevalence <= p.High) coveredPrevalence++;
            var q = precision.Estimate();
            if (q.Low <= truePrecision && truePrecision <= q.High) coveredPrecision++;
            var r = recall.Estimate();
            if (r.Low <= trueRecall && trueRecall <= r.High) coveredRecall++;
        }

        meanLabels.Should().BeInRange(700, 1300, "the design samples about a thousand uploads an audit");
        coveredPrevalence.Should().BeGreaterThanOrEqualTo(930, $"prevalence {truePrevalence:0.000}");
        coveredPrecision.Should().BeGreaterThanOrEqualTo(930, $"precision {truePrecision:0.000}");
        coveredRecall.Should().BeGreaterThanOrEqualTo(930, $"recall {trueRecall:0.000}");
        // And not by being uselessly wide: the intervals must also miss sometimes.
        new[] { coveredPrevalence, coveredPrecision, coveredRecall }.Should().OnlyContain(c => c < 1000);
    }

    [Fact]
    public void Equal_probabilities_give_the_plain_proportion_and_bad_probabilities_are_refused()
    {
        var estimator = new AuditEstimator();
        for (var i = 0; i < 40; i++) estimator.Add(i < 10, 0.5);
        var estimate = estimator.Estimate();
        estimate.Value.Should().Be(0.25);
        estimate.Labels.Should().Be(40);
        var add = () => estimator.Add(true, 0);
        add.Should().Throw<ArgumentOutOfRangeException>();
        new AuditEstimator().Estimate().Value.Should().BeNull();
    }
}
