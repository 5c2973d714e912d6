using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Platform.ServiceDefaults.Http;

/// <summary>
/// Gives an absolute-form request target ("GET http://host/api/groups/a%2Fb", what some proxies send) the path an
/// origin-form one gets. Kestrel decodes an origin-form path except for an encoded slash, but takes an absolute-form
/// path from <see cref="Uri.LocalPath"/>, which decodes "%2F" to '/': "a%2Fb" then becomes two segments and the route
/// of an id holding '/' no longer matches. Only such targets are touched, and only without dot segments (which the
/// server resolved and must not be undone). Must run before routing.
/// </summary>
public static partial class AbsoluteFormTargets
{
    public static IApplicationBuilder UseOriginFormPaths(this IApplicationBuilder app) => app.Use(static (context, next) =>
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (raw is { Length: > 0 } && raw[0] != '/' && EncodedSlash().IsMatch(raw) && !DotSegment().IsMatch(raw)
            && raw.IndexOf("://", StringComparison.Ordinal) is var scheme and >= 0
            && raw.IndexOf('/', scheme + 3) is var start and >= 0)
        {
            var end = raw.IndexOf('?', start);
            var path = DecodeAsOriginForm(end < 0 ? raw[start..] : raw[start..end]);
            var pathBase = context.Request.PathBase.Value ?? "";
            if (path.StartsWith(pathBase, StringComparison.Ordinal))
            {
                context.Request.Path = new PathString(path[pathBase.Length..]);
            }
        }

        return next(context);
    });

    /// <summary>Every escape decoded except an encoded slash, as Kestrel decodes origin-form paths.</summary>
    public static string DecodeAsOriginForm(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);

        // Split with the slashes captured: even entries are text between them, odd entries the slashes as sent.
        var parts = EncodedSlashCapture().Split(raw);
        for (var i = 0; i < parts.Length; i += 2)
        {
            parts[i] = Uri.UnescapeDataString(parts[i]);
        }

        return string.Concat(parts);
    }

    [GeneratedRegex("%2[Ff]")]
    private static partial Regex EncodedSlash();

    [GeneratedRegex("(%2[Ff])")]
    private static partial Regex EncodedSlashCapture();

    [GeneratedRegex(@"/(\.|%2[Ee])")]
    private static partial Regex DotSegment();
}
