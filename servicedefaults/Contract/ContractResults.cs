using Microsoft.AspNetCore.Http;

namespace Platform.ServiceDefaults.Contract;

/// <summary>The contract's failure body as an <see cref="IResult"/>, for endpoints that return results.</summary>
public static class ContractResults
{
    public static IResult Error(int statusCode, string message, IReadOnlyList<ApiError>? errors = null) =>
        new ErrorResult(statusCode, message, errors);

    public static IResult BadRequest(string field, string message) =>
        new ErrorResult(StatusCodes.Status400BadRequest, $"Bad Request: {field} {message}", [new ApiError(null, field, message)]);

    public static IResult NotFound(string message) => new ErrorResult(StatusCodes.Status404NotFound, message, null);

    private sealed class ErrorResult(int statusCode, string message, IReadOnlyList<ApiError>? errors) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) =>
            ContractResponses.WriteErrorAsync(httpContext, statusCode, message, errors);
    }
}
