using Moderation.Core.Storage;

namespace Moderation.Tests.Infrastructure;

/// <summary>One API host per provider, shared by a test class; tests use distinct external ids.</summary>
public abstract class ApiFixture(DatabaseProvider provider) : IAsyncLifetime
{
    private TestDatabase? database;
    private TestApi? api;

    public DatabaseProvider Provider => provider;

    /// <summary>Limits small enough to test without megabytes of payload.</summary>
    public static readonly Dictionary<string, string?> Settings = new()
    {
        ["Moderation:Limits:MaxMediaBytes"] = "4096",
        ["Moderation:Limits:MaxRequestBytes"] = "65536",
    };

    /// <summary>Register <c>MarkupScorer</c> (the contract tests count its scores exactly).</summary>
    protected virtual bool WithScorer => true;

    /// <summary>The host's configuration.</summary>
    protected virtual IDictionary<string, string?> HostSettings => Settings;

    /// <summary>The running host; skips the calling test when the provider's server is not configured.</summary>
    public TestApi Api
    {
        get
        {
            var skip = TestDatabase.SkipReason(provider);
            Assert.SkipWhen(skip is not null, skip ?? "");
            return api ?? throw new InvalidOperationException("The API host did not start.");
        }
    }

    public async ValueTask InitializeAsync()
    {
        if (TestDatabase.SkipReason(provider) is not null) return;
        database = await TestDatabase.CreateAsync(provider);
        api = await TestApi.StartAsync(database, WithScorer, HostSettings);
    }

    public async ValueTask DisposeAsync()
    {
        if (api is not null) await api.DisposeAsync();
        if (database is not null) await database.DisposeAsync();
    }
}

public sealed class SqliteApiFixture() : ApiFixture(DatabaseProvider.Sqlite);
public sealed class PostgresApiFixture() : ApiFixture(DatabaseProvider.Postgres);
