using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace Platform.Ingest.Events;

/// <summary>
/// The one strict reading of a JSON string from a request body. <see cref="Utf8JsonReader"/> checks a string's
/// escapes and control characters as it reads, but not its text: invalid UTF-8 and lone surrogate escapes surface
/// only later, as an exception from <c>GetString</c> or as U+FFFD from a writer. Every string the parser takes
/// (values and member names, at any depth) is checked here first, without allocating, so that after the check
/// decoding cannot throw and copying cannot alter it. U+0000 is refused too (see docs/decisions.md).
/// </summary>
internal static class JsonStrings
{
    public const string NotUtf8 = "is not valid UTF-8";
    public const string LoneSurrogate = "holds a lone surrogate (a \\uD800-\\uDFFF escape not part of a pair)";
    public const string NulCharacter = "holds U+0000 (\\u0000), which is not allowed in any string";

    /// <summary>The problem of a member name, phrased for the path of the object that holds it.</summary>
    public static string NameProblem(string problem) => "has a member name that " + problem;

    /// <summary>Null when the string or member name at the reader is valid text; otherwise what is wrong with it.</summary>
    public static string? Check(ref Utf8JsonReader reader)
    {
        if (reader.HasValueSequence)
        {
            // Only a reader over a ReadOnlySequence has these; the parser reads one span. Rare, so a copy is fine.
            return Check(reader.ValueSequence.ToArray(), reader.ValueIsEscaped);
        }

        return Check(reader.ValueSpan, reader.ValueIsEscaped);
    }

    /// <summary>Null when the raw (still escaped, when <paramref name="escaped"/>) string is valid text.</summary>
    public static string? Check(ReadOnlySpan<byte> raw, bool escaped)
    {
        // Unescaped text cannot hold U+0000: the reader refuses raw control characters in strings.
        if (!escaped)
        {
            return Utf8.IsValid(raw) ? null : NotUtf8;
        }

        while (true)
        {
            var backslash = raw.IndexOf((byte)'\\');
            if (!Utf8.IsValid(backslash < 0 ? raw : raw[..backslash]))
            {
                return NotUtf8;
            }

            if (backslash < 0)
            {
                return null;
            }

            raw = raw[(backslash + 1)..];
            if (raw.IsEmpty)
            {
                return NotUtf8; // The reader never lets this through; refused rather than trusted.
            }

            if (raw[0] != (byte)'u')
            {
                raw = raw[1..];
                continue;
            }

            if (!TryHex4(raw[1..], out var unit))
            {
                return NotUtf8;
            }

            raw = raw[5..];
            if (unit == 0)
            {
                return NulCharacter;
            }

            if (char.IsLowSurrogate((char)unit))
            {
                return LoneSurrogate;
            }

            if (char.IsHighSurrogate((char)unit))
            {
                if (raw.Length < 6 || raw[0] != (byte)'\\' || raw[1] != (byte)'u'
                    || !TryHex4(raw[2..], out var low) || !char.IsLowSurrogate((char)low))
                {
                    return LoneSurrogate;
                }

                raw = raw[6..];
            }
        }
    }

    /// <summary>
    /// Checks every string and member name in the value at the reader (a copy: the caller's reader does not move).
    /// Null when all are valid text; otherwise the first problem, with its path below the value.
    /// </summary>
    public static JsonStringFault? CheckValue(Utf8JsonReader reader) => CheckNested(ref reader);

    /// <summary>Checks the value at the reader and moves the reader to its last token.</summary>
    private static JsonStringFault? CheckNested(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return Check(ref reader) is { } problem ? new JsonStringFault(problem) : null;
            case JsonTokenType.StartObject:
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    if (Check(ref reader) is { } nameProblem)
                    {
                        return new JsonStringFault(NameProblem(nameProblem));
                    }

                    var name = reader;
                    reader.Read();
                    if (CheckNested(ref reader) is { } fault)
                    {
                        return fault.Below(name.GetString()!);
                    }
                }

                return null;
            case JsonTokenType.StartArray:
                var item = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (CheckNested(ref reader) is { } fault)
                    {
                        return fault.Below(item);
                    }

                    item++;
                }

                return null;
            default:
                return null;
        }
    }

    private static bool TryHex4(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        if (text.Length < 4)
        {
            return false;
        }

        for (var i = 0; i < 4; i++)
        {
            var digit = HexValue(text[i]);
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | digit;
        }

        return true;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}

/// <summary>A problem inside a JSON value (a string that is not valid text, a name given twice): where, below the value, and what.</summary>
internal sealed class JsonStringFault(string message)
{
    /// <summary>The path below the value, "" for the value itself, else ".name" and "[i]" segments (".a.b[2]").</summary>
    public string Path { get; private set; } = "";

    /// <summary>What is wrong, phrased to follow the field's path ("is not valid UTF-8").</summary>
    public string Message { get; } = message;

    /// <summary>This fault seen from the enclosing object, which holds it under <paramref name="name"/>.</summary>
    public JsonStringFault Below(string name)
    {
        Path = "." + name + Path;
        return this;
    }

    /// <summary>This fault seen from the enclosing array, which holds it at <paramref name="index"/>.</summary>
    public JsonStringFault Below(int index)
    {
        Path = $"[{index}]" + Path;
        return this;
    }
}
