using Microsoft.Extensions.Options;
using Platform.Ingest.Ingestion;
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
        app.MapPost("/api/group", IngestAsync)
            .RequireAuthorization(PlatformPolicies.Ingest)
            .WithName("IngestGroupEvents")
            .WithSummary("Associate users with groups and record group traits")
            .WithTags("Group API");
        return app;
    }

    private static async Task IngestAsync(HttpContext context, IngestPipeline pipeline, IOptions<GroupApiOptions> options, TimeProvider time, IngestTelemetry telemetry)
    {
        var tenant = context.User.GetTenant()!;
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

        var result = await pipeline.IngestAsync(body, tenant, receivedAt, ack, context.RequestAborted);
        await WriteAsync(context, result);
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
        IngestResult.Abandoned => Task.CompletedTask,
        _ => throw new InvalidOperationException($"Unmapped ingest result {result.GetType().Name}"),
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
