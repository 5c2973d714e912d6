using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth.WriteKeys;

/// <summary>Checks every configured key at start (and on reload): a bad entry names its full key.</summary>
internal sealed class WriteKeyOptionsValidator : IValidateOptions<WriteKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, WriteKeyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        var hashes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (keyName, entry) in options.Keys)
        {
            var prefix = $"{WriteKeyOptions.SectionName}:Keys:{keyName}";
            if (!WriteKeyHash.IsHash(entry.Sha256))
            {
                problems.Add($"{prefix}:Sha256: must be the 64 hex digits of the key's SHA-256 (ingest write-key new prints it)");
            }
            else if (hashes.TryGetValue(entry.Sha256!, out var other))
            {
                problems.Add($"{prefix}:Sha256: the same key is configured as '{other}'");
            }
            else
            {
                hashes[entry.Sha256!] = keyName;
            }

            if (!WriteKeyHash.IsValidTenant(entry.Tenant))
            {
                problems.Add($"{prefix}:Tenant: must be a non-empty string of at most {TokenClaims.MaxTenantLength} characters without control characters");
            }

            foreach (var scope in entry.Scopes)
            {
                if (!PlatformScopes.All.Contains(scope, StringComparer.Ordinal))
                {
                    problems.Add($"{prefix}:Scopes: '{scope}' is not a platform scope ({string.Join(", ", PlatformScopes.All)})");
                }
            }
        }

        if (options.MaxBodyScanBytes < 0)
        {
            problems.Add($"{WriteKeyOptions.SectionName}:MaxBodyScanBytes: must not be negative");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
