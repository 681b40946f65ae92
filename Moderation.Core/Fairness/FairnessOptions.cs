using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Moderation.Core.Fairness;

/// <summary>
/// <c>Moderation:Fairness</c>: the floor a text head's template audit must meet before it may go live. Going live
/// below it is refused unless the request carries an override with a reason, which is audited
/// (<c>model.fairness_override</c>).
/// </summary>
public sealed class FairnessOptions
{
    public const string Section = "Moderation:Fairness";

    /// <summary>
    /// The categories whose text heads the floor holds for. The templates are demeaning and neutral statements about
    /// identity groups, so they measure heads that judge abuse (the model card audits these three); a misinformation or
    /// self-harm head is not measured by them. The report is still computed for any text head on request.
    /// Empty: <see cref="DefaultCategories"/>; any set here replace them (configuration binding appends to a list, so
    /// the defaults are not in it).
    /// </summary>
    public List<string> Categories { get; set; } = [];

    public static readonly IReadOnlyList<string> DefaultCategories = ["harm", "harm.hate", "bias"];

    /// <summary>The categories the floor holds for: <see cref="Categories"/>, or the defaults when it is empty.</summary>
    public IReadOnlyList<string> FlooredCategories => Categories.Count > 0 ? Categories : DefaultCategories;

    /// <summary>The lowest generalised mean (power −5, as on the model card) of the per-group BPSN AUCs; null: no floor on the mean.</summary>
    [Range(0.0, 1.0)]
    public double? MinBpsnMean { get; set; } = 0.95;

    /// <summary>The lowest BPSN AUC any one group may have; null: no floor per group.</summary>
    [Range(0.0, 1.0)]
    public double? MinGroupBpsn { get; set; } = 0.9;

    /// <summary>The window of the traffic part when a request names none: this long before now.</summary>
    public TimeSpan DefaultWindow { get; set; } = TimeSpan.FromDays(30);
}

public static class FairnessServices
{
    /// <summary>The fairness report and the floor on going live (<see cref="FairnessOptions"/>).</summary>
    public static IServiceCollection AddFairness(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FairnessOptions>().Bind(configuration.GetSection(FairnessOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<FairnessReports>();
        services.AddSingleton<FairnessGate>();
        return services;
    }
}
