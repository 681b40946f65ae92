using Microsoft.Extensions.Options;
using Moderation.Core.Refusals;

namespace Moderation.Core.Uploads;

/// <summary>
/// How many upload bytes are in flight, per API key and for the host: a request reserves its size before its body is
/// read and gives it back when it is answered. A reservation past <see cref="UploadLimits.MaxConcurrentBytesPerKey"/> is
/// refused as <see cref="RefusalKind.TooMany"/> (that key must wait), past <see cref="UploadLimits.MaxConcurrentBytesPerHost"/>
/// as <see cref="RefusalKind.Unavailable"/> (every key must); nothing of a refused request is read or stored. A key (or a
/// host) with nothing in flight may always take one request, so a limit below the largest request never locks a client out.
/// </summary>
public sealed class MediaBudget(IOptions<UploadLimits> options)
{
    /// <summary>What a refused client is told to wait: in-flight uploads of the largest size take seconds.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    private readonly Lock gate = new();
    private readonly Dictionary<string, long> perKey = new(StringComparer.Ordinal);
    private long host;

    /// <summary>Bytes in flight for the host now.</summary>
    public long InFlight { get { lock (gate) return host; } }

    /// <summary>Bytes in flight for <paramref name="key"/> now.</summary>
    public long InFlightFor(string key) { lock (gate) return perKey.GetValueOrDefault(key); }

    /// <summary>Reserves <paramref name="bytes"/> for <paramref name="key"/>, or refuses; dispose the lease when the request is answered.</summary>
    public IDisposable Reserve(string key, long bytes)
    {
        var limits = options.Value;
        lock (gate)
        {
            var mine = perKey.GetValueOrDefault(key);
            if (mine > 0 && mine + bytes > limits.MaxConcurrentBytesPerKey)
                throw Refusal.TooMany($"This API key already has {mine} bytes of uploads in flight; the limit is {limits.MaxConcurrentBytesPerKey} bytes at once. Nothing was stored; retry when an upload has been answered.", RetryAfter);
            if (host > 0 && host + bytes > limits.MaxConcurrentBytesPerHost)
                throw Refusal.Unavailable($"This host already has {host} bytes of uploads in flight; the limit is {limits.MaxConcurrentBytesPerHost} bytes at once. Nothing was stored; retry shortly.", RetryAfter);
            perKey[key] = mine + bytes;
            host += bytes;
        }
        return new Lease(this, key, bytes);
    }

    private void Release(string key, long bytes)
    {
        lock (gate)
        {
            host -= bytes;
            var left = perKey.GetValueOrDefault(key) - bytes;
            if (left <= 0) perKey.Remove(key);
            else perKey[key] = left;
        }
    }

    private sealed class Lease(MediaBudget budget, string key, long bytes) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) budget.Release(key, bytes);
        }
    }
}
