using System.Net;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Platform.Gateway.Proxy;

/// <summary>
/// The connection pool to ingest, set up for a hot path: pooled keep-alive connections with a bounded lifetime,
/// short connect timeout, and nothing a proxy should do on its own (no system proxy, redirects, cookies or
/// decompression: gzip bodies and responses pass through as bytes).
/// </summary>
internal sealed class IngestHttpClientFactory(IOptions<ProxyOptions> options, ILogger<ForwarderHttpClientFactory> logger)
    : ForwarderHttpClientFactory(logger)
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        var proxy = options.Value;

        // The base class already turns these off; stated here because the gateway depends on them.
        handler.UseProxy = false;
        handler.AllowAutoRedirect = false;
        handler.UseCookies = false;
        handler.AutomaticDecompression = DecompressionMethods.None;

        handler.ConnectTimeout = proxy.ConnectTimeout;
        handler.PooledConnectionLifetime = proxy.PooledConnectionLifetime;
        handler.PooledConnectionIdleTimeout = proxy.PooledConnectionIdleTimeout;
        handler.MaxConnectionsPerServer = proxy.MaxConnectionsPerServer == 0 ? int.MaxValue : proxy.MaxConnectionsPerServer;
        handler.EnableMultipleHttp2Connections = true;
    }
}
