using System.Globalization;
using Platform.Perf.LoadGen.Engine;
using Platform.Perf.LoadGen.Reporting;
using Platform.Perf.LoadGen.Verification;
using Spectre.Console;

namespace Platform.Perf.LoadGen;

// Open- or closed-model load on a loopback service: POST /api/group, query API reads, or the ClickHouse insert baseline;
// see perf/README.md.
// Exit codes: 0 thresholds met, 1 a threshold failed, 2 bad usage.
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "flood")
        {
            return await Flood.FloodCommand.RunAsync(args[1..]);
        }

        const string Usage = """
            usage: LoadGen --target http://127.0.0.1:8081 --token TOKEN (or --token-file FILE, or PLATFORM_TOKEN)
                           [--model open|closed] [--rate 50] [--ramp-to R --ramp-seconds S] [--concurrency 64]
                           [--requests N] [--duration SECONDS] [--events 100] [--groups 5000] [--duplicates 0.0] [--out DIR]
                           [--max-error-rate F] [--min-events-per-second N] [--max-p99-ms MS] [--max-dropped N]
                           [--retry [--retry-deadline 120]] [--workload group|reads|clickhouse] [--tenant T] [--clickhouse-table DB.TABLE] [--seeded-events N]
                           [--verify-clickhouse http://127.0.0.1:8123 [--verify-database platform] [--verify-raw-table DB.TABLE]
                            [--ingest-metrics http://127.0.0.1:8081/metrics [--drain-timeout 300]] [--ingest-restarts]]
            open:   --rate requests/s (optionally ramped linearly to --ramp-to over --ramp-seconds), at most --concurrency in flight;
                    arrivals beyond the cap are dropped iterations; latency counts from each request's intended send time.
            closed: --concurrency senders, each sending again when answered (peak throughput).
            group:      POST /api/group with --events events per request (default).
            reads:      GETs on the query API (profiles, members, filtered listings, counts) of groups of events 0..--seeded-events.
            clickhouse: the baseline, ClickHouse's HTTP INSERT ... FORMAT JSONEachRow of the trait rows of the same events into
                        --clickhouse-table (shaped like ingest's group_traits), as --tenant; no token.
            --retry:    send each batch until it is answered 200 (same body; Retry-After honoured; 429, 5xx and no answer
                        retried), up to --retry-deadline seconds after its first send; writes deliveries.csv and retry.txt
                        (every attempt's status, answers outside the contract, delivery times).
            --ingest-restarts: ingest is killed and started again during the run: its counters are not compared, and raw
                        repeats (a block shipped again after the crash, collapsed by storage) are reported, not failed.
            --verify-clickhouse: after the run, check storage holds exactly the distinct events acked (a failed check exits 1);
                        settings in the URL's query string are sent with every check (on a cluster:
                        http://127.0.0.1:8123/?distributed_product_mode=global).
            --ingest-metrics: also watch ingest's write-ahead log during the run, wait (up to --drain-timeout seconds) for it to
                        drain before the checks, and report the ship lag percentiles and the log's peak (ingest-log.csv).
            A run needs --requests, --duration or both; only loopback targets are loaded.
            LoadGen flood ...: the noisy-neighbour scenario (one tenant floods while quiet tenants send steadily); LoadGen flood --help.
            """;

        Dictionary<string, string> options;
        try
        {
            options = CommandLine.Parse(args, "retry", "ingest-restarts");
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (options.ContainsKey("help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }

        LoadSettings settings;
        VerifySettings? verify = null;
        try
        {
            var token = options.GetValueOrDefault("token")
                ?? (options.TryGetValue("token-file", out var tokenFile) ? File.ReadAllText(tokenFile).Trim() : null)
                ?? Environment.GetEnvironmentVariable("PLATFORM_TOKEN");
            settings = new LoadSettings
            {
                Target = new Uri(options.GetValueOrDefault("target") ?? throw new ArgumentException("no --target")),
                Token = token,
                Model = options.GetValueOrDefault("model", "open") switch
                {
                    "open" => LoadModel.Open,
                    "closed" => LoadModel.Closed,
                    var other => throw new ArgumentException($"unknown model '{other}': open or closed"),
                },
                Rate = CommandLine.Number(options, "rate") ?? 50,
                RampTo = CommandLine.Number(options, "ramp-to"),
                RampDuration = TimeSpan.FromSeconds(CommandLine.Number(options, "ramp-seconds") ?? 0),
                Concurrency = (int)(CommandLine.Number(options, "concurrency") ?? 64),
                Requests = CommandLine.Number(options, "requests") is { } n ? (long)n : null,
                Duration = CommandLine.Number(options, "duration") is { } d ? TimeSpan.FromSeconds(d) : null,
                EventsPerRequest = (int)(CommandLine.Number(options, "events") ?? 100),
                Groups = (int)(CommandLine.Number(options, "groups") ?? 5_000),
                DuplicateRatio = CommandLine.Number(options, "duplicates") ?? 0,
                Workload = options.GetValueOrDefault("workload", "group") switch
                {
                    "group" => Workload.GroupApi,
                    "reads" => Workload.Reads,
                    "clickhouse" => Workload.ClickHouseInsert,
                    var other => throw new ArgumentException($"unknown workload '{other}': group, reads or clickhouse"),
                },
                Tenant = options.GetValueOrDefault("tenant"),
                ClickHouseTable = options.GetValueOrDefault("clickhouse-table", "bench.group_traits"),
                SeededEvents = (long)(CommandLine.Number(options, "seeded-events") ?? 10_000),
                Retry = options.TryGetValue("retry", out var retry) && retry == "true",
                RetryDeadline = TimeSpan.FromSeconds(CommandLine.Number(options, "retry-deadline") ?? 120),
            };
            settings.Validate();
            if (options.TryGetValue("verify-clickhouse", out var clickHouse))
            {
                if (settings.Tenant is null)
                {
                    throw new ArgumentException("--verify-clickhouse needs --tenant (the token's tenant)");
                }

                verify = new VerifySettings
                {
                    ClickHouse = new Uri(clickHouse),
                    Database = options.GetValueOrDefault("verify-database", "platform"),
                    RawEventsTable = options.GetValueOrDefault("verify-raw-table"),
                    IngestMetrics = options.TryGetValue("ingest-metrics", out var metrics) ? new Uri(metrics) : null,
                    IngestRestarts = options.ContainsKey("ingest-restarts"),
                };
                verify.Validate();
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException or IOException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        using var verifier = verify is null ? null : new StorageVerifier(verify);
        IngestCounters? ingestBefore = null;
        if (verifier is not null && settings.Workload == Workload.GroupApi && !verify!.IngestRestarts)
        {
            ingestBefore = await verifier.ReadIngestCountersAsync(cancel.Token);
        }

        // Ingest acks once events are in its write-ahead log and ships them behind the answer: the log is watched during
        // the run (how far it grows) and drained before storage is checked.
        await using var logWatch = verifier is not null && verify!.IngestMetrics is not null && settings.Workload == Workload.GroupApi
            ? await IngestLogWatch.StartAsync(verifier.ScrapeAsync, cancel.Token)
            : null;
        using var engine = new LoadEngine(settings);
        var run = engine.RunAsync(cancel.Token);
        if (!Console.IsOutputRedirected)
        {
            // One live line, refreshed twice a second; not drawn when the output goes to a file or a pipe.
            await AnsiConsole.Live(new Markup(string.Empty)).StartAsync(async context =>
            {
                while (!run.IsCompleted)
                {
                    var progress = engine.Progress;
                    var seconds = Math.Max(0.001, engine.Elapsed.TotalSeconds);
                    context.UpdateTarget(new Markup(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{seconds,6:F1} s  requests {progress.Completed} (ok {progress.Ok})  in flight {engine.InFlight}  dropped {progress.Dropped}  events acked {progress.EventsAcked / seconds:F0}/s"))));
                    context.Refresh();
                    await Task.WhenAny(run, Task.Delay(500));
                }
            });
        }

        var result = await run;
        if (logWatch is not null)
        {
            var drainTimeout = TimeSpan.FromSeconds(CommandLine.Number(options, "drain-timeout") ?? 300);
            result = result with { Ingest = await logWatch.FinishAsync(drainTimeout, CancellationToken.None) };
        }

        if (verifier is not null)
        {
            var verification = await verifier.VerifyAsync(result, engine.Events, ingestBefore, CancellationToken.None);
            if (result.Ingest?.LogBytesLeft is { } left)
            {
                verification = verification with
                {
                    Checks = [new VerificationCheck("ingest's log drained before the storage checks (unshipped bytes left)", 0, (long)left,
                        left > 0 ? $"gave up after {result.Ingest.DrainWaitSeconds:F0} s (--drain-timeout)" : null), .. verification.Checks],
                };
            }

            result = result with { Verification = verification };
        }

        var failures = Thresholds(result, options);
        Console.WriteLine(Reports.Markdown(result, failures));
        var output = options.GetValueOrDefault("out") ?? Path.Combine("perf-results", $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{settings.RunId}");
        foreach (var file in Reports.Write(result, output, failures))
        {
            Console.WriteLine($"wrote {file}");
        }

        if (settings.Retry)
        {
            foreach (var file in RetryReport.Write(engine.Deliveries, result, output))
            {
                Console.WriteLine($"wrote {file}");
            }
        }

        return failures.Count == 0 ? 0 : 1;

        static List<string> Thresholds(LoadResult result, Dictionary<string, string> options)
        {
            var failures = new List<string>();
            if (CommandLine.Number(options, "max-error-rate") is { } maxErrorRate && result.ErrorRate > maxErrorRate)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"error rate {result.ErrorRate:P2} above {maxErrorRate:P2}"));
            }

            if (CommandLine.Number(options, "min-events-per-second") is { } minEvents && result.EventsAckedPerSecond < minEvents)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{result.EventsAckedPerSecond:F0} events acked/s below {minEvents:F0}"));
            }

            if (CommandLine.Number(options, "max-p99-ms") is { } maxP99 && result.LatencyMs(99) > maxP99)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"p99 {result.LatencyMs(99):F2} ms above {maxP99:F2} ms"));
            }

            if (CommandLine.Number(options, "max-dropped") is { } maxDropped && result.Dropped > maxDropped)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{result.Dropped} dropped iterations, more than {maxDropped:F0}"));
            }

            foreach (var check in result.Verification?.Checks.Where(c => !c.Passed) ?? [])
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"verification: {check.Name}: expected {check.ExpectedText}, found {check.Actual}"));
            }

            return failures;
        }
    }
}
