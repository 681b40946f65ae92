using System.Net;
using System.Net.Http.Json;
using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary>Walks every endpoint with every kind of caller: no key, each single scope, and admin.</summary>
[Collection(HostCollection.Name)]
public sealed class AuthorizationMatrixTests(SqliteApiFixture fixture) : IClassFixture<SqliteApiFixture>
{
    public enum Caller { Anonymous, UploadsWrite, SignalsRead, PolicyRead, PolicyWrite, Admin }

    public static TheoryData<string, string, Caller, HttpStatusCode> Matrix()
    {
        var data = new TheoryData<string, string, Caller, HttpStatusCode>();
        void Row(string method, string path, HttpStatusCode anonymous, HttpStatusCode uploads, HttpStatusCode signals,
            HttpStatusCode policyRead, HttpStatusCode policyWrite, HttpStatusCode admin)
        {
            data.Add(method, path, Caller.Anonymous, anonymous);
            data.Add(method, path, Caller.UploadsWrite, uploads);
            data.Add(method, path, Caller.SignalsRead, signals);
            data.Add(method, path, Caller.PolicyRead, policyRead);
            data.Add(method, path, Caller.PolicyWrite, policyWrite);
            data.Add(method, path, Caller.Admin, admin);
        }
        const HttpStatusCode ok = HttpStatusCode.OK, no = HttpStatusCode.Unauthorized, forbidden = HttpStatusCode.Forbidden,
            created = HttpStatusCode.Created, accepted = HttpStatusCode.Accepted, notFound = HttpStatusCode.NotFound;
        Row("POST", "/v1/uploads", no, accepted, forbidden, forbidden, forbidden, accepted);
        Row("GET", "/v1/uploads/{known}", no, ok, forbidden, forbidden, forbidden, ok);
        Row("GET", "/v1/signals", no, forbidden, ok, forbidden, forbidden, ok);
        Row("GET", "/v1/signals/keys", no, forbidden, ok, forbidden, forbidden, ok);
        Row("GET", "/v1/verdicts", no, forbidden, ok, forbidden, forbidden, ok);
        Row("GET", "/v1/claims", no, forbidden, forbidden, ok, ok, ok);
        Row("POST", "/v1/claims", no, forbidden, forbidden, forbidden, created, created);
        Row("POST", "/v1/claims/{unknown}/retire", no, forbidden, forbidden, forbidden, notFound, notFound);
        Row("GET", "/v1/signal-health", no, forbidden, forbidden, ok, ok, ok);
        Row("GET", "/v1/signal-health/quarantined", no, forbidden, forbidden, ok, ok, ok);
        Row("POST", "/v1/signal-health/{unknown}/quarantine", no, forbidden, forbidden, forbidden, notFound, notFound);
        Row("POST", "/v1/signal-health/{unknown}/release", no, forbidden, forbidden, forbidden, notFound, notFound);
        Row("GET", "/v1/models", no, forbidden, forbidden, ok, ok, ok);
        Row("POST", "/v1/models/harm/{unknown}/state", no, forbidden, forbidden, forbidden, notFound, notFound);
        Row("GET", "/v1/models/harm/{unknown}/fairness", no, forbidden, forbidden, notFound, notFound, notFound);
        Row("GET", "/v1/feed/matrix-user", no, forbidden, forbidden, forbidden, forbidden, ok);
        Row("POST", "/v1/interactions", no, forbidden, forbidden, forbidden, forbidden, HttpStatusCode.BadRequest);
        Row("GET", "/v1/feed/matrix-user/controls", no, forbidden, forbidden, forbidden, forbidden, ok);
        Row("POST", "/v1/feed/matrix-user/not-interested", no, forbidden, forbidden, forbidden, forbidden, HttpStatusCode.BadRequest);
        Row("GET", "/v1/policies/audit-sample", no, forbidden, forbidden, ok, ok, ok);
        Row("GET", "/v1/hashbanks", no, forbidden, forbidden, ok, ok, ok);
        Row("POST", "/v1/hashbanks", no, forbidden, forbidden, forbidden, created, created);
        Row("GET", "/v1/hashbanks/{unknown}", no, forbidden, forbidden, notFound, notFound, notFound);
        Row("GET", "/v1/hashbanks/{unknown}/entries.csv", no, forbidden, forbidden, notFound, notFound, notFound);
        Row("POST", "/v1/hashbanks/{unknown}/entries/x/retire", no, forbidden, forbidden, forbidden, notFound, notFound);
        Row("GET", "/v1/hashbanks/{unknown}/entries.txt", no, forbidden, forbidden, notFound, notFound, notFound);
        Row("GET", "/v1/hashbanks/quarantine", no, forbidden, forbidden, ok, ok, ok);
        Row("POST", "/v1/hashbanks/{unknown}/entries/x/release", no, forbidden, forbidden, forbidden, notFound, notFound);
        Row("POST", "/v1/appeals", no, notFound, forbidden, forbidden, forbidden, notFound);
        Row("POST", "/v1/uploads/{unknown}/reports", no, notFound, forbidden, forbidden, forbidden, notFound);
        Row("POST", "/v1/reach", no, ok, forbidden, forbidden, forbidden, ok);
        Row("GET", "/v1/apikeys", no, forbidden, forbidden, forbidden, forbidden, ok);
        Row("POST", "/v1/apikeys", no, forbidden, forbidden, forbidden, forbidden, created);
        Row("GET", "/v1/apikeys/{unknown}", no, forbidden, forbidden, forbidden, forbidden, notFound);
        Row("POST", "/v1/apikeys/{unknown}/revoke", no, forbidden, forbidden, forbidden, forbidden, notFound);
        Row("GET", "/hangfire", no, forbidden, forbidden, forbidden, forbidden, ok);
        Row("GET", "/healthz", ok, ok, ok, ok, ok, ok);
        Row("GET", "/readyz", ok, ok, ok, ok, ok, ok);
        Row("GET", "/openapi/v1.json", ok, ok, ok, ok, ok, ok);
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Each_endpoint_admits_exactly_the_callers_it_should(string method, string path, Caller caller, HttpStatusCode expected)
    {
        var api = fixture.Api;
        string? key = caller switch
        {
            Caller.Anonymous => null,
            Caller.UploadsWrite => await api.CreateKeyAsync(ApiScopes.UploadsWrite),
            Caller.SignalsRead => await api.CreateKeyAsync(ApiScopes.SignalsRead),
            Caller.PolicyRead => await api.CreateKeyAsync(ApiScopes.PolicyRead),
            Caller.PolicyWrite => await api.CreateKeyAsync(ApiScopes.PolicyWrite),
            _ => api.AdminKey,
        };
        if (path.Contains("{known}"))
        {
            var known = (await api.PostUploadAsync(new { externalId = $"matrix-{Guid.NewGuid():N}", caption = "x" })).GetProperty("id").GetString();
            path = path.Replace("{known}", known);
        }
        path = path.Replace("{unknown}", $"unknown-{Guid.NewGuid():N}");
        object body = path switch
        {
            "/v1/uploads" => new { externalId = $"matrix-{Guid.NewGuid():N}", caption = "x" },
            "/v1/appeals" => new { uploadId = $"unknown-{Guid.NewGuid():N}", statement = "matrix" },
            "/v1/claims" => new { text = $"A matrix claim {Guid.NewGuid():N}", sourceUrl = "https://factcheck.example.org/m" },
            "/v1/hashbanks" => new { name = $"matrix-{Guid.NewGuid():N}", category = "harm", action = "label" },
            "/v1/apikeys" => new { name = "matrix key", scopes = new[] { "signals:read" } },
            "/v1/reach" => new { items = new[] { new { uploadId = $"unknown-{Guid.NewGuid():N}", views = 1 } } },
            _ when path.EndsWith("/reports", StringComparison.Ordinal) => new { reporterId = "matrix", reason = "spam" },
            _ when path.EndsWith("/retire", StringComparison.Ordinal) || path.EndsWith("/release", StringComparison.Ordinal)
                || path.EndsWith("/quarantine", StringComparison.Ordinal)
                || path.EndsWith("/revoke", StringComparison.Ordinal) => new { reason = "matrix" },
            _ => new { state = "live" },
        };
        using var client = api.CreateClient(key);
        using var response = method == "POST"
            ? await client.PostAsJsonAsync(path, body)
            : await client.GetAsync(path);
        response.StatusCode.Should().Be(expected, $"{caller} on {method} {path}");
    }

    [Fact]
    public async Task The_api_reference_page_is_served()
    {
        using var client = fixture.Api.CreateClient(null);
        var response = await client.GetAsync("/docs");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Contain("openapi/v1.json");
    }

    [Fact]
    public async Task The_openapi_document_describes_the_endpoints_and_the_key_header()
    {
        using var client = fixture.Api.CreateClient(null);
        var document = await client.GetStringAsync("/openapi/v1.json");
        document.Should().Contain("/v1/uploads").And.Contain("/v1/signals").And.Contain("X-Api-Key");
    }
}
