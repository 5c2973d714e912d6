using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Platform.ServiceDefaults.Contract;

/// <summary>
/// Turns an unhandled exception into the contract's body: 400 for a malformed HTTP request, otherwise 500 with
/// the response id, which is logged with the exception. No internals reach the client.
/// </summary>
public static partial class ErrorHandling
{
    public static IApplicationBuilder UsePlatformErrorHandling(this IApplicationBuilder app)
    {
        return app.UseExceptionHandler(static errorApp => errorApp.Run(static async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var responseId = context.GetResponseId();
            if (error is BadHttpRequestException bad)
            {
                await ContractResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "Bad Request: the HTTP request is malformed",
                    [new ApiError(null, "body", bad.Message)]);
                return;
            }

            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Errors");
            LogUnhandled(logger, error, responseId, context.Request.Path);
            await ContractResponses.WriteErrorAsync(context, StatusCodes.Status500InternalServerError,
                $"Internal Server Error: quote response_id {responseId} when reporting it");
        }));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error answering {Path} ({ResponseId})")]
    private static partial void LogUnhandled(ILogger logger, Exception? exception, string responseId, string path);
}
