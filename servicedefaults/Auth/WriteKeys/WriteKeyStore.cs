using System.Collections.Frozen;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

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
/// The configured keys indexed by hash: those of the <c>WriteKeys</c> section and those of the watched
/// <see cref="WriteKeyOptions.File"/>, rebuilt whenever either changes (a Secret's file is rewritten when the Secret
/// is), so keys are added and revoked without a restart. A lookup hashes the presented key once.
/// </summary>
internal sealed partial class WriteKeyStore : IDisposable
{
    private readonly IOptionsMonitor<WriteKeyOptions> _options;
    private readonly ILogger<WriteKeyStore> _logger;
    private readonly IConfigurationRoot? _file;
    private readonly List<IDisposable> _subscriptions = [];
    private volatile FrozenDictionary<string, WriteKeyGrant> _byHash;

    public WriteKeyStore(IOptionsMonitor<WriteKeyOptions> options, IHostEnvironment environment, ILogger<WriteKeyStore> logger)
    {
        _options = options;
        _logger = logger;
        if (FilePath(options.CurrentValue, environment) is { } path)
        {
            // In Development the file may not exist yet: `ingest write-key --save` creates it while the services run.
            _file = new ConfigurationBuilder().AddJsonFile(path, optional: environment.IsDevelopment(), reloadOnChange: true).Build();
            _subscriptions.Add(ChangeToken.OnChange(_file.GetReloadToken, Rebuild));
        }

        _byHash = Index(options.CurrentValue, FileKeys(_file));
        _subscriptions.Add(options.OnChange(_ => Rebuild())!);
    }

    public WriteKeyStatus Find(string key, out WriteKeyGrant? grant)
    {
        if (!_byHash.TryGetValue(WriteKeyHash.Of(key), out grant))
        {
            return WriteKeyStatus.Unknown;
        }

        return grant.Revoked ? WriteKeyStatus.Revoked : WriteKeyStatus.Valid;
    }

    public void Dispose()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        (_file as IDisposable)?.Dispose();
    }

    /// <summary>The key file's full path, or null when none is configured.</summary>
    internal static string? FilePath(WriteKeyOptions options, IHostEnvironment environment) =>
        string.IsNullOrWhiteSpace(options.File) ? null
        : Path.IsPathRooted(options.File) ? options.File
        : Path.Combine(environment.ContentRootPath, options.File);

    /// <summary>The keys a key file holds (its <c>WriteKeys</c> section).</summary>
    internal static WriteKeyOptions FileKeys(IConfiguration? file)
    {
        var keys = new WriteKeyOptions();
        file?.GetSection(WriteKeyOptions.Section).Bind(keys);
        return keys;
    }

    private void Rebuild()
    {
        try
        {
            var fromFile = FileKeys(_file);
            var problems = WriteKeyOptions.ValidateKeys(fromFile);
            if (problems.Failed)
            {
                // A half-written or wrong file must not revoke every key it held: keep serving the last good set.
                LogBadReload(_logger, problems.FailureMessage);
                return;
            }

            _byHash = Index(_options.CurrentValue, fromFile);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OptionsValidationException or FormatException or IOException)
        {
            LogBadReload(_logger, ex.Message);
        }
    }

    private static FrozenDictionary<string, WriteKeyGrant> Index(WriteKeyOptions configured, WriteKeyOptions fromFile)
    {
        var byHash = new Dictionary<string, WriteKeyGrant>(StringComparer.Ordinal);
        foreach (var (name, entry) in configured.Keys.Concat(fromFile.Keys))
        {
            // Entries the validator refuses never get here at start; a bad reload keeps serving what parses.
            if (!WriteKeyHash.IsHash(entry.Sha256) || string.IsNullOrWhiteSpace(entry.Tenant))
            {
                continue;
            }

            IReadOnlyList<string> scopes = entry.Scopes.Count == 0 ? [PlatformScopes.GroupApi] : [.. entry.Scopes.Distinct(StringComparer.Ordinal)];
            var grant = new WriteKeyGrant(name, entry.Tenant, scopes, entry.Revoked);
            var hash = entry.Sha256!.ToLowerInvariant();

            // A key both configured and in the file is revoked when either says so.
            if (!byHash.TryAdd(hash, grant) && grant.Revoked)
            {
                byHash[hash] = grant;
            }
        }

        return byHash.ToFrozenDictionary(StringComparer.Ordinal);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write keys not reloaded, the previous keys stay in force: {Problem}")]
    private static partial void LogBadReload(ILogger logger, string problem);
}
