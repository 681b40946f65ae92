using Moderation.Api.Hosting;

var app = ModerationApi.Build(args);
app.Run();

/// <summary>The API host's entry point (public for WebApplicationFactory in tests).</summary>
public partial class Program;
