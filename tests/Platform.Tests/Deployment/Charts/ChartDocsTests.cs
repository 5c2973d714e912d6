using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Platform.Tests.Deployment.Charts;

/// <summary>Each chart's README documents every value its values.yaml has.</summary>
public sealed partial class ChartDocsTests
{
    [Theory]
    [MemberData(nameof(ValueSets.ChartNames), MemberType = typeof(ValueSets))]
    public void Every_value_is_in_the_chart_readme_table(string chart)
    {
        var documented = File.ReadLines(Path.Combine(ChartRenderer.ChartDirectory(chart), "README.md"))
            .Select(line => TableKey().Match(line))
            .Where(match => match.Success)
            .Select(match => match.Groups[1].Value)
            .ToList();
        var values = ValuesYaml.Load(Path.Combine(ChartRenderer.ChartDirectory(chart), "values.yaml"));

        var missing = Leaves(values, "").Where(path => !documented.Any(key => path == key || path.StartsWith(key + ".", StringComparison.Ordinal))).ToList();

        Assert.True(missing.Count == 0, $"charts/{chart}/README.md lacks: {string.Join(", ", missing)}");
    }

    private static IEnumerable<string> Leaves(JsonObject values, string prefix)
    {
        foreach (var (key, value) in values)
        {
            var path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            if (value is JsonObject { Count: > 0 } child)
            {
                foreach (var leaf in Leaves(child, path))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return path;
            }
        }
    }

    [GeneratedRegex(@"^\| `([^`]+)` \|")]
    private static partial Regex TableKey();
}
