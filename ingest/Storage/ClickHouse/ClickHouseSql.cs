using System.Globalization;
using System.Text;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// The one way a value enters ClickHouse SQL. ClickHouse 18.16 has no query parameters, so every string, number and
/// identifier is written as a literal here, and nowhere else. Strings become single-quoted literals in which the
/// quote, the backslash and every control character are escaped, so no input can end the literal early.
/// </summary>
internal static class ClickHouseSql
{
    /// <summary>A single-quoted string literal holding exactly <paramref name="value"/>.</summary>
    public static string String(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(value.Length + 2);
        builder.Append('\'');
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\'':
                    builder.Append("\\'");
                    break;
                case '\0':
                    builder.Append("\\0");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                case '\b':
                    builder.Append("\\b");
                    break;
                case '\f':
                    builder.Append("\\f");
                    break;
                default:
                    if (c < ' ' || c == '\u007f')
                    {
                        builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}");
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.Append('\'').ToString();
    }

    /// <summary>A comma-separated list of string literals, for <c>IN (...)</c>.</summary>
    public static string Strings(IEnumerable<string> values) => string.Join(", ", values.Select(String));

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A Float64 literal. Only finite numbers have one; callers decide what NaN or infinity means.</summary>
    public static string Number(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "only finite numbers can be written as a literal");
        }

        return "toFloat64(" + String(value.ToString("R", CultureInfo.InvariantCulture)) + ")";
    }

    /// <summary>True for the identifiers we accept for databases, clusters and tables: ASCII letters, digits and '_', not starting with a digit.</summary>
    public static bool IsPlainIdentifier(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 64 && !char.IsAsciiDigit(name[0]) &&
        name.All(static c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>A back-quoted identifier. Only plain identifiers (see <see cref="IsPlainIdentifier"/>) are accepted.</summary>
    public static string Identifier(string name)
    {
        if (!IsPlainIdentifier(name))
        {
            throw new ArgumentException($"'{name}' is not a plain identifier (ASCII letters, digits, '_').", nameof(name));
        }

        return "`" + name + "`";
    }
}
