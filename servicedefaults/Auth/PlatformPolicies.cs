namespace Platform.ServiceDefaults.Auth;

/// <summary>Authorization policies registered by <see cref="PlatformAuthenticationExtensions.AddPlatformAuthentication"/>.</summary>
public static class PlatformPolicies
{
    /// <summary>A valid token with a tenant and the <c>group_api</c> or <c>telemetry_apis</c> scope.</summary>
    public const string Ingest = "ingest";

    /// <summary>
    /// As <see cref="Ingest"/>, with a write key (HTTP Basic, or <c>writeKey</c> in the body) accepted beside a token:
    /// the Segment-compatible endpoints, whose SDKs know no other credential.
    /// </summary>
    public const string IngestWithWriteKey = "ingest-write-key";

    /// <summary>A valid token with a tenant and the <c>analytics_read</c> scope.</summary>
    public const string AnalyticsRead = "analytics-read";
}
