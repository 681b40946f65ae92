using System.Globalization;

namespace Recommender.Core.Signals;

/// <summary>Options of a <see cref="SignalFollower"/>.</summary>
public sealed record SignalFollowerOptions
{
    /// <summary>Signals per request (the service serves up to 1,000).</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>Pages read per poll at most, so one poll after a long outage returns in bounded time.</summary>
    public int MaxPagesPerPoll { get; init; } = 50;

    /// <summary>The pause between polls while the feed is healthy.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause after failures (the pause doubles per consecutive failure up to this).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where to save the store (cursor and signals together) after each poll that applied something; none when null.</summary>
    public string? SnapshotPath { get; init; }
}

/// <summary>What one poll did.</summary>
/// <param name="Applied">Signals applied.</param>
/// <param name="Repeats">Signals at or below the cursor, ignored.</param>
/// <param name="Rejected">Unusable signals skipped.</param>
/// <param name="Pages">Pages read.</param>
/// <param name="CaughtUp">The feed answered an empty page: nothing more to read now.</param>
/// <param name="Error">Why the poll stopped early, or null. The cursor never moves past what was applied.</param>
public sealed record SignalPollResult(int Applied, int Repeats, int Rejected, int Pages, bool CaughtUp, string? Error);

/// <summary>
/// Follows the risk-signal feed from the store's cursor. Each signal is applied once: repeats (a feed that
/// serves a page again, or a retried request) fall at or below the cursor and are ignored; an outage or a
/// malformed page stops the poll without moving the cursor, and the next poll resumes where the last one
/// applied. Pages from the HTTP feed are verified before they are read (<see cref="HttpSignalSource"/>,
/// <see cref="FeedVerifier"/>): a page whose signature is missing, invalid or by a key that is not trusted is refused
/// like a malformed page (nothing of it applied, the cursor kept, <see cref="LastError"/> says why) and counted in
/// <see cref="RefusedPages"/>.
/// </summary>
public sealed class SignalFollower
{
    private readonly ISignalSource source;
    private readonly TimeProvider time;

    /// <summary>Creates a follower that applies <paramref name="source"/>'s pages to <paramref name="store"/>.</summary>
    public SignalFollower(ISignalSource source, SignalStore store, SignalFollowerOptions? options = null, TimeProvider? time = null)
    {
        this.source = source ?? throw new ArgumentNullException(nameof(source));
        Store = store ?? throw new ArgumentNullException(nameof(store));
        Options = options ?? new SignalFollowerOptions();
        if (Options.PageSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "PageSize must be at least 1.");
        if (Options.MaxPagesPerPoll < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxPagesPerPoll must be at least 1.");
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>The store signals are applied to.</summary>
    public SignalStore Store { get; }

    /// <summary>The follower's options.</summary>
    public SignalFollowerOptions Options { get; }

    /// <summary>Consecutive polls that ended in an error.</summary>
    public int ConsecutiveFailures { get; private set; }

    /// <summary>Pages refused because their signature did not verify, since the follower was created.</summary>
    public int RefusedPages { get; private set; }

    /// <summary>The last poll's error, or null after a good poll.</summary>
    public string? LastError { get; private set; }

    private readonly SemaphoreSlim polling = new(1, 1);

    /// <summary>Reads pages until the feed is caught up (or <see cref="SignalFollowerOptions.MaxPagesPerPoll"/>), applying each signal once. Never throws for feed failures.</summary>
    public async Task<SignalPollResult> PollAsync(CancellationToken ct = default)
    {
        await polling.WaitAsync(ct);
        try
        {
            int applied = 0, repeats = 0, rejected = 0, pages = 0;
            var caughtUp = false;
            string? error = null;
            while (pages < Options.MaxPagesPerPoll)
            {
                var after = Store.Cursor;
                SignalPage page;
                try
                {
                    page = await source.ReadAsync(after, Options.PageSize, ct);
                }
                catch (FeedSignatureException e)
                {
                    RefusedPages++;
                    error = e.Message;
                    break;
                }
                catch (SignalFeedException e)
                {
                    error = e.Message;
                    break;
                }
                pages++;
                var problem = Check(page, after);
                if (problem is not null) { error = problem; break; }
                var progressed = false;
                foreach (var signal in page.Signals)
                {
                    switch (Store.Apply(signal))
                    {
                        case SignalApplyResult.Applied: applied++; progressed = true; break;
                        case SignalApplyResult.Rejected: rejected++; progressed = true; break;
                        default: repeats++; break;
                    }
                }
                if (page.Signals.Count == 0) { caughtUp = true; break; }
                if (!progressed)
                {
                    // A feed that answers only what was already applied is repeating itself: nothing is lost, but
                    // it is not caught up either, so the store is not marked synced and the follower backs off.
                    error = $"the feed repeated {page.Signals.Count} signals at or below cursor {after}";
                    break;
                }
            }

            if (error is null)
            {
                ConsecutiveFailures = 0;
                LastError = null;
                if (caughtUp) Store.MarkSynced(time.GetUtcNow());
            }
            else
            {
                ConsecutiveFailures++;
                LastError = error;
            }
            if (applied + rejected > 0 && Options.SnapshotPath is { } path) Store.Save(path);
            return new SignalPollResult(applied, repeats, rejected, pages, caughtUp, error);
        }
        finally
        {
            polling.Release();
        }
    }

    /// <summary>Polls until cancelled (then returns quietly): every <see cref="SignalFollowerOptions.PollInterval"/> while healthy, backing off after failures.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            SignalPollResult result;
            try
            {
                result = await PollAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return; // stopped mid-request: the cursor is where the last applied signal left it
            }
            var pause = result.Error is null
                ? (result.CaughtUp ? Options.PollInterval : TimeSpan.Zero)
                : TimeSpan.FromTicks(Math.Min(Options.MaxBackoff.Ticks, Options.PollInterval.Ticks * (1L << Math.Min(ConsecutiveFailures, 20))));
            try { await Task.Delay(pause, time, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Why a page breaks the feed's contract, or null. Repeats are allowed; going backwards or out of order is not.</summary>
    private static string? Check(SignalPage page, long after)
    {
        if (page.Signals is null) return "the feed answered a page without signals";
        if (!long.TryParse(page.NextCursor, NumberStyles.None, CultureInfo.InvariantCulture, out var next))
            return $"the feed answered nextCursor '{page.NextCursor}', not a non-negative integer";
        long previous = long.MinValue;
        foreach (var signal in page.Signals)
        {
            if (signal is null) return "the feed answered a null signal";
            if (signal.Seq <= previous) return $"the feed answered signals out of order (seq {signal.Seq} after {previous})";
            previous = signal.Seq;
        }
        if (page.Signals.Count > 0 && next < previous)
            return $"the feed answered nextCursor {next} below its last signal {previous}";
        return null;
    }
}
