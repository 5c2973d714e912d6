using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.OpenApi;

/// <summary>What an answer of an endpoint means, for the OpenAPI document (the status and body come from metadata of their own).</summary>
internal sealed record AnswerDescription(int StatusCode, string Description, bool RetryAfter = false);

/// <summary>
/// The type that describes a request body the handler reads itself. Not <c>Accepts&lt;T&gt;</c>: that metadata also
/// makes routing refuse other content types with 415, and the ingest endpoints take any (SDKs send what they send).
/// </summary>
internal sealed record RequestBodyDescription(Type Type);

/// <summary>The request body example the document shows, which the OpenAPI test sends to the real service.</summary>
internal sealed record RequestExample(string Json);

/// <summary>An example of a path parameter (the OpenAPI test fills the path with it).</summary>
internal sealed record PathExample(string Name, string Value);

/// <summary>
/// A query or header parameter the handler reads itself rather than binds (it answers a bad value with a contract 400
/// naming it, which binding would not). <paramref name="FreeForm"/>: a family of query parameters, as one object.
/// </summary>
internal sealed record ParameterDescription(string Name, string In, string Description, string Type, string? Example = null, bool FreeForm = false);

/// <summary>Endpoint conventions that describe answers, examples and parameters where the handler's signature cannot.</summary>
internal static class EndpointDocs
{
    /// <summary>A contract-shaped answer with this status, its meaning, and <c>Retry-After</c> when a retry is the remedy.</summary>
    public static TBuilder Answers<TBuilder>(this TBuilder builder, int statusCode, string description, bool retryAfter = false)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(
            new ProducesResponseTypeMetadata(statusCode, typeof(ApiResponse), [ContractResponses.ContentType]),
            new AnswerDescription(statusCode, description, retryAfter));

    /// <summary>The meaning of an answer whose status and body the handler's typed results already declare.</summary>
    public static TBuilder Describes<TBuilder>(this TBuilder builder, int statusCode, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AnswerDescription(statusCode, description));

    public static TBuilder DescribesBody<TBuilder>(this TBuilder builder, Type type)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestBodyDescription(type));

    public static TBuilder WithRequestExample<TBuilder>(this TBuilder builder, string json)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestExample(json));

    public static TBuilder WithPathExample<TBuilder>(this TBuilder builder, string name, string value)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new PathExample(name, value));

    public static TBuilder WithQueryParameter<TBuilder>(this TBuilder builder, string name, string description, string type = "string", string? example = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ParameterDescription(name, "query", description, type, example));

    public static TBuilder WithHeaderParameter<TBuilder>(this TBuilder builder, string name, string description, string? example = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ParameterDescription(name, "header", description, "string", example));

    /// <summary>The query API's trait filters: any number of parameters named by a pattern, documented as one free-form object.</summary>
    public static TBuilder WithTraitFilters<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ParameterDescription("filters", "query",
            "Trait filters, each its own query parameter: group_type=V; trait.KEY=V (repeat for any of; an array trait matches when it holds V); "
            + "trait.KEY.prefix=TEXT; trait.KEY.gt|gte|lt|lte=NUMBER. Any other parameter name is a 400 naming it.",
            "object", """{"group_type":"Account","trait.planName":"Basic"}""", FreeForm: true));
}
