using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Platform.Tests.Deployment.Charts;

/// <summary>values.yaml and every ci value set, coalesced as Helm does, against the chart's values.schema.json.</summary>
public sealed class ChartSchemaTests
{
    [Theory]
    [MemberData(nameof(ValueSets.ChartNames), MemberType = typeof(ValueSets))]
    public void The_chart_defaults_satisfy_the_schema(string chart)
    {
        AssertValid(chart, ValuesYaml.Merged(ChartRenderer.ChartDirectory(chart)));
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public void Every_value_set_satisfies_the_schema(string chart, string valueSet)
    {
        AssertValid(chart, ValuesYaml.Merged(ChartRenderer.ChartDirectory(chart), ValueSets.PathOf(chart, valueSet)));
    }

    [Theory]
    [MemberData(nameof(ValueSets.ChartNames), MemberType = typeof(ValueSets))]
    public void A_misspelled_top_level_key_is_refused(string chart)
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory(chart));
        values["replicas"] = 3;

        Assert.False(Evaluate(chart, values).IsValid);
    }

    [Theory]
    [MemberData(nameof(ValueSets.ChartNames), MemberType = typeof(ValueSets))]
    public void A_writable_root_filesystem_is_refused(string chart)
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory(chart));
        values["securityContext"]!["readOnlyRootFilesystem"] = false;

        Assert.False(Evaluate(chart, values).IsValid);
    }

    [Theory]
    [MemberData(nameof(ValueSets.ChartNames), MemberType = typeof(ValueSets))]
    public void Resources_without_limits_are_refused(string chart)
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory(chart));
        values["resources"]!.AsObject().Remove("limits");

        Assert.False(Evaluate(chart, values).IsValid);
    }

    [Fact]
    public void Ingest_refuses_more_than_one_pod_on_embedded_DuckDB()
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory("ingest"));
        values["replicaCount"] = 2;

        Assert.False(Evaluate("ingest", values).IsValid);
    }

    [Fact]
    public void Ingest_refuses_an_unknown_storage_backend()
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory("ingest"));
        values["storage"]!["backend"] = "Postgres";

        Assert.False(Evaluate("ingest", values).IsValid);
    }

    [Theory]
    [InlineData("log", "persistence", "size", "\"10GB\"")]
    [InlineData("log", "persistence", "size", "\"1.5Gi\"")]
    [InlineData("log", "persistence", "size", "10737418240")]
    [InlineData("log", "persistence", "whenScaled", "\"Keep\"")]
    [InlineData("log", null, "maxBytesPercent", "95")]
    [InlineData("log", null, "maxBytesPercent", "0")]
    [InlineData("log", null, "segmentBytes", "1024")]
    [InlineData("shipper", null, "drainTimeoutSeconds", "0")]
    [InlineData("shipper", null, "drainTimeoutSeconds", "3600")]
    [InlineData("shipper", null, "drainTimeoutSeconds", "\"00:01:00\"")]
    public void Ingest_refuses_log_and_drain_values_it_cannot_size_the_volume_or_the_grace_period_from(string section, string? child, string key, string json)
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory("ingest"));
        var target = child is null ? values[section]!.AsObject() : values[section]![child]!.AsObject();
        target[key] = JsonNode.Parse(json);

        Assert.False(Evaluate("ingest", values).IsValid, $"{section}.{child}.{key}: {json} should be refused");
    }

    [Theory]
    [InlineData("Log", "Directory", "\"data/log\"")]
    [InlineData("Log", "MaxBytes", "1073741824")]
    [InlineData("Log", "SegmentBytes", "1048576")]
    [InlineData("Shipper", "DrainTimeout", "\"00:10:00\"")]
    public void Ingest_refuses_log_settings_that_belong_to_log_and_shipper_values(string section, string key, string json)
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory("ingest"));
        values["settings"] = new JsonObject { [section] = new JsonObject { [key] = JsonNode.Parse(json) } };

        Assert.False(Evaluate("ingest", values).IsValid);
    }

    [Fact]
    public void Ingest_accepts_other_log_and_shipper_settings()
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory("ingest"));
        values["settings"] = JsonNode.Parse("""{"Shipper": {"MaxBlockEvents": 100000, "MaxBlockAge": "00:00:02"}, "Writer": {"Ack": "Queryable"}}""");

        AssertValid("ingest", values);
    }

    [Fact]
    public void Ingest_refuses_a_pod_security_context_without_the_fsGroup_that_makes_its_volume_writable()
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory("ingest"));
        values["podSecurityContext"]!.AsObject().Remove("fsGroup");

        Assert.False(Evaluate("ingest", values).IsValid);
    }

    private static void AssertValid(string chart, JsonObject values)
    {
        var result = Evaluate(chart, values);
        var problems = (result.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"));
        Assert.True(result.IsValid, $"{chart} values break values.schema.json:\n{string.Join('\n', problems)}");
    }

    private static EvaluationResults Evaluate(string chart, JsonObject values)
    {
        var schema = JsonSchema.FromText(File.ReadAllText(Path.Combine(ChartRenderer.ChartDirectory(chart), "values.schema.json")));
        using var document = JsonDocument.Parse(values.ToJsonString());
        return schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }
}
