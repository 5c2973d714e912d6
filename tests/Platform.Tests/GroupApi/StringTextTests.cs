using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Platform.Ingest.Events;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.GroupApi;

/// <summary>
/// Every string the parser takes from the body is valid text or the event is refused, naming the field:
/// invalid UTF-8 (a stray byte, a truncated or overlong sequence, an encoded surrogate), a lone surrogate escape,
/// and U+0000, in every position a string can take.
/// </summary>
public sealed class StringTextTests
{
    /// <summary>Events with one '@' inside a string, where the hostile text goes, and the field the error must name.</summary>
    private static readonly (string Json, string Field)[] Positions =
    [
        ("""{"group_id":"g@","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"}}""", "group_id"),
        ("""{"group_id":"g","user_id":"@u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"}}""", "user_id"),
        ("""{"group_id":"g","user_id":"u","message_id":"m@","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"}}""", "message_id"),
        ("""{"group_id":"g","user_id":"u","messageId":"m@","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"}}""", "messageId"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z@","traits":{"group_type":"Team"}}""", "timestamp"),
        ("""{"user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"},"context":{"group_id":"g@"}}""", "context.group_id"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","n@":"x"}}""", "traits"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Te@am"}}""", "traits.group_type"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","name":"@"}}""", "traits.name"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","enrichment_tags":["a","b@"]}}""", "traits.enrichment_tags[1]"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","industry":"v@X"}}""", "traits.industry"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","meta":{"a":{"b":["x","y@"]}}}}""", "traits.meta.a.b[1]"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","meta":{"z":1,"a":"y@"}}}""", "traits.meta.a"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","meta":{"k@":1}}}""", "traits.meta"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"},"context":{"ip":"v@X"}}""", "context.ip"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"},"context":{"lib":{"n@":1}}}""", "context.lib"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"},"context":{"z":1,"a":["@"]}}""", "context.a[0]"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"},"anonymousId":"a@"}""", "anonymousId"),
        ("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"},"x@":1}""", ""),
    ];

    /// <summary>Hostile text, as the bytes that stand in the JSON string, and the problem it must be reported as.</summary>
    private static readonly Dictionary<string, (byte[] Bytes, string Problem)> Kinds = new()
    {
        ["escaped lone high surrogate"] = ("\\ud800"u8.ToArray(), JsonStrings.LoneSurrogate),
        ["escaped high surrogate before a non-surrogate"] = ("\\uD800\\u0041"u8.ToArray(), JsonStrings.LoneSurrogate),
        ["escaped lone low surrogate"] = ("\\udc00"u8.ToArray(), JsonStrings.LoneSurrogate),
        ["raw byte 0xFF"] = ([0xFF], JsonStrings.NotUtf8),
        ["truncated multi-byte sequence"] = ([0xE2, 0x82], JsonStrings.NotUtf8),
        ["overlong encoding"] = ([0xC0, 0xAF], JsonStrings.NotUtf8),
        ["raw encoded surrogate"] = ([0xED, 0xA0, 0x80], JsonStrings.NotUtf8),
        ["escaped U+0000"] = ("\\u0000"u8.ToArray(), JsonStrings.NulCharacter),
    };

    public static TheoryData<int, string> Cases()
    {
        var cases = new TheoryData<int, string>();
        for (var position = 0; position < Positions.Length; position++)
        {
            foreach (var kind in Kinds.Keys)
            {
                cases.Add(position, kind);
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_string_that_is_not_valid_text_is_refused_naming_its_field(int position, string kind)
    {
        var (json, field) = Positions[position];
        var (bytes, problem) = Kinds[kind];

        var outcome = Create().Parse(Hostile(json, bytes), "acme");

        var error = Assert.Single(outcome.Errors);
        Assert.Equal((0, field), (error.Index ?? -1, error.Field));
        Assert.EndsWith(problem, error.Message, StringComparison.Ordinal);
        Assert.Empty(outcome.Events);
    }

    [Fact]
    public void Each_event_of_a_batch_is_named_by_its_index()
    {
        var body = Hostile($"[{Event(userId: "ok")},{Event(groupId: "g@")}]", [0xFF]);

        var error = Assert.Single(Create().Parse(body, "acme").Errors);

        Assert.Equal((1, "group_id"), (error.Index, error.Field));
    }

    [Fact]
    public void Non_ascii_text_is_kept_as_sent_whether_raw_or_escaped()
    {
        var raw = Assert.Single(Parse(Event(groupId: "g-😀-漢字", traits: """{"group_type":"Team","名前":"😀 漢字","x":{"é":["👍"]}}""")).Events);
        var escaped = Assert.Single(Parse(Event(
            groupId: "g-\\ud83d\\ude00-\\u6f22\\u5b57",
            traits: """{"group_type":"Team","\u540d\u524d":"\ud83d\ude00 \u6f22\u5b57","x":{"\u00e9":["\ud83d\udc4d"]}}""")).Events);

        Assert.Equal("g-😀-漢字", raw.GroupId);
        using var traits = JsonDocument.Parse(raw.TraitsJson);
        Assert.Equal("😀 漢字", traits.RootElement.GetProperty("名前").GetString());
        Assert.Equal("👍", traits.RootElement.GetProperty("x").GetProperty("é")[0].GetString());
        Assert.Equal(raw.EventId, escaped.EventId);
        Assert.Equal(raw.TraitsJson, escaped.TraitsJson);
    }

    [Fact]
    public void Escapes_that_are_not_unicode_escapes_are_read_as_before()
    {
        var groupEvent = Assert.Single(Parse(Event(groupId: "a\\\\ud800\\\"\\n\\/b")).Events);

        Assert.Equal("a\\ud800\"\n/b", groupEvent.GroupId);
    }

    [Fact]
    public void Mutated_bodies_always_get_an_outcome_and_an_accepted_one_is_valid_text()
    {
        // Seeded, so a failure replays; the mutant's bytes are in the message.
        const int Seed = 1313;
        const int Mutants = 4_000;
        var random = new Random(Seed);
        var parser = Create();
        byte[][] seeds =
        [
            Encoding.UTF8.GetBytes(Batch(2, i => Event(userId: $"ü{i}", extra: "\"context\":{\"ip\":\"1.2.3.4\",\"lib\":{\"v\":[\"x\",\"漢\"]}},\"message_id\":\"m-" + i + "\""))),
            Encoding.UTF8.GetBytes(Event(groupId: "g-😀", traits: """{"group_type":"Team","enrichment_tags":["a","\ud83d\ude00"],"meta":{"z":"\u00e9","a":[1,{"k":"v"}]}}""")),
            Encoding.UTF8.GetBytes(Event(groupId: null, extra: "\"context\":{\"group_id\":\"c\\u0041\"},\"anonymousId\":\"x\"")),
        ];
        byte[][] insertions =
        [
            [0xFF], [0xC0, 0xAF], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98], [0x80],
            "\\ud800"u8.ToArray(), "\\udc00"u8.ToArray(), "\\u0000"u8.ToArray(), "\\"u8.ToArray(), "\""u8.ToArray(),
            "{"u8.ToArray(), "["u8.ToArray(), ","u8.ToArray(), "😀"u8.ToArray(),
        ];
        var accepted = 0;

        for (var i = 0; i < Mutants; i++)
        {
            var mutant = Mutate(seeds[random.Next(seeds.Length)], random, insertions);
            ParseOutcomeView? view = null;
            var thrown = Record.Exception(() => view = ParseOutcomeView.Of(parser.Parse(mutant, "acme")));

            Assert.True(thrown is null, $"mutant {i} ({Convert.ToHexString(mutant)}) threw {thrown}");
            Assert.True(view!.Valid || view.Events.Count == 0, $"mutant {i} was refused but kept events");
            if (view.Valid)
            {
                accepted++;
                foreach (var text in view.Events)
                {
                    Assert.True(IsValidText(text), $"mutant {i} ({Convert.ToHexString(mutant)}) was accepted with invalid text");
                }

                AssertStrictlyValid(mutant, i);
            }
        }

        // The mutations must leave some bodies valid, or the last assertions never ran.
        Assert.InRange(accepted, 50, Mutants - 50);
    }

    private static byte[] Hostile(string json, byte[] bytes)
    {
        var at = json.IndexOf('@', StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(json[..at]), .. bytes, .. Encoding.UTF8.GetBytes(json[(at + 1)..])];
    }

    private static byte[] Mutate(byte[] seed, Random random, byte[][] insertions)
    {
        var bytes = new List<byte>(seed);
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits && bytes.Count > 0; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 2:
                    bytes.InsertRange(at, insertions[random.Next(insertions.Length)]);
                    break;
                default:
                    // Insert into a string: after the next quote, so most insertions land inside text.
                    var quote = bytes.IndexOf((byte)'"', at);
                    bytes.InsertRange(quote < 0 ? at : quote + 1, insertions[random.Next(insertions.Length)]);
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Valid UTF-16 (no lone surrogate) without U+0000, so it encodes to valid UTF-8.</summary>
    private static bool IsValidText(string? text)
    {
        if (text is null)
        {
            return true;
        }

        var buffer = new byte[text.Length * 3];
        return Utf8.FromUtf16(text, buffer, out _, out _, replaceInvalidSequences: false) == OperationStatus.Done
            && !text.Contains('\0', StringComparison.Ordinal);
    }

    /// <summary>An accepted body is one a strict reader takes whole: every string and name decodes, none holds U+0000.</summary>
    private static void AssertStrictlyValid(byte[] body, int mutant)
    {
        using var document = JsonDocument.Parse(body);
        var pending = new Stack<JsonElement>([document.RootElement]);
        while (pending.TryPop(out var element))
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var member in element.EnumerateObject())
                    {
                        Assert.True(IsValidText(member.Name), $"mutant {mutant} was accepted with an invalid name");
                        pending.Push(member.Value);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        pending.Push(item);
                    }

                    break;
                case JsonValueKind.String:
                    Assert.True(IsValidText(element.GetString()), $"mutant {mutant} was accepted with an invalid string");
                    break;
            }
        }
    }

    /// <summary>The parts of an outcome the fuzz test checks: validity and every string of every event.</summary>
    private sealed record ParseOutcomeView(bool Valid, List<string?> Events)
    {
        public static ParseOutcomeView Of(Platform.Ingest.GroupApi.ParseOutcome outcome) => new(
            outcome.IsValid,
            [.. outcome.Events.SelectMany(e => new[] { e.GroupId, e.UserId, e.MessageId, e.GroupType, e.TraitsJson, e.ContextJson }
                .Concat(e.Traits.SelectMany(t => new[] { t.Key, t.Json })))]);
    }
}
