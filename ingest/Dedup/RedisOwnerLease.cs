using Platform.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace Platform.Ingest.Dedup;

/// <summary>
/// This process's owner identity in Redis: a random token, and a liveness key <c>{KeyPrefix}owner:{token}</c> that
/// lives <see cref="RedisDedupOptions.OwnerLease"/> and is extended every <see cref="RedisDedupOptions.OwnerRefreshInterval"/>
/// by a dedicated thread on a connection of its own, so neither requests queued on the dedup connection nor a request
/// path short of threads delays it (the client still completes socket reads on the thread pool: a pool starved for
/// longer than the lease could let it lapse, which costs storage a collapsed repeat, never a count). Reservations carry the token; the reserve script takes over a reservation whose owner's
/// key is gone (the process died, or stalled past the lease). An identity whose key lapsed is never revived: the lease
/// thread moves to a new token, and requests that reserved under the old one find out (<see cref="ConfirmAsync"/>,
/// the reserve and commit scripts) and are not acknowledged as the ones that stored their events.
/// </summary>
/// <remarks>
/// Lapses are judged by Redis's clock alone (PX), and this process only ever assumes less than Redis grants: a lease
/// counts as held until the local monotonic time the refresh was <em>sent</em> plus the lease, minus a third of it.
/// See docs/decisions.md, "Orphaned reservations".
/// </remarks>
internal sealed partial class RedisOwnerLease : IAsyncDisposable
{
    private readonly RedisDedupOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _ownerKeyPrefix;
    private readonly long _leaseTicks;
    private readonly long _marginTicks;
    private readonly RedisValue _description = $"{Environment.MachineName} pid {Environment.ProcessId}";
    private readonly SemaphoreSlim _establishing = new(1, 1);
    private readonly ManualResetEventSlim _stop = new(initialState: false);
    private Holder? _current;
    private ConnectionMultiplexer? _connection;
    private Thread? _refresher;
    private int _failureLogged;
    private int _disposed;

    public RedisOwnerLease(RedisDedupOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _ownerKeyPrefix = options.KeyPrefix + "owner:";
        _leaseTicks = (long)(options.OwnerLease.TotalSeconds * time.TimestampFrequency);
        _marginTicks = _leaseTicks / 3;
    }

    /// <summary>What precedes an owner token in the name of its liveness key (the reserve script builds the name).</summary>
    public string OwnerKeyPrefix => _ownerKeyPrefix;

    /// <summary>Connects (a connection of its own), announces the first identity and starts the refresh thread.</summary>
    public async Task StartAsync()
    {
        _connection = await RedisConnectionFactory.ConnectAsync(_options, "platform-ingest-dedup", clientNameSuffix: "-lease");
        try
        {
            await CurrentAsync(CancellationToken.None);
        }
        catch (Exception ex) when (RedisDedupStore.IsRedisFailure(ex))
        {
            // Redis down at start: the refresh thread (or the first request) announces an identity once it answers.
            LogRefreshFailed(ex);
        }

        _refresher = new Thread(RefreshLoop) { IsBackground = true, Name = "dedup-owner-lease", Priority = ThreadPriority.AboveNormal };
        _refresher.Start();
    }

    /// <summary>The live identity to reserve under, announcing a new one first when there is none (at start, or after a lapse).</summary>
    public async ValueTask<Holder> CurrentAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current);
        if (current is { IsLost: false })
        {
            return current;
        }

        await _establishing.WaitAsync(cancellationToken);
        try
        {
            current = Volatile.Read(ref _current);
            if (current is { IsLost: false })
            {
                return current;
            }

            var holder = new Holder(this, "o" + Guid.NewGuid().ToString("N"));
            var sent = _time.GetTimestamp();
            var created = await Database().StringSetAsync(holder.OwnerKey, _description, _options.OwnerLease, When.NotExists)
                .WaitAsync(_options.OperationTimeout, cancellationToken);
            return Announced(holder, created, sent);
        }
        finally
        {
            _establishing.Release();
        }
    }

    /// <summary>As <see cref="CurrentAsync"/>, blocking, for the refresh thread (which must not wait on the thread pool).</summary>
    private void EnsureCurrent()
    {
        _establishing.Wait();
        try
        {
            if (Volatile.Read(ref _current) is { IsLost: false })
            {
                return;
            }

            var holder = new Holder(this, "o" + Guid.NewGuid().ToString("N"));
            var sent = _time.GetTimestamp();
            Announced(holder, Database().StringSet(holder.OwnerKey, _description, _options.OwnerLease, When.NotExists), sent);
        }
        finally
        {
            _establishing.Release();
        }
    }

    /// <summary>Publishes a new identity once its liveness key exists: nothing is ever reserved under a token without one.</summary>
    private Holder Announced(Holder holder, bool created, long sent)
    {
        if (!created)
        {
            throw new RedisException("a fresh owner token already had a liveness key");
        }

        holder.Extend(sent + _leaseTicks);
        Volatile.Write(ref _current, holder);
        return holder;
    }

    /// <summary>The reserve script found the holder's liveness key gone: nothing reserved under it may be assumed ours any more.</summary>
    public void MarkLost(Holder holder)
    {
        if (holder.MarkLost())
        {
            LogLeaseLost(holder.Token.ToString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Set();
        _refresher?.Join(_options.OperationTimeout + _options.OwnerRefreshInterval);
        if (_connection is not null)
        {
            // The liveness key is left to expire: whatever this process still holds is then free to take over.
            await _connection.DisposeAsync();
        }

        _stop.Dispose();
        _establishing.Dispose();
    }

    /// <summary>
    /// Before a write makes events durable: a local check while the last refresh is recent; otherwise (the process was
    /// paused, or refreshes fail) one round trip asks Redis whether the liveness key still exists.
    /// </summary>
    private async ValueTask ConfirmAsync(Holder holder, CancellationToken cancellationToken)
    {
        if (holder.IsLost)
        {
            throw new ReservationLostException(afterDurable: false);
        }

        if (holder.IsFresh(_time.GetTimestamp(), _marginTicks))
        {
            return;
        }

        bool alive;
        try
        {
            var sent = _time.GetTimestamp();
            alive = await Database().KeyExpireAsync(holder.OwnerKey, _options.OwnerLease).WaitAsync(_options.OperationTimeout, cancellationToken);
            if (alive)
            {
                holder.Extend(sent + _leaseTicks);
            }
        }
        catch (Exception ex) when (RedisDedupStore.IsRedisFailure(ex))
        {
            if (_options.OnUnavailable == RedisUnavailableMode.Reject)
            {
                throw new DedupUnavailableException("the dedup store (Redis) does not answer, so this process cannot confirm it still owns its reservations", ex);
            }

            // Storage backstop: Redis cannot answer anyone, so nobody can take the reservations over right now; should
            // a retry take them once it answers again, storage collapses the repeat.
            return;
        }

        if (!alive)
        {
            MarkLost(holder);
            throw new ReservationLostException(afterDurable: false);
        }
    }

    private IDatabase Database() =>
        _connection is { IsConnected: true } connection ? connection.GetDatabase() : throw new RedisNotConnectedException();

    private void RefreshLoop()
    {
        while (!_stop.Wait(_options.OwnerRefreshInterval))
        {
            try
            {
                var holder = Volatile.Read(ref _current);
                if (holder is null || holder.IsLost)
                {
                    EnsureCurrent();
                    continue;
                }

                // Synchronous on this thread: no continuation waits for a pool thread to run it.
                var sent = _time.GetTimestamp();
                if (Database().KeyExpire(holder.OwnerKey, _options.OwnerLease))
                {
                    holder.Extend(sent + _leaseTicks);
                    Volatile.Write(ref _failureLogged, 0);
                }
                else
                {
                    // Lapsed (this process was stopped, or Redis lost the key): never revive it, announce a new identity.
                    MarkLost(holder);
                    EnsureCurrent();
                }
            }
            catch (Exception ex) when (RedisDedupStore.IsRedisFailure(ex))
            {
                if (Interlocked.Exchange(ref _failureLogged, 1) == 0)
                {
                    LogRefreshFailed(ex);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedup owner lease {Token} lapsed (this process stalled past Dedup:Redis:OwnerLease, or Redis lost the key); its in-flight requests are answered 503 reservation lost and a new owner identity is announced")]
    private partial void LogLeaseLost(string token);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedup owner lease could not be refreshed in Redis; if Redis stays unreachable past the lease, other instances may take over this process's reservations")]
    private partial void LogRefreshFailed(Exception ex);

    /// <summary>One owner identity: the token its reservations carry and how long its liveness key is known to live.</summary>
    internal sealed class Holder : ReservationHolder
    {
        private readonly RedisOwnerLease _lease;
        private long _validUntil;
        private int _lost;

        public Holder(RedisOwnerLease lease, string token)
        {
            _lease = lease;
            Token = token;
            OwnerKey = lease._ownerKeyPrefix + token;
        }

        public RedisValue Token { get; }

        public RedisKey OwnerKey { get; }

        public bool IsLost => Volatile.Read(ref _lost) != 0;

        public override ValueTask ConfirmAsync(CancellationToken cancellationToken) => _lease.ConfirmAsync(this, cancellationToken);

        /// <summary>True while the liveness key is known to live for at least <paramref name="margin"/> more.</summary>
        public bool IsFresh(long now, long margin) => !IsLost && now < Volatile.Read(ref _validUntil) - margin;

        public void Extend(long validUntil)
        {
            var known = Volatile.Read(ref _validUntil);
            while (validUntil > known)
            {
                var seen = Interlocked.CompareExchange(ref _validUntil, validUntil, known);
                if (seen == known)
                {
                    return;
                }

                known = seen;
            }
        }

        /// <summary>Returns true for the first caller only.</summary>
        public bool MarkLost() => Interlocked.Exchange(ref _lost, 1) == 0;
    }
}
