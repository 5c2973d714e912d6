using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;
using Platform.ServiceDefaults.Contract;
using Platform.ServiceDefaults.Http;

namespace Platform.Gateway.BodyLimit;

/// <summary>
/// Holds proxied requests to <see cref="BodyLimitOptions.MaxBodyBytes"/>. A declared Content-Length over the cap is
/// refused before anything is forwarded. A body without a length (chunked) is streamed through a counter that fails
/// the read one byte past the cap: the forward to ingest is aborted mid-body (ingest stores nothing from an incomplete
/// body) and the client gets the gateway's 400. Both answers are 400 in the contract's shape, never 413: the API says 400.
/// </summary>
internal static class BodyLimitMiddleware
{
    public static IHostApplicationBuilder AddBodyLimit(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<BodyLimitOptions, BodyLimitOptionsValidator>(BodyLimitOptions.Section);
        return builder;
    }

    public static IApplicationBuilder UseBodyLimit(this IApplicationBuilder proxy)
    {
        var max = proxy.ApplicationServices.GetRequiredService<IOptions<BodyLimitOptions>>().Value.MaxBodyBytes;
        return proxy.Use(async (context, next) =>
        {
            var request = context.Request;
            if (request.ContentLength is { } declared && declared > max)
            {
                await TooLargeAsync(context, max, $"the declared Content-Length of {declared} bytes");
                return;
            }

            // This cap replaces Kestrel's generic one (30 MB, answered 413).
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } kestrelLimit)
            {
                kestrelLimit.MaxRequestBodySize = null;
            }

            if (request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
            {
                request.Body = new CappedStream(request.Body, max);
            }

            await next(context);

            if (context.Features.Get<Yarp.ReverseProxy.Forwarder.IForwarderErrorFeature>()?.Exception is { } error
                && IsCapExceeded(error)
                && !context.Response.HasStarted)
            {
                context.Response.Clear();
                await TooLargeAsync(context, max, "the request body");
            }
        });
    }

    private static bool IsCapExceeded(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is BodyTooLargeException)
            {
                return true;
            }
        }

        return false;
    }

    private static Task TooLargeAsync(HttpContext context, long max, string what)
    {
        var problem = $"{what} exceeds the limit of {max} bytes";
        return ContractResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "Bad Request: " + problem,
            [new ApiError(null, "body", problem)]);
    }
}
