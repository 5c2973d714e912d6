namespace Platform.ServiceDefaults.Auth;

/// <summary>The scopes the platform grants on; tokens carry them in <c>scope</c>, <c>scp</c>, or as the audience.</summary>
public static class PlatformScopes
{
    /// <summary>The reference API's ingest scope.</summary>
    public const string TelemetryApis = "telemetry_apis";

    /// <summary>Ingest into the Group API.</summary>
    public const string GroupApi = "group_api";

    /// <summary>Read the query API.</summary>
    public const string AnalyticsRead = "analytics_read";

    /// <summary>Every scope the platform knows: the most <see cref="JwtAuthOptions.AudienceScopes"/> may list.</summary>
    internal static readonly string[] All = [TelemetryApis, GroupApi, AnalyticsRead];
}
