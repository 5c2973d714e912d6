using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// Stops the process at start when the <c>Auth</c> section is wrong, with one message per
/// problem naming the key, instead of failing every request later.
/// </summary>
internal sealed class JwtAuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<JwtAuthOptions>
{
    private const string Section = JwtAuthOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, JwtAuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            failures.Add($"{Section}:Issuer is required: set it to the 'iss' value of the tokens this service accepts.");
        }

        if (options.Audiences.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{Section}:Audiences must not contain an empty value.");
        }

        foreach (var scope in options.AudienceScopes)
        {
            if (!PlatformScopes.All.Contains(scope, StringComparer.Ordinal))
            {
                failures.Add($"{Section}:AudienceScopes contains '{scope}', which is not a platform scope; use only {string.Join(", ", PlatformScopes.All)}.");
            }
        }

        foreach (var algorithm in options.Algorithms)
        {
            if (!JwtAuthOptions.PermittedAlgorithms.Contains(algorithm, StringComparer.Ordinal))
            {
                failures.Add(
                    $"{Section}:Algorithms contains '{algorithm}', which is not allowed; use only " +
                    $"{string.Join(", ", JwtAuthOptions.PermittedAlgorithms)} ('none' and HS* are never accepted).");
            }
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > JwtAuthOptions.MaxClockSkew)
        {
            failures.Add($"{Section}:ClockSkew must be between 00:00:00 and {JwtAuthOptions.MaxClockSkew:c} (got {options.ClockSkew:c}).");
        }

        if (string.IsNullOrWhiteSpace(options.TenantClaim))
        {
            failures.Add($"{Section}:TenantClaim must name the claim that carries the tenant (default 'tenant_id').");
        }

        if (options.TokenCacheMaxAge < TimeSpan.Zero || options.TokenCacheMaxAge > JwtAuthOptions.MaxTokenCacheMaxAge)
        {
            failures.Add($"{Section}:TokenCacheMaxAge must be between 00:00:00 (no cache) and {JwtAuthOptions.MaxTokenCacheMaxAge:c} (got {options.TokenCacheMaxAge:c}).");
        }

        if (options.TokenCacheMaxEntries is < 0 or > JwtAuthOptions.MaxTokenCacheEntries)
        {
            failures.Add($"{Section}:TokenCacheMaxEntries must be between 0 (no cache) and {JwtAuthOptions.MaxTokenCacheEntries} (got {options.TokenCacheMaxEntries}).");
        }

        ValidateAuthority(options, failures);
        ValidateKeyFiles(options, failures);

        if (!options.HasConfiguredKeys)
        {
            if (!environment.IsDevelopment())
            {
                failures.Add(
                    $"{Section}:PublicKeyFiles or {Section}:Authority must be set: outside the Development " +
                    $"environment there is no default signing key (current environment: '{environment.EnvironmentName}').");
            }
            else if (string.IsNullOrWhiteSpace(options.DevKeyDirectory))
            {
                failures.Add($"{Section}:DevKeyDirectory must name a directory when neither {Section}:PublicKeyFiles nor {Section}:Authority is set.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateAuthority(JwtAuthOptions options, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(options.Authority))
        {
            return;
        }

        if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority)
            || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"{Section}:Authority must be an absolute http(s) URL (got '{options.Authority}').");
        }
        else if (options.RequireHttpsMetadata && authority.Scheme != Uri.UriSchemeHttps)
        {
            failures.Add($"{Section}:Authority must use https unless {Section}:RequireHttpsMetadata is false.");
        }
    }

    private void ValidateKeyFiles(JwtAuthOptions options, List<string> failures)
    {
        var keyIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < options.PublicKeyFiles.Count; i++)
        {
            var configured = options.PublicKeyFiles[i];
            if (string.IsNullOrWhiteSpace(configured))
            {
                failures.Add($"{Section}:PublicKeyFiles:{i} is empty.");
                continue;
            }

            var path = Path.GetFullPath(configured, environment.ContentRootPath);
            try
            {
                // Parsing here (and again when JwtBearer is configured) makes a bad file a start failure.
                var key = PublicKeyPem.Load(path);
                if (keyIds.TryGetValue(key.KeyId, out var other))
                {
                    failures.Add(
                        $"{Section}:PublicKeyFiles:{i} ('{configured}') has key id '{key.KeyId}', the same as " +
                        $"{Section}:PublicKeyFiles:{other}; the key id is the file name, so rename one.");
                }
                else
                {
                    keyIds.Add(key.KeyId, i);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                failures.Add($"{Section}:PublicKeyFiles:{i} ('{configured}'): {ex.Message}");
            }
        }
    }
}
