using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Auth;

namespace Platform.Ingest.Development;

/// <summary>
/// In Development, with the development signing key, prints a ready token and a curl command once the
/// server listens, so a new user's first call is a copy and paste away. Never active in other environments.
/// </summary>
internal static class FirstCallBanner
{
    public static WebApplication PrintFirstCallInDevelopment(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            return app;
        }

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var auth = app.Services.GetRequiredService<IOptions<JwtAuthOptions>>().Value;
            if (auth.PublicKeyFiles.Count > 0 || auth.Authority is not null)
            {
                return;
            }

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? "http://127.0.0.1:8081";
            var keyDirectory = Path.GetFullPath(auth.DevKeyDirectory, app.Environment.ContentRootPath);
            var token = DevelopmentKeys.MintToken(keyDirectory, auth.Issuer!, auth.Audiences[0], "dev",
                [PlatformScopes.GroupApi, PlatformScopes.AnalyticsRead], TimeSpan.FromHours(24), auth.TenantClaim);
            Console.WriteLine($$$"""

                Platform ingest is listening on {{{address}}} (embedded storage, development signing key).
                Send a first event with this token (tenant "dev", valid 24 hours):

                  export TOKEN={{{token}}}
                  curl -sS {{{address}}}/api/group -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
                    -d '[{"group_id":"acme-inc","user_id":"user-1","timestamp":"2024-05-01T12:00:00Z","traits":{"group_type":"Account","name":"Acme","planName":"Basic"}}]'

                More tokens: dotnet run --project devtoken -- --tenant acme --scope group_api
                Segment-spec SDKs: dotnet run --project ingest -- write-key --tenant dev --save data/write-keys.json

                """);
        });
        return app;
    }
}
