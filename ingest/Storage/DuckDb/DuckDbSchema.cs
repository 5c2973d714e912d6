namespace Platform.Ingest.Storage.DuckDb;

/// <summary>
/// The embedded database's schema as an ordered list of migrations. Each runs once, in its own transaction
/// together with its row in <c>schema_migrations</c>, so a crash never leaves a half-applied version.
/// Never edit a released migration: append a new one.
/// </summary>
/// <remarks>
/// Layout choices, measured on DuckDB 1.5 (2-core dev box):
/// <list type="bullet">
/// <item><c>events</c> carries the only index that dedup needs: the primary key (tenant, event_id). Inserts use
/// <c>ON CONFLICT DO NOTHING RETURNING</c> against it, so storage stays the duplicate backstop whatever the dedup store lost.</item>
/// <item><c>group_traits</c> is append-only history (one row per trait per stored event) without any index. DuckDB's ART
/// indexes serve constraints, not scans: multi-column ones are not used for lookups, and each one slows the appender and
/// every checkpoint. Reads are vectorised scans with the tenant/group/key filters pushed down (about 10-25 ms per million
/// trait rows here), then <c>arg_max(value_json, (event_time, event_id))</c> per key. The value is never NULL (cleared
/// rows hold '' and <c>cleared = true</c>) because aggregates skip NULLs and a clear would otherwise lose to an older value.
/// A current-value table upserted at ingest made reads O(groups) instead of O(history) but cut the insert rate by about
/// four; if the query API needs it, build it as a projection refreshed off the ingest path, not in the insert transaction.</item>
/// <item><c>memberships</c> is keyed (tenant, group_id, user_id) and upserted with least/greatest, so out-of-order
/// events only ever widen the [first_seen, last_seen] window.</item>
/// <item>Times are <c>TIMESTAMP</c> (microseconds, UTC by convention, no time zone arithmetic anywhere) and are written
/// from epoch microseconds with <c>make_timestamp(BIGINT)</c>; read them back with <c>epoch_us(...)</c>.</item>
/// </list>
/// </remarks>
internal static class DuckDbSchema
{
    public const string CreateMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER   PRIMARY KEY,
            applied_at TIMESTAMP NOT NULL
        )
        """;

    public const string SelectAppliedVersions = "SELECT version FROM schema_migrations ORDER BY version";

    public const string RecordMigration = "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, make_timestamp($2))";

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(1, "events, group_traits, memberships", """
            CREATE TABLE IF NOT EXISTS events (
                tenant       VARCHAR   NOT NULL,
                event_id     VARCHAR   NOT NULL,
                message_id   VARCHAR,
                group_id     VARCHAR   NOT NULL,
                user_id      VARCHAR   NOT NULL,
                event_time   TIMESTAMP NOT NULL,
                group_type   VARCHAR   NOT NULL,
                traits_json  VARCHAR   NOT NULL,
                context_json VARCHAR,
                received_at  TIMESTAMP NOT NULL,
                PRIMARY KEY (tenant, event_id)
            );
            CREATE TABLE IF NOT EXISTS group_traits (
                tenant     VARCHAR   NOT NULL,
                group_id   VARCHAR   NOT NULL,
                trait_key  VARCHAR   NOT NULL,
                event_time TIMESTAMP NOT NULL,
                event_id   VARCHAR   NOT NULL,
                value_json VARCHAR   NOT NULL,
                cleared    BOOLEAN   NOT NULL
            );
            CREATE TABLE IF NOT EXISTS memberships (
                tenant     VARCHAR   NOT NULL,
                group_id   VARCHAR   NOT NULL,
                user_id    VARCHAR   NOT NULL,
                first_seen TIMESTAMP NOT NULL,
                last_seen  TIMESTAMP NOT NULL,
                PRIMARY KEY (tenant, group_id, user_id)
            );
            """),
        new(2, "current_traits: the current value per (tenant, group, trait), kept up to date by every insert", """
            CREATE TABLE IF NOT EXISTS current_traits (
                tenant     VARCHAR   NOT NULL,
                group_id   VARCHAR   NOT NULL,
                trait_key  VARCHAR   NOT NULL,
                event_time TIMESTAMP NOT NULL,
                event_id   VARCHAR   NOT NULL,
                value_json VARCHAR   NOT NULL,
                cleared    BOOLEAN   NOT NULL
            );
            INSERT INTO current_traits
            SELECT tenant, group_id, trait_key,
                   max(event_time), arg_max(event_id, (event_time, event_id)),
                   arg_max(value_json, (event_time, event_id)), arg_max(cleared, (event_time, event_id))
            FROM group_traits
            GROUP BY tenant, group_id, trait_key;
            """),
    ];

    /// <summary>The newest schema version this build knows.</summary>
    public static int LatestVersion => Migrations[^1].Version;

    // Per-connection staging for the writer. TEMP tables are neither logged nor checkpointed, and their contents
    // follow the surrounding transaction (a rollback empties them). Named apart from the real tables because
    // an unqualified name resolves to the temp schema first.
    public const string CreateStaging = """
        CREATE OR REPLACE TEMP TABLE ingest_staging_events (
            tenant       VARCHAR,
            event_id     VARCHAR,
            message_id   VARCHAR,
            group_id     VARCHAR,
            user_id      VARCHAR,
            event_us     BIGINT,
            group_type   VARCHAR,
            traits_json  VARCHAR,
            context_json VARCHAR,
            received_us  BIGINT
        );
        CREATE OR REPLACE TEMP TABLE ingest_staging_traits (
            tenant     VARCHAR,
            group_id   VARCHAR,
            trait_key  VARCHAR,
            event_time TIMESTAMP,
            event_id   VARCHAR,
            value_json VARCHAR,
            cleared    BOOLEAN
        );
        CREATE OR REPLACE TEMP TABLE ingest_staging_current (
            tenant     VARCHAR,
            group_id   VARCHAR,
            trait_key  VARCHAR,
            event_time TIMESTAMP,
            event_id   VARCHAR,
            value_json VARCHAR,
            cleared    BOOLEAN
        );
        CREATE OR REPLACE TEMP TABLE ingest_staging_memberships (
            tenant   VARCHAR,
            group_id VARCHAR,
            user_id  VARCHAR,
            event_us BIGINT
        );
        """;

    public const string StagingCatalog = "temp";
    public const string StagingSchema = "main";
    public const string StagingEventsTable = "ingest_staging_events";
    public const string StagingMembershipsTable = "ingest_staging_memberships";
    public const string StagingTraitsTable = "ingest_staging_traits";

    public const string ClearStaging = """
        DELETE FROM temp.main.ingest_staging_events;
        DELETE FROM temp.main.ingest_staging_traits;
        DELETE FROM temp.main.ingest_staging_current;
        DELETE FROM temp.main.ingest_staging_memberships;
        """;

    /// <summary>
    /// Appends the staged trait rows to the history, then replaces the current row of every touched (tenant, group,
    /// trait) by the latest of itself and the new rows. current_traits holds one row per group and trait, so the
    /// delete and the lookups scan a table a small fraction of the history's size; no index is involved (an ART
    /// index with ON CONFLICT DO UPDATE made ingest about four times slower).
    /// </summary>
    public const string StoreTraits = """
        INSERT INTO group_traits SELECT * FROM temp.main.ingest_staging_traits;
        INSERT INTO temp.main.ingest_staging_current
        SELECT tenant, group_id, trait_key,
               max(event_time), arg_max(event_id, (event_time, event_id)),
               arg_max(value_json, (event_time, event_id)), arg_max(cleared, (event_time, event_id))
        FROM (
            SELECT * FROM temp.main.ingest_staging_traits
            UNION ALL
            SELECT c.* FROM current_traits c
            WHERE EXISTS (SELECT 1 FROM temp.main.ingest_staging_traits s
                          WHERE s.tenant = c.tenant AND s.group_id = c.group_id AND s.trait_key = c.trait_key)
        )
        GROUP BY tenant, group_id, trait_key;
        DELETE FROM current_traits c
        WHERE EXISTS (SELECT 1 FROM temp.main.ingest_staging_current s
                      WHERE s.tenant = c.tenant AND s.group_id = c.group_id AND s.trait_key = c.trait_key);
        INSERT INTO current_traits SELECT * FROM temp.main.ingest_staging_current;
        """;

    /// <summary>Moves staged events into <c>events</c>; returns the keys that were new (not already stored).</summary>
    public const string InsertNewEvents = """
        INSERT INTO events
        SELECT tenant, event_id, message_id, group_id, user_id, make_timestamp(event_us),
               group_type, traits_json, context_json, make_timestamp(received_us)
        FROM temp.main.ingest_staging_events
        ON CONFLICT DO NOTHING
        RETURNING tenant, event_id
        """;

    /// <summary>One row per pair first (an upsert may not touch a key twice), then widen the stored window.</summary>
    public const string UpsertMemberships = """
        INSERT INTO memberships
        SELECT tenant, group_id, user_id, make_timestamp(min(event_us)), make_timestamp(max(event_us))
        FROM temp.main.ingest_staging_memberships
        GROUP BY tenant, group_id, user_id
        ON CONFLICT DO UPDATE SET
            first_seen = least(memberships.first_seen, excluded.first_seen),
            last_seen = greatest(memberships.last_seen, excluded.last_seen)
        """;

    public const string CountForTenant = """
        SELECT
            (SELECT count(*) FROM events WHERE tenant = $1),
            (SELECT count(*) FROM group_traits WHERE tenant = $1),
            (SELECT count(*) FROM memberships WHERE tenant = $1)
        """;

    /// <summary>
    /// Latest row per key by (event_time, event_id): the struct compares field by field, and event ids are unique per
    /// (tenant, group, key), so there is exactly one winner. A winning clear yields '' and is dropped.
    /// </summary>
    public const string SelectCurrentTraits = """
        SELECT trait_key, value_json FROM current_traits
        WHERE tenant = $1 AND group_id = $2 AND NOT cleared
        """;

    public const string SelectOne = "SELECT 1";
}

internal sealed record Migration(int Version, string Description, string Sql);
