using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;

namespace Platform.ServiceDefaults.Contract;

/// <summary>
/// The contract's failure body as typed results, for endpoints that return <c>Results&lt;Ok&lt;T&gt;, ...&gt;</c>: each
/// type announces its status code and the <see cref="ApiResponse"/> body to the endpoint's metadata, so the OpenAPI
/// document learns them from the handler's signature, and writes the body through <see cref="ContractResponses"/>
/// (response id, <c>X-Response-Id</c>, <c>Cache-Control: no-store</c>) like every other answer.
/// </summary>
public static class ContractResults
{
    public static ContractBadRequest BadRequest(string field, string message) =>
        new($"Bad Request: {field} {message}", [new ApiError(null, field, message)]);

    /// <summary>A 400 naming the first problem in its message and listing them all.</summary>
    public static ContractBadRequest BadRequest(IReadOnlyList<ApiError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return new($"Bad Request: {errors[0].Field} {errors[0].Message}", errors);
    }

    public static ContractNotFound NotFound(string message) => new(message);
}

/// <summary>A contract-shaped failure answer; the subclasses fix the status code so the endpoint's metadata can name it.</summary>
public abstract class ContractErrorResult : IResult, IStatusCodeHttpResult
{
    private protected ContractErrorResult(int statusCode, string message, IReadOnlyList<ApiError>? errors)
    {
        StatusCode = statusCode;
        Message = message;
        Errors = errors;
    }

    public int StatusCode { get; }

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public string Message { get; }

    public IReadOnlyList<ApiError>? Errors { get; }

    public Task ExecuteAsync(HttpContext httpContext) => ContractResponses.WriteErrorAsync(httpContext, StatusCode, Message, Errors);

    private protected static void Produces(EndpointBuilder builder, int statusCode)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(new ProducesResponseTypeMetadata(statusCode, typeof(ApiResponse), [ContractResponses.ContentType]));
    }
}

/// <summary>400 with every problem listed, each naming its field or parameter.</summary>
public sealed class ContractBadRequest : ContractErrorResult, IEndpointMetadataProvider
{
    internal ContractBadRequest(string message, IReadOnlyList<ApiError> errors)
        : base(StatusCodes.Status400BadRequest, message, errors)
    {
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Produces(builder, StatusCodes.Status400BadRequest);
}

/// <summary>404 saying what was not found.</summary>
public sealed class ContractNotFound : ContractErrorResult, IEndpointMetadataProvider
{
    internal ContractNotFound(string message)
        : base(StatusCodes.Status404NotFound, message, null)
    {
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Produces(builder, StatusCodes.Status404NotFound);
}
