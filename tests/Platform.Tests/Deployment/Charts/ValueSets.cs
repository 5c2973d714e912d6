namespace Platform.Tests.Deployment.Charts;

/// <summary>The charts and their value sets (charts/NAME/ci/*-values.yaml), as test data.</summary>
public static class ValueSets
{
    public static readonly string[] Charts = ["gateway", "ingest"];

    /// <summary>Every (chart, value set file name) pair.</summary>
    public static TheoryData<string, string> All
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var chart in Charts)
            {
                foreach (var file in Directory.GetFiles(Path.Combine(ChartRenderer.ChartDirectory(chart), "ci"), "*-values.yaml").Order(StringComparer.Ordinal))
                {
                    data.Add(chart, Path.GetFileName(file));
                }
            }

            return data;
        }
    }

    public static TheoryData<string> ChartNames => new(Charts);

    public static string PathOf(string chart, string valueSet) => Path.Combine(ChartRenderer.ChartDirectory(chart), "ci", valueSet);
}
