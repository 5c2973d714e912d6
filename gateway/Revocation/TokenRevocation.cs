using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Platform.ServiceDefaults.Hosting;
using Platform.ServiceDefaults.Contract;
using Platform.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace Platform.Gateway.Revocation;

/// <summary>Refuses validated tokens whose <c>jti</c> has been revoked, in configuration or in Redis.</summary>
internal sealed partial class TokenRevocation : IDisposable
{
    private readonly RedisConnection _redis;
    private readonly IOptionsMonitor<RevocationOptions> _options;
    private readonly ILogger<TokenRevocation> _logger;
    private readonly IDisposable? _subscription;
    private FrozenSet<string> _denied;

    public TokenRevocation(IOptionsMonitor<RevocationOptions> options, RedisConnection redis, ILogger<TokenRevocation> logger)
    {
        _options = options;
        _redis = redis;
        _logger = logger;
        _denied = options.CurrentValue.DeniedTokenIds.ToFrozenSet(StringComparer.Ordinal);
        _subscription = options.OnChange(changed => _denied = changed.DeniedTokenIds.ToFrozenSet(StringComparer.Ordinal));
    }

    public async ValueTask<bool> IsRevokedAsync(string tokenId)
    {
        if (_denied.Contains(tokenId))
        {
            return true;
        }

        if (!_options.CurrentValue.CheckRedis || _redis.Database is not { } database)
        {
            return false;
        }

        try
        {
            return await database.KeyExistsAsync(_redis.KeyPrefix + "revoked:" + tokenId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogRedisFailed(_logger, ex);
            return false;
        }
    }

    public void Dispose() => _subscription?.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis revocation lookup failed; only the configured deny-list applies to this request")]
    private static partial void LogRedisFailed(ILogger logger, Exception exception);
}

internal static class TokenRevocationExtensions
{
    public static IHostApplicationBuilder AddTokenRevocation(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<RevocationOptions, RevocationOptionsValidator>(RevocationOptions.Section);
        builder.Services.AddSingleton<TokenRevocation>();
        return builder;
    }

    /// <summary>Runs after authentication: only a token that is otherwise valid is looked up.</summary>
    public static IApplicationBuilder UseTokenRevocation(this IApplicationBuilder app)
    {
        var revocation = app.ApplicationServices.GetRequiredService<TokenRevocation>();
        return app.Use(async (context, next) =>
        {
            if (context.User.Identity?.IsAuthenticated == true
                && context.User.FindFirst(JwtRegisteredClaimNames.Jti)?.Value is { Length: > 0 } tokenId
                && await revocation.IsRevokedAsync(tokenId))
            {
                const string message = "access token revoked";
                context.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{message}\"";
                await ContractResponses.WriteErrorAsync(context, StatusCodes.Status401Unauthorized, message);
                return;
            }

            await next(context);
        });
    }
}
