using System.Diagnostics;
using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;
using Platform.Ingest.Events;
using Platform.Ingest.Storage;
using Platform.Ingest.Telemetry;
using Platform.Ingest.Writing;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.GroupApi;

/// <summary><c>POST /api/group</c>: validate the whole batch, drop retries, store the rest, answer once stored.</summary>
internal static partial class GroupApiEndpoints
{
    public static IHostApplicationBuilder AddGroupApi(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<GroupApiOptions>(GroupApiOptions.Section);
        builder.Services.AddSingleton<GroupEventParser>();
        return builder;
    }

    public static IEndpointRouteBuilder MapGroupApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/group", IngestAsync)
            .RequireAuthorization(PlatformPolicies.Ingest)
            .WithName("IngestGroupEvents")
            .WithSummary("Associate users with groups and record group traits")
            .WithTags("Group API");
        return app;
    }

    private static async Task IngestAsync(
        HttpContext context,
        GroupEventParser parser,
        IDedupStore dedup,
        BatchWriter writer,
        IOptions<GroupApiOptions> options,
        IOptions<WriterOptions> writerOptions,
        TimeProvider time,
        IngestTelemetry telemetry,
        ILogger<GroupEventParser> logger)
    {
        var tenant = context.User.GetTenant()!;
        var responseId = context.GetResponseId();
        var receivedAt = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        var (problem, body) = await RequestBody.ReadAsync(context, options.Value.MaxBodyBytes);
        ParseOutcome outcome;
        using (body)
        {
            if (problem is not null)
            {
                telemetry.Rejected(tenant, RejectReason.Invalid, 0);
                await ContractResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "Bad Request: the request body " + problem,
                    [new ApiError(null, "body", problem)]);
                return;
            }

            outcome = parser.Parse(body.Span, tenant);
        }

        var tags = telemetry.For(tenant);
        telemetry.EventsReceived.Add(outcome.EventCount, tags);
        if (!outcome.IsValid)
        {
            telemetry.Rejected(tenant, RejectReason.Invalid, outcome.EventCount);
            LogRejected(logger, tenant, responseId, outcome.Errors.Count);
            await ContractResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest,
                "Bad Request: no event was stored; fix the listed problems and send the batch again", outcome.Errors);
            return;
        }

        // Identical events inside one request count once; the first occurrence is the one stored.
        var events = outcome.Events;
        var unique = new List<GroupEvent>(events.Count);
        var seen = new HashSet<UInt128>(events.Count);
        foreach (var groupEvent in events)
        {
            if (seen.Add(groupEvent.Key))
            {
                unique.Add(groupEvent);
            }
        }

        var keys = new UInt128[unique.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = unique[i].Key;
        }

        var isNew = new bool[keys.Length];
        var retryAfter = writerOptions.Value.RetryAfter;
        var reserveStarted = Stopwatch.GetTimestamp();
        try
        {
            using var span = IngestTelemetry.Source.StartActivity("dedup.reserve");
            span?.SetTag("platform.events", keys.Length);
            await dedup.ReserveAsync(tenant, keys, isNew, context.RequestAborted);
            telemetry.DedupDuration.Record(Stopwatch.GetElapsedTime(reserveStarted).TotalSeconds, tags);
        }
        catch (DedupUnavailableException ex)
        {
            telemetry.DedupErrors.Add(1, tags);
            telemetry.Rejected(tenant, RejectReason.DedupUnavailable, events.Count);
            await ReleaseReservedAsync(dedup, tenant, keys, isNew);
            LogUnavailable(logger, ex, tenant, responseId, "dedup");
            await ContractResponses.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable,
                "Service Unavailable: nothing was stored; retry after the delay given in Retry-After", retryAfter: retryAfter);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            await ReleaseReservedAsync(dedup, tenant, keys, isNew);
            return;
        }

        var fresh = new List<GroupEvent>(unique.Count);
        var reserved = new List<UInt128>(unique.Count);
        for (var i = 0; i < unique.Count; i++)
        {
            if (isNew[i])
            {
                fresh.Add(unique[i]);
                reserved.Add(keys[i]);
            }
        }

        if (fresh.Count > 0)
        {
            try
            {
                await writer.WriteAsync(new IngestBatch { Tenant = tenant, Events = fresh, ReceivedAtMicros = receivedAt }, [.. reserved]);
            }
            catch (Exception ex) when (ex is WriteQueueFullException or StorageUnavailableException)
            {
                telemetry.Rejected(tenant, ex is WriteQueueFullException ? RejectReason.QueueFull : RejectReason.StorageUnavailable, events.Count);
                LogUnavailable(logger, ex, tenant, responseId, ex is WriteQueueFullException ? "queue" : "storage");
                await ContractResponses.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable,
                    ex is WriteQueueFullException
                        ? "Service Unavailable: the write queue is full and nothing was stored; retry after the delay given in Retry-After"
                        : "Service Unavailable: storage did not confirm the write and nothing was stored; retry after the delay given in Retry-After",
                    retryAfter: retryAfter);
                return;
            }
        }

        telemetry.EventsAccepted.Add(fresh.Count, tags);
        telemetry.EventsDeduplicated.Add(events.Count - fresh.Count, tags);
        await ContractResponses.WriteAsync(context, StatusCodes.Status200OK, new ApiResponse
        {
            Success = true,
            ResponseId = responseId,
            Message = "Group(s) updated successfully",
            Accepted = fresh.Count,
            Duplicates = events.Count - fresh.Count,
        });
    }

    private static async Task ReleaseReservedAsync(IDedupStore dedup, string tenant, UInt128[] keys, bool[] reserved)
    {
        var held = new List<UInt128>();
        for (var i = 0; i < keys.Length; i++)
        {
            if (reserved[i])
            {
                held.Add(keys[i]);
            }
        }

        if (held.Count > 0)
        {
            await dedup.ReleaseAsync(tenant, held.ToArray(), CancellationToken.None);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected a batch for tenant {Tenant} ({ResponseId}): {Problems} problems")]
    private static partial void LogRejected(ILogger logger, string tenant, string responseId, int problems);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 503 to tenant {Tenant} ({ResponseId}): {Cause} unavailable")]
    private static partial void LogUnavailable(ILogger logger, Exception ex, string tenant, string responseId, string cause);
}
