using System.Text;
using Microsoft.Extensions.Options;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Segment;
using Platform.Tests.GroupApi;

namespace Platform.Tests.Segment;

/// <summary>
/// Mutants of valid Segment bodies never make the parser throw (a throw is a 500): every mutant is either parsed or
/// refused with problems. Seeded, so a failure prints a body that reproduces it.
/// </summary>
public sealed class SegmentParserFuzzTests
{
    private static readonly string[] Seeds =
    [
        """{"batch":[{"type":"group","userId":"u","groupId":"g","messageId":"m","timestamp":"2025-12-31T23:00:00Z","sentAt":"2025-12-31T23:00:01Z","traits":{"name":"Acme","enrichment_tags":["a"],"enrichment_employees":4},"context":{"library":{"name":"x"}}},{"type":"track","userId":"u","event":"e"}],"context":{"ip":"1.2.3.4"},"sentAt":"2025-12-31T23:00:02Z","writeKey":"wk"}""",
        """{"anonymousId":7,"groupId":"g","traits":null,"context":null,"originalTimestamp":"2025-12-31T23:00:00.123456+02:00"}""",
    ];

    private static readonly string[] Fragments =
    [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "true", "1e999", "-0", "\"\\ud800\"", "\"\\u0000\"", "\"type\"", "\"group\"",
        "\"batch\"", "\"context\"", "\"sentAt\"", "\"traits\"", "\"group_type\"", "\"\\ud800\":1", "\xff", "\"2026-01-01T09:00:00Z\"", "{}", "[]",
    ];

    [Fact]
    public void No_mutant_of_a_valid_body_makes_the_parser_throw()
    {
        var parser = new SegmentParser(ParserFixture.Create(), Options.Create(new GroupApiOptions()), Options.Create(new SegmentOptions { GroupTypeTrait = "name" }));
        var random = new Random(1616);
        for (var i = 0; i < 20_000; i++)
        {
            var seed = Seeds[i % Seeds.Length];
            var body = Encoding.Latin1.GetBytes(seed).ToList();
            for (var edits = random.Next(1, 4); edits > 0; edits--)
            {
                var at = random.Next(body.Count + 1);
                switch (random.Next(3))
                {
                    case 0 when body.Count > 0:
                        body.RemoveRange(Math.Min(at, body.Count - 1), Math.Min(random.Next(1, 8), body.Count - Math.Min(at, body.Count - 1)));
                        break;
                    default:
                        body.InsertRange(at, Encoding.Latin1.GetBytes(Fragments[random.Next(Fragments.Length)]));
                        break;
                }
            }

            var bytes = body.ToArray();
            try
            {
                parser.Parse(bytes, "fuzz", isBatch: i % 3 != 1);
            }
            catch (Exception ex)
            {
                Assert.Fail($"mutant {i} threw {ex.GetType().Name}: {ex.Message}\nbody: {Encoding.Latin1.GetString(bytes)}");
            }
        }
    }
}
