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
