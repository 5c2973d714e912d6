using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing.Patterns;
using Platform.ServiceDefaults.Http;

namespace Platform.Ingest.Query;

/// <summary>
/// Route values decoded exactly once. The server decodes the path before routing, except an encoded slash, which
/// stays "%2F" while "%25" becomes "%": a bound value holding '%' is then ambiguous ("a%2Fb" is the id "a/b" or the
/// id "a%2Fb"). Such a value is read again from the raw request target, from the segment the route bound it from,
/// counted from the path's end, so a PathBase or an absolute-form target ("GET http://host/api/...") changes nothing.
/// </summary>
internal static class PathValues
{
    /// <summary>
    /// The exact value of route parameter <paramref name="name"/>, bound as <paramref name="bound"/>; null when the raw
    /// target does not agree with the bound value (dot segments after it), so the caller answers 400 instead of guessing.
    /// </summary>
    public static string? Exact(HttpContext context, string name, string bound)
    {
        if (!bound.Contains('%', StringComparison.Ordinal))
        {
            // No '%' left: nothing was encoded that the server kept encoded, nor a '%' that it decoded.
            return bound;
        }

        var raw = RawPath(context);
        var fromEnd = SegmentsAfter(context, name);
        if (raw is null || fromEnd < 0)
        {
            return null;
        }

        var segments = raw.Split('/');
        var index = segments.Length - 1 - fromEnd;
        if (index < 1)
        {
            return null;
        }

        var segment = segments[index];
        return AbsoluteFormTargets.DecodeAsOriginForm(segment) == bound ? Uri.UnescapeDataString(segment) : null;
    }

    /// <summary>The raw target's path, without the query and, for an absolute-form target, without scheme and authority.</summary>
    private static string? RawPath(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        if (raw[0] != '/')
        {
            var scheme = raw.IndexOf("://", StringComparison.Ordinal);
            var path = scheme < 0 ? -1 : raw.IndexOf('/', scheme + 3);
            if (path < 0)
            {
                return null;
            }

            raw = raw[path..];
        }

        var query = raw.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? raw : raw[..query];
    }

    /// <summary>How many path segments follow the one the parameter was bound from (a trailing slash counts as one).</summary>
    private static int SegmentsAfter(HttpContext context, string name)
    {
        if (context.GetEndpoint() is not RouteEndpoint endpoint)
        {
            return -1;
        }

        var pattern = endpoint.RoutePattern.PathSegments;
        var position = -1;
        for (var i = 0; i < pattern.Count && position < 0; i++)
        {
            foreach (var part in pattern[i].Parts)
            {
                if (part is RoutePatternParameterPart parameter && string.Equals(parameter.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    position = i;
                    break;
                }
            }
        }

        if (position < 0)
        {
            return -1;
        }

        // The decoded path (after any PathBase) has the pattern's segments first; whatever follows is counted.
        var path = context.Request.Path.Value ?? "";
        var segments = path.Length > 1 ? path.Split('/').Length - 1 : 0;
        return segments - 1 - position;
    }
}
