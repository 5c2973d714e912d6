using Microsoft.Extensions.Options;
using Platform.Ingest.Ingestion;
using Platform.Ingest.Limits;
using Platform.Ingest.OpenApi;
using Platform.Ingest.Telemetry;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.GroupApi;

/// <summary><c>POST /api/group</c>: read the body under its cap, run the ingest pipeline, answer in the contract's shape.</summary>
internal static class GroupApiEndpoints
{
    public static IHostApplicationBuilder AddGroupApi(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<GroupApiOptions, GroupApiOptionsValidator>(GroupApiOptions.Section);
        builder.Services.AddSingleton<GroupEventParser>();
        builder.Services.AddSingleton<IngestPipeline>();
        return builder;
    }

    public static IEndpointRouteBuilder MapGroupApi(this IEndpointRouteBuilder app)
    {
        // The handler writes its answers itself (a pooled body read and source-generated JSON straight to the response,
        // no result objects on the hot path), so what it accepts and answers is declared here for the OpenAPI document.
        app.MapPost("/api/group", IngestAsync)
            .RequireAuthorization(PlatformPolicies.Ingest)
            .WithName("IngestGroupEvents")
            .WithSummary("Associate users with groups and record group traits")
            .WithDescription("The body is a JSON array of events; a single object is taken as a batch of one. A request is atomic: "
                + "any invalid event makes it a 400 and nothing is stored. Bodies may be gzip-compressed (Content-Encoding: gzip); "
                + "the size cap (GroupApi:MaxBodyBytes) applies to the decompressed body.")
            .WithTags("Group API")
            .DescribesBody(typeof(GroupEventDocument[]))
            .Produces<ApiResponse>(StatusCodes.Status200OK, ContractResponses.ContentType)
            .Describes(StatusCodes.Status200OK, "Every event is stored, or was already stored: accepted counts the events this request added, duplicates the rest")
            .Answers(StatusCodes.Status400BadRequest, "Invalid input or a limit exceeded; nothing is stored; errors lists every problem (index absent for problems with the whole body)")
            .Answers(StatusCodes.Status429TooManyRequests, ThrottledAnswer, retryAfter: true)
            .Answers(StatusCodes.Status503ServiceUnavailable, "Nothing is stored (another request is storing one of the events, the dedup store does not answer, "
                + "the write queue or log is full, or storage failed), or the events are durable but not yet queryable (Prefer: ack=queryable); "
                + "the message says which; a retry after Retry-After is answered as duplicates for what was stored", retryAfter: true)
            .WithHeaderParameter("Prefer", "ack=durable (a 200 once the events are in the write-ahead log) or ack=queryable (once queries see them); "
                + "answered with Preference-Applied. Default: Writer:Ack", "ack=queryable")
            .WithHeaderParameter("Content-Encoding", "gzip for a compressed body", "gzip")
            .WithRequestExample(Example);
        return app;
    }

    /// <summary>What a 429 of an ingestion endpoint means, for the OpenAPI document.</summary>
    internal const string ThrottledAnswer = "The tenant is sending too much; nothing is stored: over its request rate (gateway), over its events per "
        + "second (ingest, section EventLimits), or holding more than its fair share of a congested write path (ingest); retry after Retry-After";

    /// <summary>The document's example (the README's first call); the OpenAPI test posts it to the real service.</summary>
    internal const string Example = """
        [
          {
            "group_id": "acme-inc",
            "user_id": "user-1",
            "timestamp": "2024-05-01T12:00:00Z",
            "traits": { "group_type": "Account", "name": "Acme", "planName": "Basic", "enrichment_employees": 120 },
            "context": { "ip": "203.0.113.7" },
            "message_id": "0b9f7c2e-1d2a-4f53-9a51-0c7c43c8b0a1"
          }
        ]
        """;

    private static async Task IngestAsync(
        HttpContext context, IngestPipeline pipeline, EventRateLimiter limiter, IOptions<GroupApiOptions> options, TimeProvider time, IngestTelemetry telemetry)
    {
        var tenant = context.User.GetTenant()!;
        if (!limiter.TryEnter(tenant, out var admission, out var wait))
        {
            await RefuseAtTheDoorAsync(context, telemetry, tenant, wait);
            return;
        }

        using var _ = admission;
        var receivedAt = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        var (problem, body) = await RequestBody.ReadAsync(context, options.Value.MaxBodyBytes);
        if (problem is not null)
        {
            body.Dispose();
            telemetry.Rejected(tenant, RejectReason.Invalid, 0);
            await ContractResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "Bad Request: the request body " + problem,
                [new ApiError(null, "body", problem)]);
            return;
        }

        var ack = AckPreference.Read(context.Request.Headers);
        if (ack is not null)
        {
            context.Response.Headers["Preference-Applied"] = AckPreference.Format(ack.Value);
        }

        var result = await pipeline.IngestAsync(body, tenant, receivedAt, ack, context.RequestAborted, admission);
        await WriteAsync(context, result);
    }

    /// <summary>
    /// The tenant's events-per-second bucket is empty: 429 before the body is read or parsed, so a flood over its limit
    /// costs this process next to nothing. Nothing is stored or reserved.
    /// </summary>
    internal static Task RefuseAtTheDoorAsync(HttpContext context, IngestTelemetry telemetry, string tenant, TimeSpan retryAfter)
    {
        telemetry.Rejected(tenant, RejectReason.RateLimited, 0);
        return WriteThrottledAsync(context, ThrottleReason.EventRate, tenant, retryAfter);
    }

    /// <summary>A 429 that says which limit it is (<see cref="ThrottleReasons.Header"/>: the gateway holds on "events").</summary>
    private static Task WriteThrottledAsync(HttpContext context, ThrottleReason reason, string? tenant, TimeSpan retryAfter)
    {
        context.Response.Headers[ThrottleReasons.Header] = reason == ThrottleReason.FairShare ? ThrottleReasons.FairShare : ThrottleReasons.Events;
        return ContractResponses.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, ThrottledMessage(reason, tenant), retryAfter: retryAfter);
    }

    /// <summary>The contract's answer for each pipeline result.</summary>
    internal static Task WriteAsync(HttpContext context, IngestResult result) => result switch
    {
        IngestResult.Stored stored => ContractResponses.WriteAsync(context, StatusCodes.Status200OK, new ApiResponse
        {
            Success = true,
            ResponseId = context.GetResponseId(),
            Message = "Group(s) updated successfully",
            Accepted = stored.Accepted,
            Duplicates = stored.Duplicates,
        }),
        IngestResult.Invalid invalid => ContractResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, invalid.Message, invalid.Errors),
        IngestResult.Unavailable unavailable => ContractResponses.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable,
            UnavailableMessage(unavailable.Reason), retryAfter: unavailable.RetryAfter),
        IngestResult.Throttled throttled => WriteThrottledAsync(context, throttled.Reason, context.User.GetTenant(), throttled.RetryAfter),
        IngestResult.Abandoned => Task.CompletedTask,
        _ => throw new InvalidOperationException($"Unmapped ingest result {result.GetType().Name}"),
    };

    private static string ThrottledMessage(ThrottleReason reason, string? tenant) => reason switch
    {
        ThrottleReason.FairShare =>
            $"Too Many Requests: ingest is congested and tenant '{tenant}' holds more than its fair share of what waits to be stored; nothing was stored, retry after the delay given in Retry-After",
        _ => ThrottleReasons.OverEventLimit(tenant),
    };

    private static string UnavailableMessage(UnavailableReason reason) => reason switch
    {
        UnavailableReason.EventInFlight =>
            "Service Unavailable: another request holding an event of this batch is still being stored; nothing was stored, retry after the delay given in Retry-After",
        UnavailableReason.DedupUnreachable =>
            "Service Unavailable: the dedup store does not answer and nothing was stored; retry after the delay given in Retry-After",
        UnavailableReason.QueueFull =>
            "Service Unavailable: the write queue is full and nothing was stored; retry after the delay given in Retry-After",
        UnavailableReason.LogFull =>
            "Service Unavailable: storage is behind and the write-ahead log is full; nothing was stored, retry after the delay given in Retry-After",
        UnavailableReason.ReservationLost =>
            "Service Unavailable: this ingest instance stalled and lost its claim on an event of this batch, which another request may be storing; retry after the delay given in Retry-After and events already stored are answered as duplicates",
        UnavailableReason.NotYetQueryable =>
            "Service Unavailable: the events are stored durably but not yet queryable; retry after the delay given in Retry-After and they are answered as duplicates",
        _ => "Service Unavailable: storage did not confirm the write and nothing was stored; retry after the delay given in Retry-After",
    };
}
