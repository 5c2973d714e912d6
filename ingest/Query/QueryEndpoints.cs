using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Query;

/// <summary>
/// The query API: group profiles, memberships both ways, filtered group listings, counts by trait value and trait
/// history. Tenant-scoped by the token alone, readable with the <c>analytics_read</c> scope.
/// </summary>
internal static class QueryEndpoints
{
    public static IHostApplicationBuilder AddQueryApi(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<QueryOptions, QueryOptionsValidator>(QueryOptions.Section)
            .AddRules<QueryOptions, QueryOptionsRules>();
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        return builder;
    }

    public static IEndpointRouteBuilder MapQueryApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(PlatformPolicies.AnalyticsRead).WithTags("Query API");
        api.MapGet("/groups", FindGroupsAsync)
            .WithName("FindGroups").WithSummary("Groups filtered by their current trait values, paged by group id");
        api.MapGet("/groups/{groupId}", GetGroupAsync)
            .WithName("GetGroup").WithSummary("A group's merged profile: current traits, member count, first and last seen");
        api.MapGet("/groups/{groupId}/users", GetGroupUsersAsync)
            .WithName("GetGroupUsers").WithSummary("A group's users with first and last seen, paged by user id");
        api.MapGet("/groups/{groupId}/traits/{trait}/history", GetTraitHistoryAsync)
            .WithName("GetTraitHistory").WithSummary("Every stored change of one trait of one group, oldest first");
        api.MapGet("/users/{userId}/groups", GetUserGroupsAsync)
            .WithName("GetUserGroups").WithSummary("A user's groups with first and last seen, paged by group id");
        api.MapGet("/traits/{trait}/counts", CountGroupsAsync)
            .WithName("CountGroupsByTrait").WithSummary("Groups counted by a trait's current value: the top values, other, and missing");
        return app;
    }

    private static async Task<IResult> GetGroupAsync(HttpContext context, IGroupQueries queries)
    {
        var groupId = PathSegment(context, 3);
        var errors = new List<ApiError>();
        QueryParameters.RejectOthers(context.Request.Query, errors);
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        var profile = await queries.GetGroupAsync(context.User.GetTenant()!, groupId, context.RequestAborted);
        if (profile is null)
        {
            return GroupNotFound(groupId);
        }

        return TypedResults.Ok(new
        {
            GroupId = profile.GroupId,
            GroupType = profile.Traits.TryGetValue(KnownTraits.GroupType, out var type) ? JsonNode.Parse(type) : null,
            Traits = ToJson(profile.Traits),
            MemberCount = profile.MemberCount,
            FirstSeen = IsoTimestamp.Format(profile.FirstSeenMicros),
            LastSeen = IsoTimestamp.Format(profile.LastSeenMicros),
        });
    }

    private static async Task<IResult> GetGroupUsersAsync(HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var groupId = PathSegment(context, 3);
        if (ReadPaging(context, options.Value, out var limit, out var after) is { } invalid)
        {
            return invalid;
        }

        var tenant = context.User.GetTenant()!;
        var rows = await queries.GetGroupUsersAsync(tenant, groupId, after, limit + 1, context.RequestAborted);
        if (rows.Count == 0 && after is null && await queries.GetGroupAsync(tenant, groupId, context.RequestAborted) is null)
        {
            return GroupNotFound(groupId);
        }

        return TypedResults.Ok(Page(rows, limit, r => new { UserId = r.Id, FirstSeen = IsoTimestamp.Format(r.FirstSeenMicros), LastSeen = IsoTimestamp.Format(r.LastSeenMicros) }, r => r.Id));
    }

    private static async Task<IResult> GetUserGroupsAsync(HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var userId = PathSegment(context, 3);
        if (ReadPaging(context, options.Value, out var limit, out var after) is { } invalid)
        {
            return invalid;
        }

        var rows = await queries.GetUserGroupsAsync(context.User.GetTenant()!, userId, after, limit + 1, context.RequestAborted);
        if (rows.Count == 0 && after is null)
        {
            return ContractResults.NotFound($"Not Found: no user {userId} in this tenant");
        }

        return TypedResults.Ok(Page(rows, limit, r => new { GroupId = r.Id, FirstSeen = IsoTimestamp.Format(r.FirstSeenMicros), LastSeen = IsoTimestamp.Format(r.LastSeenMicros) }, r => r.Id));
    }

    private static async Task<IResult> FindGroupsAsync(HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var errors = new List<ApiError>();
        var query = context.Request.Query;
        var filters = QueryParameters.ParseFilters(query, options.Value, errors, "limit", "cursor");
        var limit = QueryParameters.ParseLimit(query, options.Value, errors);
        var after = QueryParameters.ParseCursor(query, errors);
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        var rows = await queries.FindGroupsAsync(context.User.GetTenant()!, filters, after, limit + 1, context.RequestAborted);
        return TypedResults.Ok(Page(rows, limit, r => new
        {
            GroupId = r.GroupId,
            GroupType = r.Traits.TryGetValue(KnownTraits.GroupType, out var type) ? JsonNode.Parse(type) : null,
            Traits = ToJson(r.Traits),
        }, r => r.GroupId));
    }

    private static async Task<IResult> CountGroupsAsync(HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var trait = PathSegment(context, 3);
        var errors = new List<ApiError>();
        var query = context.Request.Query;
        var filters = QueryParameters.ParseFilters(query, options.Value, errors, "top");
        var top = QueryParameters.ParseBoundedInt(query, "top", options.Value.DefaultTop, options.Value.MaxTop, errors);
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        var counts = await queries.CountGroupsByTraitAsync(context.User.GetTenant()!, trait, filters, top, context.RequestAborted);
        return TypedResults.Ok(new
        {
            Trait = trait,
            Buckets = counts.Top.Select(b => new { Value = JsonNode.Parse(b.ValueJson), b.Groups }),
            counts.Other,
            counts.Missing,
        });
    }

    private static async Task<IResult> GetTraitHistoryAsync(HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var groupId = PathSegment(context, 3);
        var trait = PathSegment(context, 5);
        var errors = new List<ApiError>();
        var query = context.Request.Query;
        QueryParameters.RejectOthers(query, errors, "limit", "cursor");
        var limit = QueryParameters.ParseLimit(query, options.Value, errors);
        var cursor = QueryParameters.ParseCursor(query, errors);
        HistoryPosition? after = null;
        if (cursor is not null)
        {
            var separator = cursor.IndexOf(':', StringComparison.Ordinal);
            if (separator > 0 && long.TryParse(cursor.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var micros))
            {
                after = new HistoryPosition(micros, cursor[(separator + 1)..]);
            }
            else
            {
                errors.Add(new ApiError(null, "cursor", "is not a cursor of this listing"));
            }
        }

        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        var tenant = context.User.GetTenant()!;
        if (after is null && await queries.GetGroupAsync(tenant, groupId, context.RequestAborted) is null)
        {
            return GroupNotFound(groupId);
        }

        var changes = await queries.GetTraitHistoryAsync(tenant, groupId, trait, after, limit + 1, context.RequestAborted);
        var page = Page(changes, limit, c => new
        {
            Value = c.ValueJson is null ? null : JsonNode.Parse(c.ValueJson),
            Cleared = c.ValueJson is null,
            Timestamp = IsoTimestamp.Format(c.TimestampMicros),
            c.EventId,
        }, c => string.Create(CultureInfo.InvariantCulture, $"{c.TimestampMicros}:{c.EventId}"));
        return TypedResults.Ok(new { GroupId = groupId, Trait = trait, page.Items, page.NextCursor });
    }

    /// <summary>Reads <c>limit</c> and <c>cursor</c> for a listing that takes no other parameter; the 400 when they are bad.</summary>
    private static IResult? ReadPaging(HttpContext context, QueryOptions options, out int limit, out string? after)
    {
        var errors = new List<ApiError>();
        var query = context.Request.Query;
        QueryParameters.RejectOthers(query, errors, "limit", "cursor");
        limit = QueryParameters.ParseLimit(query, options, errors);
        after = QueryParameters.ParseCursor(query, errors);
        return errors.Count > 0 ? Invalid(errors) : null;
    }

    /// <summary>The first <paramref name="limit"/> rows (the store was asked for one more, to know whether a next page exists).</summary>
    private static PageOf<TItem> Page<TRow, TItem>(IReadOnlyList<TRow> rows, int limit, Func<TRow, TItem> project, Func<TRow, string> position)
    {
        var items = new List<TItem>(Math.Min(rows.Count, limit));
        for (var i = 0; i < rows.Count && i < limit; i++)
        {
            items.Add(project(rows[i]));
        }

        var next = rows.Count > limit ? QueryParameters.Cursor(position(rows[limit - 1])) : null;
        return new PageOf<TItem>(items, next);
    }

    private static JsonObject ToJson(IReadOnlyDictionary<string, string> traits)
    {
        var json = new JsonObject();
        foreach (var (key, value) in traits.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            json[key] = JsonNode.Parse(value);
        }

        return json;
    }

    /// <summary>
    /// A path segment decoded exactly once. Route values keep an encoded slash as "%2F" while decoding "%25" to "%",
    /// which makes ids containing either ambiguous; the raw request target is not.
    /// </summary>
    private static string PathSegment(HttpContext context, int index)
    {
        var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var segments = (query < 0 ? raw : raw[..query]).Split('/');
        return Uri.UnescapeDataString(segments[index]);
    }

    private static IResult Invalid(List<ApiError> errors) =>
        ContractResults.Error(StatusCodes.Status400BadRequest, $"Bad Request: {errors[0].Field} {errors[0].Message}", errors);

    private static IResult GroupNotFound(string groupId) => ContractResults.NotFound($"Not Found: no group {groupId} in this tenant");

    private sealed record PageOf<T>(IReadOnlyList<T> Items, string? NextCursor);
}
