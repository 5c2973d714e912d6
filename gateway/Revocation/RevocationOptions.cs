using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Gateway.Revocation;

/// <summary>Revoked tokens, by their <c>jti</c>. Section "Revocation".</summary>
internal sealed class RevocationOptions
{
    public const string Section = "Revocation";

    /// <summary>Token ids refused with 401 (reloaded when the configuration changes).</summary>
    [NoEmptyItems]
    public IList<string> DeniedTokenIds { get; } = [];

    /// <summary>
    /// Also refuse a token when the key <c>{Redis:KeyPrefix}revoked:{jti}</c> exists in Redis (give it an expiry
    /// at the token's <c>exp</c>). Only when Redis is configured; a Redis failure lets the token through
    /// (the configured list still applies), because an outage must not refuse every client.
    /// </summary>
    public bool CheckRedis { get; set; } = true;
}

[OptionsValidator]
internal sealed partial class RevocationOptionsValidator : IValidateOptions<RevocationOptions>;
