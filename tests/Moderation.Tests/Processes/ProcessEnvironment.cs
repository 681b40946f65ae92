using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Processes;

internal static class ProcessEnvironment
{
    /// <summary>The environment a real host needs to use the test database and the test scorer plug-in.</summary>
    public static Dictionary<string, string> For(TestDatabase database, string apiKey, params (string Key, string Value)[] extra)
    {
        var environment = new Dictionary<string, string>
        {
            ["Moderation__DataDirectory"] = database.Directory,
            ["Moderation__Database__Provider"] = database.Provider.ToString(),
            ["Moderation__Database__ConnectionString"] = database.ConnectionString,
            ["Moderation__Bootstrap__ApiKey"] = apiKey,
            ["Moderation__Scoring__Plugins__0"] = ChildProcess.BuiltAssembly(Path.Combine("tests", "Moderation.TestScorers"), "Moderation.TestScorers.dll"),
            ["Moderation__Worker__QueuePollInterval"] = "00:00:00.050",
            ["Moderation__Scoring__Text__Enabled"] = "false",
            ["Moderation__Scoring__Media__Enabled"] = "false",
            ["Moderation__Scoring__Images__Enabled"] = "false",
        };
        foreach (var (key, value) in extra) environment[key] = value;
        return environment;
    }
}
