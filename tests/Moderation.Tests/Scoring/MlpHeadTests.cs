using FluentAssertions;
using Moderation.Core.Scoring.Text;
using Moderation.Training.Text;

namespace Moderation.Tests.Scoring;

public sealed class MlpHeadTests
{
    /// <summary>Points labelled by the sign of x0 * x1 (exclusive or): no line separates them, one hidden layer can.</summary>
    private static (List<float[]> X, List<bool> Y) Xor(int count, int seed)
    {
        var random = new Random(seed);
        var x = new List<float[]>();
        var y = new List<bool>();
        for (var i = 0; i < count; i++)
        {
            var point = new[] { random.NextSingle() * 2 - 1, random.NextSingle() * 2 - 1, random.NextSingle() };
            x.Add(point);
            y.Add(point[0] * point[1] > 0);
        }
        return (x, y);
    }

    [Fact]
    public void A_network_learns_what_no_line_separates_and_survives_a_save_and_load()
    {
        var (x, y) = Xor(4000, 1);
        var net = MlpTraining.Train(x, y, x.Select(_ => 1f).ToList(), new MlpTraining.Options(Hidden: 32, Epochs: 30, LearningRate: 0.01f, Dropout: 0));
        var (testX, testY) = Xor(500, 2);
        var accuracy = testX.Select((v, i) => net.Logit(v) > 0 == testY[i]).Count(c => c) / 500.0;
        accuracy.Should().BeGreaterThan(0.9);

        using var stream = new MemoryStream();
        net.Save(stream);
        stream.Position = 0;
        var loaded = MlpHead.Load(stream);
        testX.Select(v => loaded.Logit(v)).Should().Equal(testX.Select(v => net.Logit(v)));
    }

    [Fact]
    public void The_same_seed_gives_the_same_network()
    {
        var (x, y) = Xor(500, 3);
        var options = new MlpTraining.Options(Hidden: 8, Epochs: 2);
        var a = MlpTraining.Train(x, y, x.Select(_ => 1f).ToList(), options);
        var b = MlpTraining.Train(x, y, x.Select(_ => 1f).ToList(), options);
        x.Select(v => a.Logit(v)).Should().Equal(x.Select(v => b.Logit(v)));
    }

    [Fact]
    public void A_truncated_or_foreign_file_is_refused()
    {
        var act = () => MlpHead.Load(new MemoryStream([1, 2, 3, 4, 5, 6, 7, 8]));
        act.Should().Throw<InvalidDataException>();
        var (x, y) = Xor(50, 4);
        using var stream = new MemoryStream();
        MlpTraining.Train(x, y, x.Select(_ => 1f).ToList(), new MlpTraining.Options(Hidden: 4, Epochs: 1)).Save(stream);
        var cut = () => MlpHead.Load(new MemoryStream(stream.ToArray()[..40]));
        cut.Should().Throw<InvalidDataException>().WithMessage("*cut short*");
    }
}
