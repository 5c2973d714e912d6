using System.Text.Encodings.Web;
using System.Text.Json;

namespace Platform.Ingest.Events;

/// <summary>
/// How trait values are written for storage. Queries that compare stored JSON text (equality, prefix) encode
/// their operands with the same settings, so the same string always has the same bytes.
/// </summary>
internal static class CanonicalJson
{
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        // Keep non-ASCII text readable in storage; the output never reaches an HTML page unescaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private static readonly JsonSerializerOptions SerializerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A string as the JSON string literal storage holds for it, quotes included.</summary>
    public static string EncodeString(string value) => JsonSerializer.Serialize(value, SerializerOptions);
}
