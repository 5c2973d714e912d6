using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// The latest change of each (tenant, group, trait) among the events shipped since the last flush into
/// <c>trait_changes</c>, whose view folds them into <c>trait_states</c>. Keeping only the latest change per key over
/// several blocks is what makes the current state cheap: a group re-sent with the same traits every few seconds adds one
/// state row per key per flush instead of one per event, and <c>trait_states</c> gets one part per flush instead of one
/// per block (measured in docs/decisions.md, "The current state, flushed by the shipper").
/// "Latest" is the order <c>argMax</c> uses in storage: the version text, <c>event_us + 10^19</c> in 20 digits followed
/// by the event id's UTF-8 bytes, compared bytewise. Keeping the maximum here and again in storage gives the state the
/// view over every event gave. Everything is kept as UTF-8 bytes, as it comes out of the log, and written out as
/// RowBinary, so a key costs one allocation when it first appears and its value one per newer change.
/// Not thread-safe: the shipper's loop (or one insert call) owns an instance.
/// </summary>
internal sealed class PendingTraitStates
{
    /// <summary>The columns of <see cref="Write"/>, in order.</summary>
    internal static readonly string[] Columns = ["tenant", "trait_key", "group_id", "value", "version"];

    /// <summary>Separates the parts of a key: 0xFF never occurs in UTF-8.</summary>
    private const byte Separator = 0xFF;

    private const int VersionDigits = 20;

    private readonly Dictionary<byte[], Latest> _latest = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], Latest>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private byte[] _scratch = new byte[256];

    // The current event's version as an array, made when its first trait is kept and shared by the rest of its traits.
    private byte[]? _version;
    private int _versionIdLength;

    public PendingTraitStates() => _lookup = _latest.GetAlternateLookup<ReadOnlySpan<byte>>();

    /// <summary>Keys held (one state row each when written).</summary>
    public int Count => _latest.Count;

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
        var rented = keyLength > 512 ? ArrayPool<byte>.Shared.Rent(keyLength) : null;
        Span<byte> key = rented ?? stackalloc byte[512];
        key = key[..keyLength];
        tenant.CopyTo(key);
        key[tenant.Length] = Separator;
        groupId.CopyTo(key[(tenant.Length + 1)..]);
        key[tenant.Length + 1 + groupId.Length] = Separator;
        traitKey.CopyTo(key[(tenant.Length + groupId.Length + 2)..]);

        if (!_lookup.TryGetValue(key, out var storedKey, out var latest))
        {
            _latest.Add(key.ToArray(), new Latest(value.ToArray(), _version ??= version.ToArray()));
        }
        else if (version.SequenceCompareTo(latest.Version) > 0)
        {
            _latest[storedKey] = new Latest(value.SequenceEqual(latest.Value) ? latest.Value : value.ToArray(), _version ??= version.ToArray());
        }

        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The held states as RowBinary rows of <see cref="Columns"/>.</summary>
    public RowBinaryWriter Write()
    {
        var rows = new RowBinaryWriter(_latest.Count * 96);
        foreach (var (key, latest) in _latest)
        {
            var span = key.AsSpan();
            var first = span.IndexOf(Separator);
            var second = first + 1 + span[(first + 1)..].IndexOf(Separator);
            rows.Utf8(span[..first]);
            rows.Utf8(span[(second + 1)..]);
            rows.Utf8(span[(first + 1)..second]);
            rows.Utf8(latest.Value);
            rows.Utf8(latest.Version);
        }

        return rows;
    }

    public void Clear() => _latest.Clear();

    private readonly record struct Latest(byte[] Value, byte[] Version);

    /// <summary>Byte-array keys by content, looked up by span without allocating.</summary>
    private sealed class ByteKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly ByteKeyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode([DisallowNull] byte[] obj) => GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
