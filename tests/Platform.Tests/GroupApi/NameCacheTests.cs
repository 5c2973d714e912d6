using System.Text;
using System.Text.Json;
using Platform.Ingest.GroupApi;

namespace Platform.Tests.GroupApi;

public sealed class NameCacheTests
{
    private static string Read(NameCache cache, string jsonString)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(jsonString));
        reader.Read();
        return cache.Get(ref reader, out _)!;
    }

    [Fact]
    public void A_seeded_name_is_the_shared_instance()
    {
        var seeded = new string("planName".AsSpan());
        var cache = new NameCache(10, [seeded]);

        Assert.Same(seeded, Read(cache, "\"planName\""));
    }

    [Fact]
    public void Escaped_and_non_ascii_names_read_as_their_text()
    {
        var cache = new NameCache(10, ["group_type"]);

        Assert.Equal("group_type", Read(cache, "\"gr\\u006fup_type\""));
        Assert.Equal("Größe", Read(cache, "\"Größe\""));
        Assert.Same(Read(cache, "\"Größe\""), Read(cache, "\"Größe\""));
    }

    [Fact]
    public void The_cache_stops_growing_at_its_capacity_and_still_reads_every_name()
    {
        var cache = new NameCache(3, ["a"]);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal($"name{i}", Read(cache, $"\"name{i}\""));
        }

        Assert.Equal(3, cache.Count);
    }
}
