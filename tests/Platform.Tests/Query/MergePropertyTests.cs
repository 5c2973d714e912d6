using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using CsCheck;
using Platform.Ingest.Events;
using Platform.ServiceDefaults.Auth;
using Platform.Tests.GroupApi;
using Platform.Tests.Integration;

namespace Platform.Tests.Query;

/// <summary>
/// The merge rule as a property, end to end: for random trait updates delivered in random order, split into random
/// requests, with random retries, the profile the query API serves equals a reference fold by (timestamp, event id);
/// and so do the listings and counts built from every group's current traits.
/// </summary>
public class MergePropertyTests
{
    /// <summary>The service under test; a backend other than the default derives and overrides this.</summary>
    internal virtual IngestHost CreateHost() => new();

    private static readonly string[] Keys = ["plan", "region", "seats"];
    private static readonly string?[] Values = ["\"a\"", "\"b\"", "7", null];

    private sealed record Update(int Hour, (string Key, string? Json)[] Traits, string? MessageId);

    private static readonly Gen<Update> GenUpdate =
        Gen.Select(
            Gen.Int[0, 3],
            Gen.Int[0, Keys.Length - 1].Select(Gen.Int[0, Values.Length - 1]).Array[0, 3],
            Gen.Int[0, 5],
            (hour, traits, message) => new Update(
                hour,
                traits.DistinctBy(t => t.Item1).Select(t => (Keys[t.Item1], Values[t.Item2])).ToArray(),
                message < 2 ? $"m-{message}-{hour}" : null));

    /// <summary>The updates, then a delivery: indexes into them (repeats are retries), cut into requests.</summary>
    private static readonly Gen<(Update[] Updates, int[] Delivery, int[] Cuts)> GenScenario =
        GenUpdate.Array[1, 10].SelectMany(updates =>
            Gen.Select(
                Gen.Int[0, updates.Length - 1].Array[0, 5],
                Gen.Shuffle(Enumerable.Range(0, updates.Length).ToArray()),
                Gen.Int[1, 4].Array[12],
                (retries, order, cuts) => (updates, order.Concat(retries).ToArray(), cuts)));

    [Fact]
    public async Task The_profile_equals_the_reference_fold_whatever_the_arrival_order_and_retries()
    {
        using var host = CreateHost();
        var parser = ParserFixture.Create();
        var scenario = 0;

        await GenScenario.SampleAsync(async input =>
        {
            var groupId = $"g{Interlocked.Increment(ref scenario)}";
            var events = input.Updates.Select((u, i) => Json(groupId, i, u)).ToArray();

            var delivery = input.Delivery.Select(i => events[i]).ToList();
            for (int start = 0, cut = 0; start < delivery.Count; cut++)
            {
                var size = Math.Min(input.Cuts[cut % input.Cuts.Length], delivery.Count - start);
                using var response = await host.PostAsync("[" + string.Join(",", delivery.Skip(start).Take(size)) + "]");
                Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
                start += size;
            }

            // Events sharing a message_id are one event: the copy stored first stands, so fold in delivery order.
            var expected = Fold(delivery.Select(e => Assert.Single(parser.Parse(System.Text.Encoding.UTF8.GetBytes(e), "acme").Events)));
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/groups/{groupId}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.Token("acme", PlatformScopes.AnalyticsRead));
            using var answer = await host.Client.SendAsync(request);
            var traits = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["traits"]!.AsObject();

            Assert.Equal(expected, traits.ToDictionary(t => t.Key, t => t.Value!.ToJsonString()));
        }, iter: 40, threads: 1);
    }

    /// <summary>Several groups of one tenant: each group's updates, delivered shuffled together in random requests.</summary>
    private static readonly Gen<(Update[][] Groups, int Seed, int[] Cuts)> GenTenant =
        Gen.Select(GenUpdate.Array[1, 6].Array[1, 6], Gen.Int, Gen.Int[1, 8].Array[12], (groups, seed, cuts) => (groups, seed, cuts));

    [Fact]
    public async Task Listings_and_counts_equal_the_reference_fold_of_every_group()
    {
        using var host = CreateHost();
        var parser = ParserFixture.Create();
        var scenario = 0;

        await GenTenant.SampleAsync(async input =>
        {
            // A tenant per scenario: listings and counts cover all of a tenant's groups.
            var tenant = $"p{Interlocked.Increment(ref scenario)}";
            var events = input.Groups
                .SelectMany((updates, g) => updates.Select((update, i) => (Group: $"g{g}", Json: Json($"g{g}", i, update))))
                .ToList();
            var random = new Random(input.Seed);
            random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(events));
            for (int start = 0, cut = 0; start < events.Count; cut++)
            {
                var size = Math.Min(input.Cuts[cut % input.Cuts.Length], events.Count - start);
                using var response = await host.PostAsync("[" + string.Join(",", events.Skip(start).Take(size).Select(e => e.Json)) + "]", tenant);
                Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
                start += size;
            }

            var profiles = events
                .GroupBy(e => e.Group)
                .ToDictionary(
                    g => g.Key,
                    g => Fold(g.Select(e => Assert.Single(parser.Parse(System.Text.Encoding.UTF8.GetBytes(e.Json), tenant).Events))),
                    StringComparer.Ordinal);

            async Task<JsonNode> GetAsync(string path)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.Token(tenant, PlatformScopes.AnalyticsRead));
                using var answer = await host.Client.SendAsync(request);
                var body = await answer.Content.ReadAsStringAsync();
                Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{path}: {body}");
                return JsonNode.Parse(body)!;
            }

            // Listings: the groups whose current traits pass every filter, in id order, each with its current traits.
            (string Query, Func<Dictionary<string, string>, bool> Selects)[] listings =
            [
                ("", _ => true),
                ("trait.plan=a", p => p.GetValueOrDefault("plan") == "\"a\""),
                ("trait.plan=a&trait.plan=7", p => p.GetValueOrDefault("plan") is "\"a\"" or "7"),
                ("trait.seats.gte=5", p => p.GetValueOrDefault("seats") == "7"),
                ("trait.region.prefix=b&trait.region=b", p => p.GetValueOrDefault("region") == "\"b\""),
                ("trait.seats.gte=5&trait.seats.lt=7", _ => false),
                ("trait.plan=b&trait.seats.lt=10", p => p.GetValueOrDefault("plan") == "\"b\"" && p.GetValueOrDefault("seats") == "7"),
            ];
            foreach (var (query, selects) in listings)
            {
                var expected = profiles.Where(p => selects(p.Value)).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
                var items = (await GetAsync($"/api/groups?limit=100&{query}"))["items"]!.AsArray();
                Assert.Equal(expected.Select(p => p.Key), items.Select(item => item!["group_id"]!.GetValue<string>()));
                foreach (var (item, (_, profile)) in items.Zip(expected))
                {
                    Assert.Equal(profile, item!["traits"]!.AsObject().ToDictionary(t => t.Key, t => t.Value!.ToJsonString()));
                }
            }

            // Counts: the selected groups' current values of the key, the top by groups then value text; the rest other;
            // the selected groups without one missing.
            (string Query, string Key, Func<Dictionary<string, string>, bool> Selects)[] counts =
            [
                ("", "plan", _ => true),
                ("", "seats", _ => true),
                ("trait.region=b", "plan", p => p.GetValueOrDefault("region") == "\"b\""),
                ("trait.plan=a&trait.plan=b", "plan", p => p.GetValueOrDefault("plan") is "\"a\"" or "\"b\""),
            ];
            foreach (var (query, key, selects) in counts)
            {
                var selected = profiles.Values.Where(selects).ToList();
                var buckets = selected
                    .Where(p => p.ContainsKey(key))
                    .GroupBy(p => p[key])
                    .Select(g => (Value: g.Key, Groups: (long)g.Count()))
                    .OrderByDescending(b => b.Groups).ThenBy(b => b.Value, StringComparer.Ordinal)
                    .ToList();
                var answer = await GetAsync($"/api/traits/{key}/counts?top=2&{query}");
                Assert.Equal(
                    buckets.Take(2),
                    answer["buckets"]!.AsArray().Select(b => (b!["value"]!.ToJsonString(), b["groups"]!.GetValue<long>())));
                Assert.Equal(buckets.Skip(2).Sum(b => b.Groups), answer["other"]!.GetValue<long>());
                Assert.Equal(selected.Count(p => !p.ContainsKey(key)), answer["missing"]!.GetValue<long>());
            }
        }, iter: 25, threads: 1);
    }

    private static string Json(string groupId, int index, Update update)
    {
        var traits = new JsonObject { ["group_type"] = "Account" };
        foreach (var (key, json) in update.Traits)
        {
            traits[key] = json is null ? null : JsonNode.Parse(json);
        }

        var groupEvent = new JsonObject
        {
            ["group_id"] = groupId,
            ["user_id"] = $"u{index % 3}",
            ["timestamp"] = $"2024-01-01T{update.Hour:00}:00:00Z",
            ["traits"] = traits,
        };
        if (update.MessageId is not null)
        {
            // Message ids are per tenant: scope them to the scenario's group so scenarios stay independent.
            groupEvent["message_id"] = $"{groupId}-{update.MessageId}";
        }

        return groupEvent.ToJsonString();
    }

    /// <summary>
    /// The reference model: per trait, the value of the event with the greatest (timestamp, event id); null clears.
    /// Of several deliveries of one event id, the first counts.
    /// </summary>
    private static Dictionary<string, string> Fold(IEnumerable<GroupEvent> events)
    {
        var profile = new Dictionary<string, string>();
        var winners = new Dictionary<string, (long Time, string EventId, string? Json)>();
        foreach (var groupEvent in events.DistinctBy(e => e.EventId))
        {
            foreach (var trait in groupEvent.Traits)
            {
                var candidate = (groupEvent.TimestampMicros, groupEvent.EventId, trait.Json);
                if (!winners.TryGetValue(trait.Key, out var current)
                    || candidate.TimestampMicros > current.Time
                    || (candidate.TimestampMicros == current.Time && string.CompareOrdinal(candidate.EventId, current.EventId) > 0))
                {
                    winners[trait.Key] = candidate;
                }
            }
        }

        foreach (var (key, winner) in winners)
        {
            if (winner.Json is not null)
            {
                profile[key] = winner.Json;
            }
        }

        return profile;
    }
}
