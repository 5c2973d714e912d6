using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth.WriteKeys;

/// <summary>
/// The <c>WriteKeys</c> rules annotations cannot state: every configured key (a dictionary of entries, a hash configured
/// twice) and the key file, checked at start and on reload; a bad entry names its full key.
/// </summary>
internal sealed class WriteKeyOptionsRules(IHostEnvironment? environment = null) : IValidateOptions<WriteKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, WriteKeyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (environment is not null && WriteKeyStore.FilePath(options, environment) is { } path
            && !(environment.IsDevelopment() && !File.Exists(path)))
        {
            // The file's keys are checked at start like the section's; a missing or unreadable file stops the service.
            try
            {
                var file = WriteKeyStore.FileKeys(new ConfigurationBuilder().AddJsonFile(path, optional: false).Build());
                var fileProblems = WriteKeyOptions.ValidateKeys(file);
                if (fileProblems.Failed)
                {
                    problems.AddRange(fileProblems.Failures.Select(p => $"{WriteKeyOptions.Section}:File ({path}): {p}"));
                }
            }
            catch (Exception ex) when (ex is IOException or FormatException or InvalidDataException or InvalidOperationException)
            {
                problems.Add($"{WriteKeyOptions.Section}:File: cannot read {path}: {ex.Message}");
            }
        }

        var hashes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (keyName, entry) in options.Keys)
        {
            var prefix = $"{WriteKeyOptions.Section}:Keys:{keyName}";
            if (!WriteKeyHash.IsHash(entry.Sha256))
            {
                problems.Add($"{prefix}:Sha256: must be the 64 hex digits of the key's SHA-256 (ingest write-key prints it)");
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

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
