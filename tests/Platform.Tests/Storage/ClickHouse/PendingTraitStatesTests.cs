using System.Text;
using Platform.Ingest.Storage.ClickHouse;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>
/// The shipper's latest-change-per-key collapse against a plain model of the rule (the bytewise greatest version wins),
/// with arena chunks small enough that keys, values and versions cross chunk ends, outgrow a chunk and get compacted.
/// </summary>
public sealed class PendingTraitStatesTests
{
    [Theory]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(1 << 20)]
    public void The_rows_written_are_the_latest_change_of_every_key(int chunkBytes)
    {
        var random = new Random(chunkBytes);
        var states = new PendingTraitStates(chunkBytes);
        for (var interval = 0; interval < 3; interval++)
        {
            var model = new Dictionary<string, (string Value, string Version)>(StringComparer.Ordinal);
            for (var e = 0; e < 8_000; e++)
            {
                var tenant = random.Next(3) == 0 ? "t2" : "tenant-one";
                var group = "g" + random.Next(20);
                var eventId = Guid.NewGuid().ToString("N")[..random.Next(1, 32)];
                var micros = random.NextInt64(1_000, 1_000_000) * (random.Next(10) == 0 ? 1_000_000 : 1);
                var version = Encoding.UTF8.GetString(states.Version(micros, Encoding.UTF8.GetBytes(eventId)));
                Assert.Equal("1" + micros.ToString("D19"), version[..20]);
                foreach (var key in Enumerable.Range(0, random.Next(0, 6)).Select(_ => "k" + random.Next(8)).Distinct())
                {
                    // Clears (''), short values, values longer than a small chunk, and values re-sent unchanged.
                    var value = random.Next(6) switch
                    {
                        0 => string.Empty,
                        1 => new string('v', random.Next(100, 3_000)),
                        2 => "\"same\"",
                        _ => $"{random.Next(1_000)}",
                    };
                    states.Add(Bytes(tenant), Bytes(group), Bytes(key), Bytes(value));
                    var id = $"{tenant}/{group}/{key}";
                    if (!model.TryGetValue(id, out var held) || string.CompareOrdinal(version, held.Version) > 0)
                    {
                        model[id] = (value, version);
                    }
                }
            }

            Assert.Equal(model.Count, states.Count);
            using var rows = states.Write();
            var written = Read(rows.WrittenSpan);
            Assert.Equal(model.Count, written.Count);
            foreach (var (id, expected) in model)
            {
                Assert.True(written.TryGetValue(id, out var actual), $"{id} was not written");
                Assert.Equal(expected, actual);
            }

            // Memory follows the keys held: 8,000 events of replaced values did not pile up (compaction).
            Assert.True(states.ArenaBytes <= Math.Max(16L * chunkBytes, 8 * written.Sum(w => w.Key.Length + w.Value.Value.Length + w.Value.Version.Length)),
                $"the arena holds {states.ArenaBytes} bytes");
            states.Clear();
            Assert.Equal(0, states.Count);
        }
    }

    [Fact]
    public void An_older_or_equal_change_keeps_what_is_held()
    {
        var states = new PendingTraitStates(64);
        states.Version(2_000, "b"u8);
        states.Add("t"u8, "g"u8, "plan"u8, "\"pro\""u8);
        states.Version(1_000, "z"u8);
        states.Add("t"u8, "g"u8, "plan"u8, "\"free\""u8);
        states.Version(2_000, "b"u8);
        states.Add("t"u8, "g"u8, "plan"u8, "\"other\""u8);
        states.Version(2_000, "a"u8);
        states.Add("t"u8, "g"u8, "plan"u8, ""u8);

        using var rows = states.Write();
        var written = Read(rows.WrittenSpan);
        Assert.Equal(("\"pro\"", "1" + 2_000L.ToString("D19") + "b"), Assert.Single(written).Value);
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>RowBinary rows of (tenant, trait_key, group_id, value, version), by "tenant/group/key".</summary>
    private static Dictionary<string, (string Value, string Version)> Read(ReadOnlySpan<byte> rows)
    {
        var result = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        var fields = new string[PendingTraitStates.Columns.Length];
        while (!rows.IsEmpty)
        {
            for (var f = 0; f < fields.Length; f++)
            {
                var length = 0;
                var shift = 0;
                byte b;
                do
                {
                    b = rows[0];
                    rows = rows[1..];
                    length |= (b & 0x7F) << shift;
                    shift += 7;
                }
                while ((b & 0x80) != 0);
                fields[f] = Encoding.UTF8.GetString(rows[..length]);
                rows = rows[length..];
            }

            Assert.True(result.TryAdd($"{fields[0]}/{fields[2]}/{fields[1]}", (fields[3], fields[4])), "a key was written twice");
        }

        return result;
    }
}
