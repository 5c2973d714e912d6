using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Gateway.Headers;

/// <summary>
/// Cleans a request before it is proxied: internal headers a client sent are removed (ingest trusts only the
/// token, but nothing downstream should ever see a client's word for tenant or forwarding), and a fresh request
/// id is set. X-Forwarded-For/Proto/Host are then written by YARP from the connection itself, and the W3C trace
/// context (traceparent) from the gateway's own activity.
/// </summary>
internal static class HeaderHygiene
{
    public static IHostApplicationBuilder AddHeaderHygiene(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<HeaderOptions, HeaderOptionsValidator>(HeaderOptions.Section);
        builder.Services.AddSingleton<StrippedHeaders>();
        return builder;
    }

    public static IApplicationBuilder UseHeaderHygiene(this IApplicationBuilder proxy)
    {
        var stripped = proxy.ApplicationServices.GetRequiredService<StrippedHeaders>();
        return proxy.Use((context, next) =>
        {
            stripped.RemoveFrom(context.Request.Headers);

            var requestId = Guid.CreateVersion7().ToString();
            context.Request.Headers[stripped.RequestIdHeader] = requestId;
            context.Response.Headers[stripped.RequestIdHeader] = requestId;
            return next(context);
        });
    }

    internal sealed class StrippedHeaders(IOptions<HeaderOptions> options)
    {
        private readonly FrozenSet<string> _names = HeaderOptions.BuiltInNames
            .Concat(options.Value.AlsoStrip)
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);

        public string RequestIdHeader { get; } = options.Value.RequestIdHeader;

        public void RemoveFrom(IHeaderDictionary headers)
        {
            List<string>? doomed = null;
            foreach (var header in headers)
            {
                if (IsStripped(header.Key))
                {
                    (doomed ??= []).Add(header.Key);
                }
            }

            if (doomed is null)
            {
                return;
            }

            foreach (var name in doomed)
            {
                headers.Remove(name);
            }
        }

        public bool IsStripped(string name)
        {
            if (_names.Contains(name))
            {
                return true;
            }

            foreach (var prefix in HeaderOptions.BuiltInPrefixes)
            {
                if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
