namespace Platform.ServiceDefaults.Contract;

/// <summary>
/// Which limit a 429 comes from, in the <see cref="Header"/> of every 429 either service gives. A client learns which
/// limit to size its sending to; the gateway learns from ingest's answers which tenants are over their events-per-second
/// limit, and holds their next ingestion requests itself (so a flood that ignores Retry-After is not carried to ingest).
/// </summary>
public static class ThrottleReasons
{
    public const string Header = "X-Throttle-Reason";

    /// <summary>The gateway's requests-per-second limit for the tenant (section "RateLimiting").</summary>
    public const string Requests = "requests";

    /// <summary>Ingest's events-per-second limit for the tenant (section "EventLimits"), or the gateway holding it.</summary>
    public const string Events = "events";

    /// <summary>Ingest's write path is congested and the tenant holds more than its fair share of it.</summary>
    public const string FairShare = "fair-share";

    /// <summary>The message of a 429 for <see cref="Events"/>, the same whichever service answers it.</summary>
    public static string OverEventLimit(string? tenant) =>
        $"Too Many Requests: tenant '{tenant}' is over its events-per-second limit; nothing was stored, retry after the delay given in Retry-After";
}
