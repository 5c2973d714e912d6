using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Platform.ServiceDefaults.Contract;

/// <summary>Writes the contract's response body, with the request's response id, for any status.</summary>
public static class ContractResponses
{
    public const string ResponseIdHeader = "X-Response-Id";

    /// <summary>The media type of every contract answer (UTF-8 JSON; the charset is sent as a parameter).</summary>
    public const string ContentType = "application/json";
    private static readonly object ResponseIdKey = new();

    /// <summary>The response id of this request, created on first use and echoed in a response header.</summary>
    public static string GetResponseId(this HttpContext context) => context.GetResponseId(setHeader: true);

    /// <summary>
    /// The response id of this request, created on first use; <paramref name="setHeader"/> false leaves the header to
    /// whoever writes the answer (<see cref="WriteAsync"/> always sets it), for a service that forwards most answers
    /// from another service, whose own <c>X-Response-Id</c> must then be the only one.
    /// </summary>
    public static string GetResponseId(this HttpContext context, bool setHeader)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items.TryGetValue(ResponseIdKey, out var existing) && existing is string id)
        {
            return id;
        }

        id = Guid.CreateVersion7().ToString();
        context.Items[ResponseIdKey] = id;
        if (setHeader && !context.Response.HasStarted)
        {
            context.Response.Headers[ResponseIdHeader] = id;
        }

        return id;
    }

    /// <summary>A failure body: success false, the message, and the problems when there are any.</summary>
    public static Task WriteErrorAsync(
        HttpContext context,
        int statusCode,
        string message,
        IReadOnlyList<ApiError>? errors = null,
        TimeSpan? retryAfter = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var body = new ApiResponse
        {
            Success = false,
            ResponseId = context.GetResponseId(),
            Message = message,
            Errors = errors,
        };
        if (retryAfter is { } delay)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(delay.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        return WriteAsync(context, statusCode, body);
    }

    public static async Task WriteAsync(HttpContext context, int statusCode, ApiResponse body)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(body);
        context.Response.StatusCode = statusCode;
        context.Response.Headers[ResponseIdHeader] = body.ResponseId;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, ContractJsonContext.Default.ApiResponse, context.RequestAborted);
    }
}
