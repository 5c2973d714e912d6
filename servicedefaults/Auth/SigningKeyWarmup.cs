using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// Builds the JwtBearer settings at start rather than on the first request, so key files are read
/// (and the Development key pair created) before the service takes traffic, and a failure stops it.
/// A hosted service rather than ValidateOnStart: it runs after the Auth options' own validation,
/// so a bad setting is reported once, by the validator, with the key's name.
/// </summary>
internal sealed class SigningKeyWarmup(IOptionsMonitor<JwtBearerOptions> bearerOptions) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = bearerOptions.Get(JwtBearerDefaults.AuthenticationScheme);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
