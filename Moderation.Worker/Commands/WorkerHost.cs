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
using Moderation.Core.Refusals;

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

    /// <summary>
    /// Sets <paramref name="command"/>'s action to run <paramref name="action"/> with a service of the configured
    /// database (configuration as --Section:Key=Value after the options). A stray token, or an exception that
    /// <paramref name="badInput"/> turns into a message, is a clear error and exit code 2.
    /// </summary>
    public static Command WithService<T>(Command command, Func<ParseResult, T, CancellationToken, Task<int>> action, Func<Exception, string?> badInput)
        where T : notnull
    {
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var stray = parse.UnmatchedTokens.FirstOrDefault(t => !t.StartsWith("--", StringComparison.Ordinal) || !t.Contains('=', StringComparison.Ordinal));
            if (stray is not null)
            {
                Console.Error.WriteLine($"error: unexpected '{stray}' (configuration is given as --Section:Key=Value).");
                return 2;
            }
            try
            {
                using var host = CreateBuilder(parse.UnmatchedTokens.ToArray()).Build();
                return await action(parse, host.Services.GetRequiredService<T>(), ct);
            }
            catch (Exception e) when ((e is Refusal refusal ? Describe(refusal) : badInput(e)) is { } message)
            {
                Console.Error.WriteLine(message);
                return 2;
            }
        });
        return command;
    }

    /// <summary>The command line's one wording of a Core refusal: <c>error: field: reason</c> for invalid input, <c>error: message</c> otherwise.</summary>
    public static string Describe(Refusal refusal) =>
        refusal.Kind == RefusalKind.Invalid && refusal.Field is { } field ? $"error: {field}: {refusal.Message}" : $"error: {refusal.Message}";
}
