using System.Text;
using Microsoft.Extensions.Options;
using Platform.Ingest.GroupApi;

namespace Platform.Tests.GroupApi;

/// <summary>A parser with the default limits (or adjusted ones) and a clock fixed at 2026-01-01T00:00:00Z.</summary>
internal static class ParserFixture
{
    public static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static GroupEventParser Create(Action<GroupApiOptions>? adjust = null)
    {
        var options = new GroupApiOptions();
        adjust?.Invoke(options);
        return new GroupEventParser(Options.Create(options), new FixedClock(Now));
    }

    public static ParseOutcome Parse(string json, Action<GroupApiOptions>? adjust = null, string tenant = "acme") =>
        Create(adjust).Parse(Encoding.UTF8.GetBytes(json), tenant);

    /// <summary>One valid event as JSON, with the given members replacing or adding to the defaults.</summary>
    public static string Event(string? groupId = "g1", string userId = "u1", string timestamp = "2023-12-14T16:07:33.571125Z",
        string traits = """{"group_type":"Team","name":"Acme"}""", string? extra = null)
    {
        var builder = new StringBuilder("{");
        if (groupId is not null)
        {
            builder.Append($"\"group_id\":\"{groupId}\",");
        }

        builder.Append($"\"user_id\":\"{userId}\",\"timestamp\":\"{timestamp}\",\"traits\":{traits}");
        if (extra is not null)
        {
            builder.Append(',').Append(extra);
        }

        return builder.Append('}').ToString();
    }

    public static string Batch(int count, Func<int, string>? eventAt = null) =>
        "[" + string.Join(",", Enumerable.Range(0, count).Select(i => eventAt?.Invoke(i) ?? Event(userId: $"u{i}"))) + "]";

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
