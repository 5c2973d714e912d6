using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Contract;
using Yarp.ReverseProxy.Forwarder;

namespace Platform.Gateway.Proxy;

/// <summary>
/// Turns YARP's own answers to upstream faults (a bare 502 for a refused or reset connection, 504 for a timeout, 503
/// with no body when no destination is healthy) into the contract's answer: 503 with <c>Retry-After</c> and the
/// <c>{success, response_id, message}</c> body. The contract has no 502 or 504, and SDKs retry 503s. Retrying is safe
/// even when ingest may have stored the request before the fault: event ids are deterministic and dedup answers the
/// retry as duplicates. Faults of the client's own making (it went away, its body broke off) keep YARP's answer.
/// </summary>
internal static partial class UpstreamFailureAnswers
{
    /// <summary>
    /// Wraps the proxy's endpoints (an application middleware, not one of the proxy pipeline: YARP answers "no
    /// available destination" before its pipeline runs).
    /// </summary>
    public static WebApplication UseUpstreamFailureAnswers(this WebApplication app)
    {
        var retryAfter = app.Services.GetRequiredService<IOptions<ProxyOptions>>().Value.UnavailableRetryAfter;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UpstreamFailureAnswers));
        app.Use(async (context, next) =>
        {
            await next();
            var error = context.GetForwarderErrorFeature();
            if (error is null || context.Response.HasStarted || Message(error.Error) is not { } message)
            {
                return;
            }

            LogAnswered(logger, error.Error, error.Exception?.Message);
            context.Response.Clear();
            await ContractResponses.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, message, retryAfter: retryAfter);
        });
        return app;
    }

    /// <summary>The 503's message for a fault on ingest's side, null for one on the client's side.</summary>
    internal static string? Message(ForwarderError error) => error switch
    {
        ForwarderError.None or ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient
            or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient
            or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeRequestClient
            or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient => null,
        ForwarderError.NoAvailableDestinations =>
            "Service Unavailable: no ingest instance is ready to take the request; nothing was stored, retry after the delay given in Retry-After",
        ForwarderError.RequestTimedOut =>
            "Service Unavailable: ingest did not answer in time; retry after the delay given in Retry-After (a retry of events already stored is answered as duplicates)",
        _ =>
            "Service Unavailable: ingest could not be reached or closed the connection; retry after the delay given in Retry-After (a retry of events already stored is answered as duplicates)",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 503 for an upstream fault {Error}: {Detail}")]
    private static partial void LogAnswered(ILogger logger, ForwarderError error, string? detail);
}
