using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.SqlServer;
using Hangfire.Storage.SQLite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Core.Claims;
using Moderation.Core.Media;
using Moderation.Core.Fairness;
using Moderation.Core.Models;
using Moderation.Core.Policies;
using Moderation.Core.Review;
using Moderation.Core.Scoring;
using Moderation.Core.Scoring.Text;
using Moderation.Core.Similarity;
using Moderation.Core.Storage;
using Moderation.Core.Uploads;

namespace Moderation.Core.Hosting;

public static class ModerationServices
{
    /// <summary>
    /// Storage, options, scoring pipeline and the Hangfire client, as every host needs them. Hosts add a job
    /// server with <see cref="AddModerationJobServer"/>.
    /// </summary>
    public static IServiceCollection AddModerationCore(this IServiceCollection services, IConfiguration configuration, bool bootstrapAccess)
    {
        services.AddOptions<ModerationOptions>().Bind(configuration.GetSection(ModerationOptions.Section)).ValidateOnStart();
        services.AddOptions<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<UploadLimits>().Bind(configuration.GetSection(UploadLimits.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ScoringOptions>().Bind(configuration.GetSection(ScoringOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RoutingPolicyOptions>().Bind(configuration.GetSection(RoutingPolicyOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BootstrapOptions>().Bind(configuration.GetSection(BootstrapOptions.Section));
        services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.Section)).ValidateDataAnnotations().ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => CreateDatabase(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value, sp.GetRequiredService<IOptions<ModerationOptions>>().Value));
        services.AddSingleton<DatabaseMigrator>();
        services.AddSingleton<MediaStore>();
        services.AddSingleton<MediaSweeper>();
        services.AddSingleton<MediaBudget>();
        services.AddSingleton<UploadIntake>();
        // The dispatcher before intake: hosted services stop in reverse, so intake hands over its last uploads first.
        services.AddSingleton<ScoringDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ScoringDispatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<UploadIntake>());
        services.AddSingleton<UploadDetailsQuery>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<AccessBootstrap>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<ClaimBank>();
        services.AddSingleton<HashBanks>();
        services.AddOptions<PolicyVersionOptions>().Bind(configuration.GetSection(PolicyVersionOptions.Section));
        services.AddSingleton<PolicyVersions>();
        services.AddSingleton<PolicyBacktest>();
        services.AddSingleton<ThresholdExplorer>();
        services.AddOptions<Signals.SignalHealthOptions>().Bind(configuration.GetSection(Signals.SignalHealthOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<Signals.SignalQuarantines>();
        services.AddSingleton<Signals.SignalHealth>();
        services.AddSingleton<AuditSampleReport>();
        services.AddSingleton<ShadowDiff>();
        services.AddFairness(configuration);
        services.AddOptions<AuditSampleOptions>().Bind(configuration.GetSection(AuditSampleOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new AuditSampler(sp.GetRequiredService<IOptions<AuditSampleOptions>>().Value));
        services.AddSingleton<IRoutingPolicySource>(sp => sp.GetRequiredService<PolicyVersions>());
        services.AddSingleton(sp => new ScoringOutcomeWriter(sp.GetRequiredService<ModerationDatabase>(), sp.GetRequiredService<ReviewTasks>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<AuditSampler>()));
        services.AddOptions<SimilarityOptions>().Bind(configuration.GetSection(SimilarityOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<UploadEmbeddings>();
        // Loads nothing until a reviewer asks: workers that never search hold no index.
        services.AddSingleton<NearDuplicates>();
        services.AddSingleton<Review.ReviewSimilarity>();
        services.AddReviewServices(configuration);
        services.AddTransient<ScoringJob>();

        var plugins = configuration.GetSection(ScoringOptions.Section).Get<ScoringOptions>()?.Plugins ?? [];
        services.AddScorerPlugins(plugins);
        services.AddTextScoring(configuration);
        services.AddMediaScoring(configuration);

        // First hosted service: the schema is migrated before anything else starts.
        services.Insert(0, ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService>(sp =>
            new DatabaseInitializer(sp.GetRequiredService<DatabaseMigrator>(), sp.GetRequiredService<ReviewTasks>(),
                sp.GetRequiredService<IOptions<DatabaseOptions>>(), bootstrapAccess ? sp.GetRequiredService<AccessBootstrap>() : null,
                sp.GetRequiredService<PolicyVersions>(), sp.GetRequiredService<IOptions<RoutingPolicyOptions>>(),
                sp.GetRequiredService<ILogger<DatabaseInitializer>>())));

        // Each host owns its JobStorage instance instead of Hangfire's static JobStorage.Current, so several hosts
        // (tests, benchmarks) can live in one process. AddHangfire only adds what is not registered yet.
        services.AddSingleton<JobStorage>(sp => CreateJobStorage(sp));
        services.AddHangfire((_, config) => config
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());

        // Every host that takes uploads (and every worker) enqueues, once at start-up, those stored without a job.
        services.AddHostedService<UnenqueuedUploadRecovery>();
        // And sweeps media files that no upload names (a crash between a file's rename and its upload's commit).
        services.AddHostedService<MediaSweepSchedule>();
        services.AddOptions<AuditCheckpointOptions>().Bind(configuration.GetSection(AuditCheckpointOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AuditCheckpoints>();
        services.AddHostedService<AuditCheckpointSchedule>();
        return services;
    }

    /// <summary>A Hangfire server for the scoring queue.</summary>
    public static IServiceCollection AddModerationJobServer(this IServiceCollection services)
    {
        services.AddHangfireServer((sp, server) =>
        {
            var worker = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            server.Queues = [ScoringDispatcher.Queue, "default"];
            server.WorkerCount = worker.WorkerCount > 0 ? worker.WorkerCount : Environment.ProcessorCount;
            server.SchedulePollingInterval = TimeSpan.FromSeconds(5);
            server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}";
        });
        return services;
    }

    public static ModerationDatabase CreateDatabase(DatabaseOptions options, ModerationOptions moderation)
    {
        var connectionString = options.ConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            if (options.Provider != DatabaseProvider.Sqlite)
                throw new OptionsValidationException(DatabaseOptions.Section, typeof(DatabaseOptions),
                    [$"Moderation:Database:ConnectionString is required for {options.Provider}."]);
            PrivateFiles.EnsureDirectory(moderation.FullDataDirectory);
            connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(moderation.FullDataDirectory, "moderation.db"),
                Pooling = true,
                DefaultTimeout = options.CommandTimeoutSeconds,
            }.ToString();
        }
        // The database file is created 0600 before SQLite creates it with the umask's mode.
        if (options.Provider == DatabaseProvider.Sqlite) PrivateFiles.EnsureSqliteFile(connectionString);
        return new ModerationDatabase(SqlDialect.For(options.Provider), connectionString);
    }

    private static JobStorage CreateJobStorage(IServiceProvider sp)
    {
        var database = sp.GetRequiredService<ModerationDatabase>();
        var worker = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
        var moderation = sp.GetRequiredService<IOptions<ModerationOptions>>().Value;
        switch (database.Provider)
        {
            case DatabaseProvider.Sqlite:
                // A file of its own: job bookkeeping then never waits for the application's write lock.
                var path = worker.SqliteStoragePath ?? Path.Combine(moderation.FullDataDirectory, "hangfire.db");
                PrivateFiles.EnsureFile(path);
                return new SQLiteStorage(path, new SQLiteStorageOptions
                {
                    QueuePollInterval = worker.QueuePollInterval,
                    InvisibilityTimeout = worker.InvisibilityTimeout,
                });
            case DatabaseProvider.Postgres:
                return new PostgreSqlStorage(new NpgsqlConnectionFactory(database.ConnectionString, new PostgreSqlStorageOptions()),
                    new PostgreSqlStorageOptions
                    {
                        SchemaName = "hangfire",
                        QueuePollInterval = worker.QueuePollInterval,
                        InvisibilityTimeout = worker.InvisibilityTimeout,
                        // A live worker keeps its job invisible however long it runs; a dead one's job is fetched again after the timeout.
                        UseSlidingInvisibilityTimeout = true,
                        PrepareSchemaIfNecessary = true,
                    });
            case DatabaseProvider.SqlServer:
                return new SqlServerStorage(database.ConnectionString, new SqlServerStorageOptions
                {
                    SchemaName = "hangfire",
                    QueuePollInterval = worker.QueuePollInterval,
                    SlidingInvisibilityTimeout = worker.InvisibilityTimeout,
                    PrepareSchemaIfNecessary = true,
                });
            default:
                throw new InvalidOperationException($"No job storage for {database.Provider}.");
        }
    }
}
