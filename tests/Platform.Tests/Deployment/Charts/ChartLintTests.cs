namespace Platform.Tests.Deployment.Charts;

/// <summary>
/// yamllint (Debian's; .ci/run installs it) with the repository's .yamllint.yaml: the charts' plain YAML files, and
/// each value set's rendered manifests (template sources are Go templates, not YAML, so their output is linted).
/// </summary>
public sealed class ChartLintTests
{
    [Fact]
    public async Task The_charts_yaml_files_pass_yamllint()
    {
        var result = await ExternalCommand.RunAsync("yamllint", ["-f", "parsable", "-c", ".yamllint.yaml", "charts/", ".yamllint.yaml"], Repository.Root, TimeSpan.FromMinutes(1));

        Assert.True(result.ExitCode == 0, result.Describe("yamllint charts/"));
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task The_rendered_manifests_pass_yamllint(string chart, string valueSet)
    {
        var manifests = await ChartRenderer.RenderTextAsync(chart, chart, ValueSets.PathOf(chart, valueSet));
        var file = Path.Combine(Path.GetTempPath(), $"platform-{chart}-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, manifests);
        try
        {
            // helm template ends every manifest with a newline of its own, hence one blank line at the end.
            var config = $"{{extends: {Repository.PathOf(".yamllint.yaml")}, rules: {{empty-lines: {{max-end: 1}}}}}}";
            var result = await ExternalCommand.RunAsync("yamllint", ["-f", "parsable", "-d", config, file], Repository.Root, TimeSpan.FromMinutes(1));

            Assert.True(result.ExitCode == 0, result.Describe($"yamllint on {chart} rendered with {valueSet}"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
