using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Platform.ServiceDefaults.Auth;

namespace Platform.Tests.Integration;

/// <summary>
/// Mutants of valid bodies sent over real HTTP to a real ingest (Kestrel, DuckDB), each under a fresh tenant.
/// For every mutant: never a 5xx; a 400 stores nothing; a 200 is a body a strict UTF-8 JSON reader takes whole,
/// and every group it names reads back through the query API with the traits that reader finds in the body
/// (compared canonically, where the merge makes the winner unambiguous).
/// </summary>
/// <remarks>
/// Seeded: a failure names the seed and the mutant's index and bytes; <c>FUZZ_SEED=S FUZZ_MUTANTS=N</c> replays it.
/// CI runs <see cref="DefaultMutants"/> mutants; run many more on demand, e.g.
/// <c>FUZZ_MUTANTS=100000 dotnet test tests/Platform.Tests --filter "FullyQualifiedName~GroupApiFuzzHttpTests"</c>.
/// </remarks>
public sealed class GroupApiFuzzHttpTests
{
    private const int DefaultMutants = 400;
    private const int DefaultSeed = 1313;

    /// <summary>Valid bodies like the suite's own: batches, one event, context group ids, unicode, escapes, clears.</summary>
    private static readonly string[] Seeds =
    [
        """
        [{"group_id":"g-1","user_id":"u-1","timestamp":"2023-12-14T16:07:33.571125Z","message_id":"m-1",
          "traits":{"group_type":"Team","name":"Acme","planName":"Pro","enrichment_employees":120,"enrichment_tags":["b2b","saas"]},
          "context":{"ip":"1.2.3.4","lib":{"name":"sdk","v":[1,2.5,true,null]}}},
         {"group_id":"g-1","user_id":"u-2","timestamp":"2023-12-15T10:00:00Z","message_id":"m-2",
          "traits":{"group_type":"Team","planName":"Enterprise","domain":null}}]
        """,
        """
        {"group_id":"grp-😀-漢字","user_id":"ü-1","timestamp":"2023-12-14T18:07:33.5+02:00",
         "traits":{"group_type":"Account","name":"\ud83d\ude00 \u6f22\u5b57 Caf\u00e9","名前":{"k":["😀","\ud83d\udc4d"],"z":{"a":-0.5e3}},"flag":false},
         "context":{"lib":"ラ"},"anonymousId":"x\ty"}
        """,
        """
        [{"user_id":"u","timestamp":"2024-05-01T12:00:00Z","traits":{"group_type":"Team","enrichment_founder_year":1999,"meta":{"b":1,"a":[{"y":"\"q\"","x":"\\"}]}},
          "context":{"group_id":"ctx-g","ip":"::1"}},
         {"group_id":"other","user_id":"u","timestamp":"2024-05-01T12:00:01Z","traits":{"group_type":"Team","name":"Other \/ one"}}]
        """,
        """
        [{"group_id":"a","user_id":"1","timestamp":"2024-01-01T00:00:00Z","traits":{"group_type":"Team","name":"first","n":1}},
         {"group_id":"a","user_id":"2","timestamp":"2024-01-02T00:00:00Z","traits":{"group_type":"Team","name":"second","n":null}},
         {"group_id":"b","user_id":"1","timestamp":"2024-01-01T00:00:00Z","traits":{"group_type":"Team","enrichment_domain_aliases":["b.example","b.test"]}}]
        """,
    ];

    /// <summary>Insertions that break text or structure: invalid UTF-8, lone surrogate escapes, NUL, stray tokens.</summary>
    private static readonly byte[][] Hostile =
    [
        [0xFF], [0xC0, 0xAF], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98], [0x80], [0xF4, 0x90, 0x80, 0x80],
        "\\ud800"u8.ToArray(), "\\udc00"u8.ToArray(), "\\ud83d\\ud83d"u8.ToArray(), "\\u0000"u8.ToArray(), "\\"u8.ToArray(),
        "\""u8.ToArray(), "{"u8.ToArray(), "["u8.ToArray(), "]"u8.ToArray(), ","u8.ToArray(), ":"u8.ToArray(), "😀"u8.ToArray(),
        "\\u00e9"u8.ToArray(), " "u8.ToArray(), "null"u8.ToArray(),
    ];

    /// <summary>Members inserted after an object's '{': duplicates of real fields and traits, and numbers at the edges.</summary>
    private static readonly string[] Members =
    [
        "\"group_id\":\"dup\",", "\"user_id\":\"dup\",", "\"timestamp\":\"2023-01-01T00:00:00Z\",", "\"traits\":{\"group_type\":\"T\"},",
        "\"group_type\":\"Dup\",", "\"name\":\"dup\",", "\"message_id\":\"m-1\",", "\"messageId\":\"m-x\",", "\"context\":{},",
        "\"a\":1,", "\"big\":1e400,", "\"big\":-1e400,", "\"big\":123456789012345678901234567890123,", "\"big\":1e-400,",
        "\"big\":-0,", "\"big\":1E+2,", "\"enrichment_employees\":9223372036854775808,", "\"enrichment_employees\":-9223372036854775809,",
        "\"enrichment_founder_year\":1.0,", "\"enrichment_employees\":-0,",
    ];

    [Fact]
    public async Task Mutated_bodies_never_get_a_5xx_a_400_stores_nothing_and_a_200_reads_back_what_a_strict_reader_reads()
    {
        var seed = EnvironmentInt("FUZZ_SEED", DefaultSeed);
        var mutants = EnvironmentInt("FUZZ_MUTANTS", DefaultMutants);
        var random = new Random(seed);
        var seeds = Seeds.Select(s => Encoding.UTF8.GetBytes(s)).ToArray();
        var bodies = Enumerable.Range(0, mutants).Select(_ => Mutate(seeds[random.Next(seeds.Length)], random)).ToArray();
        using var host = new IngestHost();
        var accepted = 0;
        var compared = 0;

        // Several in flight: the writer commits concurrent requests together, which is where the time goes.
        await Parallel.ForEachAsync(Enumerable.Range(0, mutants), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
        {
            var body = bodies[i];
            var where = $"seed {seed}, mutant {i} ({Convert.ToHexString(body)})";
            var tenant = $"fuzz-{seed}-{i}";
            var token = host.Token(tenant, PlatformScopes.GroupApi, PlatformScopes.AnalyticsRead);

            using var response = await PostAsync(host, body, token);
            var status = (int)response.StatusCode;
            Assert.True(status < 500, $"{where}: answered {status}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            var stored = await host.Store.CountAsync(tenant, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{where}: answered {status}");
                Assert.True(stored == default, $"{where}: refused but stored {stored}");
                return;
            }

            Interlocked.Increment(ref accepted);
            var expected = StrictReading.Of(body, where);
            Assert.InRange(stored.Events, 1, expected.EventCount);
            foreach (var (groupId, traits) in expected.Profiles())
            {
                Interlocked.Add(ref compared, await AssertReadBackAsync(host, token, groupId, traits, where));
            }
        });

        // The mutations must leave both kinds of answer common, or half of the assertions never ran.
        Assert.True(accepted >= mutants / 10 && accepted <= mutants - (mutants / 10), $"seed {seed}: {accepted} of {mutants} accepted");
        Assert.True(compared >= accepted, $"seed {seed}: only {compared} trait values compared over {accepted} accepted mutants");
    }

    /// <summary>Reads the group back and compares every trait whose winner is known; returns how many were compared.</summary>
    private static async Task<int> AssertReadBackAsync(IngestHost host, string token, string groupId, IReadOnlyDictionary<string, string?> traits, string where)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/groups/" + Uri.EscapeDataString(groupId));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{where}: group {groupId} read back {(int)response.StatusCode}: {text}");

        using var document = JsonDocument.Parse(text);
        var actual = document.RootElement.GetProperty("traits").EnumerateObject()
            .ToDictionary(p => p.Name, p => Canonical(p.Value), StringComparer.Ordinal);
        var compared = 0;
        foreach (var name in actual.Keys)
        {
            Assert.True(traits.ContainsKey(name), $"{where}: group {groupId} holds trait {name}, which no event sent");
        }

        foreach (var (name, value) in traits)
        {
            if (value == StrictReading.Ambiguous)
            {
                continue;
            }

            compared++;
            actual.TryGetValue(name, out var stored);
            Assert.True(value == stored, $"{where}: group {groupId} trait {name} reads back {stored ?? "(absent)"}, the body says {value ?? "(cleared)"}");
        }

        return compared;
    }

    private static async Task<HttpResponseMessage> PostAsync(IngestHost host, byte[] body, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.TryAddWithoutValidation("Prefer", "ack=queryable");
        return await host.Client.SendAsync(request);
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = new List<byte>(seed);
        var edits = random.Next(0, 4);
        for (var e = 0; e < edits && bytes.Count > 0; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 2:
                    bytes.InsertRange(at, Hostile[random.Next(Hostile.Length)]);
                    break;
                case 3:
                    // Into a string: after the next quote, so most insertions land inside text.
                    var quote = bytes.IndexOf((byte)'"', at);
                    bytes.InsertRange(quote < 0 ? at : quote + 1, Hostile[random.Next(Hostile.Length)]);
                    break;
                case 4:
                    InsertMember(bytes, at, Encoding.UTF8.GetBytes(Members[random.Next(Members.Length)]));
                    break;
                default:
                    // Deep nesting of arrays or objects, around the depth limit (32 by default).
                    var depth = random.Next(1, 48);
                    var objects = random.Next(2) == 0;
                    var value = objects
                        ? string.Concat(Enumerable.Repeat("{\"d\":", depth)) + "1" + new string('}', depth)
                        : new string('[', depth) + "1" + new string(']', depth);
                    InsertMember(bytes, at, Encoding.UTF8.GetBytes($"\"deep\":{value},"));
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Inserts a member right after the next '{' at or after the position (or the first one).</summary>
    private static void InsertMember(List<byte> bytes, int at, byte[] member)
    {
        var brace = bytes.IndexOf((byte)'{', at);
        brace = brace < 0 ? bytes.IndexOf((byte)'{') : brace;
        if (brace >= 0)
        {
            bytes.InsertRange(brace + 1, member);
        }
    }

    private static int EnvironmentInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    /// <summary>
    /// A JSON value in one canonical text: object members sorted by name (ordinal), strings decoded and re-encoded,
    /// integers in the 64-bit range as integers, other numbers as their text, no whitespace. Equal values read from the body and read back give equal texts.
    /// </summary>
    internal static string Canonical(JsonElement element)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(element, writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);

        static void Write(JsonElement element, Utf8JsonWriter writer)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    writer.WriteStartObject();
                    foreach (var member in element.EnumerateObject().OrderBy(m => m.Name, StringComparer.Ordinal))
                    {
                        writer.WritePropertyName(member.Name);
                        Write(member.Value, writer);
                    }

                    writer.WriteEndObject();
                    break;
                case JsonValueKind.Array:
                    writer.WriteStartArray();
                    foreach (var item in element.EnumerateArray())
                    {
                        Write(item, writer);
                    }

                    writer.WriteEndArray();
                    break;
                case JsonValueKind.String:
                    writer.WriteStringValue(element.GetString());
                    break;
                case JsonValueKind.Number when element.TryGetInt64(out var integer):
                    // An integer is one number however it is spelled: -0 and 0 are the same (integer traits store 0).
                    writer.WriteNumberValue(integer);
                    break;
                default:
                    writer.WriteRawValue(element.GetRawText(), skipInputValidation: true);
                    break;
            }
        }
    }

    /// <summary>
    /// What a strict reader finds in an accepted body: every string valid UTF-8 text without lone surrogates or NUL,
    /// no name twice in one object, and per group the trait values the merge must end with.
    /// </summary>
    private sealed class StrictReading
    {
        /// <summary>Marks a trait whose winner the body alone does not decide (a tie between different values).</summary>
        public const string Ambiguous = "\u0001ambiguous";

        private readonly Dictionary<string, Dictionary<string, List<(long Micros, string? Value)>>> _groups = new(StringComparer.Ordinal);
        private readonly HashSet<string> _unordered = new(StringComparer.Ordinal);
        private readonly HashSet<string> _skipped = new(StringComparer.Ordinal);

        public int EventCount { get; private set; }

        public static StrictReading Of(byte[] body, string where)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 256 });
            }
            catch (JsonException ex)
            {
                Assert.Fail($"{where}: accepted, but a strict reader refuses it: {ex.Message}");
                throw;
            }

            using (document)
            {
                try
                {
                    AssertStrict(document.RootElement, where, events: true);
                }
                catch (InvalidOperationException ex)
                {
                    // GetString throws on text it cannot transcode: invalid UTF-8 the server should have refused.
                    Assert.Fail($"{where}: accepted, but a strict reader cannot decode a string: {ex.Message}");
                }

                var reading = new StrictReading();
                var root = document.RootElement;
                JsonElement[] events = root.ValueKind == JsonValueKind.Array ? [.. root.EnumerateArray()] : [root];
                var messageIds = new HashSet<string>(StringComparer.Ordinal);
                foreach (var groupEvent in events)
                {
                    reading.Add(groupEvent, messageIds, where);
                }

                return reading;
            }
        }

        /// <summary>Per group, per trait: the canonical value the merge ends with (null when cleared), or <see cref="Ambiguous"/>.</summary>
        public IEnumerable<(string GroupId, IReadOnlyDictionary<string, string?> Traits)> Profiles()
        {
            foreach (var (groupId, traits) in _groups)
            {
                if (_skipped.Contains(groupId))
                {
                    continue;
                }

                var profile = new Dictionary<string, string?>(StringComparer.Ordinal);
                foreach (var (name, values) in traits)
                {
                    profile[name] = Winner(values, ordered: !_unordered.Contains(groupId));
                }

                yield return (groupId, profile);
            }
        }

        private static string? Winner(List<(long Micros, string? Value)> values, bool ordered)
        {
            var distinct = values.Select(v => v.Value).Distinct(StringComparer.Ordinal).ToList();
            if (distinct.Count == 1)
            {
                return distinct[0];
            }

            if (!ordered)
            {
                return Ambiguous;
            }

            // The latest timestamp wins; a tie goes to the greater event id, which only the server computes.
            var latest = values.Max(v => v.Micros);
            var winners = values.Where(v => v.Micros == latest).Select(v => v.Value).Distinct(StringComparer.Ordinal).ToList();
            return winners.Count == 1 ? winners[0] : Ambiguous;
        }

        private void Add(JsonElement groupEvent, HashSet<string> messageIds, string where)
        {
            EventCount++;
            var groupId = StringMember(groupEvent, "group_id")
                ?? (groupEvent.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.Object ? StringMember(context, "group_id") : null);
            Assert.True(groupId is not null, $"{where}: accepted an event without a group id");
            var traits = groupEvent.GetProperty("traits");
            var messageId = StringMember(groupEvent, "message_id") ?? StringMember(groupEvent, "messageId");
            var micros = Micros(groupEvent.GetProperty("timestamp").GetString()!);
            if (messageId is not null && !messageIds.Add(messageId))
            {
                // A repeated message id makes one of the events a duplicate that is dropped whole: its group may hold
                // nothing else, so the group is not read back.
                _skipped.Add(groupId);
            }

            if (micros is null)
            {
                // A timestamp this reader cannot order leaves only the traits every event agrees on comparable.
                _unordered.Add(groupId);
            }

            if (!_groups.TryGetValue(groupId, out var known))
            {
                _groups[groupId] = known = new Dictionary<string, List<(long, string?)>>(StringComparer.Ordinal);
            }

            foreach (var trait in traits.EnumerateObject())
            {
                if (!known.TryGetValue(trait.Name, out var values))
                {
                    known[trait.Name] = values = [];
                }

                values.Add((micros ?? 0, trait.Value.ValueKind == JsonValueKind.Null ? null : Canonical(trait.Value)));
            }
        }

        private static string? StringMember(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        /// <summary>Microseconds since the epoch (digits past the sixth dropped), or null when .NET cannot parse the text.</summary>
        private static long? Micros(string timestamp) =>
            DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed)
                ? (parsed.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond
                : null;

        /// <summary>
        /// Every string and name decodes strictly; no name twice in an object below an event. An event's own members
        /// are exempt: a known field given twice is refused by the server anyway, and unknown ones are ignored, not stored.
        /// </summary>
        private static void AssertStrict(JsonElement element, string where, bool events)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    var names = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var member in element.EnumerateObject())
                    {
                        AssertText(member.Name, where);
                        Assert.True(names.Add(member.Name) || events, $"{where}: accepted an object naming {member.Name} twice");
                        AssertStrict(member.Value, where, events: false);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        AssertStrict(item, where, events);
                    }

                    break;
                case JsonValueKind.String:
                    AssertText(element.GetString()!, where);
                    break;
            }
        }

        /// <summary>Valid UTF-16 (a lone surrogate escape decodes to an unpaired char) and no U+0000.</summary>
        private static void AssertText(string text, string where)
        {
            var buffer = new byte[(text.Length * 3) + 1];
            var status = System.Text.Unicode.Utf8.FromUtf16(text, buffer, out _, out _, replaceInvalidSequences: false);
            Assert.True(status == OperationStatus.Done && !text.Contains('\0', StringComparison.Ordinal), $"{where}: accepted a string that is not valid text");
        }
    }
}
