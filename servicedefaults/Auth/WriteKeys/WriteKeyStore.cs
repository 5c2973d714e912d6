using System.Collections.Frozen;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth.WriteKeys;

/// <summary>What a presented key turned out to be.</summary>
internal enum WriteKeyStatus
{
    Unknown,
    Revoked,
    Valid,
}

/// <summary>A configured key found by its hash: its name (for logs), tenant and scopes.</summary>
internal sealed record WriteKeyGrant(string Name, string Tenant, IReadOnlyList<string> Scopes, bool Revoked);

/// <summary>
/// The configured keys indexed by hash, rebuilt whenever the configuration changes (a reloaded Secret file adds or
/// revokes keys without a restart). A lookup hashes the presented key once and finds it in a frozen table.
/// </summary>
internal sealed class WriteKeyStore : IDisposable
{
    private readonly IDisposable? _subscription;
    private volatile FrozenDictionary<string, WriteKeyGrant> _byHash;

    public WriteKeyStore(IOptionsMonitor<WriteKeyOptions> options)
    {
        _byHash = Index(options.CurrentValue);
        _subscription = options.OnChange(changed => _byHash = Index(changed));
    }

    public WriteKeyStatus Find(string key, out WriteKeyGrant? grant)
    {
        if (!_byHash.TryGetValue(WriteKeyHash.Of(key), out grant))
        {
            return WriteKeyStatus.Unknown;
        }

        return grant.Revoked ? WriteKeyStatus.Revoked : WriteKeyStatus.Valid;
    }

    public void Dispose() => _subscription?.Dispose();

    private static FrozenDictionary<string, WriteKeyGrant> Index(WriteKeyOptions options)
    {
        var byHash = new Dictionary<string, WriteKeyGrant>(StringComparer.Ordinal);
        foreach (var (name, entry) in options.Keys)
        {
            // Entries the validator refuses never get here at start; a bad reload keeps serving what parses.
            if (!WriteKeyHash.IsHash(entry.Sha256) || string.IsNullOrWhiteSpace(entry.Tenant))
            {
                continue;
            }

            IReadOnlyList<string> scopes = entry.Scopes.Count == 0 ? [PlatformScopes.GroupApi] : [.. entry.Scopes.Distinct(StringComparer.Ordinal)];
            byHash.TryAdd(entry.Sha256!.ToLowerInvariant(), new WriteKeyGrant(name, entry.Tenant, scopes, entry.Revoked));
        }

        return byHash.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
