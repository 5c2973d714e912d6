using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.Ingest.OpenApi;
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
        return builder;
    }

    public static IEndpointRouteBuilder MapQueryApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(PlatformPolicies.AnalyticsRead).WithTags("Query API")
            .AnswerUnavailableStorageWith503();
        api.MapGet("/groups", FindGroupsAsync)
            .WithName("FindGroups").WithSummary("Groups filtered by their current trait values, paged by group id")
            .WithTraitFilters().WithPaging();
        api.MapGet("/groups/{groupId}", GetGroupAsync)
            .WithName("GetGroup").WithSummary("A group's merged profile: current traits, member count, first and last seen")
            .WithPathExample("groupId", "acme-inc").Describes(StatusCodes.Status404NotFound, "No such group in the token's tenant");
        api.MapGet("/groups/{groupId}/users", GetGroupUsersAsync)
            .WithName("GetGroupUsers").WithSummary("A group's users with first and last seen, paged by user id")
            .WithPathExample("groupId", "acme-inc").WithPaging().Describes(StatusCodes.Status404NotFound, "No such group in the token's tenant");
        api.MapGet("/groups/{groupId}/traits/{trait}/history", GetTraitHistoryAsync)
            .WithName("GetTraitHistory").WithSummary("Every stored change of one trait of one group, oldest first")
            .WithPathExample("groupId", "acme-inc").WithPathExample("trait", "planName").WithPaging()
            .Describes(StatusCodes.Status404NotFound, "No such group in the token's tenant");
        api.MapGet("/users/{userId}/groups", GetUserGroupsAsync)
            .WithName("GetUserGroups").WithSummary("A user's groups with first and last seen, paged by group id")
            .WithPathExample("userId", "user-1").WithPaging().Describes(StatusCodes.Status404NotFound, "No such user in the token's tenant");
        api.MapGet("/traits/{trait}/counts", CountGroupsAsync)
            .WithName("CountGroupsByTrait").WithSummary("Groups counted by a trait's current value: the top values, other, and missing")
            .WithPathExample("trait", "planName").WithTraitFilters()
            .WithQueryParameter("top", "How many values to list (1 to Query:MaxTop, default Query:DefaultTop); the rest are summed in other", "integer", "5");
        return app;
    }

    private static async Task<Results<Ok<GroupProfileResponse>, ContractBadRequest, ContractNotFound>> GetGroupAsync(
        string groupId, HttpContext context, IGroupQueries queries)
    {
        var errors = new List<ApiError>();
        var id = ReadPathValue(context, nameof(groupId), groupId, errors);
        QueryParameters.RejectOthers(context.Request.Query, errors);
        if (errors.Count > 0)
        {
            return ContractResults.BadRequest(errors);
        }

        var profile = await queries.GetGroupAsync(context.User.GetTenant()!, id, context.RequestAborted);
        if (profile is null)
        {
            return GroupNotFound(id);
        }

        return TypedResults.Ok(new GroupProfileResponse(
            profile.GroupId,
            profile.Traits.TryGetValue(KnownTraits.GroupType, out var type) ? JsonNode.Parse(type) : null,
            ToJson(profile.Traits),
            profile.MemberCount,
            IsoTimestamp.Format(profile.FirstSeenMicros),
            IsoTimestamp.Format(profile.LastSeenMicros)));
    }

    private static async Task<Results<Ok<Page<GroupMember>>, ContractBadRequest, ContractNotFound>> GetGroupUsersAsync(
        string groupId, HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var errors = new List<ApiError>();
        var id = ReadPathValue(context, nameof(groupId), groupId, errors);
        var (limit, after) = ReadPaging(context, options.Value, errors);
        if (errors.Count > 0)
        {
            return ContractResults.BadRequest(errors);
        }

        var tenant = context.User.GetTenant()!;
        var rows = await queries.GetGroupUsersAsync(tenant, id, after, limit + 1, context.RequestAborted);
        if (rows.Count == 0 && after is null && await queries.GetGroupAsync(tenant, id, context.RequestAborted) is null)
        {
            return GroupNotFound(id);
        }

        return TypedResults.Ok(Paged(rows, limit,
            static r => new GroupMember(r.Id, IsoTimestamp.Format(r.FirstSeenMicros), IsoTimestamp.Format(r.LastSeenMicros)), static r => r.Id));
    }

    private static async Task<Results<Ok<Page<UserMembership>>, ContractBadRequest, ContractNotFound>> GetUserGroupsAsync(
        string userId, HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var errors = new List<ApiError>();
        var id = ReadPathValue(context, nameof(userId), userId, errors);
        var (limit, after) = ReadPaging(context, options.Value, errors);
        if (errors.Count > 0)
        {
            return ContractResults.BadRequest(errors);
        }

        var rows = await queries.GetUserGroupsAsync(context.User.GetTenant()!, id, after, limit + 1, context.RequestAborted);
        if (rows.Count == 0 && after is null)
        {
            return ContractResults.NotFound($"Not Found: no user {id} in this tenant");
        }

        return TypedResults.Ok(Paged(rows, limit,
            static r => new UserMembership(r.Id, IsoTimestamp.Format(r.FirstSeenMicros), IsoTimestamp.Format(r.LastSeenMicros)), static r => r.Id));
    }

    private static async Task<Results<Ok<Page<GroupListing>>, ContractBadRequest>> FindGroupsAsync(
        HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var errors = new List<ApiError>();
        var query = context.Request.Query;
        var filters = QueryParameters.ParseFilters(query, options.Value, errors, "limit", "cursor");
        var limit = QueryParameters.ParseLimit(query, options.Value, errors);
        var after = QueryParameters.ParseCursor(query, errors);
        if (errors.Count > 0)
        {
            return ContractResults.BadRequest(errors);
        }

        var rows = await queries.FindGroupsAsync(context.User.GetTenant()!, filters, after, limit + 1, context.RequestAborted);
        return TypedResults.Ok(Paged(rows, limit, static r => new GroupListing(
            r.GroupId,
            r.Traits.TryGetValue(KnownTraits.GroupType, out var type) ? JsonNode.Parse(type) : null,
            ToJson(r.Traits)), static r => r.GroupId));
    }

    private static async Task<Results<Ok<TraitCountsResponse>, ContractBadRequest>> CountGroupsAsync(
        string trait, HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var errors = new List<ApiError>();
        var key = ReadPathValue(context, nameof(trait), trait, errors);
        var query = context.Request.Query;
        var filters = QueryParameters.ParseFilters(query, options.Value, errors, "top");
        var top = QueryParameters.ParseBoundedInt(query, "top", options.Value.DefaultTop, options.Value.MaxTop, errors);
        if (errors.Count > 0)
        {
            return ContractResults.BadRequest(errors);
        }

        var counts = await queries.CountGroupsByTraitAsync(context.User.GetTenant()!, key, filters, top, context.RequestAborted);
        return TypedResults.Ok(new TraitCountsResponse(
            key,
            counts.Top.Select(static b => new TraitValueCount(JsonNode.Parse(b.ValueJson), b.Groups)).ToList(),
            counts.Other,
            counts.Missing));
    }

    private static async Task<Results<Ok<TraitHistoryResponse>, ContractBadRequest, ContractNotFound>> GetTraitHistoryAsync(
        string groupId, string trait, HttpContext context, IGroupQueries queries, IOptions<QueryOptions> options)
    {
        var errors = new List<ApiError>();
        var id = ReadPathValue(context, nameof(groupId), groupId, errors);
        var key = ReadPathValue(context, nameof(trait), trait, errors);
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
            return ContractResults.BadRequest(errors);
        }

        var tenant = context.User.GetTenant()!;
        if (after is null && await queries.GetGroupAsync(tenant, id, context.RequestAborted) is null)
        {
            return GroupNotFound(id);
        }

        var changes = await queries.GetTraitHistoryAsync(tenant, id, key, after, limit + 1, context.RequestAborted);
        var page = Paged(changes, limit, static c => new TraitChangeItem(
            c.ValueJson is null ? null : JsonNode.Parse(c.ValueJson),
            c.ValueJson is null,
            IsoTimestamp.Format(c.TimestampMicros),
            c.EventId), static c => string.Create(CultureInfo.InvariantCulture, $"{c.TimestampMicros}:{c.EventId}"));
        return TypedResults.Ok(new TraitHistoryResponse(id, key, page.Items, page.NextCursor));
    }

    private static RouteHandlerBuilder WithPaging(this RouteHandlerBuilder builder) => builder
        .WithQueryParameter("limit", "Rows per page (1 to Query:MaxPageSize, default Query:DefaultPageSize)", "integer", "50")
        .WithQueryParameter("cursor", "The next_cursor of the previous page, unchanged");

    /// <summary>Reads <c>limit</c> and <c>cursor</c> for a listing that takes no other parameter.</summary>
    private static (int Limit, string? After) ReadPaging(HttpContext context, QueryOptions options, List<ApiError> errors)
    {
        var query = context.Request.Query;
        QueryParameters.RejectOthers(query, errors, "limit", "cursor");
        return (QueryParameters.ParseLimit(query, options, errors), QueryParameters.ParseCursor(query, errors));
    }

    /// <summary>The route value, exactly as the client encoded it (see <see cref="PathValues"/>); a 400 naming it when it cannot be read.</summary>
    private static string ReadPathValue(HttpContext context, string name, string bound, List<ApiError> errors)
    {
        if (PathValues.Exact(context, name, bound) is { } value)
        {
            return value;
        }

        errors.Add(new ApiError(null, name, "cannot be read from the request target unambiguously (send the path without dot segments)"));
        return bound;
    }

    /// <summary>The first <paramref name="limit"/> rows (the store was asked for one more, to know whether a next page exists).</summary>
    private static Page<TItem> Paged<TRow, TItem>(IReadOnlyList<TRow> rows, int limit, Func<TRow, TItem> project, Func<TRow, string> position)
    {
        var items = new List<TItem>(Math.Min(rows.Count, limit));
        for (var i = 0; i < rows.Count && i < limit; i++)
        {
            items.Add(project(rows[i]));
        }

        var next = rows.Count > limit ? QueryParameters.Cursor(position(rows[limit - 1])) : null;
        return new Page<TItem>(items, next);
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

    private static ContractNotFound GroupNotFound(string groupId) => ContractResults.NotFound($"Not Found: no group {groupId} in this tenant");
}
