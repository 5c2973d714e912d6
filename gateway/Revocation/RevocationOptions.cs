using Platform.Gateway.Hosting;

namespace Platform.Gateway.Revocation;

/// <summary>Revoked tokens, by their <c>jti</c>. Section "Revocation".</summary>
internal sealed class RevocationOptions : IValidatedOptions
{
    public const string Section = "Revocation";

    /// <summary>Token ids refused with 401 (reloaded when the configuration changes).</summary>
    public IList<string> DeniedTokenIds { get; } = [];

    /// <summary>
    /// Also refuse a token when the key <c>{Redis:KeyPrefix}revoked:{jti}</c> exists in Redis (give it an expiry
    /// at the token's <c>exp</c>). Only when Redis is configured; a Redis failure lets the token through
    /// (the configured list still applies), because an outage must not refuse every client.
    /// </summary>
    public bool CheckRedis { get; set; } = true;

    public IEnumerable<string> Problems()
    {
        for (var i = 0; i < DeniedTokenIds.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(DeniedTokenIds[i]))
            {
                yield return $"{Section}:DeniedTokenIds:{i} is empty.";
            }
        }
    }
}
