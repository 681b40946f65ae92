using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Core.Access;
using Moderation.Core.Hosting;
using Moderation.Core.Signals;
using Moderation.Core.Storage;
using Moderation.Tests.Infrastructure;
using Recommender.Core.Signals;

namespace Moderation.Tests.Feed;

/// <summary>Every page of <c>GET /v1/signals</c> and <c>GET /v1/verdicts</c> is signed, and verifies with the key at <c>GET /v1/signals/keys</c>; once per database.</summary>
public abstract class SignedFeedContract<TFixture>(TFixture fixture) where TFixture : ApiFixture
{
    private TestApi Api => fixture.Api;

    private async Task<HttpClient> ReaderAsync() => Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.SignalsRead));

    private async Task RoutedAsync(string caption)
    {
        var id = (await Api.PostUploadAsync(new { externalId = $"signed-{Guid.NewGuid():N}", caption })).GetProperty("id").GetString()!;
        await Api.WaitUntilRoutedAsync(id);
    }

    [Theory]
    [InlineData("/v1/signals?after=0&limit=3")]
    [InlineData("/v1/verdicts?after=0&limit=3")]
    public async Task Pages_are_signed_over_their_body_and_request_and_verify_with_the_published_key(string path)
    {
        await RoutedAsync("a signed page [harm=0.95]");
        using var reader = await ReaderAsync();
        var current = Api.Services.GetRequiredService<FeedSigningKeys>();

        using var response = await reader.GetAsync(path);
        var body = await response.Content.ReadAsByteArrayAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("Content-Digest").Single().Should().Be("sha-256=:" + Convert.ToBase64String(SHA256.HashData(body)) + ":");
        var input = response.Headers.GetValues("Signature-Input").Single();
        input.Should().StartWith("feed=(\"@status\" \"content-digest\" \"@method\";req \"@path\";req \"@query\";req);created=")
            .And.EndWith($";keyid=\"{current.CurrentKeyId}\";alg=\"ecdsa-p256-sha256\"");
        response.Headers.GetValues("Signature").Single().Should().MatchRegex("^feed=:[A-Za-z0-9+/=]{88}:$");
        JsonDocument.Parse(body).RootElement.GetProperty("nextCursor").GetString().Should().NotBeNullOrEmpty("the signed bytes are the page");

        var verifier = new FeedVerifier(reader);
        (await verifier.VerifyAsync(response, body, CancellationToken.None)).Should().BeEquivalentTo(new { Valid = true, KeyId = current.CurrentKeyId, Problem = (string?)null });
        verifier.KeyFetches.Should().Be(1);

        var altered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("\"ineligible\"", "\"none\"").Replace("\"nextCursor\":\"", "\"nextCursor\":\"9"));
        (await verifier.VerifyAsync(response, altered, CancellationToken.None)).Problem.Should().Contain("Content-Digest");
        // The same page offered as the answer to another cursor does not verify.
        response.RequestMessage!.RequestUri = new Uri(response.RequestMessage.RequestUri!.ToString().Replace("after=0", "after=1"));
        (await verifier.VerifyAsync(response, body, CancellationToken.None)).Problem.Should().Contain("does not verify");
    }

    [Fact]
    public async Task Refusals_are_not_signed_pages()
    {
        using var reader = await ReaderAsync();
        using var response = await reader.GetAsync("/v1/signals?limit=0");
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Headers.Contains("Signature").Should().BeFalse();
    }

    [Fact]
    public async Task The_keys_endpoint_publishes_the_current_key_as_pem_and_jwk()
    {
        using var reader = await ReaderAsync();
        var current = Api.Services.GetRequiredService<FeedSigningKeys>();

        var set = JsonDocument.Parse(await reader.GetStringAsync("/v1/signals/keys")).RootElement;

        var key = set.GetProperty("keys").EnumerateArray().Should().ContainSingle().Subject;
        key.GetProperty("keyId").GetString().Should().Be(current.CurrentKeyId);
        key.GetProperty("algorithm").GetString().Should().Be("ecdsa-p256-sha256");
        key.GetProperty("current").GetBoolean().Should().BeTrue();
        key.GetProperty("notAfter").ValueKind.Should().Be(JsonValueKind.Null);
        using var published = ECDsa.Create();
        published.ImportFromPem(key.GetProperty("pem").GetString());
        SigningKeys.KeyIdOf(published).Should().Be(current.CurrentKeyId);
        FeedKeys.KeyIdOf(published).Should().Be(SigningKeys.KeyIdOf(published), "the library and the service name keys by one rule");
        var jwk = key.GetProperty("jwk");
        jwk.GetProperty("kty").GetString().Should().Be("EC");
        jwk.GetProperty("crv").GetString().Should().Be("P-256");
        jwk.GetProperty("kid").GetString().Should().Be(current.CurrentKeyId);
        var q = published.ExportParameters(false).Q;
        Convert.FromBase64String(Base64Url(jwk.GetProperty("x").GetString()!)).Should().Equal(q.X);
        Convert.FromBase64String(Base64Url(jwk.GetProperty("y").GetString()!)).Should().Equal(q.Y);
        key.GetProperty("pem").GetString().Should().NotContain("PRIVATE");
    }

    private static string Base64Url(string s) => s.Replace('-', '+').Replace('_', '/').PadRight(s.Length + (4 - s.Length % 4) % 4, '=');

    [Fact]
    public async Task The_library_follower_verifies_every_page_of_the_real_feed()
    {
        await RoutedAsync("one [harm=0.95]");
        await RoutedAsync("two [harm=0.6]");
        using var reader = await ReaderAsync();
        var source = new HttpSignalSource(reader);
        var follower = new SignalFollower(source, new SignalStore(new SignalStoreOptions { ItemKey = SignalItemKey.UploadId }),
            new SignalFollowerOptions { PageSize = 2 });

        var result = await follower.PollAsync();

        result.Error.Should().BeNull();
        result.Pages.Should().BeGreaterThan(2);
        follower.RefusedPages.Should().Be(0);
        source.Verifier.KeyFetches.Should().Be(1);
        source.Verifier.TrustedKeyIds.Should().Equal([Api.Services.GetRequiredService<FeedSigningKeys>().CurrentKeyId]);
    }
}

[Collection(HostCollection.Name)]
public sealed class SqliteSignedFeedTests(SqliteApiFixture fixture) : SignedFeedContract<SqliteApiFixture>(fixture), IClassFixture<SqliteApiFixture>;

[Collection(HostCollection.Name)]
public sealed class PostgresSignedFeedTests(PostgresApiFixture fixture) : SignedFeedContract<PostgresApiFixture>(fixture), IClassFixture<PostgresApiFixture>;

/// <summary>The signing key: generated once in the data directory, configured from PEM files, rotated.</summary>
[Collection(HostCollection.Name)]
public sealed class FeedSigningKeyTests
{
    /// <summary>A signals:read client (the admin key is the first host's only: bootstrap does not replace it on a restart).</summary>
    private static async Task<HttpClient> ReaderAsync(TestApi api) => api.CreateClient(await api.CreateKeyAsync(ApiScopes.SignalsRead));

    private static async Task<string> PublishedKeyIdAsync(TestApi api)
    {
        using var reader = await ReaderAsync(api);
        return JsonDocument.Parse(await reader.GetStringAsync("/v1/signals/keys")).RootElement.GetProperty("keys")[0].GetProperty("keyId").GetString()!;
    }

    [Fact]
    public async Task Without_a_configured_key_one_is_generated_0600_in_the_data_directory_and_reused_across_restarts()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var file = Path.Combine(database.Directory, FeedSigningOptions.DefaultKeyFile);
        File.Exists(file).Should().BeFalse();

        string first;
        await using (var api = await TestApi.StartAsync(database))
            first = await PublishedKeyIdAsync(api);

        File.Exists(file).Should().BeTrue();
        if (!OperatingSystem.IsWindows()) File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.ReadAllText(file).Should().StartWith("-----BEGIN PRIVATE KEY-----");
        Directory.GetFiles(database.Directory, "*.tmp").Should().BeEmpty();
        await using (var again = await TestApi.StartAsync(database))
            (await PublishedKeyIdAsync(again)).Should().Be(first, "a restart, or another host on the same directory, signs with the same key");
    }

    [Fact]
    public void Hosts_that_create_the_key_at_once_end_with_one_key()
    {
        var directory = Path.Combine(Path.GetTempPath(), "moderation-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var path = Path.Combine(directory, "keys", FeedSigningOptions.DefaultKeyFile);
            var ids = new string[8];
            Parallel.For(0, ids.Length, i =>
            {
                using var key = SigningKeys.LoadOrCreate(path);
                ids[i] = SigningKeys.KeyIdOf(key);
            });
            ids.Distinct().Should().ContainSingle();
            if (!OperatingSystem.IsWindows())
            {
                File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
                File.GetUnixFileMode(Path.GetDirectoryName(path)!).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            Directory.GetFiles(Path.GetDirectoryName(path)!).Should().ContainSingle();
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task After_a_rotation_pages_signed_by_the_old_key_verify_while_it_is_published_and_not_after_it()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        using var oldKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var oldPath = Path.Combine(database.Directory, "old.pem");
        var oldPublic = Path.Combine(database.Directory, "old.pub.pem");
        var newPath = Path.Combine(database.Directory, "new.pem");
        File.WriteAllText(oldPath, oldKey.ExportECPrivateKeyPem());
        File.WriteAllText(oldPublic, oldKey.ExportSubjectPublicKeyInfoPem());
        File.WriteAllText(newPath, newKey.ExportPkcs8PrivateKeyPem());

        HttpResponseMessage oldPage;
        byte[] oldBody;
        await using (var before = await TestApi.StartAsync(database, settings: new Dictionary<string, string?> { ["Moderation:Signals:Signing:KeyPath"] = oldPath }))
        {
            var id = (await before.PostUploadAsync(new { externalId = $"rot-{Guid.NewGuid():N}", caption = "[harm=0.95]" })).GetProperty("id").GetString()!;
            await before.WaitUntilRoutedAsync(id);
            oldPage = await before.Client.GetAsync("/v1/signals?after=0&limit=10");
            oldBody = await oldPage.Content.ReadAsByteArrayAsync();
            oldPage.Headers.GetValues("Signature-Input").Single().Should().Contain($"keyid=\"{SigningKeys.KeyIdOf(oldKey)}\"");
        }

        var notAfter = DateTimeOffset.UtcNow.AddDays(7);
        await using (var rotated = await TestApi.StartAsync(database, settings: new Dictionary<string, string?>
                     {
                         ["Moderation:Signals:Signing:KeyPath"] = newPath,
                         ["Moderation:Signals:Signing:PreviousKeys:0:Path"] = oldPublic,
                         ["Moderation:Signals:Signing:PreviousKeys:0:NotAfter"] = notAfter.ToString("O"),
                     }))
        {
            using var reader = await ReaderAsync(rotated);
            var keys = JsonDocument.Parse(await reader.GetStringAsync("/v1/signals/keys")).RootElement.GetProperty("keys").EnumerateArray().ToList();
            keys.Select(k => (k.GetProperty("keyId").GetString(), k.GetProperty("current").GetBoolean()))
                .Should().Equal([(SigningKeys.KeyIdOf(newKey), true), (SigningKeys.KeyIdOf(oldKey), false)]);
            keys[1].GetProperty("notAfter").GetDateTimeOffset().Should().BeCloseTo(notAfter, TimeSpan.FromMilliseconds(1));

            var verifier = new FeedVerifier(reader);
            (await verifier.VerifyAsync(oldPage, oldBody, CancellationToken.None)).Valid.Should().BeTrue("the old key is still published");
            using var newPage = await reader.GetAsync("/v1/signals?after=0&limit=10");
            newPage.Headers.GetValues("Signature-Input").Single().Should().Contain($"keyid=\"{SigningKeys.KeyIdOf(newKey)}\"");
            (await verifier.VerifyAsync(newPage, await newPage.Content.ReadAsByteArrayAsync(), CancellationToken.None)).Valid.Should().BeTrue();
        }

        await using (var retired = await TestApi.StartAsync(database, settings: new Dictionary<string, string?>
                     {
                         ["Moderation:Signals:Signing:KeyPath"] = newPath,
                         ["Moderation:Signals:Signing:PreviousKeys:0:Path"] = oldPath,
                         ["Moderation:Signals:Signing:PreviousKeys:0:NotAfter"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"),
                     }))
        {
            using var reader = await ReaderAsync(retired);
            var keys = JsonDocument.Parse(await reader.GetStringAsync("/v1/signals/keys")).RootElement.GetProperty("keys");
            keys.GetArrayLength().Should().Be(1, "a previous key past its not-after is no longer published");
            var check = await new FeedVerifier(reader).VerifyAsync(oldPage, oldBody, CancellationToken.None);
            check.Valid.Should().BeFalse();
            check.UnknownKey.Should().BeTrue();
        }
        oldPage.Dispose();
    }

    [Fact]
    public async Task A_key_path_without_a_private_p256_key_stops_the_host_naming_the_setting()
    {
        await using var database = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicOnly = Path.Combine(database.Directory, "public.pem");
        File.WriteAllText(publicOnly, key.ExportSubjectPublicKeyInfoPem());

        var start = () => TestApi.StartAsync(database, settings: new Dictionary<string, string?> { ["Moderation:Signals:Signing:KeyPath"] = publicOnly });

        (await start.Should().ThrowAsync<Microsoft.Extensions.Options.OptionsValidationException>())
            .Which.Message.Should().Contain("Moderation:Signals:Signing:KeyPath").And.Contain("private key");
    }
}
