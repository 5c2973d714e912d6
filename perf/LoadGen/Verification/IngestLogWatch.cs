using System.Diagnostics;

namespace Platform.Perf.LoadGen.Verification;

/// <summary>One look at ingest's write-ahead log: when (Unix seconds, and seconds since the watch began) and how much was unshipped.</summary>
internal sealed record LogSample(double UnixSeconds, double Seconds, double Bytes, double Records, double OldestUnshippedAgeSeconds);

/// <summary>
/// What ingest's metrics said about one run: the freshness lag of its events (the ship lag histogram between a scrape
/// before the run and one after the log drained), how far its write-ahead log grew, and how long the drain after the
/// run took. Log figures are null for an ingest without the log.
/// </summary>
internal sealed record IngestObservation
{
    public double ShipLagCount { get; init; }

    public double? ShipLagP50Seconds { get; init; }

    public double? ShipLagP95Seconds { get; init; }

    public double? ShipLagP99Seconds { get; init; }

    public double? PeakLogBytes { get; init; }

    public double? PeakLogRecords { get; init; }

    public double? PeakOldestUnshippedAgeSeconds { get; init; }

    public double? LogMaxBytes { get; init; }

    /// <summary>Seconds from the end of the load until the log held nothing unshipped (or the wait gave up).</summary>
    public double? DrainWaitSeconds { get; init; }

    /// <summary>Unshipped bytes left when the wait ended: 0 when the log drained.</summary>
    public double? LogBytesLeft { get; init; }

    public double StorageErrors { get; init; }

    public IReadOnlyList<LogSample> Samples { get; init; } = [];
}

/// <summary>
/// Scrapes ingest's metrics every half second while a run goes on (the log's growth, e.g. while storage is down), then
/// waits for the log to drain, so the storage checks count what the shipper has loaded rather than what it has yet to.
/// </summary>
internal sealed class IngestLogWatch : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private readonly Func<CancellationToken, Task<IngestMetrics?>> _scrape;
    private readonly IngestMetrics? _before;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<LogSample> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;

    private IngestLogWatch(Func<CancellationToken, Task<IngestMetrics?>> scrape, IngestMetrics? before)
    {
        _scrape = scrape;
        _before = before;
        _sampling = SampleUntilStoppedAsync(_stop.Token);
    }

    public static async Task<IngestLogWatch> StartAsync(Func<CancellationToken, Task<IngestMetrics?>> scrape, CancellationToken cancellationToken)
    {
        var before = await scrape(cancellationToken);
        return new IngestLogWatch(scrape, before);
    }

    /// <summary>Stops sampling, waits up to <paramref name="timeout"/> for the log to hold nothing unshipped, and sums up.</summary>
    public async Task<IngestObservation> FinishAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await StopSamplingAsync();
        var drainStarted = _clock.Elapsed;
        var last = await SampleAsync(cancellationToken);
        while (last?.LogBytes is > 0 && _clock.Elapsed - drainStarted < timeout)
        {
            await Task.Delay(Interval / 2, cancellationToken);
            last = await SampleAsync(cancellationToken);
        }

        var drainWait = (_clock.Elapsed - drainStarted).TotalSeconds;
        var after = await SampleAsync(cancellationToken);
        var hasLog = after?.LogBytes is not null;
        var lag = after?.ShipLag;
        return new IngestObservation
        {
            ShipLagCount = lag is null ? 0 : IngestMetrics.Count(_before?.ShipLag, lag),
            ShipLagP50Seconds = lag is null ? null : IngestMetrics.Quantile(_before?.ShipLag, lag, 0.50),
            ShipLagP95Seconds = lag is null ? null : IngestMetrics.Quantile(_before?.ShipLag, lag, 0.95),
            ShipLagP99Seconds = lag is null ? null : IngestMetrics.Quantile(_before?.ShipLag, lag, 0.99),
            PeakLogBytes = hasLog ? _samples.Select(s => s.Bytes).DefaultIfEmpty(0).Max() : null,
            PeakLogRecords = hasLog ? _samples.Select(s => s.Records).DefaultIfEmpty(0).Max() : null,
            PeakOldestUnshippedAgeSeconds = hasLog ? _samples.Select(s => s.OldestUnshippedAgeSeconds).DefaultIfEmpty(0).Max() : null,
            LogMaxBytes = after?.LogMaxBytes,
            DrainWaitSeconds = hasLog ? drainWait : null,
            LogBytesLeft = after?.LogBytes,
            StorageErrors = (after?.StorageErrors ?? 0) - (_before?.StorageErrors ?? 0),
            Samples = [.. _samples],
        };
    }

    public async ValueTask DisposeAsync()
    {
        await StopSamplingAsync();
        _stop.Dispose();
    }

    private async Task StopSamplingAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        try
        {
            await _sampling;
        }
        catch (OperationCanceledException)
        {
            // Stopped between two samples.
        }
    }

    private async Task SampleUntilStoppedAsync(CancellationToken stop)
    {
        await Task.Yield();
        while (!stop.IsCancellationRequested)
        {
            await SampleAsync(stop);
            await Task.Delay(Interval, stop);
        }
    }

    private async Task<IngestMetrics?> SampleAsync(CancellationToken cancellationToken)
    {
        IngestMetrics? metrics;
        try
        {
            metrics = await _scrape(cancellationToken);
        }
        catch (HttpRequestException)
        {
            // A missed scrape (ingest busy) is a gap in the samples, not a failed run.
            return null;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        if (metrics?.LogBytes is { } bytes)
        {
            _samples.Add(new LogSample(
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, _clock.Elapsed.TotalSeconds, bytes,
                metrics.LogRecords ?? 0, metrics.OldestUnshippedAgeSeconds ?? 0));
        }

        return metrics;
    }
}
