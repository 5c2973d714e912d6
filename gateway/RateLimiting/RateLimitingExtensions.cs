using System.Globalization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;

namespace Platform.Gateway.RateLimiting;

internal static class RateLimitingExtensions
{
    public static IHostApplicationBuilder AddTenantRateLimiting(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<RateLimitingOptions, RateLimitingOptionsValidator>(RateLimitingOptions.Section)
            .AddRules<RateLimitingOptions, RateLimitingOptionsRules>();
        builder.Services.AddSingleton<TenantRateLimiter>();
        builder.Services.AddSingleton<EventLimitHolds>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>
    /// Charges each request to the tenant of its validated token, so it must run after authentication (the tenant
    /// comes from nowhere else). Requests without a tenant are not charged: they are refused by authorization
    /// (proxied routes) or reach only health and not-found answers. An ingestion request (every POST route) of a
    /// tenant ingest has just refused for its event rate is answered here until ingest's Retry-After has passed,
    /// before its request bucket is charged; reads are never held.
    /// </summary>
    public static IApplicationBuilder UseTenantRateLimiting(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<RateLimitingOptions>>().Value;
        if (!options.Enabled && !options.HoldEventLimitedTenants)
        {
            return app;
        }

        var limiter = options.Enabled ? app.ApplicationServices.GetRequiredService<TenantRateLimiter>() : null;
        var holds = options.HoldEventLimitedTenants ? app.ApplicationServices.GetRequiredService<EventLimitHolds>() : null;
        return app.Use(async (context, next) =>
        {
            if (context.User.GetTenant() is not { } tenant)
            {
                await next(context);
                return;
            }

            var ingestion = holds is not null && HttpMethods.IsPost(context.Request.Method);
            if (ingestion && holds!.IsHeld(tenant, out var left))
            {
                context.Response.Headers[ThrottleReasons.Header] = ThrottleReasons.Events;
                await ContractResponses.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, ThrottleReasons.OverEventLimit(tenant), retryAfter: left);
                return;
            }

            if (limiter is not null)
            {
                var decision = await limiter.AcquireAsync(tenant, context.RequestAborted);
                if (!decision.Allowed)
                {
                    context.Response.Headers[ThrottleReasons.Header] = ThrottleReasons.Requests;
                    await ContractResponses.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests,
                        $"Too Many Requests: tenant '{tenant}' is over its rate limit; retry after the Retry-After delay",
                        retryAfter: decision.RetryAfter);
                    return;
                }
            }

            await next(context);

            // Ingest's own refusal for the tenant's event rate: remember it for as long as ingest asked the client to wait.
            if (ingestion && context.Response.StatusCode == StatusCodes.Status429TooManyRequests
                && context.Response.Headers[ThrottleReasons.Header] == ThrottleReasons.Events
                && int.TryParse(context.Response.Headers.RetryAfter, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                holds!.Hold(tenant, TimeSpan.FromSeconds(seconds));
            }
        });
    }
}
