using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;

namespace Moderation.Core.Review;

public static class ReviewServices
{
    /// <summary>
    /// The review rules and stores every host needs: workers open review tasks when they route, the API's appeal,
    /// report and reach endpoints and the workbench pages use the rest. <c>AddModerationCore</c> calls this; the
    /// workbench UI (<c>Moderation.Review</c>) adds only its pages and sign-in.
    /// </summary>
    public static IServiceCollection AddReviewServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ReviewOptions>().Bind(configuration.GetSection(ReviewOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ReviewTasks>();
        services.AddSingleton<ReviewQueue>();
        services.AddSingleton<ReviewDecisions>();
        services.AddSingleton<ReviewItemQuery>();
        services.AddSingleton<QualityStats>();
        services.AddSingleton<UserReports>();
        services.AddSingleton<UploadReach>();
        services.AddSingleton<WorkbenchUsers>();
        services.AddOptions<SignInThrottleOptions>().Bind(configuration.GetSection(SignInThrottleOptions.Section)).ValidateDataAnnotations()
            .Validate(o => o.FirstDelay > TimeSpan.Zero && o.MaxDelay >= o.FirstDelay && o.AccountMaxDelay > TimeSpan.Zero && o.ForgetAfter > o.MaxDelay,
                $"{SignInThrottleOptions.Section}: FirstDelay, MaxDelay and AccountMaxDelay must be positive, MaxDelay at least FirstDelay, ForgetAfter longer than MaxDelay.")
            .ValidateOnStart();
        services.AddSingleton<SignInThrottle>();
        return services;
    }
}
