using System.Globalization;
using Platform.ServiceDefaults.Auth;

namespace Platform.DevToken;

/// <summary>What to mint. Defaults match a fresh clone's ingest service run in Development.</summary>
internal sealed record DevTokenRequest
{
    public string Tenant { get; init; } = "dev";

    public IReadOnlyList<string> Scopes { get; init; } = [PlatformScopes.GroupApi, PlatformScopes.AnalyticsRead];

    /// <summary>Where `dotnet run --project ingest` (content root ingest/) keeps its development keys.</summary>
    public string KeyDirectory { get; init; } = Path.Combine("ingest", "data", "dev-keys");

    public string Issuer { get; init; } = DevelopmentKeys.DefaultIssuer;

    public string Audience { get; init; } = "platform";

    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(24);

    public string TenantClaim { get; init; } = "tenant_id";

    public bool ShowHelp { get; init; }
}

/// <summary>Parses devtoken's arguments; a <see cref="FormatException"/> carries the message for the user.</summary>
internal static class DevTokenCommandLine
{
    public const string Usage =
        """
        devtoken: mints an access token signed with the LOCAL DEVELOPMENT key. Never use it for anything else:
        services trust this key only in the Development environment, when no real key is configured.

        usage: dotnet run --project devtoken -- [options]
          --tenant T          tenant the token acts for            (default: dev)
          --scope S           a granted scope; repeat for several  (default: group_api analytics_read)
          --key-dir DIR       development key pair directory,      (default: ingest/data/dev-keys)
                              created when absent
          --issuer I          iss claim                            (default: platform-dev)
          --audience A        aud claim                            (default: platform)
          --lifetime L        24h, 30m or 3600s                    (default: 24h)
          --tenant-claim C    claim that carries the tenant        (default: tenant_id)
          -h, --help          show this text

        Prints only the token, so:  TOKEN=$(dotnet run --project devtoken -- --tenant acme)
        """;

    private static readonly string[] OptionsWithValue =
        ["--tenant", "--scope", "--key-dir", "--issuer", "--audience", "--lifetime", "--tenant-claim"];

    public static DevTokenRequest Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var request = new DevTokenRequest();
        List<string>? scopes = null;
        for (var i = 0; i < args.Count; i++)
        {
            var option = args[i];
            if (option is "-h" or "--help")
            {
                return request with { ShowHelp = true };
            }

            if (!OptionsWithValue.Contains(option, StringComparer.Ordinal))
            {
                throw new FormatException($"unknown option '{option}'.");
            }

            var value = i + 1 < args.Count ? args[++i] : throw new FormatException($"{option} needs a value.");
            switch (option)
            {
                case "--tenant":
                    request = request with { Tenant = NonEmpty(option, value) };
                    break;
                case "--scope":
                    // Naming any scope replaces the default set.
                    (scopes ??= []).Add(NonEmpty(option, value));
                    break;
                case "--key-dir":
                    request = request with { KeyDirectory = NonEmpty(option, value) };
                    break;
                case "--issuer":
                    request = request with { Issuer = NonEmpty(option, value) };
                    break;
                case "--audience":
                    request = request with { Audience = NonEmpty(option, value) };
                    break;
                case "--lifetime":
                    request = request with { Lifetime = ParseLifetime(value) };
                    break;
                case "--tenant-claim":
                    request = request with { TenantClaim = NonEmpty(option, value) };
                    break;
                default:
                    throw new FormatException($"unknown option '{option}'.");
            }
        }

        return scopes is null ? request : request with { Scopes = scopes };
    }

    /// <summary>A positive whole number followed by h, m or s.</summary>
    public static TimeSpan ParseLifetime(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length >= 2
            && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            && amount > 0)
        {
            TimeSpan? lifetime = text[^1] switch
            {
                'h' => TimeSpan.FromHours(amount),
                'm' => TimeSpan.FromMinutes(amount),
                's' => TimeSpan.FromSeconds(amount),
                _ => null,
            };
            if (lifetime is { } value)
            {
                return value;
            }
        }

        throw new FormatException($"--lifetime '{text}' is not like 24h, 30m or 3600s.");
    }

    private static string NonEmpty(string option, string value) =>
        string.IsNullOrWhiteSpace(value) ? throw new FormatException($"{option} must not be empty.") : value;
}
