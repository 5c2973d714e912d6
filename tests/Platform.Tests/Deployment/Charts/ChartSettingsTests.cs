using System.Text;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Platform.Gateway.Proxy;
using Platform.Gateway.RateLimiting;
using Platform.Ingest.Dedup;
using Platform.ServiceDefaults.Hosting;
using Platform.Ingest.Limits;
using Platform.Ingest.Writing;

namespace Platform.Tests.Deployment.Charts;

/// <summary>
/// The settings file a chart renders is read by the service's own configuration binding and checks, so a value the
/// chart maps to a wrong key or a wrong shape fails here instead of stopping the pods at start.
/// </summary>
public sealed class ChartSettingsTests
{
    public static TheoryData<string> GatewaySets => new(ValueSets.All.Where(row => (string)row[0] == "gateway").Select(row => (string)row[1]));

    public static TheoryData<string> IngestSets => new(ValueSets.All.Where(row => (string)row[0] == "ingest").Select(row => (string)row[1]));

    [Theory]
    [MemberData(nameof(GatewaySets))]
    public async Task The_gateway_settings_pass_the_gateway_proxy_and_rate_limit_checks(string valueSet)
    {
        var configuration = await RenderedConfigurationAsync("gateway", valueSet);

        var proxy = new ProxyOptions();
        configuration.GetSection(ProxyOptions.Section).Bind(proxy);
        var limits = new RateLimitingOptions();
        configuration.GetSection(RateLimitingOptions.Section).Bind(limits);

        Assert.NotEmpty(proxy.IngestAddresses);
        var proxyCheck = SectionOptions.Validate<ProxyOptions, ProxyOptionsValidator>(ProxyOptions.Section, proxy);
        Assert.False(proxyCheck.Failed, proxyCheck.FailureMessage);
        var limitsCheck = SectionOptions.Validate<RateLimitingOptions, RateLimitingOptionsValidator>(RateLimitingOptions.Section, limits, new RateLimitingOptionsRules());
        Assert.False(limitsCheck.Failed, limitsCheck.FailureMessage);
        Assert.Equal("https://auth.example.com/", configuration["Auth:Issuer"]);
    }

    [Theory]
    [MemberData(nameof(IngestSets))]
    public async Task The_ingest_settings_bind_to_the_dedup_and_storage_sections(string valueSet)
    {
        var configuration = await RenderedConfigurationAsync("ingest", valueSet);

        var dedup = new DedupOptions();
        configuration.GetSection(DedupOptions.Section).Bind(dedup);

        var limits = new EventLimitOptions();
        configuration.GetSection(EventLimitOptions.Section).Bind(limits);
        var writer = new WriterOptions();
        configuration.GetSection(WriterOptions.Section).Bind(writer);

        Assert.True(dedup.Window > TimeSpan.Zero);
        // The connection string comes from a Secret at run time, so the rules that need it are not run here.
        var dedupCheck = SectionOptions.Validate<DedupOptions, DedupOptionsValidator>(DedupOptions.Section, dedup);
        Assert.False(dedupCheck.Failed, dedupCheck.FailureMessage);
        var limitsCheck = SectionOptions.Validate<EventLimitOptions, EventLimitOptionsValidator>(EventLimitOptions.Section, limits, new EventLimitOptionsRules());
        Assert.False(limitsCheck.Failed, limitsCheck.FailureMessage);
        Assert.True(limits.Enabled);
        Assert.InRange(writer.FairShareAbove, 0, 1);
        if (valueSet == "production-values.yaml")
        {
            Assert.Equal((100_000, 200_000), limits.LimitFor("big-customer"));
            Assert.Equal((20_000, 40_000), limits.LimitFor("anyone-else"));
        }

        Assert.Contains(configuration["Storage:Backend"], new[] { "DuckDb", "ClickHouse" });
        if (configuration["Storage:Backend"] == "DuckDb")
        {
            Assert.Equal("/var/lib/platform/ingest", configuration["Storage:DuckDb:DataDirectory"]);
        }
    }

    private static async Task<IConfiguration> RenderedConfigurationAsync(string chart, string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));
        var file = Assert.Single(ChartRenderingTests.SettingsMap(objects).Data);
        var stream = new MemoryStream(Encoding.UTF8.GetBytes(file.Value));
        return new ConfigurationBuilder().AddJsonStream(stream).Build();
    }
}
