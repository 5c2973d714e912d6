using System.Buffers.Binary;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Platform.Ingest.Dedup;

/// <summary>
/// Dedup shared by every ingest instance, in Redis. One key per event identity: the prefix and the identity's 16 raw
/// bytes (the identity already includes the tenant). A reservation is <c>SET key token NX PX ReservationTtl</c>, where
/// the token names this process; a commit sets the stored marker for the whole window; a release deletes the key only
/// while it still holds this process's token, so a late release never drops someone else's reservation or a commit.
/// Each operation sends one pipelined round trip per batch, not one per key.
/// </summary>
/// <remarks>
/// While Redis cannot answer, <see cref="RedisUnavailableMode.StorageBackstop"/> treats every key as new (storage keeps
/// one row per event id, so a duplicate costs storage work and is answered as accepted, never counted twice), and
/// <see cref="RedisUnavailableMode.Reject"/> throws <see cref="DedupUnavailableException"/> (503).
/// </remarks>
internal sealed partial class RedisDedupStore : IDedupStore, IAsyncDisposable
{
    /// <summary>The value of a committed key. Reservation tokens start with 'r', so they never equal it.</summary>
    private static readonly RedisValue Stored = "s";

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly RedisDedupOptions _options;
    private readonly TimeSpan _window;
    private readonly TimeSpan _inFlightWait;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisDedupStore> _logger;
    private readonly byte[] _prefix;
    private readonly RedisValue _token = "r" + Guid.NewGuid().ToString("N");
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;
    private int _unavailableLogged;

    public RedisDedupStore(IOptions<DedupOptions> options, TimeProvider time, ILogger<RedisDedupStore> logger)
    {
        var settings = options.Value;
        _options = settings.Redis;
        _window = settings.Window;
        _inFlightWait = settings.InFlightWait;
        _time = time;
        _logger = logger;
        _prefix = System.Text.Encoding.UTF8.GetBytes(_options.KeyPrefix);
        _connection = new Lazy<Task<ConnectionMultiplexer>>(ConnectAsync);
    }

    public RedisUnavailableMode OnUnavailable => _options.OnUnavailable;

    /// <summary>Connects (once); a Redis that is down is not an error here, the connection keeps retrying.</summary>
    public Task ConnectAsync(CancellationToken cancellationToken) => _connection.Value.WaitAsync(cancellationToken);

    /// <summary>True when Redis answers a PING within the operation timeout.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            var database = await DatabaseAsync(cancellationToken);
            await database.PingAsync().WaitAsync(_options.OperationTimeout, cancellationToken);
            return true;
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            return false;
        }
    }

    public async ValueTask ReserveAsync(string tenant, ReadOnlyMemory<UInt128> keys, Memory<bool> results, CancellationToken cancellationToken)
    {
        results.Span.Clear();
        if (keys.IsEmpty)
        {
            return;
        }

        var redisKeys = KeysOf(keys.Span);
        var pending = new List<int>(redisKeys.Length);
        for (var i = 0; i < redisKeys.Length; i++)
        {
            pending.Add(i);
        }

        var deadline = _time.GetTimestamp() + (long)(_inFlightWait.TotalSeconds * _time.TimestampFrequency);
        try
        {
            var database = await DatabaseAsync(cancellationToken);
            while (true)
            {
                pending = await TryReserveAsync(database, redisKeys, pending, results, cancellationToken);
                if (pending.Count == 0)
                {
                    MarkAvailable();
                    return;
                }

                // Another request holds these identities; its outcome decides ours (see IDedupStore). While waiting we
                // hold no key above the lowest one we wait for: two requests with overlapping events (a retry racing its
                // original) could otherwise each hold a key the other waits for, and both would answer 503 after
                // InFlightWait. With one order, no two requests ever wait on each other.
                await ReleaseAboveLowestPendingAsync(tenant, keys, pending, results);
                var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero)
                {
                    throw new DedupUnavailableException("another request holding the same event is still being stored");
                }

                await Task.Delay(remaining < _options.PollInterval ? remaining : _options.PollInterval, _time, cancellationToken);
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            MarkUnavailable(ex);
            if (_options.OnUnavailable == RedisUnavailableMode.Reject)
            {
                throw new DedupUnavailableException("the dedup store (Redis) does not answer", ex);
            }

            // Storage backstop: whatever this call reserved stays reserved (and expires); every other key counts as new.
            results.Span.Fill(true);
        }
    }

    public async ValueTask CommitAsync(string tenant, ReadOnlyMemory<UInt128> keys, CancellationToken cancellationToken)
    {
        if (keys.IsEmpty)
        {
            return;
        }

        // Unconditional: the events are stored, so the marker is true whoever holds the key now (even after our
        // reservation expired during a slow insert); a missing commit would only send the next retry to storage.
        var redisKeys = KeysOf(keys.Span);
        try
        {
            var database = await DatabaseAsync(cancellationToken);
            await PipelineAsync(database, redisKeys, (batch, key) => batch.StringSetAsync(key, Stored, _window, When.Always), cancellationToken);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            // The events are stored; a retry that misses the marker reaches storage, which collapses it. One warning per outage.
            MarkUnavailable(ex);
        }
    }

    public async ValueTask ReleaseAsync(string tenant, ReadOnlyMemory<UInt128> keys, CancellationToken cancellationToken)
    {
        if (keys.IsEmpty)
        {
            return;
        }

        var redisKeys = KeysOf(keys.Span);
        try
        {
            var database = await DatabaseAsync(cancellationToken);
            RedisValue[] token = [_token];
            await PipelineAsync(database, redisKeys, (batch, key) => batch.ScriptEvaluateAsync(ReleaseScript, [key], token), cancellationToken);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            // The reservations expire after ReservationTtl; until then a retry of these events waits and may get a 503.
            LogReleaseFailed(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            try
            {
                await (await _connection.Value).DisposeAsync();
            }
            catch (RedisException)
            {
                // Nothing to close.
            }
        }
    }

    /// <summary>Gives back the keys this call reserved that sort above the lowest key still pending; they become pending again.</summary>
    private ValueTask ReleaseAboveLowestPendingAsync(string tenant, ReadOnlyMemory<UInt128> reserved, List<int> pending, Memory<bool> results)
    {
        var keys = reserved.Span;
        var lowest = UInt128.MaxValue;
        foreach (var index in pending)
        {
            lowest = UInt128.Min(lowest, keys[index]);
        }

        var giveBack = new List<int>();
        var span = results.Span;
        for (var i = 0; i < keys.Length; i++)
        {
            if (span[i] && keys[i] > lowest)
            {
                giveBack.Add(i);
                span[i] = false;
            }
        }

        if (giveBack.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        var release = new UInt128[giveBack.Count];
        for (var i = 0; i < release.Length; i++)
        {
            release[i] = keys[giveBack[i]];
        }

        pending.AddRange(giveBack);
        return ReleaseAsync(tenant, release, CancellationToken.None);
    }

    /// <summary>One pipelined SET NX per pending key, then one GET per key refused; returns the keys still held by others.</summary>
    private async Task<List<int>> TryReserveAsync(IDatabase database, RedisKey[] keys, List<int> pending, Memory<bool> results, CancellationToken cancellationToken)
    {
        var reserved = await PipelineAsync(database, Select(keys, pending),
            (batch, key) => batch.StringSetAsync(key, _token, _options.ReservationTtl, When.NotExists), cancellationToken);

        var refused = new List<int>();
        for (var i = 0; i < pending.Count; i++)
        {
            if (reserved[i])
            {
                results.Span[pending[i]] = true;
            }
            else
            {
                refused.Add(pending[i]);
            }
        }

        if (refused.Count == 0)
        {
            return refused;
        }

        var values = await PipelineAsync(database, Select(keys, refused), static (batch, key) => batch.StringGetAsync(key), cancellationToken);

        // Stored: a duplicate (results stay false). Held by a reservation, or gone since the SET (released): try again.
        var again = new List<int>();
        for (var i = 0; i < refused.Count; i++)
        {
            if (values[i] != Stored)
            {
                again.Add(refused[i]);
            }
        }

        return again;
    }

    /// <summary>One round trip: <paramref name="command"/> for every key, sent as one batch, answered within the operation timeout.</summary>
    private async Task<TResult[]> PipelineAsync<TResult>(
        IDatabase database, RedisKey[] keys, Func<IBatch, RedisKey, Task<TResult>> command, CancellationToken cancellationToken)
    {
        var batch = database.CreateBatch();
        var sent = new Task<TResult>[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            sent[i] = command(batch, keys[i]);
        }

        batch.Execute();
        return await Task.WhenAll(sent).WaitAsync(_options.OperationTimeout, cancellationToken);
    }

    private static RedisKey[] Select(RedisKey[] keys, List<int> indexes)
    {
        var selected = new RedisKey[indexes.Count];
        for (var i = 0; i < selected.Length; i++)
        {
            selected[i] = keys[indexes[i]];
        }

        return selected;
    }

    private RedisKey[] KeysOf(ReadOnlySpan<UInt128> keys)
    {
        var redisKeys = new RedisKey[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            var bytes = new byte[_prefix.Length + 16];
            _prefix.CopyTo(bytes, 0);
            BinaryPrimitives.WriteUInt128BigEndian(bytes.AsSpan(_prefix.Length), keys[i]);
            redisKeys[i] = bytes;
        }

        return redisKeys;
    }

    private async Task<IDatabase> DatabaseAsync(CancellationToken cancellationToken)
    {
        var multiplexer = await _connection.Value.WaitAsync(cancellationToken);
        if (!multiplexer.IsConnected)
        {
            // Fail fast instead of queueing behind a dead connection; the multiplexer reconnects in the background.
            throw new RedisNotConnectedException();
        }

        return multiplexer.GetDatabase();
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var configuration = ConfigurationOptions.Parse(_options.ConnectionString!);
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = (int)_options.ConnectTimeout.TotalMilliseconds;
        configuration.AsyncTimeout = (int)_options.OperationTimeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)_options.OperationTimeout.TotalMilliseconds;
        configuration.ClientName ??= "platform-ingest-dedup";
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        multiplexer.ConnectionFailed += (_, e) => LogConnectionFailed(e.EndPoint, e.FailureType, _options.OnUnavailable);
        multiplexer.ConnectionRestored += (_, e) => LogConnectionRestored(e.EndPoint);
        return multiplexer;
    }

    private static bool IsRedisFailure(Exception ex) =>
        ex is RedisException or RedisNotConnectedException or TimeoutException or ObjectDisposedException;

    private void MarkUnavailable(Exception ex)
    {
        if (Interlocked.Exchange(ref _unavailableLogged, 1) == 0)
        {
            LogUnavailable(ex, _options.OnUnavailable);
        }
    }

    private void MarkAvailable() => Volatile.Write(ref _unavailableLogged, 0);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedup store (Redis) unavailable; mode {Mode}: StorageBackstop keeps ingesting and lets storage collapse duplicates, Reject answers 503")]
    private partial void LogUnavailable(Exception ex, RedisUnavailableMode mode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedup release in Redis failed; the reservations expire on their own")]
    private partial void LogReleaseFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedup Redis connection to {Endpoint} failed ({FailureType}); mode {Mode}")]
    private partial void LogConnectionFailed(System.Net.EndPoint? endpoint, ConnectionFailureType failureType, RedisUnavailableMode mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dedup Redis connection to {Endpoint} restored")]
    private partial void LogConnectionRestored(System.Net.EndPoint? endpoint);
}

/// <summary>The multiplexer is reconnecting; commands are not even tried.</summary>
internal sealed class RedisNotConnectedException() : Exception("Redis is not connected");
