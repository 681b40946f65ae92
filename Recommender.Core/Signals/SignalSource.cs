using System.Globalization;
using System.Text.Json;

namespace Recommender.Core.Signals;

/// <summary>
/// Where pages of risk signals come from: the service's HTTP feed (<see cref="HttpSignalSource"/>), or, inside
/// the moderation service's own demo, its database directly.
/// </summary>
public interface ISignalSource
{
    /// <summary>Up to <paramref name="limit"/> signals with a sequence number greater than <paramref name="after"/>.</summary>
    /// <exception cref="SignalFeedException">The feed could not be read or answered something malformed.</exception>
    Task<SignalPage> ReadAsync(long after, int limit, CancellationToken ct);
}

/// <summary>The feed could not be read, or answered something that breaks its contract.</summary>
public class SignalFeedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Reads <c>GET /v1/signals?after=&amp;limit=</c> and verifies each page's signature before it is parsed. Give it an
/// <see cref="HttpClient"/> whose base address is the service and which sends an API key with the <c>signals:read</c>
/// scope (header <c>X-Api-Key</c>), and optionally a <see cref="FeedVerifier"/> (pinned keys); by default the keys the
/// service publishes at <c>GET /v1/signals/keys</c> are trusted. A page that does not verify throws
/// <see cref="FeedSignatureException"/>.
/// </summary>
public sealed class HttpSignalSource(HttpClient client, FeedVerifier? verifier = null) : ISignalSource
{
    /// <summary>The verifier every page passes before it is read.</summary>
    public FeedVerifier Verifier { get; } = verifier ?? new FeedVerifier(client);

    /// <summary>The largest page the service serves.</summary>
    public const int MaxLimit = 1000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <inheritdoc />
    public async Task<SignalPage> ReadAsync(long after, int limit, CancellationToken ct)
    {
        limit = Math.Clamp(limit, 1, MaxLimit);
        var path = $"v1/signals?after={after.ToString(CultureInfo.InvariantCulture)}&limit={limit.ToString(CultureInfo.InvariantCulture)}";
        HttpResponseMessage response;
        try
        {
            response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new SignalFeedException($"The signal feed could not be reached: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new SignalFeedException("The signal feed timed out.", e);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
                throw new SignalFeedException($"The signal feed answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            try
            {
                var body = await Verifier.ReadVerifiedAsync(response, ct);
                var page = JsonSerializer.Deserialize<SignalPage>(body, Json);
                return page?.Signals is null || page.NextCursor is null
                    ? throw new SignalFeedException("The signal feed answered a page without signals or nextCursor.")
                    : page;
            }
            catch (JsonException e)
            {
                throw new SignalFeedException($"The signal feed answered malformed JSON: {e.Message}", e);
            }
            catch (HttpRequestException e)
            {
                throw new SignalFeedException($"The signal feed broke off: {e.Message}", e);
            }
        }
    }
}
