using System.Net;
using Microsoft.Extensions.Options;
using Platform.Ingest.Segment;
using Platform.ServiceDefaults.Auth.WriteKeys;
using Platform.Tests.Gateway;
using Platform.Tests.Integration;

namespace Platform.Tests.Segment;

/// <summary>Write keys: how they are made, configured and checked at start.</summary>
public sealed class WriteKeyTests
{
    [Theory]
    [InlineData("WriteKeys:Keys:k1:Sha256", "not-a-hash")]
    [InlineData("WriteKeys:Keys:k1:Tenant", "")]
    [InlineData("WriteKeys:Keys:k1:Scopes:0", "admin")]
    [InlineData("Segment:DefaultGroupType", "")]
    public void A_bad_write_key_or_segment_setting_stops_ingest_naming_its_key(string key, string value)
    {
        var settings = new Dictionary<string, string?>
        {
            ["WriteKeys:Keys:k1:Sha256"] = WriteKeyHash.Of("wk_x"),
            ["WriteKeys:Keys:k1:Tenant"] = "acme",
            [key] = value,
        };

        var error = StartFailure.Of(() => new IngestHost(settings));

        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException;
        Assert.NotNull(validation);
        Assert.Contains(key.Replace(":Scopes:0", ":Scopes", StringComparison.Ordinal), validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_key_configured_twice_stops_the_service()
    {
        var error = StartFailure.Of(() => new IngestHost(new Dictionary<string, string?>
        {
            ["WriteKeys:Keys:k1:Sha256"] = WriteKeyHash.Of("wk_x"),
            ["WriteKeys:Keys:k1:Tenant"] = "acme",
            ["WriteKeys:Keys:k2:Sha256"] = WriteKeyHash.Of("wk_x"),
            ["WriteKeys:Keys:k2:Tenant"] = "other",
        }));

        Assert.Contains("the same key is configured as", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("d2tfYWJjOg==", "wk_abc")] // "wk_abc:"
    [InlineData("d2tfYWJj", "wk_abc")] // no colon at all
    [InlineData("d2tfYWJjOnNlY3JldA==", "wk_abc")] // a password is ignored
    [InlineData("OnBhc3M=", null)] // ":pass": no user name
    [InlineData("not base64!", null)]
    [InlineData("", null)]
    public void The_key_is_the_basic_user_name(string encoded, string? expected)
    {
        Assert.Equal(expected, WriteKeyAuthenticationHandler.DecodeBasicUser(encoded));
    }

    [Theory]
    [InlineData("""{"batch":[],"writeKey":"wk_1"}""", "wk_1")]
    [InlineData("""{"writeKey":"wk_2","batch":[{"writeKey":"inner"}]}""", "wk_2")]
    [InlineData("""{"batch":[{"writeKey":"inner"}]}""", null)]
    [InlineData("""{"writeKey":7}""", null)]
    [InlineData("""[{"writeKey":"wk_3"}]""", null)]
    [InlineData("not json", null)]
    public void Only_a_top_level_writeKey_string_in_the_body_counts(string json, string? expected)
    {
        Assert.Equal(expected, BodyWriteKey.Find(System.Text.Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public async Task The_write_key_command_prints_a_key_and_the_configuration_that_accepts_it()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = WriteKeyCommand.Run(["--tenant", "acme", "--name", "acme-2026"], output, error);

        Assert.Equal(0, exit);
        var lines = output.ToString().Split('\n', StringSplitOptions.TrimEntries);
        var key = lines.Single(l => l.StartsWith(WriteKeyHash.Prefix, StringComparison.Ordinal));
        var settings = lines.Where(l => l.StartsWith("WriteKeys__", StringComparison.Ordinal))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0].Replace("__", ":", StringComparison.Ordinal), p => (string?)p[1]);
        Assert.Equal(WriteKeyHash.Of(key), settings["WriteKeys:Keys:acme-2026:Sha256"]);
        Assert.DoesNotContain(key, string.Join("\n", lines.Where(l => !l.StartsWith(WriteKeyHash.Prefix, StringComparison.Ordinal))), StringComparison.Ordinal);

        using var ingest = new IngestHost(settings);
        using var response = await SegmentFixture.PostAsync(ingest.Client, "/v1/group", """{"userId":"u","groupId":"g"}""", key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await ingest.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_key_saved_by_the_command_is_accepted_by_a_running_service_watching_the_file()
    {
        var directory = Directory.CreateTempSubdirectory("platform-keys-");
        try
        {
            var file = Path.Combine(directory.FullName, "write-keys.json");
            await File.WriteAllTextAsync(file, "{}");
            using var ingest = new IngestHost(new Dictionary<string, string?> { ["WriteKeys:File"] = file });
            using var output = new StringWriter();
            using var error = new StringWriter();

            Assert.Equal(0, WriteKeyCommand.Run(["--tenant", "saved", "--save", file], output, error));
            var key = output.ToString().Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith(WriteKeyHash.Prefix, StringComparison.Ordinal));

            var deadline = DateTime.UtcNow.AddSeconds(20);
            HttpStatusCode status;
            do
            {
                using var response = await SegmentFixture.PostAsync(ingest.Client, "/v1/group", """{"userId":"u","groupId":"g"}""", key);
                status = response.StatusCode;
                await Task.Delay(status == HttpStatusCode.OK ? 0 : 100);
            }
            while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(1, (await ingest.Store.CountAsync("saved", default)).Events);
            Assert.Equal(1, WriteKeyCommand.Run(["--tenant", "saved", "--name", System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(file))
                .RootElement.GetProperty("WriteKeys").GetProperty("Keys").EnumerateObject().Single().Name, "--save", file], output, error));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData()]
    [InlineData("--tenant")]
    [InlineData("--tenant", "acme", "--scope", "admin")]
    [InlineData("--tenant", "acme", "--name", "a:b")]
    [InlineData("--bogus", "x")]
    public void The_write_key_command_refuses_bad_arguments(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        Assert.Equal(2, WriteKeyCommand.Run(args, output, error));
        Assert.DoesNotContain(WriteKeyHash.Prefix, output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_revoked_in_the_watched_key_file_is_refused_without_a_restart()
    {
        var directory = Directory.CreateTempSubdirectory("platform-keys-");
        try
        {
            var file = Path.Combine(directory.FullName, "write-keys.json");
            const string Key = "wk_filekey";
            string Json(bool revoked) =>
                "{\"WriteKeys\":{\"Keys\":{\"file-key\":{\"Sha256\":\"" + WriteKeyHash.Of(Key) + "\",\"Tenant\":\"acme\",\"Revoked\":"
                + (revoked ? "true" : "false") + "}}}}";
            await File.WriteAllTextAsync(file, Json(revoked: false));
            using var ingest = new IngestHost(new Dictionary<string, string?> { ["WriteKeys:File"] = file });

            using var before = await SegmentFixture.PostAsync(ingest.Client, "/v1/group", """{"userId":"u","groupId":"g"}""", Key);
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);

            await File.WriteAllTextAsync(file, Json(revoked: true));
            var deadline = DateTime.UtcNow.AddSeconds(20);
            HttpStatusCode status;
            do
            {
                await Task.Delay(100);
                using var after = await SegmentFixture.PostAsync(ingest.Client, "/v1/group", """{"userId":"u","groupId":"g"}""", Key);
                status = after.StatusCode;
            }
            while (status == HttpStatusCode.OK && DateTime.UtcNow < deadline);

            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_missing_or_bad_key_file_stops_the_service()
    {
        var directory = Directory.CreateTempSubdirectory("platform-keys-");
        try
        {
            var bad = Path.Combine(directory.FullName, "bad.json");
            File.WriteAllText(bad, """{"WriteKeys":{"Keys":{"k":{"Sha256":"short","Tenant":"acme"}}}}""");

            var missing = StartFailure.Of(() => new IngestHost(new Dictionary<string, string?> { ["WriteKeys:File"] = Path.Combine(directory.FullName, "none.json") }));
            var invalid = StartFailure.Of(() => new IngestHost(new Dictionary<string, string?> { ["WriteKeys:File"] = bad }));

            Assert.Contains("WriteKeys:File", missing.ToString(), StringComparison.Ordinal);
            Assert.Contains("WriteKeys:Keys:k:Sha256", invalid.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_gateway_charges_write_key_requests_to_the_keys_tenant()
    {
        var keys = new Dictionary<string, string?>
        {
            ["WriteKeys:Keys:k:Sha256"] = WriteKeyHash.Of(SegmentFixture.KeyA),
            ["WriteKeys:Keys:k:Tenant"] = "limited",
        };
        using var ingest = new IngestHost(keys);
        var tokens = new GatewayTokens(ingest.KeyDirectory);
        using var gateway = new GatewayHost(ingest.Client.BaseAddress!, tokens.PublicKeyFile, new Dictionary<string, string?>(keys)
        {
            ["RateLimiting:RequestsPerSecond"] = "1",
            ["RateLimiting:Burst"] = "1",
        });

        using var first = await SegmentFixture.PostAsync(gateway.Client, "/v1/group", """{"userId":"u","groupId":"g"}""", SegmentFixture.KeyA);
        using var second = await SegmentFixture.PostAsync(gateway.Client, "/v1/group", """{"userId":"u","groupId":"g"}""", SegmentFixture.KeyA);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.NotNull(second.Headers.RetryAfter);
    }

    [Fact]
    public async Task Log_lines_of_a_write_key_request_carry_the_keys_tenant_and_never_the_key()
    {
        var logs = new Platform.Tests.Telemetry.LogTests.CapturingLoggerProvider();
        using var ingest = new IngestHost(
            new Dictionary<string, string?>
            {
                ["WriteKeys:Keys:k:Sha256"] = WriteKeyHash.Of(SegmentFixture.KeyA),
                ["WriteKeys:Keys:k:Tenant"] = "logged",
            },
            services => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(services, logs));
        ingest.Store.FailNextInserts(1);

        using var refused = await SegmentFixture.PostAsync(ingest.Client, "/v1/group", """{"userId":"u","groupId":"g"}""", SegmentFixture.KeyA);
        using var unknown = await SegmentFixture.PostAsync(ingest.Client, "/v1/group", """{"userId":"u","groupId":"g"}""", "wk_not_configured_secret");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        var line = Assert.Single(logs.Lines, l => l.Message.StartsWith("Answered 503", StringComparison.Ordinal));
        Assert.Equal("logged", line.Scope["tenant"]);
        Assert.DoesNotContain(logs.Lines, l => l.ToString().Contains(SegmentFixture.KeyA, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.ToString().Contains("wk_not_configured_secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_503_leaves_nothing_stored_and_the_sdks_retry_is_stored_exactly_once()
    {
        var keys = new Dictionary<string, string?>
        {
            ["WriteKeys:Keys:k:Sha256"] = WriteKeyHash.Of(SegmentFixture.KeyA),
            ["WriteKeys:Keys:k:Tenant"] = "retry",
        };
        using var ingest = new IngestHost(keys);
        const string Body = """{"batch":[{"type":"group","messageId":"m-1","userId":"u","groupId":"g"},{"type":"track","userId":"u","event":"e"}]}""";
        ingest.Store.FailNextInserts(1);

        using var refused = await SegmentFixture.PostAsync(ingest.Client, "/v1/batch", Body, SegmentFixture.KeyA);
        using var retried = await SegmentFixture.PostAsync(ingest.Client, "/v1/batch", Body, SegmentFixture.KeyA);
        using var again = await SegmentFixture.PostAsync(ingest.Client, "/v1/batch", Body, SegmentFixture.KeyA);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal((1, 0), ((await SegmentBody.ReadAsync(retried)).Accepted, 0));
        Assert.Equal(1, (await SegmentBody.ReadAsync(again)).Duplicates);
        Assert.Equal(1, (await ingest.Store.CountAsync("retry", default)).Events);
    }
}
