using System.Buffers;
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
    private static readonly string[] Plans = ["Free", "Basic", "Pro", "Enterprise"];
    private static readonly string[] Industries = ["Software", "Retail", "Healthcare", "Finance", "Logistics", "Media"];
    private static readonly string[] Tags = ["b2b", "saas", "enterprise", "smb", "fintech", "ecommerce", "devtools", "ai"];
    private static readonly string[] TechCategories = ["analytics", "crm", "payments", "cloud", "security", "email"];
    private static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

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

    private void WriteEvent(Utf8JsonWriter json, long n)
    {
        // A cheap mix of n, so neighbouring events land on unrelated groups, users and trait sets.
        var h = (ulong)n * 0x9E3779B97F4A7C15UL;
        h ^= h >> 29;
        var group = (int)(h % (ulong)_groups);
        var user = (int)((h >> 17) % (ulong)_users);
        var shape = (int)((h >> 40) % 4);

        json.WriteStartObject();
        json.WriteString("group_id", $"group-{group}");
        json.WriteString("user_id", $"user-{user}");
        json.WriteString("timestamp", Epoch.AddTicks(n * 10).UtcDateTime);
        json.WriteString("message_id", MessageId(n));
        json.WriteStartObject("traits");
        json.WriteString("group_type", GroupTypes[group % GroupTypes.Length]);
        json.WriteString("name", $"Company {group}");
        json.WriteString("planName", Plans[(group / 7) % Plans.Length]);
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
        json.WriteStartObject("context");
        json.WriteString("library", "platform-loadgen");
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
