using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// Tokens that passed full validation, remembered by their exact text so the same token is not verified again on
/// every request (the signature check is most of the cost of authenticating a request). Only successes are
/// remembered. An entry is served until the earlier of the token's <c>exp</c> and <c>maxAge</c> after it was
/// validated, then the token is validated in full again; at most <c>maxEntries</c> are held, and a token that finds
/// the cache full is simply not remembered (it is validated on each request until room is made).
/// </summary>
internal sealed class ValidatedTokenCache
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly int _maxEntries;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private int _count;
    private long _nextSweepTicks;

    public ValidatedTokenCache(int maxEntries, TimeSpan maxAge, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEntries);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxAge, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(time);
        _maxEntries = maxEntries;
        _maxAge = maxAge;
        _time = time;
    }

    /// <summary>Tokens held now, expired ones not yet swept included.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The validated token for exactly this text, while its entry is live.</summary>
    public bool TryGet(string token, [NotNullWhen(true)] out JsonWebToken? validated)
    {
        if (_entries.TryGetValue(token, out var entry))
        {
            if (_time.GetUtcNow().UtcDateTime < entry.NotAfter)
            {
                validated = entry.Token;
                return true;
            }

            Remove(new KeyValuePair<string, Entry>(token, entry));
        }

        validated = null;
        return false;
    }

    /// <summary>Remembers a token that has just passed full validation; call it for nothing else.</summary>
    public void Add(string token, JsonWebToken validated)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var notAfter = validated.ValidTo < now + _maxAge ? validated.ValidTo : now + _maxAge;
        if (notAfter <= now)
        {
            return;
        }

        SweepIfDue(now);

        // Take a slot before adding, so concurrent misses can never push the count past the bound.
        if (Interlocked.Increment(ref _count) > _maxEntries || !_entries.TryAdd(token, new Entry(validated, notAfter)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Drops expired entries, at most once a second and only on a miss, so hits never pay for it.</summary>
    private void SweepIfDue(DateTime now)
    {
        var due = Volatile.Read(ref _nextSweepTicks);
        if (now.Ticks < due || Interlocked.CompareExchange(ref _nextSweepTicks, (now + SweepInterval).Ticks, due) != due)
        {
            return;
        }

        foreach (var pair in _entries)
        {
            if (pair.Value.NotAfter <= now)
            {
                Remove(pair);
            }
        }
    }

    private void Remove(KeyValuePair<string, Entry> pair)
    {
        // Only this exact entry: a concurrent miss may already have replaced it with a fresh one.
        if (_entries.TryRemove(pair))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private sealed record Entry(JsonWebToken Token, DateTime NotAfter);
}
