using System.Net;

namespace Platform.Tests.Integration;

/// <summary>
/// Timestamps ahead of the server's clock over real HTTP: within <c>GroupApi:MaxFutureSkew</c> an event is stored as
/// sent; beyond it the request is a 400 naming <c>timestamp</c> and nothing of the batch is stored.
/// </summary>
public sealed class GroupApiClockHttpTests
{
    [Fact]
    public async Task An_event_just_inside_the_default_skew_is_stored()
    {
        using var host = new IngestHost();

        // Four minutes ahead: inside the five allowed, with a minute to spare for a slow machine.
        using var response = await host.PostAsync(Event("g", "u", DateTimeOffset.UtcNow.AddMinutes(4)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task An_event_beyond_the_skew_is_refused_naming_timestamp_and_nothing_of_the_batch_is_stored()
    {
        using var host = new IngestHost();
        var now = DateTimeOffset.UtcNow;
        var json = $"[{Event("g", "u1", now.AddMinutes(-1))},{Event("g", "u2", now.AddMinutes(10))}]";

        using var response = await host.PostAsync(json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single((await ContractBody.ReadAsync(response)).Errors!);
        Assert.Equal((1, "timestamp"), (error.Index ?? -1, error.Field));
        Assert.Contains("ahead of the receive time", error.Message, StringComparison.Ordinal);
        Assert.Contains("at most 00:05:00 is allowed", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task The_setting_overrides_the_default()
    {
        using var host = new IngestHost(new Dictionary<string, string?> { ["GroupApi:MaxFutureSkew"] = "00:30:00" });
        var now = DateTimeOffset.UtcNow;

        using var inside = await host.PostAsync(Event("g", "u1", now.AddMinutes(20)));
        using var beyond = await host.PostAsync(Event("g", "u2", now.AddMinutes(40)));

        Assert.Equal(HttpStatusCode.OK, inside.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, beyond.StatusCode);
        Assert.Contains("at most 00:30:00 is allowed", Assert.Single((await ContractBody.ReadAsync(beyond)).Errors!).Message, StringComparison.Ordinal);
        Assert.Equal(1, (await host.Store.CountAsync("acme", default)).Events);
    }

    private static string Event(string groupId, string userId, DateTimeOffset timestamp) =>
        $$$"""{"group_id":"{{{groupId}}}","user_id":"{{{userId}}}","timestamp":"{{{timestamp.UtcDateTime:yyyy-MM-ddTHH:mm:ss.ffffffZ}}}","traits":{"group_type":"Team"}}""";
}
