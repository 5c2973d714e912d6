using Platform.Ingest.Dedup;
using Platform.Ingest.Development;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Limits;
using Platform.Ingest.OpenApi;
using Platform.Ingest.Query;
using Platform.Ingest.Segment;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Ingest.Telemetry;
using Platform.Ingest.Writing;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;
using Platform.ServiceDefaults.Health;
using Platform.ServiceDefaults.Redis;
using Platform.ServiceDefaults.Http;
using Platform.ServiceDefaults.Telemetry;

if (ClickHouseDdlCommand.IsRequested(args))
{
    ClickHouseDdlCommand.Print(WebApplication.CreateBuilder(args[1..]).Configuration, Console.Out);
    return 0;
}

if (WriteKeyCommand.IsRequested(args))
{
    return WriteKeyCommand.Run(args[1..], Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(args);

builder.AddIngestTelemetry();
builder.AddPlatformAuthentication();
builder.AddEventStorage();
builder.AddDedup();
builder.AddPlatformRedis("platform-ingest", keyPrefix: "platform:ingest:");
builder.AddEventLimits();
builder.AddWriting();
builder.AddGroupApi();
builder.AddSegmentApi();
builder.AddQueryApi();
builder.AddPlatformOpenApi();

var app = builder.Build();

app.UsePlatformErrorHandling();
app.UseOriginFormPaths();
app.UseRouting();
app.UseAuthentication();
app.UsePlatformRequestLogScope();
app.UseAuthorization();
app.MapPlatformMetrics();
app.MapPlatformHealth();
app.MapGroupApi();
app.MapSegmentApi();
app.MapQueryApi();
app.MapPlatformOpenApi();
app.PrintFirstCallInDevelopment();

app.Run();
return 0;

/// <summary>The ingest service's entry point; public so integration tests can host it.</summary>
public partial class Program;
