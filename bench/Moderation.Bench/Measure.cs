using System.Diagnostics;
using System.Globalization;

namespace Moderation.Bench;

internal static class Measure
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Runs <paramref name="work"/> for items 0..count-1 on <paramref name="clients"/> concurrent loops.</summary>
    public static async Task<TimeSpan> ConcurrentAsync(int count, int clients, Func<int, Task> work)
    {
        var next = -1;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count) await work(i);
        })));
        return Stopwatch.GetElapsedTime(started);
    }

    public static string F(double value, string format = "0.000") => value.ToString(format, CultureInfo.InvariantCulture);

    public static string UploadJson(string externalId, int i) =>
        System.Text.Json.JsonSerializer.Serialize(new
        {
            externalId,
            creatorId = $"creator-{i % 97}",
            caption = $"Day {i} of learning to cook: tonight a quick weeknight curry with what was left in the fridge #{i % 13}",
            hashtags = new[] { "#cooking", "#weeknight", $"#day{i}" },
            transcript = "so today we are going to make a really simple curry, you only need onions, garlic, a tin of tomatoes and whatever vegetables you have lying around, let's get started",
            comments = new[] { "looks great", "what spice blend?" },
            locale = "en-GB",
        });
}
