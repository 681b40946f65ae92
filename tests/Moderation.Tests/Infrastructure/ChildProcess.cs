using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Moderation.Tests.Storage;

namespace Moderation.Tests.Infrastructure;

/// <summary>A real host process (the built API or worker), started with <c>dotnet</c> and killed like an operator would.</summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();

    private ChildProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Keep(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Keep(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public bool HasExited => process.HasExited;

    /// <summary>The last lines the process printed, for failure messages.</summary>
    public string Output => string.Join('\n', output);

    /// <summary>The built output of a project of this repository, in the configuration the tests were built in.</summary>
    public static string BuiltAssembly(string projectFolder, string assemblyName)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var path = Path.Combine(MigrationFilesTests.RepositoryRoot(), projectFolder, "bin", configuration, "net10.0", assemblyName);
        if (!File.Exists(path)) throw new FileNotFoundException($"Build {projectFolder} first: {path} is missing.", path);
        return path;
    }

    public static ChildProcess Start(string assembly, IDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(assembly);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return new ChildProcess(Process.Start(info) ?? throw new InvalidOperationException($"Could not start {assembly}."));
    }

    /// <summary>Runs a built program to its end; returns its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunToEndAsync(string assembly, IEnumerable<string> args,
        IDictionary<string, string>? environment = null, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(assembly)!,
        };
        info.ArgumentList.Add(assembly);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {assembly}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>SIGKILL: no graceful shutdown, nothing flushed, as when a machine dies.</summary>
    public void Kill()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await Task.CompletedTask;
        process.Dispose();
    }

    private void Keep(string line)
    {
        output.Enqueue(line);
        while (output.Count > 200) output.TryDequeue(out _);
    }
}
