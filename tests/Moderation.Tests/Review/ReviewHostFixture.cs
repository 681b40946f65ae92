using System.Net;
using FluentAssertions;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Moderation.Core.Access;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using SkiaSharp;

namespace Moderation.Tests.Review;

/// <summary>
/// The real API host on SQLite with the markup scorer, one user per role, and (on first use) Debian's Chromium
/// driven by Playwright. No browser is downloaded: <c>/usr/bin/chromium</c> is the one the system package installs.
/// </summary>
public partial class ReviewHostFixture : IAsyncLifetime
{
    public const string Password = "correct horse battery staple";
    public const string ChromiumPath = "/usr/bin/chromium";

    private TestDatabase? database;
    private IPlaywright? playwright;
    private IBrowser? browser;

    public TestApi Api { get; private set; } = null!;

    /// <summary>User names by role: <c>triage1</c>, <c>moderator1</c>, <c>moderator2</c>, <c>senior1</c>, <c>policy1</c>, <c>policy2</c>, <c>admin1</c>.</summary>
    public static readonly IReadOnlyDictionary<string, string> UserFor = new Dictionary<string, string>
    {
        [ReviewRoles.Triage] = "triage1",
        [ReviewRoles.Moderator] = "moderator1",
        [ReviewRoles.Senior] = "senior1",
        [ReviewRoles.Policy] = "policy1",
        [ReviewRoles.Admin] = "admin1",
    };

    /// <summary>More host configuration for a variant of this fixture (e.g. with the text and media scorers on).</summary>
    protected virtual IReadOnlyDictionary<string, string?> ExtraSettings { get; } = new Dictionary<string, string?>();

    public async ValueTask InitializeAsync()
    {
        database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var settings = new Dictionary<string, string?> { ["Moderation:Review:QualitySampleRate"] = "0" };
        foreach (var (key, value) in ExtraSettings) settings[key] = value;
        Api = await TestApi.StartAsync(database, withScorer: true, settings);
        var users = Api.Services.GetRequiredService<WorkbenchUsers>();
        foreach (var (role, name) in UserFor)
            await users.CreateAsync("test", name, Password, [role], CancellationToken.None);
        await users.CreateAsync("test", "moderator2", Password, [ReviewRoles.Moderator], CancellationToken.None);
        await users.CreateAsync("test", "policy2", Password, [ReviewRoles.Policy], CancellationToken.None);
    }

    public async Task<IBrowser> BrowserAsync()
    {
        if (browser is not null) return browser;
        Assert.SkipUnless(File.Exists(ChromiumPath), $"{ChromiumPath} is not installed (apt-get install chromium; .ci/run does).");
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        return browser;
    }

    /// <summary>How long a browser step may wait (a page, a selector) before the test fails.</summary>
    public const float BrowserWaitMs = 120_000;

    /// <summary>A fresh browser context (its own cookies) signed in as <paramref name="userName"/>, on the queues page.</summary>
    public async Task<IPage> SignedInPageAsync(string userName)
    {
        var context = await (await BrowserAsync()).NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Api.BaseAddress.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = 1360, Height = 900 },
        });
        // Wait limits, not timings: on a loaded 2-core CI machine a page has taken more than Playwright's default 30 s.
        context.SetDefaultTimeout(BrowserWaitMs);
        context.SetDefaultNavigationTimeout(BrowserWaitMs);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/review/");
        await page.FillAsync("input[name=userName]", userName);
        await page.FillAsync("input[name=password]", Password);
        await page.ClickAsync("#signin button[type=submit]");
        await page.WaitForPageAsync("**/review/queues");
        return page;
    }

    /// <summary>Uploads an item through the API and waits until the pipeline has routed it (to review, with the markup).</summary>
    public async Task<string> UploadForReviewAsync(string caption, IEnumerable<string>? comments = null, bool withImage = false, string? creator = null)
    {
        var media = withImage ? new[] { new { kind = "image", fileName = "evil.html", contentBase64 = Convert.ToBase64String(Png()) } } : null;
        var accepted = await Api.PostUploadAsync(new
        {
            externalId = "ui-" + Guid.NewGuid().ToString("N")[..12],
            creatorId = creator ?? "creator-ui",
            caption,
            hashtags = new[] { "<b>tag</b>" },
            comments = comments?.ToArray() ?? [],
            media,
        });
        var id = accepted.GetProperty("id").GetString()!;
        var routed = await Api.WaitUntilRoutedAsync(id);
        routed.GetProperty("status").GetString().Should().Be("in_review", routed.ToString());
        return id;
    }

    public async Task<JsonElement> UploadAsync(string id) => await Api.GetUploadAsync(id);

    /// <summary>A small PNG: stripes, so it is visibly different when revealed.</summary>
    public static byte[] Png()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(64, 48, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var y = 0; y < 48; y++)
            for (var x = 0; x < 64; x++)
                bitmap.SetPixel(x, y, (x / 8 + y / 8) % 2 == 0 ? new SKColor(200, 30, 30) : new SKColor(30, 30, 200));
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>
    /// Where the tests' screenshots go: docs/screenshots in the repository (the README's pictures) when
    /// MODERATION_UPDATE_SCREENSHOTS=1, otherwise a scratch folder, so a test run never dirties the checkout.
    /// </summary>
    public static string ScreenshotPath(string name)
    {
        var dir = Environment.GetEnvironmentVariable("MODERATION_UPDATE_SCREENSHOTS") == "1"
            ? Path.Combine(Storage.MigrationFilesTests.RepositoryRoot(), "docs", "screenshots")
            : Path.Combine(Path.GetTempPath(), "moderation-tests", "screenshots");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    /// <summary>An HTTP client with its own cookie jar, signed in through the form like a browser (anti-forgery token included).</summary>
    public async Task<(HttpClient Client, CookieContainer Cookies)> SignedInClientAsync(string? userName)
    {
        var cookies = new CookieContainer();
        var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false })
        {
            BaseAddress = Api.BaseAddress,
        };
        if (userName is null) return (client, cookies);
        var form = await client.GetStringAsync("/review/");
        var response = await client.PostAsync("/review/", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["userName"] = userName, ["password"] = Password, ["__RequestVerificationToken"] = Token(form),
        }));
        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        return (client, cookies);
    }

    public static string Token(string html) => AntiforgeryField().Match(html) is { Success: true } m
        ? m.Groups[1].Value
        : throw new InvalidOperationException("No anti-forgery token on the page.");

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    public async ValueTask DisposeAsync()
    {
        if (browser is not null) await browser.DisposeAsync();
        playwright?.Dispose();
        if (Api is not null) await Api.DisposeAsync();
        if (database is not null) await database.DisposeAsync();
    }
}
