using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Platform.Perf.LoadGen.Bodies;

namespace Platform.Perf.LoadGen.Engine;

/// <summary>
/// Sends Group API requests to a loopback service in the open or the closed model and records every outcome.
/// In the open model each request has an intended send time fixed by the arrival rate; its latency counts from then,
/// so a stalled service (or a stalled generator) shows up as latency instead of as fewer requests sent.
/// </summary>
internal sealed class LoadEngine : IDisposable
{
    private readonly LoadSettings _settings;
    private readonly GroupEvents _events;
    private readonly QueryReads? _reads;
    private readonly string _insertPath;
    private readonly HttpClient _http;
    private readonly LoadRecorder _recorder = new();
    private readonly DeliveryLog _deliveries = new();
    private long _start;
    private long _nextEvent;
    private long _retriedEventsAcked;
    private long _refusalsWithoutRetryAfter;
    private long _iterations;
    private int _inFlight;

    public LoadEngine(LoadSettings settings)
    {
        settings.Validate();
        _settings = settings;
        _events = new GroupEvents(settings.RunId, settings.Groups);
        _reads = settings.Workload == Workload.Reads ? new QueryReads(_events, settings.SeededEvents) : null;
        _insertPath = "/?query=" + Uri.EscapeDataString($"INSERT INTO {settings.ClickHouseTable} FORMAT JSONEachRow");
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = settings.Concurrency,
            UseProxy = false,
            ActivityHeadersPropagator = null,
        })
        {
            BaseAddress = settings.Target,
            Timeout = settings.RequestTimeout,
        };
        if (settings.Token is { } token)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public LoadRecorder Progress => _recorder;

    /// <summary>The run's event bodies: verification derives the trait rows of the acked events from them.</summary>
    internal GroupEvents Events => _events;

    /// <summary>With <see cref="LoadSettings.Retry"/>: every attempt and every batch's delivery.</summary>
    internal DeliveryLog Deliveries => _deliveries;

    public int InFlight => Volatile.Read(ref _inFlight);

    public TimeSpan Elapsed => _start == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_start);

    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken = default)
    {
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        _start = Stopwatch.GetTimestamp();
        if (_settings.Model == LoadModel.Open)
        {
            await RunOpenAsync(cancellationToken);
        }
        else
        {
            await RunClosedAsync(cancellationToken);
        }

        var elapsed = Stopwatch.GetElapsedTime(_start);
        process.Refresh();
        return _recorder.ToResult(_settings, elapsed, Interlocked.Read(ref _nextEvent)) with
        {
            LoadGenCpu = process.TotalProcessorTime - cpuBefore,
            RetriedEventsAcked = Interlocked.Read(ref _retriedEventsAcked),
            RefusalsWithoutRetryAfter = Interlocked.Read(ref _refusalsWithoutRetryAfter),
            LoadGenPeakRssBytes = process.PeakWorkingSet64,
        };
    }

    public void Dispose() => _http.Dispose();

    private async Task RunOpenAsync(CancellationToken cancellationToken)
    {
        var duration = _settings.Duration?.TotalSeconds ?? double.MaxValue;
        var requests = _settings.Requests ?? long.MaxValue;
        var intended = 0.0;
        while (!cancellationToken.IsCancellationRequested && intended < duration && _iterations < requests)
        {
            // Sleep until the next send is due, never spin: the load generator shares the services' cores here, and
            // spinning out the timers' millisecond of slack cost a tenth of a core at 123 requests/s. Latency is
            // measured from the intended time, so a timer firing late is charged to the answer (about a millisecond),
            // and a send up to half a millisecond early is not waited for.
            var wait = intended - Stopwatch.GetElapsedTime(_start).TotalSeconds;
            if (wait > 0.0005)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait), CancellationToken.None);
                continue;
            }

            _iterations++;
            var intendedTimestamp = _start + (long)(intended * Stopwatch.Frequency);
            if (Interlocked.Increment(ref _inFlight) > _settings.Concurrency)
            {
                Interlocked.Decrement(ref _inFlight);
                _recorder.RecordDropped((int)intended);
            }
            else
            {
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await SendAsync(intendedTimestamp);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _inFlight);
                    }
                }, CancellationToken.None);
            }

            intended += 1 / _settings.RateAt(intended);
        }

        while (Volatile.Read(ref _inFlight) > 0)
        {
            await Task.Delay(5, CancellationToken.None);
        }
    }

    private async Task RunClosedAsync(CancellationToken cancellationToken)
    {
        var duration = _settings.Duration ?? TimeSpan.MaxValue;
        var requests = _settings.Requests ?? long.MaxValue;
        var senders = Enumerable.Range(0, _settings.Concurrency).Select(_ => Task.Run(async () =>
        {
            while (!cancellationToken.IsCancellationRequested && Stopwatch.GetElapsedTime(_start) < duration
                && Interlocked.Increment(ref _iterations) <= requests)
            {
                Interlocked.Increment(ref _inFlight);
                try
                {
                    await SendAsync(Stopwatch.GetTimestamp());
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            }
        }, CancellationToken.None));
        await Task.WhenAll(senders);
    }

    private async Task SendAsync(long intendedTimestamp)
    {
        var events = _settings.Workload == Workload.Reads ? [] : PickEvents();
        if (_settings.Retry)
        {
            await DeliverAsync(intendedTimestamp, events);
            return;
        }

        var rows = 0;
        string? endpoint = null;
        using var request = new HttpRequestMessage();
        switch (_settings.Workload)
        {
            case Workload.Reads:
                var read = _reads!.Next();
                request.Method = HttpMethod.Get;
                request.RequestUri = new Uri(read.PathAndQuery, UriKind.Relative);
                endpoint = read.Endpoint;
                break;
            case Workload.ClickHouseInsert:
                var rowBody = new ArrayBufferWriter<byte>(events.Length * 2_500);
                rows = _events.WriteTraitRows(rowBody, events, _settings.Tenant!);
                request.Method = HttpMethod.Post;
                request.RequestUri = new Uri(_insertPath, UriKind.Relative);
                request.Content = new ReadOnlyMemoryContent(rowBody.WrittenMemory);
                break;
            default:
                var body = new ArrayBufferWriter<byte>(events.Length * 700);
                _events.WriteBody(body, events);
                request.Method = HttpMethod.Post;
                request.RequestUri = new Uri(_settings.Path, UriKind.Relative);
                request.Content = new ReadOnlyMemoryContent(body.WrittenMemory);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                break;
        }

        var sent = Stopwatch.GetTimestamp();
        int status;
        int accepted = 0, duplicates = 0;
        string? error = null;
        try
        {
            using var response = await _http.SendAsync(request);
            status = (int)response.StatusCode;
            var answer = await response.Content.ReadAsByteArrayAsync();
            if (status != 200)
            {
                error = $"{status}: {System.Text.Encoding.UTF8.GetString(answer.AsSpan(0, Math.Min(answer.Length, 300)))}";
                if (status is 429 or 503 && response.Headers.RetryAfter is null)
                {
                    Interlocked.Increment(ref _refusalsWithoutRetryAfter);
                }
            }
            else if (_settings.Workload == Workload.GroupApi)
            {
                (accepted, duplicates) = ReadCounts(answer);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            status = 0;
            error = $"no answer: {e.GetType().Name}: {e.Message}";
        }

        var done = Stopwatch.GetTimestamp();
        _recorder.Record(
            (int)Stopwatch.GetElapsedTime(_start, done).TotalSeconds,
            new RequestOutcome(
                status,
                (long)Stopwatch.GetElapsedTime(intendedTimestamp, done).TotalMicroseconds,
                (long)Stopwatch.GetElapsedTime(sent, done).TotalMicroseconds,
                events,
                accepted,
                duplicates,
                rows,
                endpoint,
                error));
    }

    /// <summary>
    /// Sends one batch until it is answered 200 or <see cref="LoadSettings.RetryDeadline"/> has passed since its first send,
    /// the same bytes every time (ingest answers events it already holds as duplicates, so the retries store nothing twice).
    /// Waits what <c>Retry-After</c> says (at most 10 s), else backs off from 0.25 s to 4 s; without
    /// <see cref="LoadSettings.RetryWaits"/>, resends an answered refusal at once. A 4xx other than 429 is final.
    /// The recorder gets the batch's final outcome, its latency the delivery time from the intended send; each attempt goes
    /// to the delivery log.
    /// </summary>
    private async Task DeliverAsync(long intendedTimestamp, long[] events)
    {
        var body = new ArrayBufferWriter<byte>(events.Length * 700);
        _events.WriteBody(body, events);
        var firstSent = Stopwatch.GetTimestamp();
        var firstSentUnix = DeliveryLog.UnixNow();
        var backoff = TimeSpan.FromSeconds(0.25);
        var attempts = 0;
        int status;
        int accepted = 0, duplicates = 0;
        string? error;
        while (true)
        {
            attempts++;
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_settings.Path, UriKind.Relative))
            {
                Content = new ReadOnlyMemoryContent(body.WrittenMemory),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            TimeSpan? retryAfter = null;
            error = null;
            try
            {
                using var response = await _http.SendAsync(request);
                status = (int)response.StatusCode;
                var answer = await response.Content.ReadAsByteArrayAsync();
                if (status == 200)
                {
                    (accepted, duplicates) = ReadCounts(answer);
                }
                else
                {
                    retryAfter = response.Headers.RetryAfter?.Delta
                        ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
                    var text = System.Text.Encoding.UTF8.GetString(answer.AsSpan(0, Math.Min(answer.Length, 300)));
                    error = $"{status}{(retryAfter is null ? " (no Retry-After)" : "")}: {(text.Length == 0 ? "(empty body)" : text)}";
                }

                _deliveries.RecordAttempt(status, DeliveryLog.InContract(status, retryAfter is not null, IsContractBody(answer)), error);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                status = 0;
                error = $"no answer: {e.GetType().Name}: {e.Message}";
                _deliveries.RecordAttempt(status, inContract: true, error);
            }

            var retriable = status is 0 or 429 or >= 500;
            var runaway = !_settings.RetryWaits && status != 0;
            if (status == 200 || !retriable || Stopwatch.GetElapsedTime(firstSent) >= _settings.RetryDeadline
                || (runaway && _settings.Duration is { } duration && Stopwatch.GetElapsedTime(_start) >= duration))
            {
                break;
            }

            if (runaway)
            {
                continue;
            }

            var wait = retryAfter is { } after ? TimeSpan.FromSeconds(Math.Clamp(after.TotalSeconds, 0.05, 10)) : backoff;
            backoff = TimeSpan.FromSeconds(Math.Min(backoff.TotalSeconds * 2, 4));
            await Task.Delay(wait, CancellationToken.None);
        }

        var done = Stopwatch.GetTimestamp();
        if (status == 200 && attempts > 1)
        {
            Interlocked.Add(ref _retriedEventsAcked, events.Length);
        }

        _deliveries.RecordDelivery(new Delivery(firstSentUnix, status == 200 ? DeliveryLog.UnixNow() : double.NaN, attempts, status));
        _recorder.Record(
            (int)Stopwatch.GetElapsedTime(_start, done).TotalSeconds,
            new RequestOutcome(
                status,
                (long)Stopwatch.GetElapsedTime(intendedTimestamp, done).TotalMicroseconds,
                (long)Stopwatch.GetElapsedTime(firstSent, done).TotalMicroseconds,
                events,
                accepted,
                duplicates,
                Error: error));
    }

    /// <summary>The contract's body on every answer: a JSON object with <c>success</c> and <c>response_id</c>.</summary>
    private static bool IsContractBody(byte[] answer)
    {
        try
        {
            using var document = JsonDocument.Parse(answer);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("success", out _)
                && document.RootElement.TryGetProperty("response_id", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The event numbers of the next request: fresh events, and with the duplicate ratio's probability per slot a resend of
    /// an event some earlier request carried (never the same event twice in one request).
    /// </summary>
    private long[] PickEvents()
    {
        var count = _settings.EventsPerRequest;
        var resends = 0;
        if (_settings.DuplicateRatio > 0)
        {
            for (var i = 0; i < count; i++)
            {
                if (Random.Shared.NextDouble() < _settings.DuplicateRatio)
                {
                    resends++;
                }
            }
        }

        var fresh = count - resends;
        var first = Interlocked.Add(ref _nextEvent, fresh) - fresh;
        resends = (int)Math.Min(resends, first);
        var events = new long[fresh + resends];
        for (var i = 0; i < fresh; i++)
        {
            events[i] = first + i;
        }

        for (var i = fresh; i < events.Length; i++)
        {
            long pick;
            do
            {
                pick = Random.Shared.NextInt64(first);
            }
            while (Array.IndexOf(events, pick, fresh, i - fresh) >= 0);
            events[i] = pick;
        }

        return events;
    }

    private static (int Accepted, int Duplicates) ReadCounts(byte[] answer)
    {
        int accepted = 0, duplicates = 0;
        var reader = new Utf8JsonReader(answer);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                var isAccepted = reader.ValueTextEquals("accepted"u8);
                var isDuplicates = reader.ValueTextEquals("duplicates"u8);
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number)
                {
                    if (isAccepted)
                    {
                        accepted = reader.GetInt32();
                    }
                    else if (isDuplicates)
                    {
                        duplicates = reader.GetInt32();
                    }
                }
            }
        }

        return (accepted, duplicates);
    }
}
