using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Primitives;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.Query;

/// <summary>
/// Reads the query string of the query API: trait filters, page size, cursors. Every problem names its parameter.
/// Filters: <c>group_type=V</c>, <c>trait.KEY=V</c> (repeat for "any of"), <c>trait.KEY.prefix=TEXT</c>,
/// <c>trait.KEY.gt|gte|lt|lte=NUMBER</c>.
/// </summary>
internal static class QueryParameters
{
    private const string TraitPrefix = "trait.";
    private const string CursorVersion = "v1:";

    /// <summary>Parses the filters and rejects any parameter that is neither a filter nor in <paramref name="allowed"/>.</summary>
    public static List<TraitFilter> ParseFilters(IQueryCollection query, QueryOptions options, List<ApiError> errors, params string[] allowed)
    {
        var filters = new List<TraitFilter>();
        foreach (var (name, values) in query)
        {
            if (Array.IndexOf(allowed, name) >= 0)
            {
                continue;
            }

            if (name == "group_type")
            {
                AddFilter(KnownTraits.GroupType, "", name, values, filters, errors);
            }
            else if (name.StartsWith(TraitPrefix, StringComparison.Ordinal) && name.Length > TraitPrefix.Length)
            {
                var rest = name[TraitPrefix.Length..];
                var dot = rest.LastIndexOf('.');
                var suffix = dot > 0 ? rest[(dot + 1)..] : "";
                if (suffix is "prefix" or "gt" or "gte" or "lt" or "lte")
                {
                    AddFilter(rest[..dot], suffix, name, values, filters, errors);
                }
                else
                {
                    AddFilter(rest, "", name, values, filters, errors);
                }
            }
            else
            {
                errors.Add(new ApiError(null, name, "is not a parameter of this endpoint"));
            }
        }

        if (filters.Count > options.MaxFilters)
        {
            errors.Add(new ApiError(null, "trait", $"at most {options.MaxFilters} filters are allowed in one request"));
        }

        return filters;
    }

    /// <summary>Rejects every parameter not in <paramref name="allowed"/>: a typo must not silently widen a query.</summary>
    public static void RejectOthers(IQueryCollection query, List<ApiError> errors, params string[] allowed)
    {
        foreach (var (name, _) in query)
        {
            if (Array.IndexOf(allowed, name) < 0)
            {
                errors.Add(new ApiError(null, name, "is not a parameter of this endpoint"));
            }
        }
    }

    /// <summary>The page size: <c>limit</c> when given (1 to the maximum), else the default.</summary>
    public static int ParseLimit(IQueryCollection query, QueryOptions options, List<ApiError> errors) =>
        ParseBoundedInt(query, "limit", options.DefaultPageSize, options.MaxPageSize, errors);

    public static int ParseBoundedInt(IQueryCollection query, string name, int defaultValue, int max, List<ApiError> errors)
    {
        if (!query.TryGetValue(name, out var text))
        {
            return defaultValue;
        }

        if (text.Count != 1 || !int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1 || value > max)
        {
            errors.Add(new ApiError(null, name, $"must be a whole number from 1 to {max}"));
            return defaultValue;
        }

        return value;
    }

    /// <summary>The position a <c>cursor</c> parameter holds, or null when there is none.</summary>
    public static string? ParseCursor(IQueryCollection query, List<ApiError> errors)
    {
        if (!query.TryGetValue("cursor", out var text) || StringValues.IsNullOrEmpty(text))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text[0]));
            if (decoded.StartsWith(CursorVersion, StringComparison.Ordinal))
            {
                return decoded[CursorVersion.Length..];
            }
        }
        catch (FormatException)
        {
        }

        errors.Add(new ApiError(null, "cursor", "is not a cursor this API issued; pass next_cursor from the previous page unchanged"));
        return null;
    }

    /// <summary>An opaque cursor for "after this position".</summary>
    public static string Cursor(string position) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(CursorVersion + position));

    private static void AddFilter(string key, string suffix, string parameter, StringValues values, List<TraitFilter> filters, List<ApiError> errors)
    {
        var isKnown = KnownTraits.Kinds.TryGetValue(key, out var kind);
        if (suffix.Length == 0)
        {
            var operands = new List<string>();
            foreach (var value in values)
            {
                if (value is null)
                {
                    continue;
                }

                if (isKnown && kind == TraitKind.Integer)
                {
                    if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
                    {
                        errors.Add(new ApiError(null, parameter, $"must be an integer: {key} holds integers"));
                        return;
                    }

                    operands.Add(number.ToString(CultureInfo.InvariantCulture));
                    continue;
                }

                operands.Add(CanonicalJson.EncodeString(value));
                if (!isKnown && IsJsonLiteral(value))
                {
                    operands.Add(value);
                }
            }

            filters.Add(new TraitFilter(key, FilterOperator.Equals, operands));
            return;
        }

        if (values.Count != 1)
        {
            errors.Add(new ApiError(null, parameter, "may be given once"));
            return;
        }

        var operand = values[0] ?? "";
        if (suffix == "prefix")
        {
            if (operand.Length == 0)
            {
                errors.Add(new ApiError(null, parameter, "must not be empty"));
            }
            else if (isKnown && kind != TraitKind.String)
            {
                errors.Add(new ApiError(null, parameter, $"a prefix applies to text; {key} does not hold text"));
            }
            else
            {
                var encoded = CanonicalJson.EncodeString(operand);
                filters.Add(new TraitFilter(key, FilterOperator.Prefix, [encoded[..^1]]));
            }

            return;
        }

        if (isKnown && kind != TraitKind.Integer)
        {
            errors.Add(new ApiError(null, parameter, $"a range applies to numbers; {key} does not hold numbers"));
            return;
        }

        if (!double.TryParse(operand, NumberStyles.Float, CultureInfo.InvariantCulture, out var bound) || !double.IsFinite(bound))
        {
            errors.Add(new ApiError(null, parameter, "must be a number"));
            return;
        }

        var op = suffix switch
        {
            "gt" => FilterOperator.GreaterThan,
            "gte" => FilterOperator.GreaterOrEqual,
            "lt" => FilterOperator.LessThan,
            _ => FilterOperator.LessOrEqual,
        };
        filters.Add(new TraitFilter(key, op, [], bound));
    }

    /// <summary>True for text that is itself a JSON number or boolean, which an unknown trait may hold unquoted.</summary>
    private static bool IsJsonLiteral(string value)
    {
        if (value is "true" or "false")
        {
            return true;
        }

        var reader = new System.Text.Json.Utf8JsonReader(Encoding.UTF8.GetBytes(value));
        try
        {
            return reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.Number && reader.BytesConsumed == Encoding.UTF8.GetByteCount(value);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
