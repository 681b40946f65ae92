using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Moderation.Core.Access;
using Moderation.Core.Audit;
using Moderation.Tests.Infrastructure;
using Moderation.Tests.Media;

namespace Moderation.Tests.Api;

/// <summary>Hash banks over HTTP: scopes, CSV import and export, problem details naming the bad rows.</summary>
[Collection(HostCollection.Name)]
public sealed class HashBankEndpointTests(SqliteApiFixture fixture) : IClassFixture<SqliteApiFixture>
{
    private TestApi Api => fixture.Api;

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(expected, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static StringContent Csv(string text) => new(text, Encoding.UTF8, "text/csv");

    private static string Name() => $"bank-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task A_policy_writer_creates_a_bank_imports_csv_exports_it_and_retires_an_entry()
    {
        using var writer = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyWrite));
        var name = Name();
        var created = await JsonAsync(await writer.PostAsJsonAsync("/v1/hashbanks",
            new { name, category = "harm.violence", action = "ineligible", description = "gore list" }), HttpStatusCode.Created);
        created.GetProperty("createdBy").GetString().Should().StartWith("api_key:");
        created.GetProperty("activeEntries").GetInt32().Should().Be(0);

        string h1 = HashBankContract.Hex(11), h2 = HashBankContract.Hex(12);
        var imported = await JsonAsync(await writer.PostAsync($"/v1/hashbanks/{name}/entries?source=case%207",
            Csv($"path,hash,quality\nx/a.jpg,{h1},90\nx/b.jpg,{h2},60\n")), HttpStatusCode.OK);
        imported.GetProperty("added").GetInt32().Should().Be(2);
        var again = await JsonAsync(await writer.PostAsync($"/v1/hashbanks/{name}/entries", Csv($"hash\n{h1}\n")), HttpStatusCode.OK);
        again.GetProperty("added").GetInt32().Should().Be(0);
        again.GetProperty("alreadyPresent").GetInt32().Should().Be(1);

        using var reader = Api.CreateClient(await Api.CreateKeyAsync(ApiScopes.PolicyRead));
        var export = await reader.GetAsync($"/v1/hashbanks/{name}/entries.csv");
        export.StatusCode.Should().Be(HttpStatusCode.OK);
        export.Content.Headers.ContentType!.MediaType.Should().Be("text/csv");
        var lines = (await export.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].Trim().Should().Be("id,algorithm,hash,quality,source,added_by,added_at,state,metadata");
        lines.Should().HaveCount(3);
        lines[1].Should().Contain(h1).And.Contain("case 7: x/a.jpg");
        var entryId = lines[2].Split(',')[0];

        var retired = await JsonAsync(await writer.PostAsJsonAsync($"/v1/hashbanks/{name}/entries/{entryId}/retire", new { reason = "wrong list" }), HttpStatusCode.OK);
        retired.GetProperty("retireReason").GetString().Should().Be("wrong list");
        (await JsonAsync(await writer.PostAsJsonAsync($"/v1/hashbanks/{name}/entries/{entryId}/retire", new { reason = "again" }), HttpStatusCode.Conflict))
            .GetProperty("detail").GetString().Should().Contain("already retired");
        (await reader.GetFromJsonAsync<JsonElement>($"/v1/hashbanks/{name}")).GetProperty("activeEntries").GetInt32().Should().Be(1);
        (await reader.GetFromJsonAsync<JsonElement>("/v1/hashbanks")).GetProperty("banks").EnumerateArray()
            .Select(b => b.GetProperty("name").GetString()).Should().Contain(name);

        var patched = await JsonAsync(await writer.PatchAsJsonAsync($"/v1/hashbanks/{name}", new { action = "label", reason = "appeal outcome" }), HttpStatusCode.OK);
        patched.GetProperty("action").GetString().Should().Be("label");

        var events = (await AuditLog.ReadAsync(Api.Database, 0, 1000, CancellationToken.None)).Where(e => e.SubjectId == name).ToList();
        events.Select(e => e.Action).Should().Equal("hash_bank.created", "hash_bank.imported", "hash_bank.entry_retired", "hash_bank.updated");
        events.Should().OnlyContain(e => e.Actor.StartsWith("api_key:"));
    }

    [Fact]
    public async Task A_csv_with_bad_rows_is_a_400_listing_them_by_line_and_imports_nothing()
    {
        var name = Name();
        await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name, category = "harm", action = "demote" }), HttpStatusCode.Created);
        var response = await Api.Client.PostAsync($"/v1/hashbanks/{name}/entries",
            Csv($"path,hash,quality\ngood.jpg,{HashBankContract.Hex(1)},50\nbad.jpg,not-a-hash,50\nworse.jpg,{HashBankContract.Hex(2)},-3\n"));
        var problem = await JsonAsync(response, HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        problem.GetProperty("detail").GetString().Should().Contain("nothing was imported");
        var errors = problem.GetProperty("errors");
        errors.GetProperty("line 3: hash")[0].GetString().Should().Contain("64 hex digits");
        errors.GetProperty("line 4: quality")[0].GetString().Should().Contain("0 to 100");
        (await Api.Client.GetFromJsonAsync<JsonElement>($"/v1/hashbanks/{name}")).GetProperty("activeEntries").GetInt32().Should().Be(0);

        (await Api.Client.PostAsync($"/v1/hashbanks/{name}/entries", new StringContent("hash\n", Encoding.UTF8, "application/json")))
            .StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        (await JsonAsync(await Api.Client.PostAsync($"/v1/hashbanks/missing-bank/entries", Csv("hash\n")), HttpStatusCode.NotFound))
            .GetProperty("detail").GetString().Should().Contain("missing-bank");
        (await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name = "Bad Name", category = "harm", action = "demote" }), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("name")[0].GetString().Should().Contain("lower-case");
        (await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name = Name(), category = "harm", action = "ban" }), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("action")[0].GetString().Should().Contain("ineligible");
        (await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name, category = "harm", action = "demote" }), HttpStatusCode.Conflict))
            .GetProperty("detail").GetString().Should().Contain("already exists");
        (await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name = Name(), category = "harm", action = "demote", colour = "red" }), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("$.colour")[0].GetString().Should().Contain("not a known field");
    }

    [Fact]
    public async Task A_bank_declares_its_algorithm_takes_plain_lists_with_metadata_and_lists_quarantined_entries()
    {
        var name = Name();
        var created = await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name, category = "harm", action = "none", algorithm = "md5" }), HttpStatusCode.Created);
        created.GetProperty("algorithm").GetString().Should().Be("md5");
        (await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name = Name(), category = "harm", action = "none" }), HttpStatusCode.Created))
            .GetProperty("algorithm").GetString().Should().Be("pdq", "PDQ is the default for new banks");
        (await JsonAsync(await Api.Client.PostAsJsonAsync("/v1/hashbanks", new { name = Name(), category = "harm", action = "none", algorithm = "phash" }), HttpStatusCode.BadRequest))
            .GetProperty("errors").GetProperty("algorithm")[0].GetString().Should().Contain("pdq, vpdq, md5, sha256, crop-robust");

        var md5 = "0123456789abcdef0123456789abcdef";
        var plain = await Api.Client.PostAsync($"/v1/hashbanks/{name}/entries?source=partner", new StringContent($"# list\n{md5}\n", Encoding.UTF8, "text/plain"));
        (await JsonAsync(plain, HttpStatusCode.OK)).GetProperty("added").GetInt32().Should().Be(1);
        var withMetadata = await Api.Client.PostAsync($"/v1/hashbanks/{name}/entries", Csv("signal_type,signal,tags\nvideo_md5,fedcba9876543210fedcba9876543210,violence\n"));
        (await JsonAsync(withMetadata, HttpStatusCode.OK)).GetProperty("added").GetInt32().Should().Be(1);
        var wrong = await Api.Client.PostAsync($"/v1/hashbanks/{name}/entries", Csv($"hash\n{HashBankContract.Hex(3)}\n"));
        (await JsonAsync(wrong, HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("line 2: hash")[0].GetString().Should().Contain("32 hex digits");

        var text = await Api.Client.GetStringAsync($"/v1/hashbanks/{name}/entries.txt");
        text.Should().Be($"{md5}\nfedcba9876543210fedcba9876543210\n");
        (await Api.Client.GetStringAsync($"/v1/hashbanks/{name}/entries.csv")).Should().Contain("md5,fedcba9876543210fedcba9876543210").And.Contain("violence");
        (await Api.Client.GetFromJsonAsync<JsonElement>("/v1/hashbanks/quarantine")).GetProperty("entries").ValueKind.Should().Be(JsonValueKind.Array);
    }
}
