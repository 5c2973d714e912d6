using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Limits;

internal static class EventLimitExtensions
{
    /// <summary>Per-tenant events-per-second limits (section "EventLimits"), cluster-wide through the shared Redis when it is configured.</summary>
    public static IHostApplicationBuilder AddEventLimits(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<EventLimitOptions, EventLimitOptionsValidator>(EventLimitOptions.Section)
            .AddRules<EventLimitOptions, EventLimitOptionsRules>();
        builder.Services.AddSingleton<EventRateLimiter>();
        return builder;
    }
}
