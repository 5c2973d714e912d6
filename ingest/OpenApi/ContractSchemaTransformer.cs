using System.Text.Json.Serialization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Platform.Ingest.OpenApi;

/// <summary>
/// Makes the schemas say what the services write rather than what the serializer would read: numbers are numbers (the
/// web defaults read numbers from strings too, which the generator reports as "integer or string"), and a property left
/// out when null (<c>JsonIgnore(WhenWritingNull)</c>, e.g. an error's index) is not required.
/// </summary>
internal sealed class ContractSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (schema.Type is { } type && type.HasFlag(JsonSchemaType.String) && (type.HasFlag(JsonSchemaType.Integer) || type.HasFlag(JsonSchemaType.Number)))
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (context.JsonPropertyInfo is null && schema.Required is { Count: > 0 } required)
        {
            foreach (var property in context.JsonTypeInfo.Properties)
            {
                var ignore = property.AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: false).OfType<JsonIgnoreAttribute>().FirstOrDefault();
                if (ignore?.Condition == JsonIgnoreCondition.WhenWritingNull)
                {
                    required.Remove(property.Name);
                }
            }
        }

        return Task.CompletedTask;
    }
}
