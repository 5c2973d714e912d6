using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Platform.Perf.LoadGen.Bodies;

/// <summary>
/// Builds Group API request bodies. Event <c>n</c> of a run is always the same bytes (its group, user, traits and
/// message id follow from <c>n</c> and the run id), so a duplicate is a resend of an earlier event exactly as a retrying
/// client would send it, and nothing has to be kept in memory to resend it.
/// </summary>
internal sealed class GroupEvents
{
    private static readonly string[] GroupTypes = ["Account", "Team", "Workspace", "Organization"];
    private static readonly string[] PlanNames = ["Free", "Basic", "Pro", "Enterprise"];
    private static readonly string[] Industries = ["Software", "Retail", "Healthcare", "Finance", "Logistics", "Media"];
    private static readonly string[] Tags = ["b2b", "saas", "enterprise", "smb", "fintech", "ecommerce", "devtools", "ai"];
    private static readonly string[] TechCategories = ["analytics", "crm", "payments", "cloud", "security", "email"];
    private static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Trait values as ingest's canonical JSON writes them (an apostrophe stays one, not \u0027), and that JSON inside the
    // row's string column with its quotes as \".
    private static readonly JavaScriptEncoder RowEncoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>The values of the <c>planName</c> trait, for reads that filter on it.</summary>
    public static IReadOnlyList<string> Plans => PlanNames;

    private readonly string _runId;
    private readonly int _groups;
    private readonly int _users;

    public GroupEvents(string runId, int groups = 5_000, int users = 50_000)
    {
        _runId = runId;
        _groups = groups;
        _users = users;
    }

    /// <summary>Writes a JSON array of the given events (event numbers of this run).</summary>
    public void WriteBody(IBufferWriter<byte> output, ReadOnlySpan<long> events)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        json.WriteStartArray();
        foreach (var n in events)
        {
            WriteEvent(json, n);
        }

        json.WriteEndArray();
    }

    public string MessageId(long n) => $"{_runId}-{n}";

    /// <summary>
    /// Writes the trait rows ingest stores for the given events, as ClickHouse JSONEachRow lines of the
    /// <c>group_traits</c> table's shape (one row per trait per event; the value as minified JSON, never cleared), and
    /// returns how many rows were written. The traits come from the same writer as the request bodies, so the rows are
    /// exactly those of the events a Group API request would carry. Event ids are 32 hex characters like ingest's: the run
    /// id, then a hash of the event number.
    /// </summary>
    public int WriteTraitRows(IBufferWriter<byte> output, ReadOnlySpan<long> events, string tenant)
    {
        var scratch = new ArrayBufferWriter<byte>(1024);
        var rows = 0;
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true, Encoder = RowEncoder });
        foreach (var n in events)
        {
            var e = Shape(n);
            var groupId = $"group-{e.Group}";
            var eventId = EventId(n);
            scratch.ResetWrittenCount();
            using (var traits = new Utf8JsonWriter(scratch, new JsonWriterOptions { SkipValidation = true, Encoder = RowEncoder }))
            {
                WriteTraits(traits, e);
            }

            var reader = new Utf8JsonReader(scratch.WrittenSpan);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                var value = scratch.WrittenSpan[start..(int)reader.BytesConsumed];

                json.Reset();
                json.WriteStartObject();
                json.WriteString("tenant"u8, tenant);
                json.WriteString("group_id"u8, groupId);
                json.WriteString("trait_key"u8, key);
                json.WriteNumber("event_us"u8, EventMicros(n));
                json.WriteString("event_id"u8, eventId);
                json.WriteString("value_json"u8, value);
                json.WriteNumber("cleared"u8, 0);
                json.WriteEndObject();
                json.Flush();
                output.Write("\n"u8);
                rows++;
            }
        }

        return rows;
    }

    /// <summary>The number of traits (hence trait rows) event <c>n</c> carries.</summary>
    public int TraitCount(long n)
    {
        var scratch = new ArrayBufferWriter<byte>(1024);
        using (var traits = new Utf8JsonWriter(scratch, new JsonWriterOptions { SkipValidation = true }))
        {
            WriteTraits(traits, Shape(n));
        }

        var reader = new Utf8JsonReader(scratch.WrittenSpan);
        var count = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>The group event <c>n</c> belongs to (it does not depend on the run): reads pick groups that a run stored.</summary>
    public string GroupId(long n) => $"group-{Shape(n).Group}";

    /// <summary>Ingest's event id shape (32 lowercase hex characters), unique in the run and starting with the run id.</summary>
    public string EventId(long n)
    {
        var high = Mix((ulong)n);
        var low = Mix((ulong)n ^ 0x5DEECE66DUL) >> 32;
        return string.Create(CultureInfo.InvariantCulture, $"{_runId}{high:x16}{low:x8}");
    }

    private static long EventMicros(long n) => (Epoch.Ticks - DateTimeOffset.UnixEpoch.Ticks) / 10 + n;

    private static ulong Mix(ulong x)
    {
        // SplitMix64's finaliser: a bijection, so distinct event numbers keep distinct ids.
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private EventShape Shape(long n)
    {
        // A cheap mix of n, so neighbouring events land on unrelated groups, users and trait sets.
        var h = (ulong)n * 0x9E3779B97F4A7C15UL;
        h ^= h >> 29;
        return new EventShape((int)(h % (ulong)_groups), (int)((h >> 17) % (ulong)_users), (int)((h >> 40) % 4));
    }

    private void WriteEvent(Utf8JsonWriter json, long n)
    {
        var e = Shape(n);
        json.WriteStartObject();
        json.WriteString("group_id", $"group-{e.Group}");
        json.WriteString("user_id", $"user-{e.User}");
        json.WriteString("timestamp", Epoch.AddTicks(n * 10).UtcDateTime);
        json.WriteString("message_id", MessageId(n));
        json.WritePropertyName("traits");
        WriteTraits(json, e);
        json.WriteStartObject("context");
        json.WriteString("library", "platform-loadgen");
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The traits object of an event: four trait sets, from three traits to seventeen.</summary>
    private static void WriteTraits(Utf8JsonWriter json, EventShape e)
    {
        var (group, user, shape) = e;
        json.WriteStartObject();
        json.WriteString("group_type", GroupTypes[group % GroupTypes.Length]);
        json.WriteString("name", $"Company {group}");
        json.WriteString("planName", PlanNames[(group / 7) % PlanNames.Length]);
        if (shape >= 1)
        {
            json.WriteString("domain", $"company{group}.example");
            json.WriteString("enrichment_name", $"Company {group} Inc.");
            json.WriteString("enrichment_domain", $"company{group}.example");
            json.WriteString("enrichment_industry", Industries[group % Industries.Length]);
            json.WriteNumber("enrichment_employees", 5 + (group * 37 % 20_000));
            json.WriteNumber("enrichment_founder_year", 1950 + (group % 75));
        }

        if (shape >= 2)
        {
            json.WriteStartArray("enrichment_domain_aliases");
            json.WriteStringValue($"company{group}.example.org");
            json.WriteStringValue($"co{group}.example");
            json.WriteEndArray();
            json.WriteStartArray("enrichment_tags");
            for (var t = 0; t < 1 + (group % 4); t++)
            {
                json.WriteStringValue(Tags[(group + t) % Tags.Length]);
            }

            json.WriteEndArray();
            json.WriteString("enrichment_country_code", group % 2 == 0 ? "US" : "DE");
            json.WriteString("enrichment_city", group % 2 == 0 ? "Austin" : "Berlin");
        }

        if (shape == 3)
        {
            json.WriteStartArray("enrichment_tech_categories");
            json.WriteStringValue(TechCategories[group % TechCategories.Length]);
            json.WriteStringValue(TechCategories[(group + 3) % TechCategories.Length]);
            json.WriteEndArray();
            json.WriteStartArray("enrichment_email_addresses");
            json.WriteStringValue($"info@company{group}.example");
            json.WriteEndArray();
            json.WriteString("enrichment_description", $"Company {group} makes things for user {user}'s team.");
            json.WriteNumber("seats", user % 250);
        }

        json.WriteEndObject();
    }

    private readonly record struct EventShape(int Group, int User, int Shape);
}
