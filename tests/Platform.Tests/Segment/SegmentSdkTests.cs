using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Platform.ServiceDefaults.Auth.WriteKeys;
using Platform.Tests.Deployment;
using Platform.Tests.Gateway;
using Platform.Tests.Integration;

namespace Platform.Tests.Segment;

/// <summary>
/// The real SDKs, <c>@segment/analytics-node</c> and <c>@rudderstack/rudder-sdk-node</c> (installed into
/// tests/segment-sdks by .ci/run), pointed at the real gateway with a write key: what they send is stored exactly as
/// the query API then reads it, and their retries after 503s end in exactly-once storage.
/// </summary>
public sealed class SegmentSdkTests
{
    private static readonly string SdkDirectory = Path.Combine(Repository.Root, "tests", "segment-sdks");

    [Theory]
    [InlineData("segment")]
    [InlineData("rudder")]
    public async Task Group_calls_from_the_sdk_read_back_exactly_through_the_query_api(string sdk)
    {
        await using var platform = new Platform($"sdk-{sdk}");
        object[] calls =
        [
            // Trait updates out of order: the later call is sent first, the older one must not overwrite it.
            new { userId = "alice", groupId = "acme", messageId = "m-1", timestamp = "2025-06-01T12:00:00Z", traits = new { name = "Acme", plan = "Enterprise" } },
            new { userId = "bob", groupId = "acme", messageId = "m-2", timestamp = "2025-06-01T10:00:00Z", traits = new { plan = "Basic", industry = "Telecom" } },
            new { userId = "alice", groupId = "globex", messageId = "m-3", timestamp = "2025-06-01T11:00:00Z", traits = new { name = "Globex", group_type = "Team" } },
            new { userId = "carol", groupId = "globex", messageId = "m-4", timestamp = "2025-06-01T11:30:00Z", traits = new { plan = "Pro", group_type = "Team" } },

            // The SDK user resends a call with the same messageId (a retry of their own): stored once.
            new { userId = "bob", groupId = "acme", messageId = "m-2", timestamp = "2025-06-01T10:00:00Z", traits = new { plan = "Basic", industry = "Telecom" } },
        ];

        await platform.SendAsync(sdk, calls);

        var acme = await platform.ProfileAsync("acme");
        Assert.Equal("Account", acme.GetProperty("group_type").GetString());
        Assert.Equal("Enterprise", acme.GetProperty("traits").GetProperty("plan").GetString());
        Assert.Equal("Telecom", acme.GetProperty("traits").GetProperty("industry").GetString());
        Assert.Equal("Acme", acme.GetProperty("traits").GetProperty("name").GetString());
        Assert.Equal(2, acme.GetProperty("member_count").GetInt32());
        var globex = await platform.ProfileAsync("globex");
        Assert.Equal("Team", globex.GetProperty("group_type").GetString());
        Assert.Equal(2, globex.GetProperty("member_count").GetInt32());
        Assert.Equal(["alice", "bob"], (await platform.Fixture.UsersAsync(platform.Tenant, "acme")).Keys.Order());
        Assert.Equal(4, (await platform.Fixture.Ingest.Store.CountAsync(platform.Tenant, default)).Events);
    }

    [Theory]
    [InlineData("segment")]
    [InlineData("rudder")]
    public async Task The_sdks_retries_after_503s_end_in_exactly_once_storage(string sdk)
    {
        await using var platform = new Platform($"sdk-retry-{sdk}");
        platform.Fixture.Ingest.Store.FailNextInserts(2);
        object[] calls =
        [
            new { userId = "u1", groupId = "g1", timestamp = "2025-06-01T10:00:00Z", traits = new { plan = "Pro" } },
            new { userId = "u2", groupId = "g1", timestamp = "2025-06-01T10:00:01Z", traits = new { seats = 5 } },
        ];

        await platform.SendAsync(sdk, calls);

        Assert.True(platform.Fixture.Ingest.Store.InsertCalls >= 3, $"the SDK retried: {platform.Fixture.Ingest.Store.InsertCalls} inserts");
        Assert.Equal(2, (await platform.Fixture.Ingest.Store.CountAsync(platform.Tenant, default)).Events);
        Assert.Equal(2, (await platform.ProfileAsync("g1")).GetProperty("member_count").GetInt32());
    }

    /// <summary>Ingest and the gateway with one write key for a tenant of the test's own, and the SDK runner.</summary>
    private sealed class Platform(string tenant) : IAsyncDisposable
    {
        private const string Key = "wk_sdk_test_key_0123456789abcdef";

        public string Tenant { get; } = tenant;

        public SegmentFixture Fixture { get; } = new(new Dictionary<string, string?>
        {
            ["WriteKeys:Keys:sdk:Sha256"] = WriteKeyHash.Of(Key),
            ["WriteKeys:Keys:sdk:Tenant"] = tenant,
            ["Writer:RetryAfter"] = "00:00:01",
        });

        public async Task SendAsync(string sdk, object[] calls)
        {
            Assert.True(Directory.Exists(Path.Combine(SdkDirectory, "node_modules")),
                $"the SDKs are not installed: run .ci/run, or npm ci in {SdkDirectory}");
            var spec = JsonSerializer.Serialize(new { sdk, host = Fixture.Gateway.Address.GetLeftPart(UriPartial.Authority), writeKey = Key, calls, flushAt = 100 });
            var start = new ProcessStartInfo("node") { WorkingDirectory = SdkDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("send.mjs");
            start.ArgumentList.Add(spec);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            Assert.True(process.ExitCode == 0, $"{sdk} SDK failed: {await output} {await errors}");
        }

        public async Task<JsonElement> ProfileAsync(string groupId) =>
            await Fixture.ProfileAsync(Tenant, groupId) ?? throw new Xunit.Sdk.XunitException($"group {groupId} not stored");

        public ValueTask DisposeAsync()
        {
            Fixture.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
