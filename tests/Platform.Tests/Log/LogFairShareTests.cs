using Platform.Ingest.Log;
using Platform.Ingest.Writing;

namespace Platform.Tests.Log;

/// <summary>The write-ahead log's byte budget shared between tenants once it is congested.</summary>
public sealed class LogFairShareTests : IDisposable
{
    private const long MiB = 1L << 20;
    private readonly TempLogDirectory _directory = new();

    [Fact]
    public async Task A_tenant_holding_its_share_of_a_congested_log_is_refused_while_others_are_appended_until_its_records_ship()
    {
        var random = new Random(15);
        await using var log = IngestLog.Open(_directory.Path, MiB, 256 * 1024, fairShareAbove: 0.5);
        await log.AppendAsync(LogTestData.Batch(random, 5, "quiet"));
        var flood = new List<LogPosition>();
        while (true)
        {
            try
            {
                flood.Add(await log.AppendAsync(LogTestData.Batch(random, 100, "flood")));
            }
            catch (FairShareExceededException)
            {
                break;
            }
        }

        // Refused once past half the budget and holding its half of it; the log is not full.
        Assert.InRange(log.UsedBytes, MiB / 2, MiB - 1);
        var held = log.UnshippedByTenant().ToDictionary(h => h.Tenant);
        Assert.True(held["flood"].Bytes >= MiB / 2);
        Assert.Equal(100L * flood.Count, held["flood"].Events);
        Assert.Equal(5L, held["quiet"].Events);
        Assert.True(log.IsOverFairShare("flood"));
        Assert.False(log.IsOverFairShare("quiet"));
        await log.AppendAsync(LogTestData.Batch(random, 100, "quiet"));
        await log.AppendAsync(LogTestData.Batch(random, 100, "newcomer"));

        // Shipping the flood's first half gives its bytes back.
        await log.MarkShippedAsync(flood[flood.Count / 2]);

        Assert.False(log.IsOverFairShare("flood"));
        await log.AppendAsync(LogTestData.Batch(random, 100, "flood"));
    }

    [Fact]
    public async Task Shipping_everything_gives_every_tenant_its_bytes_back()
    {
        var random = new Random(16);
        await using var log = IngestLog.Open(_directory.Path, 64 * MiB, 4 * MiB, fairShareAbove: 0.5);
        LogPosition end = default;
        for (var i = 0; i < 20; i++)
        {
            end = await log.AppendAsync(LogTestData.Batch(random, 10, i % 2 == 0 ? "a" : "b"));
        }

        await log.MarkShippedAsync(end);

        Assert.Equal(0, log.UsedBytes);
        Assert.Empty(log.UnshippedByTenant());
    }

    [Fact]
    public async Task Records_recovered_at_start_count_against_the_budget_and_belong_to_nobody()
    {
        var random = new Random(17);
        LogPosition end;
        await using (var first = IngestLog.Open(_directory.Path, 64 * MiB, 4 * MiB))
        {
            end = await first.AppendAsync(LogTestData.Batch(random, 50, "a"));
        }

        await using var log = IngestLog.Open(_directory.Path, 64 * MiB, 4 * MiB, fairShareAbove: 0.5);

        Assert.Equal(end.Offset, log.UsedBytes);
        Assert.Empty(log.UnshippedByTenant());
        var next = await log.AppendAsync(LogTestData.Batch(random, 50, "a"));
        await log.MarkShippedAsync(next);
        Assert.Equal(0, log.UsedBytes);
        Assert.Empty(log.UnshippedByTenant());
    }

    public void Dispose() => _directory.Dispose();
}
