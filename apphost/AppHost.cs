using Platform.ServiceDefaults.Auth;

// One command from a fresh clone: ingest (embedded DuckDB, in-memory dedup) and the gateway in front of it,
// both in Development, both trusting the development key in ingest/data/dev-keys. No containers are needed.
var builder = DistributedApplication.CreateBuilder(args);

var ingest = builder.AddProject<Projects.Platform_Ingest>("ingest")
    .WithHttpHealthCheck("/healthz/ready");

var gateway = builder.AddProject<Projects.Platform_Gateway>("gateway")
    .WithEnvironment("Proxy__IngestAddresses__0", ingest.GetEndpoint("http"))
    .WithHttpHealthCheck("/healthz/ready")
    .WaitFor(ingest);

builder.Eventing.Subscribe<ResourceReadyEvent>(gateway.Resource, (_, _) =>
{
    FirstCall.Print(builder.AppHostDirectory, gateway.GetEndpoint("http").Url);
    return Task.CompletedTask;
});

builder.Build().Run();

/// <summary>Tells a new user how to send a first event through the gateway, with a ready development token.</summary>
internal static class FirstCall
{
    public static void Print(string appHostDirectory, string gatewayUrl)
    {
        // The key ingest and the gateway both trust in Development (their Auth:DevKeyDirectory).
        var keys = Path.GetFullPath(Path.Combine(appHostDirectory, "..", "ingest", "data", "dev-keys"));
        DevelopmentKeys.EnsureKeyPair(keys);
        var token = DevelopmentKeys.MintToken(keys, DevelopmentKeys.DefaultIssuer, "platform", "dev",
            [PlatformScopes.GroupApi, PlatformScopes.AnalyticsRead], TimeSpan.FromHours(24));
        Console.WriteLine($$$"""

            Platform is up: gateway {{{gatewayUrl}}} -> ingest (embedded storage, development signing key).
            Send a first event through the gateway (tenant "dev", token valid 24 hours, local development only):

              export TOKEN={{{token}}}
              curl -sS {{{gatewayUrl}}}/api/group -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
                -d '[{"group_id":"acme-inc","user_id":"user-1","timestamp":"2024-05-01T12:00:00Z","traits":{"group_type":"Account","name":"Acme","planName":"Basic"}}]'

            More tokens: dotnet run --project devtoken -- --tenant acme --scope group_api
            Segment-spec SDKs (host {{{gatewayUrl}}}): make a write key both services pick up at once with
              dotnet run --project ingest -- write-key --tenant dev --save data/write-keys.json
            Stop with Ctrl+C.

            """);
    }
}
