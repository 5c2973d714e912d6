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
        return builder;
    }

    /// <summary>
    /// Charges each request to the tenant of its validated token, so it must run after authentication (the tenant
    /// comes from nowhere else). Requests without a tenant are not charged: they are refused by authorization
    /// (proxied routes) or reach only health and not-found answers.
    /// </summary>
    public static IApplicationBuilder UseTenantRateLimiting(this IApplicationBuilder app)
    {
        if (!app.ApplicationServices.GetRequiredService<IOptions<RateLimitingOptions>>().Value.Enabled)
        {
            return app;
        }

        var limiter = app.ApplicationServices.GetRequiredService<TenantRateLimiter>();
        return app.Use(async (context, next) =>
        {
            if (context.User.GetTenant() is not { } tenant)
            {
                await next(context);
                return;
            }

            var decision = await limiter.AcquireAsync(tenant, context.RequestAborted);
            if (!decision.Allowed)
            {
                await ContractResponses.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests,
                    $"Too Many Requests: tenant '{tenant}' is over its rate limit; retry after the Retry-After delay",
                    retryAfter: decision.RetryAfter);
                return;
            }

            await next(context);
        });
    }
}
