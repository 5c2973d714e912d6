using Platform.Ingest.Writing;

namespace Platform.Ingest.GroupApi;

/// <summary>
/// The request's choice of what a 200 means, as an RFC 7240 preference: <c>Prefer: ack=durable</c> or
/// <c>Prefer: ack=queryable</c>. Like any preference it is optional and unknown ones are ignored; the answer names
/// the one applied in <c>Preference-Applied</c>.
/// </summary>
internal static class AckPreference
{
    private const string Name = "ack";

    /// <summary>The ack the request prefers, or null when it states none (or none this service knows).</summary>
    public static AckMode? Read(IHeaderDictionary headers)
    {
        AckMode? chosen = null;
        foreach (var header in headers["Prefer"])
        {
            foreach (var range in header.AsSpan().Split(','))
            {
                // A preference is token[=value] followed by optional ";param" parts, which this one does not use.
                var item = header.AsSpan()[range];
                var semicolon = item.IndexOf(';');
                if (semicolon >= 0)
                {
                    item = item[..semicolon];
                }

                var equals = item.IndexOf('=');
                if (equals < 0 || !item[..equals].Trim().Equals(Name, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var value = item[(equals + 1)..].Trim().Trim('"');
                if (value.Equals("durable", StringComparison.OrdinalIgnoreCase))
                {
                    chosen = AckMode.Durable;
                }
                else if (value.Equals("queryable", StringComparison.OrdinalIgnoreCase))
                {
                    chosen = AckMode.Queryable;
                }
            }
        }

        return chosen;
    }

    public static string Format(AckMode ack) => ack == AckMode.Queryable ? "ack=queryable" : "ack=durable";
}
