using System.Buffers.Binary;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Platform.Ingest.Dedup;

/// <summary>
/// Dedup shared by every ingest instance, in Redis. One key per event identity: the prefix and the identity's 16 raw
/// bytes (the identity already includes the tenant). A reservation is <c>SET key token NX PX ReservationTtl</c>, where
/// the token names this process; a commit sets the stored marker for the whole window; a release deletes the key only
/// while it still holds this process's token, so a late release never drops someone else's reservation or a commit.
/// Each operation is one Lua script over all of a request's keys (at most <see cref="KeysPerScript"/> per call), so a
/// 100-event request costs Redis two commands, not two hundred: per-command work, in Redis and in the client, was
/// most of the dedup cost under load. The keys of one script call must live on one Redis node, so the store needs a
/// standalone (or replicated/Sentinel) Redis, not Redis Cluster.
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

    /// <summary>The most keys one script call carries; larger sets are split into several calls sent together.</summary>
    internal const int KeysPerScript = 1000;

    /// <summary>
    /// Per key: 1 = reserved now by this call, 0 = already stored (a duplicate), 2 = held by another request's
    /// reservation. Atomic, so "refused" and "what holds it" are read together.
    /// </summary>
    private const string ReserveScript = """
        local result = {}
        for i, key in ipairs(KEYS) do
          if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
            result[i] = 1
          elseif redis.call('GET', key) == ARGV[3] then
            result[i] = 0
          else
            result[i] = 2
          end
        end
        return result
        """;

    private const string CommitScript = """
        for _, key in ipairs(KEYS) do
          redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
        end
        return #KEYS
        """;

    private const string ReleaseScript = """
        local released = 0
        for _, key in ipairs(KEYS) do
          if redis.call('GET', key) == ARGV[1] then
            released = released + redis.call('DEL', key)
          end
        end
        return released
        """;

    private readonly RedisDedupOptions _options;
    private readonly TimeSpan _window;
    private readonly TimeSpan _inFlightWait;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisDedupStore> _logger;
    private readonly byte[] _prefix;
    private readonly RedisValue _token = "r" + Guid.NewGuid().ToString("N");
    private readonly RedisValue[] _reserveArgs;
    private readonly RedisValue[] _commitArgs;
    private readonly RedisValue[] _releaseArgs;
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
        _reserveArgs = [_token, (long)_options.ReservationTtl.TotalMilliseconds, Stored];
        _commitArgs = [Stored, (long)_window.TotalMilliseconds];
        _releaseArgs = [_token];
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
                    throw DedupUnavailableException.InFlight();
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
            await ScriptAsync(database, CommitScript, redisKeys, _commitArgs, cancellationToken);
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
            await ScriptAsync(database, ReleaseScript, redisKeys, _releaseArgs, cancellationToken);
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

    /// <summary>One script call over the pending keys; returns the keys still held by other requests.</summary>
    private async Task<List<int>> TryReserveAsync(IDatabase database, RedisKey[] keys, List<int> pending, Memory<bool> results, CancellationToken cancellationToken)
    {
        var outcomes = await ScriptAsync(database, ReserveScript, Select(keys, pending), _reserveArgs, cancellationToken);
        var held = new List<int>();
        var span = results.Span;
        for (var i = 0; i < pending.Count; i++)
        {
            switch (outcomes[i])
            {
                case 1:
                    span[pending[i]] = true;
                    break;
                case 2:
                    held.Add(pending[i]);
                    break;
                default:
                    // Stored within the window: a duplicate, results stay false.
                    break;
            }
        }

        return held;
    }

    /// <summary>
    /// Runs <paramref name="script"/> over <paramref name="keys"/>, at most <see cref="KeysPerScript"/> keys per call, all
    /// calls sent at once, answered within the operation timeout; returns the scripts' per-key results in key order.
    /// </summary>
    private async Task<long[]> ScriptAsync(IDatabase database, string script, RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
    {
        if (keys.Length <= KeysPerScript)
        {
            return ToLongs(await database.ScriptEvaluateAsync(script, keys, args).WaitAsync(_options.OperationTimeout, cancellationToken));
        }

        var calls = new Task<RedisResult>[(keys.Length + KeysPerScript - 1) / KeysPerScript];
        for (var c = 0; c < calls.Length; c++)
        {
            var start = c * KeysPerScript;
            calls[c] = database.ScriptEvaluateAsync(script, keys[start..Math.Min(keys.Length, start + KeysPerScript)], args);
        }

        var answers = await Task.WhenAll(calls).WaitAsync(_options.OperationTimeout, cancellationToken);
        var all = new List<long>(keys.Length);
        foreach (var answer in answers)
        {
            all.AddRange(ToLongs(answer));
        }

        return [.. all];
    }

    /// <summary>A script's answer: a table of integers (reserve) or one integer (commit, release).</summary>
    private static long[] ToLongs(RedisResult result) =>
        result.Resp2Type == ResultType.Array ? (long[])result! : [(long)result];

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
