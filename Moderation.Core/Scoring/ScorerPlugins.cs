using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace Moderation.Core.Scoring;

/// <summary>
/// Loads scorers from assemblies named in <c>Moderation:Scoring:Plugins</c>, so that a team can run its own
/// model beside the built-in ones without rebuilding the hosts. Every public, concrete <see cref="IUploadScorer"/>
/// in each assembly is registered as a singleton, built by the container (it may ask for options, loggers, ...).
/// </summary>
public static class ScorerPlugins
{
    public static IServiceCollection AddScorerPlugins(this IServiceCollection services, IEnumerable<string> assemblyPaths)
    {
        foreach (var path in assemblyPaths.Where(p => !string.IsNullOrWhiteSpace(p)))
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full))
                throw new FileNotFoundException($"Scorer plug-in '{path}' (Moderation:Scoring:Plugins) does not exist.", full);
            var assembly = Assembly.LoadFrom(full);
            var types = assembly.GetExportedTypes()
                .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IUploadScorer).IsAssignableFrom(t))
                .ToList();
            if (types.Count == 0)
                throw new InvalidOperationException($"Scorer plug-in '{path}' holds no public IUploadScorer.");
            foreach (var type in types)
                services.AddSingleton(typeof(IUploadScorer), type);
        }
        return services;
    }
}
