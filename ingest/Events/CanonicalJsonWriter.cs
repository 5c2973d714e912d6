using System.Text;
using System.Text.Json;

namespace Platform.Ingest.Events;

/// <summary>
/// Writes JSON values in the canonical form that identities hash and storage keeps: minified, object members sorted
/// by name (ordinal), strings re-encoded with <see cref="CanonicalJson.WriterOptions"/>, numbers as sent.
/// The form is frozen (see <see cref="EventIdentity"/>).
/// </summary>
internal static class CanonicalJsonWriter
{
    /// <summary>Writes the string at the reader; null when written, otherwise its problem (see <see cref="JsonStrings"/>) and nothing written.</summary>
    public static string? WriteString(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        // Checked first: the writer would turn invalid UTF-8 into U+FFFD, and GetString would throw.
        if (JsonStrings.Check(ref reader) is { } problem)
        {
            return problem;
        }

        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            writer.WriteStringValue(reader.GetString());
        }
        else
        {
            writer.WriteStringValue(reader.ValueSpan);
        }

        return null;
    }

    /// <summary>
    /// Writes the value at the reader minified, with object members sorted by name, so equal content hashes equally.
    /// Null when written; otherwise the first string in it that is not valid text, or the first name given twice in
    /// one object (the writer then holds a partial value to be discarded) and the reader is moved past the value all the same.
    /// </summary>
    public static JsonStringFault? WriteValue(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        var start = reader;
        var fault = WriteNested(ref reader, writer);
        if (fault is not null)
        {
            reader = start;
            reader.Skip();
        }

        return fault;
    }

    private static JsonStringFault? WriteNested(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject when HasSortedPlainNames(reader):
                // Already in canonical order (the usual case): written as it is read, without building a document.
                // Its names are plain ASCII (checked by HasSortedPlainNames), so only its values need checking.
                writer.WriteStartObject();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var name = reader.ValueSpan;
                    writer.WritePropertyName(name);
                    reader.Read();
                    if (WriteNested(ref reader, writer) is { } fault)
                    {
                        return fault.Below(Encoding.UTF8.GetString(name));
                    }
                }

                writer.WriteEndObject();
                break;
            case JsonTokenType.StartObject:
                // A document decodes names and strings with GetString, which throws on invalid text: check them first.
                if (JsonStrings.CheckValue(reader) is { } documentFault)
                {
                    return documentFault;
                }

                using (var document = JsonDocument.ParseValue(ref reader))
                {
                    if (WriteCanonical(document.RootElement, writer) is { } duplicate)
                    {
                        return duplicate;
                    }
                }

                break;
            case JsonTokenType.StartArray:
                writer.WriteStartArray();
                var item = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (WriteNested(ref reader, writer) is { } fault)
                    {
                        return fault.Below(item);
                    }

                    item++;
                }

                writer.WriteEndArray();
                break;
            case JsonTokenType.String:
                if (WriteString(ref reader, writer) is { } problem)
                {
                    return new JsonStringFault(problem);
                }

                break;
            case JsonTokenType.Number:
                writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                break;
            case JsonTokenType.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonTokenType.False:
                writer.WriteBooleanValue(false);
                break;
            default:
                writer.WriteNullValue();
                break;
        }

        return null;
    }

    /// <summary>
    /// True when the object at the reader (a copy; the caller's reader does not move) has member names that are plain,
    /// unescaped ASCII in strictly ascending order. For ASCII, byte order is ordinal order, so such an object is already
    /// canonical at its own level; duplicates are not ascending and take the general path, as before.
    /// </summary>
    private static bool HasSortedPlainNames(Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> previous = default;
        var first = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.ValueIsEscaped || reader.HasValueSequence)
            {
                return false;
            }

            var name = reader.ValueSpan;
            if (System.Text.Ascii.IsValid(name) is false || (!first && previous.SequenceCompareTo(name) >= 0))
            {
                return false;
            }

            previous = name;
            first = false;
            reader.Read();
            reader.Skip();
        }

        return true;
    }

    /// <summary>
    /// Writes the element sorted; null when written, otherwise the first name given twice in one object. A document
    /// keeps both members of a duplicated name, and what a later reader makes of them is its own choice (the first,
    /// the last, or an error), so the stored value would not be the value sent: refused, like a trait given twice.
    /// </summary>
    private static JsonStringFault? WriteCanonical(JsonElement element, Utf8JsonWriter writer)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<JsonProperty>();
                foreach (var member in element.EnumerateObject())
                {
                    members.Add(member);
                }

                members.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                for (var i = 1; i < members.Count; i++)
                {
                    if (string.Equals(members[i - 1].Name, members[i].Name, StringComparison.Ordinal))
                    {
                        return new JsonStringFault("appears more than once").Below(members[i].Name);
                    }
                }

                writer.WriteStartObject();
                foreach (var member in members)
                {
                    writer.WritePropertyName(member.Name);
                    if (WriteCanonical(member.Value, writer) is { } fault)
                    {
                        return fault.Below(member.Name);
                    }
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (WriteCanonical(item, writer) is { } fault)
                    {
                        return fault.Below(index);
                    }

                    index++;
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(element.GetRawText(), skipInputValidation: true);
                break;
            default:
                element.WriteTo(writer);
                break;
        }

        return null;
    }

    /// <summary>The traits object of an event (traits already sorted by key, values already canonical).</summary>
    public static void WriteTraitsObject(TraitValue[] traits, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var trait in traits)
        {
            writer.WritePropertyName(trait.Key);
            if (trait.Json is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                writer.WriteRawValue(trait.Json, skipInputValidation: true);
            }
        }

        writer.WriteEndObject();
    }
}
