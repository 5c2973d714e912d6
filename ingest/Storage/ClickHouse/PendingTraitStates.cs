using System.Buffers;
using System.Buffers.Text;
using System.Runtime.InteropServices;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// The latest change of each (tenant, group, trait) among the events shipped since the last flush into
/// <c>trait_changes</c>, whose view folds them into <c>trait_states</c>. Keeping only the latest change per key over
/// several blocks is what makes the current state cheap: a group re-sent with the same traits every few seconds adds one
/// state row per key per flush instead of one per event, and <c>trait_states</c> gets one part per flush instead of one
/// per block (measured in docs/decisions.md, "The current state, flushed by the shipper").
/// "Latest" is the order <c>argMax</c> uses in storage: the version text, <c>event_us + 10^19</c> in 20 digits followed
/// by the event id's UTF-8 bytes, compared bytewise. Keeping the maximum here and again in storage gives the state the
/// view over every event gave.
/// </summary>
/// <remarks>
/// Hot path (every shipped trait passes through <see cref="Add"/>). Keys, values and versions are UTF-8 bytes, as they
/// come out of the log, copied into large reused chunks (<see cref="ByteArena"/>); the dictionary holds only offsets.
/// An earlier version held a small array per key and per value: they lived for the whole state interval, so every
/// young-generation collection had to promote them (about a kilobyte per event), which made ingest's GC pauses long;
/// and a lookup chased three separate objects. Not thread-safe: the shipper's loop (or one insert call) owns an instance.
/// </remarks>
internal sealed class PendingTraitStates
{
    /// <summary>The columns of <see cref="Write"/>, in order.</summary>
    internal static readonly string[] Columns = ["tenant", "trait_key", "group_id", "value", "version"];

    /// <summary>Separates the parts of a key: 0xFF never occurs in UTF-8.</summary>
    private const byte Separator = 0xFF;

    private const int VersionDigits = 20;

    private readonly ByteArena _arena;
    private readonly Dictionary<ByteArena.Slice, Latest> _latest;
    private readonly Dictionary<ByteArena.Slice, Latest>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private byte[] _scratch = new byte[256];
    private byte[] _key = new byte[512];

    // The current event's version in the arena, copied there when its first trait is kept and shared by the rest.
    private ByteArena.Slice? _version;
    private int _versionIdLength;

    // Bytes the held keys, values and versions take (versions counted once per key: an upper bound); what a compaction keeps.
    private long _liveBytes;

    public PendingTraitStates()
        : this(ByteArena.DefaultChunkBytes)
    {
    }

    /// <summary>With chunks of <paramref name="chunkBytes"/> (tests use small ones to cross chunk ends often).</summary>
    internal PendingTraitStates(int chunkBytes)
    {
        _arena = new ByteArena(chunkBytes);
        _latest = new Dictionary<ByteArena.Slice, Latest>(_arena);
        _lookup = _latest.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>Keys held (one state row each when written).</summary>
    public int Count => _latest.Count;

    /// <summary>Bytes the arena has handed out since the last <see cref="Clear"/> or compaction (tests watch it stay bounded).</summary>
    internal long ArenaBytes => _arena.UsedBytes;

    /// <summary>
    /// Starts an event: its time and id make the version its traits (<see cref="Add"/>, until the next call) are
    /// compared by. Returns the version's bytes.
    /// </summary>
    public ReadOnlySpan<byte> Version(long eventMicros, ReadOnlySpan<byte> eventId)
    {
        _version = null;
        var length = VersionDigits + eventId.Length;
        if (_scratch.Length < length)
        {
            _scratch = new byte[Math.Max(length, _scratch.Length * 2)];
        }

        // event_us + 10^19 as 20 digits: "1" followed by event_us padded to 19 (event_us < 10^19 always).
        _scratch[0] = (byte)'1';
        if (!Utf8Formatter.TryFormat((ulong)eventMicros, _scratch.AsSpan(1, VersionDigits - 1), out _, new StandardFormat('D', VersionDigits - 1)))
        {
            throw new InvalidOperationException($"An event time of {eventMicros} µs does not fit the version text.");
        }

        eventId.CopyTo(_scratch.AsSpan(VersionDigits));
        _versionIdLength = eventId.Length;
        return _scratch.AsSpan(0, length);
    }

    /// <summary>
    /// One trait of the event <see cref="Version"/> started: kept when it is newer than what the key holds. A clear is
    /// the value '' (empty). A value equal to the one held (a group re-sent as it was) keeps the held bytes.
    /// </summary>
    public void Add(ReadOnlySpan<byte> tenant, ReadOnlySpan<byte> groupId, ReadOnlySpan<byte> traitKey, ReadOnlySpan<byte> value)
    {
        var version = _scratch.AsSpan(0, VersionDigits + _versionIdLength);
        var keyLength = tenant.Length + groupId.Length + traitKey.Length + 2;
        if (_key.Length < keyLength)
        {
            _key = new byte[Math.Max(keyLength, _key.Length * 2)];
        }

        var key = _key.AsSpan(0, keyLength);
        tenant.CopyTo(key);
        key[tenant.Length] = Separator;
        groupId.CopyTo(key[(tenant.Length + 1)..]);
        key[tenant.Length + 1 + groupId.Length] = Separator;
        traitKey.CopyTo(key[(tenant.Length + groupId.Length + 2)..]);

        // One hash lookup whether the key is new or held; a new key's bytes go to the arena (the comparer's Create).
        ref var latest = ref CollectionsMarshal.GetValueRefOrAddDefault(_lookup, key, out var held);
        if (!held)
        {
            latest = new Latest(_arena.Add(value), _version ??= _arena.Add(version));
            _liveBytes += keyLength + value.Length + version.Length;
        }
        else if (version.SequenceCompareTo(_arena.Span(latest.Version)) > 0)
        {
            var heldValue = latest.Value;
            var same = value.SequenceEqual(_arena.Span(heldValue));
            latest = new Latest(same ? heldValue : _arena.Add(value), _version ??= _arena.Add(version));
            _liveBytes += value.Length - heldValue.Length;
        }
        else
        {
            return;
        }

        // Values replaced many times within one interval leave their old bytes behind; copy out what is held when the
        // leftovers dominate, so memory follows the keys held, not the changes seen.
        if (_arena.UsedBytes > _arena.ChunkBytes * 8L && _arena.UsedBytes > _liveBytes * 4)
        {
            Compact();
        }
    }

    /// <summary>The held states as RowBinary rows of <see cref="Columns"/>.</summary>
    public RowBinaryWriter Write()
    {
        var rows = new RowBinaryWriter(_latest.Count * 96);
        foreach (var (slice, latest) in _latest)
        {
            var span = _arena.Span(slice);
            var first = span.IndexOf(Separator);
            var second = first + 1 + span[(first + 1)..].IndexOf(Separator);
            rows.Utf8(span[..first]);
            rows.Utf8(span[(second + 1)..]);
            rows.Utf8(span[(first + 1)..second]);
            rows.Utf8(_arena.Span(latest.Value));
            rows.Utf8(_arena.Span(latest.Version));
        }

        return rows;
    }

    /// <summary>Forgets every key; the arena's chunks are kept for the next interval.</summary>
    public void Clear()
    {
        _latest.Clear();
        _arena.Reset();
        _version = null;
        _liveBytes = 0;
    }

    /// <summary>Copies the held keys, values and versions into fresh chunks, leaving replaced values behind.</summary>
    private void Compact()
    {
        var held = new List<(ByteArena.Slice Key, Latest Latest)>(_latest.Count);
        foreach (var (key, latest) in _latest)
        {
            held.Add((key, latest));
        }

        var old = _arena.Detach();
        _latest.Clear();
        _liveBytes = 0;
        var versions = new Dictionary<ByteArena.Slice, ByteArena.Slice>();
        foreach (var (key, latest) in held)
        {
            if (!versions.TryGetValue(latest.Version, out var version))
            {
                version = _arena.Add(old.Span(latest.Version));
                versions.Add(latest.Version, version);
            }

            var copy = _arena.Add(old.Span(key), key.Hash);
            _latest.Add(copy, new Latest(_arena.Add(old.Span(latest.Value)), version));
            _liveBytes += key.Length + latest.Value.Length + latest.Version.Length;
        }

        // The event in progress may add more traits under its version: it is among those copied only if it kept one.
        _version = _version is { } current && versions.TryGetValue(current, out var moved) ? moved : null;
    }

    private readonly record struct Latest(ByteArena.Slice Value, ByteArena.Slice Version);
}
