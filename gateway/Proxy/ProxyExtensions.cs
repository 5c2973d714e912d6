using Platform.Gateway.BodyLimit;
using Platform.Gateway.Headers;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;
using Platform.ServiceDefaults.Contract;
using Scalar.AspNetCore;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.ServiceDiscovery;
using Yarp.ReverseProxy.Transforms;

namespace Platform.Gateway.Proxy;

internal static class ProxyExtensions
{
    /// <summary>YARP with the ingest routes and cluster of <see cref="IngestRoutes"/>, health checks and a tuned connection pool.</summary>
    public static IHostApplicationBuilder AddIngestProxy(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<ProxyOptions, ProxyOptionsValidator>(ProxyOptions.Section);
        // Forward the path exactly as the client encoded it. YARP rebuilds it from the decoded path, where an encoded
        // slash stays "%2F" and is then encoded again to "%252F" (dotnet/yarp#1419), so an id holding '/' would
        // reach ingest as another id. A raw target with dot segments is left to YARP: it must not name another path
        // than the one the route and its policy were chosen for.
        var proxy = builder.Services.AddReverseProxy().AddTransforms(static transforms => transforms.AddRequestTransform(static context =>
        {
            var raw = context.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
            if (raw is { Length: > 0 } && raw[0] == '/'
                && !raw.Contains("/.", StringComparison.Ordinal) && !raw.Contains("%2e", StringComparison.OrdinalIgnoreCase))
            {
                context.ProxyRequest.RequestUri = new Uri(context.DestinationPrefix.TrimEnd('/') + raw, UriKind.Absolute);
            }

            return ValueTask.CompletedTask;
        }));
        builder.Services.AddSingleton<IProxyConfigProvider, IngestRoutes>();
        builder.Services.AddSingleton<IForwarderHttpClientFactory, IngestHttpClientFactory>();
        builder.Services.AddSingleton<UpstreamHealthMetrics>();

        // Read while registering (YARP's resolver is chosen at registration): one destination per address behind
        // each name, e.g. every pod of a headless Kubernetes service, refreshed every DnsRefreshPeriod.
        if (builder.Configuration.GetValue<bool>($"{ProxyOptions.Section}:{nameof(ProxyOptions.UseDnsDestinations)}"))
        {
            proxy.AddDnsDestinationResolver();
            builder.Services.AddOptions<DnsDestinationResolverOptions>()
                .Configure<IOptions<ProxyOptions>>(static (dns, options) => dns.RefreshPeriod = options.Value.DnsRefreshPeriod);
        }

        return builder;
    }

    /// <summary>
    /// The proxied routes, each request first cleaned of internal headers and held to the body cap, then load
    /// balanced over healthy destinations; an upstream fault is answered as the contract's 503. Any other path is a
    /// 404 in the contract's shape.
    /// </summary>
    public static WebApplication MapIngestProxy(this WebApplication app)
    {
        // Created with the app so its gauges exist from the first scrape.
        app.Services.GetRequiredService<UpstreamHealthMetrics>();
        app.UseUpstreamFailureAnswers();
        app.MapReverseProxy(proxy =>
        {
            proxy.UseHeaderHygiene();
            proxy.UseBodyLimit();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });

        // Scalar's browsable reference in Development, reading the document the gateway forwards from ingest.
        if (app.Environment.IsDevelopment())
        {
            app.MapScalarApiReference(static options => options.WithTitle("Platform API").WithOpenApiRoutePattern(IngestRoutes.OpenApiDocumentPath));
        }

        app.MapFallback("{**path}", static context => ContractResponses.WriteErrorAsync(
            context, StatusCodes.Status404NotFound, $"Not Found: no API at {context.Request.Method} {context.Request.Path}"));
        return app;
    }
}
