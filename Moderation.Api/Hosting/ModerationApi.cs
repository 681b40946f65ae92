using System.Text.Json;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.OpenApi;
using Moderation.Api.Access;
using Moderation.Api.Feed;
using Moderation.Api.Media;
using Moderation.Api.Appeals;
using Moderation.Api.Edge;
using Moderation.Api.Health;
using Moderation.Api.Policy;
using Moderation.Api.Reports;
using Moderation.Api.Signals;
using Moderation.Api.Uploads;
using Moderation.Core.Access;
using Moderation.Core.Hosting;
using Moderation.Core.Telemetry;
using Moderation.Review;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Scalar.AspNetCore;

namespace Moderation.Api.Hosting;

/// <summary>The API host: ingest, status, the signal feed, health, docs, the jobs dashboard and the review UI.</summary>
public static class ModerationApi
{
    /// <summary>Builds the host. <paramref name="configure"/> lets tests and benchmarks add services before the build.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddModerationApi(builder.Configuration);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapModerationApi();
        return app;
    }

    public static IServiceCollection AddModerationApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddFeedSigning(configuration); // first: its key is read (or made) before the job server starts
        services.AddModerationCore(configuration, bootstrapAccess: true);
        if (configuration.GetValue("Moderation:Worker:InProcess", true))
            services.AddModerationJobServer();
        services.AddHostedService<QueueDepthMonitor>();

        // Keys for cookies and anti-forgery tokens live in the data directory so they survive restarts.
        // Hosts behind a load balancer need the same keys: point DataDirectory at shared storage.
        var dataDirectory = configuration.GetSection(ModerationOptions.Section).Get<ModerationOptions>() ?? new ModerationOptions();
        services.AddDataProtection()
            .SetApplicationName("moderation-workbench")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(PrivateFiles.EnsureDirectory(dataDirectory.FullDataDirectory), "keys")));

        // Behind a TLS-terminating proxy: believe X-Forwarded-For/-Proto from the configured proxies only, so the
        // workbench's cookies get Secure, HSTS is sent and sign-in throttling counts the real client address.
        var proxies = configuration.GetSection(ProxySettings.Section).Get<ProxySettings>() ?? new ProxySettings();
        services.Configure<ForwardedHeadersOptions>(proxies.Apply);
        var hsts = configuration.GetSection(HstsSettings.Section).Get<HstsSettings>() ?? new HstsSettings();
        services.AddHsts(options =>
        {
            options.MaxAge = hsts.MaxAge;
            options.IncludeSubDomains = hsts.IncludeSubDomains;
            options.Preload = hsts.Preload;
        });

        // Refusals from Core and requests the server cannot take (413, 415) become problem details in one place.
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddMemoryCache();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(options => options.AddScopePolicies());
        services.AddUploadRateLimits(configuration);

        services.AddHealthChecks()
            .AddCheck<DatabaseReadyCheck>("database", tags: ["ready"])
            .AddCheck<JobStorageReadyCheck>("jobs", tags: ["ready"])
            .AddCheck<ScorersReadyCheck>("scorers", tags: ["ready"])
            .AddCheck<OcrReadyCheck>("ocr", tags: ["ready"]);

        services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Moderation workbench API";
            document.Info.Description = "Ingest uploads for scoring, read their routing, follow the risk-signal feed, and curate the claim bank, hash banks and model versions.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "An API key with the scope the endpoint names (uploads:write, signals:read, policy:read, policy:write, feed:demo or admin).",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, document)] = [] });
            return Task.CompletedTask;
        }));

        services.AddFeedDemo(configuration);
        services.AddModerationReview(configuration);
        services.AddModerationTelemetry(configuration, "moderation-api");
        return services;
    }

    public static WebApplication MapModerationApi(this WebApplication app)
    {
        // Only with proxies configured: with empty lists ASP.NET Core's middleware would believe every caller's headers.
        var forwarded = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ForwardedHeadersOptions>>().Value;
        if (forwarded.KnownProxies.Count > 0 || forwarded.KnownIPNetworks.Count > 0) app.UseForwardedHeaders();
        // HTTPS responses (by the connection or a trusted proxy's X-Forwarded-Proto) carry Strict-Transport-Security;
        // ASP.NET Core leaves it off for localhost, and here for Development.
        if (!app.Environment.IsDevelopment()) app.UseHsts();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(async (context, next) =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            await next();
        });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter(); // after authentication: limits are per API key
        app.UseJobsDashboardSignIn();

        app.MapUploads();
        app.MapSignals();
        app.MapVerdicts();
        app.MapPolicy();
        app.MapSignalHealth();
        app.MapShadowDiff();
        app.MapFairness();
        app.MapFeedDemo();
        app.MapHashBanks();
        app.MapAppeals();
        app.MapAudience();
        app.MapApiKeys();

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = WriteHealthAsync,
        });

        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/docs", options => options.WithTitle("Moderation workbench API")).AllowAnonymous();

        // Admins only: a workbench admin's cookie or an admin API key (JobsDashboardAuthorization, replacing Hangfire's
        // default filter, which allows local requests only). Its POSTs are checked against the anti-forgery token.
        app.MapHangfireDashboard(JobsDashboardAuthorization.Path, new DashboardOptions
        {
            Authorization = [],
            AsyncAuthorization = [new JobsDashboardAuthorization()],
            AppPath = ReviewModule.PathBase + "/queues",
            DisplayStorageConnectionString = false,
        });

        app.MapModerationReview();
        return app;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, JsonSerializerOptions.Web));
    }

    /// <summary>
    /// Traces and metrics for HTTP, jobs and scoring. Exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// (or <c>Moderation:Telemetry:OtlpEndpoint</c>) is set; otherwise collected and dropped.
    /// </summary>
    public static IServiceCollection AddModerationTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        var otlp = configuration["Moderation:Telemetry:OtlpEndpoint"] ?? configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics => metrics.AddAspNetCoreInstrumentation().AddMeter(ModerationTelemetry.Name).AddMeter("Npgsql"))
            .WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddSource(ModerationTelemetry.Name).AddNpgsql());
        if (!string.IsNullOrWhiteSpace(otlp))
            telemetry.UseOtlpExporter(OpenTelemetry.Exporter.OtlpExportProtocol.Grpc, new Uri(otlp));
        return services;
    }
}
