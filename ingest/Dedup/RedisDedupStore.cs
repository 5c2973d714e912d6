using System.Buffers.Binary;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace Platform.Ingest.Dedup;

/// <summary>
/// Dedup shared by every ingest instance, in Redis. One key per event identity: the prefix and the identity's 16 raw
/// bytes (the identity already includes the tenant). A reservation is <c>SET key token NX PX ReservationTtl</c>, where
/// the token is this process's owner identity (<see cref="RedisOwnerLease"/>); a commit sets the stored marker for the
/// whole window; a release deletes the key only while it still holds the token, so a late release never drops someone
/// else's reservation or a commit. A reservation whose owner's liveness key is gone (the process died or stalled past
/// its lease) is taken over by the next request that meets it, in the same script, so a crash costs a retry seconds
/// (the lease), not the reservation's lifetime.
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
    /// <summary>
    /// The value of a committed key. Owner tokens start with 'o' (releases before owner leases used 'r', and their
    /// reservations are never taken over: they have no liveness key to judge them by), so they never equal it.
    /// </summary>
    private static readonly RedisValue Stored = "s";

    /// <summary>The most keys one script call carries; larger sets are split into several calls sent together.</summary>
    internal const int KeysPerScript = 1000;

    /// <summary>
    /// Per key: 1 = reserved now by this call, 0 = already stored (a duplicate), 2 = held by a live owner's reservation,
    /// 3 = reserved now, taken over from an owner whose liveness key is gone; every key -1 when the caller's own liveness
    /// key is gone (nothing is reserved under an identity others may already treat as dead). Atomic, so "refused",
    /// "what holds it" and "is its owner alive" are read together: a takeover never races the owner's commit. The owner
    /// keys are named from the token (ARGV[4] is their prefix), which a standalone or Sentinel Redis allows.
    /// </summary>
    private const string ReserveScript = """
        local result = {}
        if redis.call('EXISTS', ARGV[4] .. ARGV[1]) == 0 then
          for i = 1, #KEYS do
            result[i] = -1
          end
          return result
        end
        for i, key in ipairs(KEYS) do
          if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
            result[i] = 1
          else
            local holder = redis.call('GET', key)
            if holder == ARGV[3] then
              result[i] = 0
            elseif holder and holder ~= ARGV[1] and string.byte(holder, 1) == 111 and redis.call('EXISTS', ARGV[4] .. holder) == 0 then
              redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
              result[i] = 3
            else
              result[i] = 2
            end
          end
        end
        return result
        """;

    /// <summary>
    /// Per key: 1 = still held by the caller's token (or by nobody: expired, so nobody else stored it either), 0 = held
    /// by someone else or already stored by someone else (the caller's reservation was taken over). The marker is set
    /// either way: the caller's events are durable, so "stored" is true whoever holds the key.
    /// On Redis 7 and later (the only ones whose scripts see <c>REDIS_VERSION_NUM</c>) one <c>SET … GET</c> per key reads
    /// the holder and sets the marker together: a third of the dedup store's commands per event. Older servers take
    /// the same two steps separately.
    /// </summary>
    private const string CommitScript = """
        local result = {}
        local setget = redis.REDIS_VERSION_NUM ~= nil
        for i, key in ipairs(KEYS) do
          local holder
          if setget then
            holder = redis.call('SET', key, ARGV[1], 'PX', ARGV[2], 'GET')
          else
            holder = redis.call('GET', key)
            redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
          end
          if holder == false or holder == ARGV[3] then
            result[i] = 1
          else
            result[i] = 0
          end
        end
        return result
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
    private readonly RedisValue _ttl;
    private readonly RedisValue _windowMilliseconds;
    private readonly RedisValue _ownerKeyPrefix;
    private readonly RedisOwnerLease _lease;
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;
    private readonly Lazy<Task> _started;
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
        _lease = new RedisOwnerLease(_options, time, logger);
        _started = new Lazy<Task>(StartAsync);
        _ttl = (long)_options.ReservationTtl.TotalMilliseconds;
        _windowMilliseconds = (long)_window.TotalMilliseconds;
        _ownerKeyPrefix = _lease.OwnerKeyPrefix;
    }

    public RedisUnavailableMode OnUnavailable => _options.OnUnavailable;

    /// <summary>
    /// Connects (once) and announces this process's owner identity; a Redis that is down is not an error here, the
    /// connections keep retrying.
    /// </summary>
    public Task ConnectAsync(CancellationToken cancellationToken) => _started.Value.WaitAsync(cancellationToken);

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

    public async ValueTask<ReservationHolder> ReserveAsync(string tenant, ReadOnlyMemory<UInt128> keys, Memory<bool> results, CancellationToken cancellationToken)
    {
        results.Span.Clear();
        if (keys.IsEmpty)
        {
            return ReservationHolder.Unconditional;
        }

        var redisKeys = KeysOf(keys.Span);
        var pending = new List<int>(redisKeys.Length);
        for (var i = 0; i < redisKeys.Length; i++)
        {
            pending.Add(i);
        }

        var deadline = _time.GetTimestamp() + (long)(_inFlightWait.TotalSeconds * _time.TimestampFrequency);
        RedisOwnerLease.Holder? holder = null;
        var renewals = 0;
        try
        {
            var database = await DatabaseAsync(cancellationToken);
            holder = await _lease.CurrentAsync(cancellationToken);
            while (true)
            {
                var attempt = await TryReserveAsync(database, holder, redisKeys, pending, results, cancellationToken);
                if (attempt.OwnLeaseGone || holder.IsLost)
                {
                    _lease.MarkLost(holder);
                    if (!Holds(results.Span))
                    {
                        // Nothing reserved under the dead identity yet: simply go on under a new one. A Redis that drops
                        // a fresh liveness key again and again (an evicting maxmemory policy) is not fit to judge owners.
                        if (++renewals > 2)
                        {
                            throw new DedupUnavailableException("the dedup store (Redis) keeps losing this process's liveness key; check its maxmemory-policy");
                        }

                        holder = await _lease.CurrentAsync(cancellationToken);
                        continue;
                    }

                    // Reservations taken under it may have been taken over meanwhile: this request is not theirs to store.
                    throw new ReservationLostException(afterDurable: false);
                }

                if (attempt.TakenOver > 0)
                {
                    LogTakenOver(attempt.TakenOver, tenant);
                }

                pending = attempt.Held;
                if (pending.Count == 0)
                {
                    MarkAvailable();
                    return holder;
                }

                // Another request holds these identities; its outcome decides ours (see IDedupStore). While waiting we
                // hold no key above the lowest one we wait for: two requests with overlapping events (a retry racing its
                // original) could otherwise each hold a key the other waits for, and both would answer 503 after
                // InFlightWait. With one order, no two requests ever wait on each other.
                await ReleaseAboveLowestPendingAsync(tenant, keys, pending, results, holder);
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
                await GiveBackAsync(tenant, keys, results, holder);
                throw new DedupUnavailableException("the dedup store (Redis) does not answer", ex);
            }

            // Storage backstop: whatever this call reserved stays reserved (until committed, or its owner's lease lapses);
            // every other key counts as new, so nothing this request holds may be judged by reservation.
            results.Span.Fill(true);
            return ReservationHolder.Unconditional;
        }
        catch (Exception ex) when (ex is DedupUnavailableException or ReservationLostException or OperationCanceledException)
        {
            // Refused: the caller holds nothing afterwards (a release under a lost identity drops only what was not taken over).
            await GiveBackAsync(tenant, keys, results, holder);
            throw;
        }
    }

    public async ValueTask CommitAsync(string tenant, ReadOnlyMemory<UInt128> keys, ReservationHolder holder, Memory<bool> lost, CancellationToken cancellationToken)
    {
        if (keys.IsEmpty)
        {
            return;
        }

        // Unconditional: the events are stored, so the marker is true whoever holds the key now (even after our
        // reservation expired during a slow insert); a missing commit would only send the next retry to storage.
        // Whether the key was still ours tells the caller whether another request may have stored the events too.
        var redisKeys = KeysOf(keys.Span);
        try
        {
            var database = await DatabaseAsync(cancellationToken);
            var held = await ScriptAsync(database, CommitScript, redisKeys, [Stored, _windowMilliseconds, TokenOf(holder)], cancellationToken);
            if (!lost.IsEmpty && holder is RedisOwnerLease.Holder)
            {
                var span = lost.Span;
                for (var i = 0; i < held.Length; i++)
                {
                    span[i] = held[i] == 0;
                }
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            // The events are stored; a retry that misses the marker reaches storage, which collapses it. One warning per outage.
            MarkUnavailable(ex);
        }
    }

    public async ValueTask ReleaseAsync(string tenant, ReadOnlyMemory<UInt128> keys, ReservationHolder holder, CancellationToken cancellationToken)
    {
        if (keys.IsEmpty || holder is not RedisOwnerLease.Holder owner)
        {
            // Nothing reserved under a token (the storage backstop): nothing to give back.
            return;
        }

        var redisKeys = KeysOf(keys.Span);
        try
        {
            var database = await DatabaseAsync(cancellationToken);
            await ScriptAsync(database, ReleaseScript, redisKeys, [owner.Token], cancellationToken);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            // The reservations are taken over once this process's lease lapses, or expire after ReservationTtl.
            LogReleaseFailed(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _lease.DisposeAsync();
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
    private ValueTask ReleaseAboveLowestPendingAsync(string tenant, ReadOnlyMemory<UInt128> reserved, List<int> pending, Memory<bool> results, ReservationHolder holder)
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
        return ReleaseAsync(tenant, release, holder, CancellationToken.None);
    }

    /// <summary>Whatever this call reserved is given back and forgotten, so a refused caller holds nothing.</summary>
    private async Task GiveBackAsync(string tenant, ReadOnlyMemory<UInt128> keys, Memory<bool> results, ReservationHolder? holder)
    {
        var reserved = new List<UInt128>();
        for (var i = 0; i < keys.Length; i++)
        {
            if (results.Span[i])
            {
                reserved.Add(keys.Span[i]);
            }
        }

        results.Span.Clear();
        if (holder is not null && reserved.Count > 0)
        {
            await ReleaseAsync(tenant, reserved.ToArray(), holder, CancellationToken.None);
        }
    }

    private static bool Holds(Span<bool> results) => results.Contains(true);

    private static RedisValue TokenOf(ReservationHolder holder) => holder is RedisOwnerLease.Holder owner ? owner.Token : RedisValue.EmptyString;

    /// <summary>One script call over the pending keys under <paramref name="holder"/>'s token.</summary>
    private async Task<ReserveAttempt> TryReserveAsync(IDatabase database, RedisOwnerLease.Holder holder, RedisKey[] keys, List<int> pending, Memory<bool> results, CancellationToken cancellationToken)
    {
        var outcomes = await ScriptAsync(database, ReserveScript, Select(keys, pending), [holder.Token, _ttl, Stored, _ownerKeyPrefix], cancellationToken);
        var attempt = new ReserveAttempt(new List<int>());
        var span = results.Span;
        for (var i = 0; i < pending.Count; i++)
        {
            switch (outcomes[i])
            {
                case 1:
                    span[pending[i]] = true;
                    break;
                case 3:
                    span[pending[i]] = true;
                    attempt.TakenOver++;
                    break;
                case 2:
                    attempt.Held.Add(pending[i]);
                    break;
                case -1:
                    attempt.OwnLeaseGone = true;
                    break;
                default:
                    // Stored within the window: a duplicate, results stay false.
                    break;
            }
        }

        return attempt;
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
        await _started.Value.WaitAsync(cancellationToken);
        var multiplexer = await _connection.Value.WaitAsync(cancellationToken);
        if (!multiplexer.IsConnected)
        {
            // Fail fast instead of queueing behind a dead connection; the multiplexer reconnects in the background.
            throw new RedisNotConnectedException();
        }

        return multiplexer.GetDatabase();
    }

    private async Task StartAsync()
    {
        await _connection.Value;
        await _lease.StartAsync();
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var multiplexer = await RedisConnectionFactory.ConnectAsync(_options, "platform-ingest-dedup");
        multiplexer.ConnectionFailed += (_, e) => LogConnectionFailed(e.EndPoint, e.FailureType, _options.OnUnavailable);
        multiplexer.ConnectionRestored += (_, e) => LogConnectionRestored(e.EndPoint);
        return multiplexer;
    }

    internal static bool IsRedisFailure(Exception ex) => RedisConnectionFactory.IsFailure(ex);

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over {Count} dedup reservations of tenant {Tenant} whose owner's lease had lapsed (an ingest instance died or stalled)")]
    private partial void LogTakenOver(int count, string tenant);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedup release in Redis failed; the reservations are taken over once this process's lease lapses, or expire")]
    private partial void LogReleaseFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedup Redis connection to {Endpoint} failed ({FailureType}); mode {Mode}")]
    private partial void LogConnectionFailed(System.Net.EndPoint? endpoint, ConnectionFailureType failureType, RedisUnavailableMode mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dedup Redis connection to {Endpoint} restored")]
    private partial void LogConnectionRestored(System.Net.EndPoint? endpoint);
}

/// <summary>What one reserve script call found: keys held by live owners, takeovers, and whether the caller's own lease was gone.</summary>
internal sealed class ReserveAttempt(List<int> held)
{
    public List<int> Held { get; } = held;

    public int TakenOver { get; set; }

    public bool OwnLeaseGone { get; set; }
}
