using System.Text.Json;

namespace Recommender.Core.Signals;

/// <summary>Which id of a signal names the item in this recommender's catalog.</summary>
public enum SignalItemKey
{
    /// <summary>The platform's own id (<see cref="RiskSignal.ExternalId"/>), what a separate recommender usually knows.</summary>
    ExternalId,
    /// <summary>The moderation service's id (<see cref="RiskSignal.UploadId"/>).</summary>
    UploadId,
}

/// <summary>Options of a <see cref="SignalStore"/>.</summary>
public sealed record SignalStoreOptions
{
    /// <summary>Which id of a signal names the item; <see cref="SignalItemKey.ExternalId"/> by default.</summary>
    public SignalItemKey ItemKey { get; init; } = SignalItemKey.ExternalId;
}

/// <summary>What <see cref="SignalStore.Apply"/> did with a signal.</summary>
public enum SignalApplyResult
{
    /// <summary>Applied: the item's risk changed.</summary>
    Applied,
    /// <summary>At or below the cursor: already applied once, ignored.</summary>
    Repeat,
    /// <summary>Unusable (no item id): skipped, counted, and the cursor moves past it.</summary>
    Rejected,
}

/// <summary>
/// The recommender's local copy of the risk signals, keyed by item, with the feed cursor it has applied through.
/// A signal at or below the cursor is a repeat and changes nothing, so applying the feed is exactly-once as long
/// as the cursor is stored with the signals (<see cref="Save(string)"/> writes both in one file). Expired signals stop
/// counting at their expiry; a retraction withdraws the signal it names. Thread-safe.
/// </summary>
public sealed class SignalStore
{
    private readonly object gate = new();
    private readonly Dictionary<string, List<RiskSignal>> items = new(StringComparer.Ordinal);
    private readonly Dictionary<long, string> itemBySeq = [];
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Creates an empty store (cursor 0).</summary>
    public SignalStore(SignalStoreOptions? options = null) => Options = options ?? new SignalStoreOptions();

    /// <summary>The store's options.</summary>
    public SignalStoreOptions Options { get; }

    /// <summary>The highest sequence number applied: resume the feed with <c>after=Cursor</c>.</summary>
    public long Cursor { get { lock (gate) return cursor; } }
    private long cursor;

    /// <summary>Changes whenever an applied signal changes some item's risk.</summary>
    public long Version { get { lock (gate) return version; } }
    private long version;

    // Which items each version changed, newest last, so a ranker can forget the verdicts of those items only. The log
    // is bounded; a reader further behind than it reaches (or behind a change that touched every item) starts over.
    private const int ChangeLogCapacity = 65_536;
    private readonly Queue<(long Version, string Key)> changes = new();
    private long everythingChangedAt;

    /// <summary>When the feed was last read to its end without error (set by <see cref="SignalFollower"/>); null if never.</summary>
    public DateTimeOffset? LastSyncedAt { get { lock (gate) return lastSyncedAt; } }
    private DateTimeOffset? lastSyncedAt;

    /// <summary>Signals applied, repeats ignored, signals rejected, and signals with an action this library does not know (applied as ineligible).</summary>
    public (long Applied, long Repeats, long Rejected, long UnknownActions) Counts
    {
        get { lock (gate) return (applied, repeats, rejected, unknownActions); }
    }
    private long applied, repeats, rejected, unknownActions;

    /// <summary>How many items have at least one signal.</summary>
    public int ItemCount { get { lock (gate) return items.Count; } }

    internal object Gate => gate;

    /// <summary>Applies one signal if its sequence number is above the cursor, and moves the cursor to it.</summary>
    public SignalApplyResult Apply(RiskSignal signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        lock (gate)
        {
            if (signal.Seq <= cursor) { repeats++; return SignalApplyResult.Repeat; }
            cursor = signal.Seq;
            var key = KeyOf(signal);
            if (string.IsNullOrWhiteSpace(key)) { rejected++; return SignalApplyResult.Rejected; }
            if (!SignalActions.IsKnown(signal.Action)) unknownActions++;
            var retractedKey = signal.Retracts is { } r ? itemBySeq.GetValueOrDefault(r) : null;
            Add(key, Sanitise(signal));
            applied++;
            version++;
            LogChange(key);
            if (retractedKey is not null && retractedKey != key) LogChange(retractedKey);
            return SignalApplyResult.Applied;
        }
    }

    private void LogChange(string key)
    {
        if (changes.Count == ChangeLogCapacity) changes.Dequeue();
        changes.Enqueue((version, key));
    }

    /// <summary>
    /// The items whose signals changed after <paramref name="sinceVersion"/>, or null when that is not known any more
    /// (the log has moved past it, or a change touched every item): then treat every item as changed. Caller holds
    /// <see cref="Gate"/>.
    /// </summary>
    internal IReadOnlyCollection<string>? ChangedSince(long sinceVersion)
    {
        if (sinceVersion < everythingChangedAt) return null;
        if (sinceVersion >= version) return [];
        if (changes.Count == 0 || changes.Peek().Version > sinceVersion + 1) return null;
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (v, key) in changes)
            if (v > sinceVersion) keys.Add(key);
        return keys;
    }

    /// <summary>Records that the feed was read to its end at <paramref name="at"/>.</summary>
    public void MarkSynced(DateTimeOffset at)
    {
        lock (gate) lastSyncedAt = at;
    }

    /// <summary>The signals in force for an item at <paramref name="now"/>: not expired, not retracted.</summary>
    public IReadOnlyList<RiskSignal> SignalsFor(string itemKey, DateTimeOffset now)
    {
        lock (gate)
            return items.TryGetValue(itemKey, out var list) ? list.Where(s => s.ExpiresAt is not { } e || e > now).ToList() : [];
    }

    /// <summary>Whether an item has any signal at all (expired ones included): it has been scored once.</summary>
    public bool HasSignals(string itemKey)
    {
        lock (gate) return items.ContainsKey(itemKey);
    }

    /// <summary>The list for an item; caller holds <see cref="Gate"/>.</summary>
    internal List<RiskSignal>? RawSignals(string itemKey) => items.GetValueOrDefault(itemKey);

    /// <summary>Drops expired signals older than <paramref name="now"/> to bound memory; returns how many.</summary>
    public int PruneExpired(DateTimeOffset now)
    {
        lock (gate)
        {
            var removed = 0;
            foreach (var list in items.Values)
                removed += list.RemoveAll(s => s.ExpiresAt is { } e && e <= now && itemBySeq.Remove(s.Seq));
            if (removed > 0) everythingChangedAt = ++version;
            return removed;
        }
    }

    /// <summary>Writes the cursor and every signal in force to a file atomically (a temporary file, then a rename).</summary>
    public void Save(string path)
    {
        var temp = path + ".tmp";
        using (var stream = File.Create(temp)) Save(stream);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Writes the cursor and every signal in force as JSON.</summary>
    public void Save(Stream stream)
    {
        Snapshot snapshot;
        lock (gate) snapshot = new Snapshot(cursor, lastSyncedAt, items.Values.SelectMany(l => l).OrderBy(s => s.Seq).ToList());
        JsonSerializer.Serialize(stream, snapshot, Json);
    }

    /// <summary>Reads a store written by <see cref="Save(string)"/>; a missing file gives an empty store.</summary>
    /// <exception cref="InvalidDataException">The file is not a snapshot.</exception>
    public static SignalStore Load(string path, SignalStoreOptions? options = null)
    {
        if (!File.Exists(path)) return new SignalStore(options);
        using var stream = File.OpenRead(path);
        return Load(stream, options);
    }

    /// <summary>Reads a store written by <see cref="Save(Stream)"/>.</summary>
    /// <exception cref="InvalidDataException">The stream is not a snapshot.</exception>
    public static SignalStore Load(Stream stream, SignalStoreOptions? options = null)
    {
        Snapshot? snapshot;
        try { snapshot = JsonSerializer.Deserialize<Snapshot>(stream, Json); }
        catch (JsonException e) { throw new InvalidDataException($"Not a signal-store snapshot: {e.Message}", e); }
        if (snapshot?.Signals is null || snapshot.Cursor < 0) throw new InvalidDataException("Not a signal-store snapshot.");
        var store = new SignalStore(options);
        foreach (var signal in snapshot.Signals.Where(s => s is not null && s.Seq <= snapshot.Cursor).OrderBy(s => s.Seq))
        {
            var key = store.KeyOf(signal);
            if (!string.IsNullOrWhiteSpace(key)) store.Add(key, Sanitise(signal));
        }
        store.cursor = snapshot.Cursor;
        store.lastSyncedAt = snapshot.LastSyncedAt;
        store.version = store.everythingChangedAt = 1;
        return store;
    }

    private string? KeyOf(RiskSignal s) => Options.ItemKey == SignalItemKey.ExternalId ? s.ExternalId : s.UploadId;

    private void Add(string key, RiskSignal signal)
    {
        if (signal.Retracts is { } retracted && itemBySeq.Remove(retracted, out var retractedKey) && items.TryGetValue(retractedKey, out var old))
            old.RemoveAll(s => s.Seq == retracted);
        if (!items.TryGetValue(key, out var list)) items[key] = list = [];
        list.Add(signal);
        itemBySeq[signal.Seq] = key;
    }

    /// <summary>Makes a signal safe to evaluate: an unreadable score counts as certain, an unreadable multiplier as removal.</summary>
    private static RiskSignal Sanitise(RiskSignal s) => s with
    {
        Category = string.IsNullOrWhiteSpace(s.Category) ? "unknown" : s.Category,
        Score = double.IsFinite(s.Score) ? Math.Clamp(s.Score, 0, 1) : 1,
        Action = SignalActions.IsKnown(s.Action) ? s.Action : SignalActions.Ineligible,
        DemotionMultiplier = double.IsFinite(s.DemotionMultiplier) ? Math.Clamp(s.DemotionMultiplier, 0, 1) : 0,
        Source = s.Source ?? SignalSources.Model,
    };

    private sealed record Snapshot(long Cursor, DateTimeOffset? LastSyncedAt, List<RiskSignal> Signals);
}
