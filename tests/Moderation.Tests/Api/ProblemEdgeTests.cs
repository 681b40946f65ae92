using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Moderation.Api.Edge;
using Moderation.Core.Access;
using Moderation.Core.Refusals;
using Moderation.Review.Edge;
using Moderation.Tests.Infrastructure;

namespace Moderation.Tests.Api;

/// <summary>
/// The one HTTP edge: each refusal kind becomes its status and an RFC 7807 body naming the field and the reason; every
/// JSON body is read under a size limit, and malformed JSON is a 400 naming where it broke.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class ProblemEdgeTests(SqliteApiFixture fixture) : IClassFixture<SqliteApiFixture>
{
    private TestApi Api => fixture.Api;

    public static TheoryData<string, int, string> Kinds => new()
    {
        { "invalid", 400, "The request is not valid" },
        { "not-found", 404, "Not found" },
        { "conflict", 409, "Conflict" },
        { "forbidden", 403, "Forbidden" },
    };

    private static Refusal RefusalOf(string kind) => kind switch
    {
        "invalid" => Refusal.Invalid("reason", "is required"),
        "not-found" => Refusal.NotFound("No claim has the id 'x'.", "id"),
        "conflict" => Refusal.Conflict("Claim x is already retired.", "id", new Dictionary<string, object?> { ["existingId"] = "x" }),
        _ => Refusal.Forbidden("You cannot disable your own account.", "disabled"),
    };

    /// <summary>The handler itself, as every endpoint reaches it: the status, the content type and each member of the body.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Each_refusal_kind_is_its_status_and_a_problem_naming_the_field(string kind, int status, string title)
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        var refusal = RefusalOf(kind);

        var handled = await new ProblemExceptionHandler(services.GetRequiredService<IProblemDetailsService>())
            .TryHandleAsync(context, refusal, CancellationToken.None);

        handled.Should().BeTrue();
        context.Response.StatusCode.Should().Be(status);
        context.Response.ContentType.Should().StartWith("application/problem+json");
        context.Response.Body.Position = 0;
        var problem = (await JsonDocument.ParseAsync(context.Response.Body)).RootElement;
        problem.GetProperty("status").GetInt32().Should().Be(status);
        problem.GetProperty("title").GetString().Should().Be(title);
        problem.GetProperty("field").GetString().Should().Be(refusal.Field);
        if (kind == "invalid")
        {
            problem.GetProperty("errors").GetProperty("reason")[0].GetString().Should().Be("is required");
            problem.GetProperty("detail").GetString().Should().Be("reason: is required");
        }
        else
        {
            problem.TryGetProperty("errors", out _).Should().BeFalse();
            problem.GetProperty("detail").GetString().Should().Be(refusal.Message);
        }
        if (kind == "conflict") problem.GetProperty("existingId").GetString().Should().Be("x");
    }

    [Fact]
    public void An_exception_that_is_not_a_refusal_is_left_to_the_host()
    {
        ProblemExceptionHandler.For(new InvalidOperationException("a fault")).Should().BeNull();
        RefusalProblems.StatusOf(RefusalKind.Forbidden).Should().Be(403);
    }

    [Fact]
    public async Task Refusals_from_core_reach_the_client_as_problem_details_through_the_real_host()
    {
        using var writer = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite));

        var invalid = await ProblemAsync(await writer.PostAsJsonAsync("/v1/claims", new { text = "short", sourceUrl = "https://example.org/x" }), HttpStatusCode.BadRequest);
        invalid.GetProperty("field").GetString().Should().Be("text");
        invalid.GetProperty("errors").GetProperty("text")[0].GetString().Should().Contain("at least 10");
        invalid.GetProperty("detail").GetString().Should().StartWith("text: ");

        var missing = await ProblemAsync(await writer.GetAsync("/v1/claims/no-such-claim"), HttpStatusCode.NotFound);
        missing.GetProperty("detail").GetString().Should().Contain("no-such-claim");

        var text = $"The tides are caused by wind {Guid.NewGuid():N}";
        var first = await (await writer.PostAsJsonAsync("/v1/claims", new { text, sourceUrl = "https://example.org/tides" })).Content.ReadFromJsonAsync<JsonElement>();
        var duplicate = await ProblemAsync(await writer.PostAsJsonAsync("/v1/claims", new { text, sourceUrl = "https://example.org/tides" }), HttpStatusCode.Conflict);
        duplicate.GetProperty("existingId").GetString().Should().Be(first.GetProperty("id").GetString());
        duplicate.GetProperty("field").GetString().Should().Be("text");

        var badQuery = await ProblemAsync(await writer.GetAsync("/v1/claims?includeRetired=perhaps"), HttpStatusCode.BadRequest);
        badQuery.GetProperty("errors").GetProperty("includeRetired")[0].GetString().Should().Be("must be true or false");
    }

    [Fact]
    public async Task An_upload_with_several_bad_fields_names_each_in_errors_and_in_detail()
    {
        using var client = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.UploadsWrite));
        var problem = await ProblemAsync(await client.PostAsJsonAsync("/v1/uploads", new { caption = new string('x', 10_001) }), HttpStatusCode.BadRequest);
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Should().Contain(["externalId", "caption"]);
        problem.GetProperty("detail").GetString().Should().Contain("externalId: ").And.Contain("caption: ");
        problem.TryGetProperty("field", out _).Should().BeFalse("no one field is at fault");
    }

    [Theory]
    [InlineData("/v1/claims", 64 * 1024)]
    [InlineData("/v1/appeals", 32 * 1024)]
    public async Task A_body_over_the_endpoints_limit_is_a_413_naming_the_limit(string path, int limit)
    {
        using var client = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite, ApiScopes.UploadsWrite));
        var json = JsonSerializer.Serialize(new { text = new string('x', limit + 10) });
        var problem = await ProblemAsync(await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json")), HttpStatusCode.RequestEntityTooLarge);
        problem.GetProperty("detail").GetString().Should().Contain($"limit of {limit} bytes");
        problem.GetProperty("title").GetString().Should().Be("Request too large");
    }

    [Theory]
    [InlineData("/v1/claims")]
    [InlineData("/v1/appeals")]
    [InlineData("/v1/hashbanks")]
    [InlineData("/v1/uploads/some-upload/reports")]
    public async Task Malformed_json_is_a_400_naming_where_it_broke_and_a_wrong_type_is_a_415(string path)
    {
        using var client = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite, ApiScopes.UploadsWrite));
        var problem = await ProblemAsync(await client.PostAsync(path, new StringContent("{\n  ,}", Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest);
        var (field, reasons) = problem.GetProperty("errors").EnumerateObject().Select(p => (p.Name, p.Value)).Single();
        field.Should().StartWith("$");
        reasons[0].GetString().Should().Contain("not valid JSON").And.Contain("line 2");

        var notAnObject = await ProblemAsync(await client.PostAsync(path, new StringContent("null", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        notAnObject.GetProperty("errors").GetProperty("$")[0].GetString().Should().Contain("JSON object");

        await ProblemAsync(await client.PostAsync(path, new StringContent("text=x", Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
    }

    [Theory]
    [InlineData("/v1/claims", "post")]
    [InlineData("/v1/appeals", "post")]
    [InlineData("/v1/reach", "post")]
    [InlineData("/v1/hashbanks/{name}", "patch")]
    public async Task Every_json_endpoint_documents_what_the_reader_may_answer(string path, string method)
    {
        using var client = Api.CreateClient(null);
        var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json")).RootElement;
        var operation = document.GetProperty("paths").GetProperty(path).GetProperty(method);
        operation.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _).Should().BeTrue();
        operation.GetProperty("responses").EnumerateObject().Select(r => r.Name).Should().Contain(["400", "413", "415"]);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(expected, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
