namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// Byte strings copied into large chunks and named by position (<see cref="Slice"/>), for <see cref="PendingTraitStates"/>:
/// a dictionary of slices holds no object per key, so the garbage collector has nothing to trace or promote in it, and
/// the chunks (on the large object heap) are reused from one interval to the next. Also the dictionary's comparer: a
/// slice's content against another's or against a span (the alternate lookup), with the key's hash kept in the slice.
/// A string never spans two chunks; one longer than a chunk gets a chunk of its own size.
/// </summary>
internal sealed class ByteArena(int chunkBytes)
    : IEqualityComparer<ByteArena.Slice>, IAlternateEqualityComparer<ReadOnlySpan<byte>, ByteArena.Slice>
{
    public const int DefaultChunkBytes = 1 << 20;

    /// <summary>Chunks kept for reuse after <see cref="Reset"/>; more were needed only for a burst.</summary>
    private const int ChunksKept = 8;

    private List<byte[]> _chunks = [];
    private int _current;
    private int _used;
    private long _usedBefore;

    /// <summary>Where a string is: its chunk, offset and length, and (for dictionary keys) its hash.</summary>
    public readonly record struct Slice(int Chunk, int Offset, int Length, int Hash);

    public int ChunkBytes { get; } = chunkBytes > 0 ? chunkBytes : throw new ArgumentOutOfRangeException(nameof(chunkBytes));

    /// <summary>Bytes handed out since the last <see cref="Reset"/> or <see cref="Detach"/>, with the unused ends of filled chunks.</summary>
    public long UsedBytes => _usedBefore + _used;

    public Slice Add(ReadOnlySpan<byte> bytes, int hash = 0)
    {
        if (_chunks.Count == 0 || _chunks[_current].Length - _used < bytes.Length)
        {
            NextChunk(bytes.Length);
        }

        bytes.CopyTo(_chunks[_current].AsSpan(_used));
        var slice = new Slice(_current, _used, bytes.Length, hash);
        _used += bytes.Length;
        return slice;
    }

    public ReadOnlySpan<byte> Span(Slice slice) => _chunks[slice.Chunk].AsSpan(slice.Offset, slice.Length);

    /// <summary>Forgets every slice; keeps a few chunks to fill again.</summary>
    public void Reset()
    {
        if (_chunks.Count > ChunksKept)
        {
            _chunks.RemoveRange(ChunksKept, _chunks.Count - ChunksKept);
        }

        _current = 0;
        _used = 0;
        _usedBefore = 0;
    }

    /// <summary>Hands the current chunks over as a read-only arena (their slices stay valid there) and starts empty.</summary>
    public ByteArena Detach()
    {
        var old = new ByteArena(ChunkBytes) { _chunks = _chunks };
        _chunks = [];
        _current = 0;
        _used = 0;
        _usedBefore = 0;
        return old;
    }

    public static int Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = new HashCode();
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }

    public bool Equals(Slice x, Slice y) => x.Hash == y.Hash && Span(x).SequenceEqual(Span(y));

    public int GetHashCode(Slice obj) => obj.Hash;

    public bool Equals(ReadOnlySpan<byte> alternate, Slice other) => alternate.SequenceEqual(Span(other));

    public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

    public Slice Create(ReadOnlySpan<byte> alternate) => Add(alternate, Hash(alternate));

    private void NextChunk(int needed)
    {
        if (_chunks.Count > 0)
        {
            _usedBefore += _chunks[_current].Length;
            _current++;
        }

        var size = Math.Max(ChunkBytes, needed);
        if (_current == _chunks.Count)
        {
            _chunks.Add(new byte[size]);
        }
        else if (_chunks[_current].Length < needed)
        {
            _chunks[_current] = new byte[size];
        }

        _used = 0;
    }
}
