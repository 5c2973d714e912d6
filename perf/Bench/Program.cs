using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Platform.Perf.Bench.Results;

namespace Platform.Perf.Bench;

// The benchmark script's helper (perf/Bench/run.sh):
//   free-ports N   prints N free loopback TCP ports, one a line
//   report DIR     writes DIR/results.md (and DIR/sustained-rss.csv) from the scenarios in DIR, prints it, and exits 1
//                  when a check failed (a verification, an error answer, a load generator that did not finish)
internal static class Program
{
    public static int Main(string[] args)
    {
        switch (args)
        {
            case ["free-ports", var count] when int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 32:
                foreach (var port in FreePorts(n))
                {
                    Console.WriteLine(port.ToString(CultureInfo.InvariantCulture));
                }

                return 0;
            case ["report", var directory]:
                var results = BenchResults.Load(directory);
                var markdown = ResultsMarkdown.Write(results);
                File.WriteAllText(Path.Combine(directory, "results.md"), markdown);
                File.WriteAllText(Path.Combine(directory, "sustained-rss.csv"), results.SustainedRssCsv());
                Console.WriteLine(markdown);
                var problems = results.Problems();
                foreach (var problem in problems)
                {
                    Console.Error.WriteLine($"FAILED: {problem}");
                }

                return problems.Count == 0 ? 0 : 1;
            default:
                Console.Error.WriteLine("usage: Bench free-ports N | Bench report DIR");
                return 2;
        }
    }

    /// <summary>Ports the kernel hands out for loopback listeners; all held at once so they differ, then released.</summary>
    private static List<int> FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
