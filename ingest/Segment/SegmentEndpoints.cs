using Microsoft.Extensions.Options;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Ingestion;
using Platform.Ingest.Limits;
using Platform.Ingest.OpenApi;
using Platform.Ingest.Telemetry;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;
using Platform.ServiceDefaults.Hosting;
using Platform.ServiceDefaults.Segment;

namespace Platform.Ingest.Segment;

/// <summary>
/// The Segment-compatible endpoints, so Segment-spec SDKs send group calls unchanged: <c>POST /v1/batch</c> and
/// <c>POST /v1/group</c> run the same ingest pipeline as <c>/api/group</c>; the single-call endpoints of other types
/// are acknowledged. Status codes follow what the SDKs do with them: 200 for everything stored or deliberately
/// skipped (invalid calls are listed, not retried), 400 only for a request that can never succeed, 401/403 for the
/// credential, 429/503 with Retry-After for what a retry fixes.
/// </summary>
internal static class SegmentEndpoints
{
    public static IHostApplicationBuilder AddSegmentApi(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<SegmentOptions, SegmentOptionsValidator>(SegmentOptions.Section);
        builder.Services.AddSingleton<SegmentParser>();
        return builder;
    }

    public static IEndpointRouteBuilder MapSegmentApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("").RequireAuthorization(PlatformPolicies.IngestWithWriteKey).WithTags("Segment-compatible API");
        v1.MapPost(SegmentRoutes.Batch, static (HttpContext context, SegmentParser parser, IngestPipeline pipeline, EventRateLimiter limiter, IOptions<GroupApiOptions> options, TimeProvider time, IngestTelemetry telemetry) =>
                IngestAsync(context, parser, pipeline, limiter, options.Value, time, telemetry, isBatch: true))
            .WithName("SegmentBatch")
            .WithSummary("Store the group calls of a Segment-spec batch; other calls are acknowledged and skipped")
            .DescribesBody(typeof(SegmentBatchDocument))
            .WithRequestExample(BatchExample)
            .DocumentAnswers();
        v1.MapPost(SegmentRoutes.Group, static (HttpContext context, SegmentParser parser, IngestPipeline pipeline, EventRateLimiter limiter, IOptions<GroupApiOptions> options, TimeProvider time, IngestTelemetry telemetry) =>
                IngestAsync(context, parser, pipeline, limiter, options.Value, time, telemetry, isBatch: false))
            .WithName("SegmentGroup")
            .WithSummary("Store one Segment-spec group call")
            .DescribesBody(typeof(SegmentCallDocument))
            .WithRequestExample(GroupExample)
            .DocumentAnswers();
        v1.MapPost(SegmentRoutes.OtherCall, static (string type, HttpContext context, IngestTelemetry telemetry) =>
                Skipped(type, context, telemetry))
            .WithName("SegmentOtherCall")
            .WithSummary("Acknowledge a call of another type without storing it")
            .DescribesBody(typeof(SegmentCallDocument))
            .Produces<ApiResponse>(StatusCodes.Status200OK, ContractResponses.ContentType)
            .Describes(StatusCodes.Status200OK, "Acknowledged and counted as skipped; nothing is stored")
            .WithPathExample("type", "track")
            .WithRequestExample("""{"type":"track","userId":"user-1","event":"Signed Up","timestamp":"2024-05-01T12:00:00Z"}""");
        return app;
    }

    /// <summary>What the two storing endpoints answer, chosen for what Segment-spec SDKs do with each status (see the type's summary).</summary>
    private static RouteHandlerBuilder DocumentAnswers(this RouteHandlerBuilder builder) => builder
        .Produces<ApiResponse>(StatusCodes.Status200OK, ContractResponses.ContentType)
        .Describes(StatusCodes.Status200OK, "The valid group calls are stored (or were already), other calls skipped; invalid group calls are listed "
            + "in errors by batch index and counted in rejected, never stored (sending them again cannot help)")
        .Answers(StatusCodes.Status400BadRequest, "The request can never succeed: not JSON, not an object, no batch array, over a limit, or every call in it is an invalid group call")
        .Answers(StatusCodes.Status429TooManyRequests, GroupApiEndpoints.ThrottledAnswer, retryAfter: true)
        .Answers(StatusCodes.Status503ServiceUnavailable, "Nothing of the request is stored (storage, dedup store or write queue unavailable); "
            + "a retry after Retry-After stores the valid calls exactly once", retryAfter: true)
        .WithHeaderParameter("Prefer", "ack=durable or ack=queryable, as on POST /api/group", "ack=durable")
        .WithHeaderParameter("Content-Encoding", "gzip for a compressed body (RudderStack's SDK compresses by default)", "gzip");

    /// <summary>A batch as @segment/analytics-node sends it: a group call stored, a track call skipped.</summary>
    internal const string BatchExample = """
        {
          "batch": [
            {
              "type": "group", "groupId": "acme-inc", "userId": "user-1", "messageId": "segment-example-1",
              "traits": { "group_type": "Account", "name": "Acme", "planName": "Basic" },
              "timestamp": "2024-05-01T12:00:00Z"
            },
            { "type": "track", "userId": "user-1", "event": "Signed Up", "timestamp": "2024-05-01T12:00:01Z" }
          ],
          "context": { "library": { "name": "@segment/analytics-node", "version": "3.1.0" } },
          "sentAt": "2024-05-01T12:00:02Z"
        }
        """;

    internal const string GroupExample = """
        {
          "groupId": "acme-inc", "userId": "user-1", "messageId": "segment-example-2",
          "traits": { "group_type": "Account", "planName": "Pro" },
          "timestamp": "2024-05-01T12:05:00Z"
        }
        """;

    private static async Task IngestAsync(
        HttpContext context, SegmentParser parser, IngestPipeline pipeline, EventRateLimiter limiter, GroupApiOptions options, TimeProvider time,
        IngestTelemetry telemetry, bool isBatch)
    {
        var tenant = context.User.GetTenant()!;
        if (!limiter.TryEnter(tenant, out var admission, out var wait))
        {
            await GroupApiEndpoints.RefuseAtTheDoorAsync(context, telemetry, tenant, wait);
            return;
        }

        using var _ = admission;
        var receivedAt = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        var (problem, body) = await RequestBody.ReadAsync(context, options.MaxBodyBytes);
        if (problem is not null)
        {
            body.Dispose();
            telemetry.Rejected(tenant, RejectReason.Invalid, 0);
            await ContractResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "Bad Request: the request body " + problem,
                [new ApiError(null, "body", problem)]);
            return;
        }

        SegmentOutcome outcome;
        using (body)
        {
            outcome = parser.Parse(body.Span, tenant, isBatch);
        }

        telemetry.SegmentCallsSkipped.Add(outcome.Skipped, telemetry.For(tenant));
        if (outcome.IsHopeless)
        {
            // Parsed and refused: its cost still counts against the tenant's events-per-second limit.
            await admission.ChargeAsync(outcome.Calls, force: true);
            telemetry.Rejected(tenant, RejectReason.Invalid, outcome.Calls);
            IReadOnlyList<ApiError> errors = outcome.BodyErrors.Count > 0 ? outcome.BodyErrors : outcome.CallErrors;
            await ContractResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest,
                "Bad Request: nothing in the request can be stored; fix the listed problems before sending it again", errors);
            return;
        }

        if (outcome.Rejected > 0)
        {
            telemetry.RejectedCalls(tenant, outcome.Rejected);
        }

        var stored = new IngestResult.Stored(0, 0);
        if (outcome.Groups.Events.Count > 0)
        {
            var ack = AckPreference.Read(context.Request.Headers);
            if (ack is not null)
            {
                context.Response.Headers["Preference-Applied"] = AckPreference.Format(ack.Value);
            }

            var result = await pipeline.StoreAsync(outcome.Groups, tenant, receivedAt, ack, context.RequestAborted, admission);
            if (result is not IngestResult.Stored done)
            {
                await GroupApiEndpoints.WriteAsync(context, result);
                return;
            }

            stored = done;
        }

        await ContractResponses.WriteAsync(context, StatusCodes.Status200OK, new ApiResponse
        {
            Success = true,
            ResponseId = context.GetResponseId(),
            Message = outcome.Rejected == 0
                ? "Group call(s) stored"
                : "Group call(s) stored except the listed ones, which are invalid and were not stored (sending them again cannot help)",
            Accepted = stored.Accepted,
            Duplicates = stored.Duplicates,
            Skipped = outcome.Skipped,
            Rejected = outcome.Rejected,
            Errors = outcome.CallErrors.Count > 0 ? outcome.CallErrors : null,
        });
    }

    private static Task Skipped(string type, HttpContext context, IngestTelemetry telemetry)
    {
        telemetry.SegmentCallsSkipped.Add(1, telemetry.For(context.User.GetTenant()!));
        return ContractResponses.WriteAsync(context, StatusCodes.Status200OK, new ApiResponse
        {
            Success = true,
            ResponseId = context.GetResponseId(),
            Message = $"Acknowledged the {type} call; only group calls are stored",
            Accepted = 0,
            Duplicates = 0,
            Skipped = 1,
            Rejected = 0,
        });
    }
}
