using Microsoft.Extensions.Options;
using Platform.Ingest.OpenApi;
using Platform.Ingest.Writing;
using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.Query;

/// <summary>
/// Storage could not answer a query now: its server, or on a cluster a shard every read needs, is down or timed out.
/// Thrown by a backend for failures a retry can fix; anything else stays a bug (500).
/// </summary>
internal sealed class QueryUnavailableException(Exception inner) : Exception("storage did not answer the query", inner);

/// <summary>The query API's answer while storage cannot answer: 503 with Retry-After, as the write path answers its outages.</summary>
internal static partial class QueryUnavailable
{
    public static TBuilder AnswerUnavailableStorageWith503<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.Describes(StatusCodes.Status503ServiceUnavailable,
            "Storage did not answer the query (ClickHouse down, or on a cluster a shard down; never a partial answer); retry after Retry-After")
        .AddEndpointFilter(static async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (QueryUnavailableException ex) when (!context.HttpContext.RequestAborted.IsCancellationRequested)
            {
                var services = context.HttpContext.RequestServices;
                LogUnavailable(services.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Ingest.Query"), ex);
                return new UnavailableResult(services.GetRequiredService<IOptions<WriterOptions>>().Value.RetryAfter);
            }
        });

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage did not answer a query; answered 503")]
    private static partial void LogUnavailable(ILogger logger, Exception exception);

    private sealed class UnavailableResult(TimeSpan retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => ContractResponses.WriteErrorAsync(
            httpContext, StatusCodes.Status503ServiceUnavailable,
            "Service Unavailable: storage did not answer the query; retry after the delay given in Retry-After", retryAfter: retryAfter);
    }
}
