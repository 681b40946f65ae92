using Microsoft.Extensions.Options;
using Moderation.Core.Refusals;

namespace Moderation.Core.Uploads;

/// <summary>
/// How many upload bytes are in flight, per API key and for the host. A request reserves its declared size (its
/// Content-Length) before its body is read; a body of unknown length (chunked) reserves as it is read, 64 KiB ahead
/// (<see cref="Metered"/>). Both give everything back when the request is answered. A reservation past
/// <see cref="UploadLimits.MaxConcurrentBytesPerKey"/> is refused as <see cref="RefusalKind.TooMany"/> (that key must
/// wait), past <see cref="UploadLimits.MaxConcurrentBytesPerHost"/> as <see cref="RefusalKind.Unavailable"/> (every key
/// must); nothing of a refused request is stored. A request that is the only one in flight for its key (or on the host)
/// may always grow to the largest request, so a limit below it never locks a client out.
/// </summary>
public sealed class MediaBudget(IOptions<UploadLimits> options)
{
    /// <summary>What a refused client is told to wait: in-flight uploads of the largest size take seconds.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    /// <summary>How far ahead a body of unknown length reserves, so that reading it takes the lock once per 64 KiB.</summary>
    public const long Step = 64 * 1024;

    private readonly Lock gate = new();
    private readonly Dictionary<string, long> perKey = new(StringComparer.Ordinal);
    private long host;

    /// <summary>Bytes in flight for the host now.</summary>
    public long InFlight { get { lock (gate) return host; } }

    /// <summary>Bytes in flight for <paramref name="key"/> now.</summary>
    public long InFlightFor(string key) { lock (gate) return perKey.GetValueOrDefault(key); }

    /// <summary>Reserves <paramref name="bytes"/> for <paramref name="key"/>, or refuses; dispose the lease when the request is answered.</summary>
    public Lease Reserve(string key, long bytes)
    {
        var lease = new Lease(this, key);
        Grow(lease, bytes);
        return lease;
    }

    /// <summary>
    /// <paramref name="body"/> read through <paramref name="lease"/>: past what the lease holds, each read first reserves
    /// up to <see cref="Step"/> more, and a reservation that is refused ends the read with the refusal.
    /// </summary>
    public static Stream Metered(Stream body, Lease lease) => new MeteredStream(body, lease);

    private void Grow(Lease lease, long bytes)
    {
        if (bytes <= 0) return;
        var limits = options.Value;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(lease.Released, lease);
            var mine = perKey.GetValueOrDefault(lease.Key);
            if (mine - lease.Reserved > 0 && mine + bytes > limits.MaxConcurrentBytesPerKey)
                throw Refusal.TooMany($"This API key already has {mine} bytes of uploads in flight; the limit is {limits.MaxConcurrentBytesPerKey} bytes at once. Nothing was stored; retry when an upload has been answered.", RetryAfter);
            if (host - lease.Reserved > 0 && host + bytes > limits.MaxConcurrentBytesPerHost)
                throw Refusal.Unavailable($"This host already has {host} bytes of uploads in flight; the limit is {limits.MaxConcurrentBytesPerHost} bytes at once. Nothing was stored; retry shortly.", RetryAfter);
            perKey[lease.Key] = mine + bytes;
            host += bytes;
            lease.Reserved += bytes;
        }
    }

    private void Release(Lease lease)
    {
        lock (gate)
        {
            if (lease.Released) return;
            lease.Released = true;
            host -= lease.Reserved;
            var left = perKey.GetValueOrDefault(lease.Key) - lease.Reserved;
            if (left <= 0) perKey.Remove(lease.Key);
            else perKey[lease.Key] = left;
        }
    }

    /// <summary>One request's share of the budget; disposing it gives the bytes back.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly MediaBudget budget;

        internal Lease(MediaBudget budget, string key)
        {
            this.budget = budget;
            Key = key;
        }

        public string Key { get; }

        /// <summary>Bytes this request holds now.</summary>
        public long Reserved { get; internal set; }

        internal bool Released { get; set; }

        /// <summary>Reserves <paramref name="bytes"/> more, or refuses.</summary>
        public void Grow(long bytes) => budget.Grow(this, bytes);

        public void Dispose() => budget.Release(this);
    }

    private sealed class MeteredStream(Stream inner, Lease lease) : Stream
    {
        private long read;

        private void Count(int bytes)
        {
            read += bytes;
            if (read > lease.Reserved) lease.Grow(Math.Max(Step, read - lease.Reserved));
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            Count(n);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            var n = await inner.ReadAsync(buffer, ct);
            Count(n);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
