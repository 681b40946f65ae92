using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moderation.Core.Hosting;
using Moderation.Core.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Moderation.Worker.Commands;

/// <summary>The generic host every command builds on: configuration from appsettings, the environment and --key=value pairs.</summary>
internal static class WorkerHost
{
    public static HostApplicationBuilder CreateBuilder(string[] configurationArgs)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = configurationArgs,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services.AddModerationCore(builder.Configuration, bootstrapAccess: false);

        var otlp = builder.Configuration["Moderation:Telemetry:OtlpEndpoint"] ?? builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("moderation-worker"))
            .WithMetrics(metrics => metrics.AddMeter(ModerationTelemetry.Name))
            .WithTracing(tracing => tracing.AddSource(ModerationTelemetry.Name));
        if (!string.IsNullOrWhiteSpace(otlp))
            telemetry.UseOtlpExporter(OpenTelemetry.Exporter.OtlpExportProtocol.Grpc, new Uri(otlp));
        return builder;
    }

    /// <summary>A command that does one thing with the configured services and exits with its code.</summary>
    public static Command OneShot(string name, string description, Func<IServiceProvider, CancellationToken, Task<int>> action)
    {
        var command = new Command(name, description) { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CreateBuilder(parse.UnmatchedTokens.ToArray()).Build();
            return await action(host.Services, ct);
        });
        return command;
    }
}
