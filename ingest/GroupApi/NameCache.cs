using System.Collections.Concurrent;
using System.Text.Unicode;
using System.Text.Json;
using Platform.Ingest.Events;

namespace Platform.Ingest.GroupApi;

/// <summary>
/// Trait names as shared strings. A batch repeats the same few names on every event, and each <c>GetString</c> of a
/// name would be one more allocation per trait per event on the hot path. Names are looked up by their UTF-8 bytes,
/// decoded on the stack; a name seen for the first time is allocated once and kept, up to a bound, so clients sending
/// endless distinct names cost memory no more than any other request does.
/// </summary>
internal sealed class NameCache
{
    private const int LongestCachedName = 128;
    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly int _capacity;
    private int _count; // ConcurrentDictionary.Count takes every lock; a miss must not.

    public NameCache(int capacity, IEnumerable<string> seed)
    {
        _capacity = capacity;
        _lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var name in seed)
        {
            if (_names.TryAdd(name, name))
            {
                _count++;
            }
        }
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// The property name or string value at the reader, from the cache when it is there; null when it is not valid
    /// text, with the problem (see <see cref="JsonStrings"/>).
    /// </summary>
    public string? Get(ref Utf8JsonReader reader, out string? problem)
    {
        problem = null;
        if (!reader.ValueIsEscaped && !reader.HasValueSequence && reader.ValueSpan.Length <= LongestCachedName)
        {
            Span<char> chars = stackalloc char[LongestCachedName];
            // Done means valid UTF-8 (unescaped text cannot hold U+0000), so a hit needs no further check.
            if (Utf8.ToUtf16(reader.ValueSpan, chars, out _, out var written, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done
                && _lookup.TryGetValue(chars[..written], out var cached))
            {
                return cached;
            }
        }

        problem = JsonStrings.Check(ref reader);
        if (problem is not null)
        {
            return null;
        }

        var name = reader.GetString()!;
        if (name.Length <= LongestCachedName && Volatile.Read(ref _count) < _capacity)
        {
            if (_names.TryAdd(name, name))
            {
                Interlocked.Increment(ref _count);
                return name;
            }

            return _names.TryGetValue(name, out var existing) ? existing : name;
        }

        return name;
    }
}
