using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// The <c>Auth</c> rules annotations cannot state: the authority's scheme against <c>RequireHttpsMetadata</c>, key files
/// that must load, and where keys must come from in this environment. One message per problem, naming the key.
/// </summary>
internal sealed class JwtAuthOptionsRules(IHostEnvironment environment) : IValidateOptions<JwtAuthOptions>
{
    private const string Section = JwtAuthOptions.Section;

    public ValidateOptionsResult Validate(string? name, JwtAuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

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

        // Its form is the annotation's to check; here only the scheme against RequireHttpsMetadata.
        if (Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority)
            && options.RequireHttpsMetadata && authority.Scheme == Uri.UriSchemeHttp)
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
                continue; // The annotation names it.
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
