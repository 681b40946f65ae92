namespace Moderation.Tests.Infrastructure;

/// <summary>
/// Tests that start hosts (in-process or as child processes) run one class at a time: on a two-core machine,
/// several Hangfire servers at once make every one of them slow, and timing-sensitive waits flaky.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostCollection
{
    public const string Name = "hosts";
}
