using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Platform.Tests.Gateway;

/// <summary>
/// A stand-in for ingest on a free loopback port that answers every request with what it received (method, path,
/// headers, body length), so tests can see exactly what the gateway forwards; or, given an answer of its own, answers
/// with that. Either way it counts what reached it (<see cref="Requests"/>). Ready at /healthz/ready.
/// </summary>
internal sealed class EchoUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<string> _requests = [];

    private EchoUpstream(WebApplication app)
    {
        _app = app;
    }

    public Uri Address { get; private set; } = null!;

    /// <summary>"METHOD /path" of every request that reached it, health checks included, in order of arrival.</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Starts an echo, or with <paramref name="answer"/> an upstream that answers every request but the readiness check with it.</summary>
    public static async Task<EchoUpstream> StartAsync(RequestDelegate? answer = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var upstream = new EchoUpstream(app);
        app.Use((context, next) =>
        {
            lock (upstream._requests)
            {
                upstream._requests.Add($"{context.Request.Method} {context.Request.Path}");
            }

            return answer is null || context.Request.Path.StartsWithSegments("/healthz") ? next(context) : answer(context);
        });
        app.Run(static async context =>
        {
            long length = 0;
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
            {
                length += read;
            }

            var echo = new Dictionary<string, object?>
            {
                ["method"] = context.Request.Method,
                ["path"] = context.Request.Path.Value,
                ["body_length"] = length,
                ["headers"] = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(echo));
        });
        await app.StartAsync();
        upstream.Address = new Uri(app.Urls.First());
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>What <see cref="EchoUpstream"/> received.</summary>
internal sealed record Echo(string Method, string Path, long BodyLength, Dictionary<string, string> Headers)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<Echo> ReadAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<Echo>(await response.Content.ReadAsStringAsync(), Json)!;
}
