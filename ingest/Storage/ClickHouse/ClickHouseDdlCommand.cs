using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// <c>dotnet run --project ingest -- clickhouse-ddl [--Storage:ClickHouse:Cluster=name ...]</c>: prints the ClickHouse
/// schema this build creates, for the configured database and layout (one server, or Replicated tables behind
/// Distributed tables ON CLUSTER), and exits. Operators review it, or run it by hand where the service may not run DDL.
/// </summary>
internal static class ClickHouseDdlCommand
{
    public const string Name = "clickhouse-ddl";

    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Name;

    public static void Print(IConfiguration configuration, TextWriter output)
    {
        var options = new ClickHouseOptions();
        configuration.GetSection(ClickHouseOptions.Section).Bind(options);
        var problems = SectionOptions.Validate<ClickHouseOptions, ClickHouseOptionsValidator>(ClickHouseOptions.Section, options);
        if (problems.Failed)
        {
            throw new InvalidOperationException(problems.FailureMessage);
        }

        foreach (var statement in ClickHouseSchema.AllStatements(options.Layout))
        {
            output.Write(statement);
            output.WriteLine(";");
            output.WriteLine();
        }
    }
}
