using Platform.Perf.LoadGen.Engine;
using Platform.Perf.LoadGen.Reporting;
using Platform.Perf.LoadGen.Verification;

namespace Platform.Perf.LoadGen.Flood;

/// <summary><c>LoadGen flood</c>: the noisy-neighbour scenario from the command line (perf/README.md, "Noisy neighbours").</summary>
internal static class FloodCommand
{
    private const string Usage = """
        usage: LoadGen flood --target URL --flood-tenant T --flood-token-file FILE --quiet-tenants a,b,c --quiet-token-dir DIR
                             [--flood-concurrency 32] [--flood-events 1000] [--flood-groups 100] [--flood-no-retry | --flood-no-wait] [--flood-limit EVENTS_PER_S --flood-burst N]
                             [--quiet-rate 4] [--quiet-events 100] [--quiet-concurrency 64] [--baseline 20] [--duration 20] [--lead 3]
                             [--max-p99-ratio R] [--out DIR]
                             [--verify-clickhouse URL [--verify-database platform] [--verify-raw-table DB.TABLE]
                              [--ingest-metrics URL [--drain-timeout 300]]]
        The quiet tenants send alone for --baseline seconds (open model, --quiet-rate requests/s each), then again for --duration
        seconds while the flooding tenant (closed model, --flood-concurrency senders of --flood-events events) floods, starting
        --lead seconds earlier. Quiet tenant Q's token is read from DIR/token-Q. The flood resends a refused batch after its
        Retry-After; --flood-no-wait resends it at once (a runaway retry loop); --flood-no-retry drops it and sends the next. Writes flood.md, flood.json and each run's reports under DIR/runs/.
        Exit 1 when a quiet tenant was refused, the flood got past --flood-limit or a refusal without Retry-After, a storage
        check failed, or the quiet p99 ratio exceeded --max-p99-ratio.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        FloodSettings settings;
        VerifySettings? verify = null;
        Dictionary<string, string> options;
        try
        {
            options = CommandLine.Parse(args, "flood-no-retry", "flood-no-wait");
            if (options.ContainsKey("help"))
            {
                Console.WriteLine(Usage);
                return 0;
            }

            var tokenDir = Required(options, "quiet-token-dir");
            settings = new FloodSettings
            {
                Target = new Uri(Required(options, "target")),
                FloodTenant = Required(options, "flood-tenant"),
                FloodToken = File.ReadAllText(Required(options, "flood-token-file")).Trim(),
                FloodConcurrency = (int)(CommandLine.Number(options, "flood-concurrency") ?? 32),
                FloodEvents = (int)(CommandLine.Number(options, "flood-events") ?? 1_000),
                FloodGroups = (int)(CommandLine.Number(options, "flood-groups") ?? 100),
                FloodRetry = !options.ContainsKey("flood-no-retry"),
                FloodWaits = !options.ContainsKey("flood-no-wait"),
                FloodEventsPerSecond = CommandLine.Number(options, "flood-limit"),
                FloodBurst = CommandLine.Number(options, "flood-burst"),
                Quiet = [.. Required(options, "quiet-tenants").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(t => new QuietTenant(t, File.ReadAllText(Path.Combine(tokenDir, "token-" + t)).Trim()))],
                QuietRate = CommandLine.Number(options, "quiet-rate") ?? 4,
                QuietEvents = (int)(CommandLine.Number(options, "quiet-events") ?? 100),
                QuietConcurrency = (int)(CommandLine.Number(options, "quiet-concurrency") ?? 64),
                Baseline = TimeSpan.FromSeconds(CommandLine.Number(options, "baseline") ?? 20),
                Duration = TimeSpan.FromSeconds(CommandLine.Number(options, "duration") ?? 20),
                Lead = TimeSpan.FromSeconds(CommandLine.Number(options, "lead") ?? 3),
            };
            settings.Validate();
            settings.FloodSettingsOf().Validate();
            if (options.TryGetValue("verify-clickhouse", out var clickHouse))
            {
                verify = new VerifySettings
                {
                    ClickHouse = new Uri(clickHouse),
                    Database = options.GetValueOrDefault("verify-database", "platform"),
                    RawEventsTable = options.GetValueOrDefault("verify-raw-table"),
                    IngestMetrics = options.TryGetValue("ingest-metrics", out var metrics) ? new Uri(metrics) : null,
                };
                verify.Validate();
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException or IOException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        using var verifier = verify is null ? null : new StorageVerifier(verify);
        await using var logWatch = verify?.IngestMetrics is not null ? await IngestLogWatch.StartAsync(verifier!.ScrapeAsync, CancellationToken.None) : null;
        var outcome = await FloodScenario.RunAsync(settings);
        try
        {
            var ingest = logWatch is null
                ? null
                : await logWatch.FinishAsync(TimeSpan.FromSeconds(CommandLine.Number(options, "drain-timeout") ?? 300), CancellationToken.None);
            var verifications = new Dictionary<TenantRun, StorageVerification>();
            if (verifier is not null)
            {
                foreach (var run in outcome.All)
                {
                    verifications[run] = await verifier.VerifyAsync(run.Result, run.Engine.Events, before: null, CancellationToken.None);
                }
            }

            var report = new FloodReport(outcome, verifications, ingest, CommandLine.Number(options, "max-p99-ratio"));
            var output = options.GetValueOrDefault("out") ?? Path.Combine("perf-results", $"flood-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
            Directory.CreateDirectory(output);
            File.WriteAllText(Path.Combine(output, "flood.md"), report.Markdown());
            File.WriteAllText(Path.Combine(output, "flood.json"), report.Json());
            foreach (var run in outcome.All)
            {
                var result = verifications.TryGetValue(run, out var verification) ? run.Result with { Verification = verification } : run.Result;
                var directory = Path.Combine(output, "runs", $"{run.Phase}-{run.Tenant}");
                Reports.Write(result, directory, []);
                if (result.Settings.Retry)
                {
                    RetryReport.Write(run.Engine.Deliveries, result, directory);
                }
            }

            Console.WriteLine(report.Markdown());
            Console.WriteLine($"wrote {output}/flood.md");
            return report.Failures.Count == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var run in outcome.All)
            {
                run.Engine.Dispose();
            }
        }
    }

    private static string Required(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) && value.Length > 0 ? value : throw new ArgumentException($"--{name} is required");
}
