/* api_violation_events.c - see api_violation_events.h. */
#include "api_violation_events.h"

#include "api_db.h"
#include "api_rowjson.h"
#include "jsonw.h"

#include <stdio.h>

#define DAY_US 86400000000LL
/* Days (since 1970) inside which the bounds are written as to_timestamp() of
 * whole seconds: exact in a double and far inside timestamptz's range
 * (1900-01-01 to about 8800). Outside, ruth_violation_events() runs. */
#define MIN_DAY (-25567LL)
#define MAX_DAY 2500000LL

/* The columns of one event; those of the `events` objects only for the
 * newest 50 (rn <= 50), the others carry just their id for `event_ids`. */
#define F(col) "CASE WHEN e.rn <= 50 THEN " col " END, "
/* clang-format off */
#define EVENT_SQL                                                                                  \
    "SELECT e.id, " F("e.camera_id") F("e.stream_id") F("e.event_type") F("e.type_detail")        \
    F("e.confidence::text") F("e.\"timestamp\"") F("e.model_id") F("e.model_version")              \
    F("e.bounding_boxes") F("e.frame_id") F("e.violation_id") F("e.created_at")                   \
    "e.rn <= 50, e.n - e.rn < 1000"                                                                \
    " FROM (SELECT e.*, row_number() OVER (ORDER BY e.\"timestamp\" DESC, e.id DESC) AS rn,"      \
    " count(*) OVER () AS n FROM events e WHERE e.violation_id = $1"                               \
    " AND e.\"timestamp\" >= to_timestamp(%lld) AND e.\"timestamp\" < to_timestamp(%lld)) e"       \
    " WHERE e.rn <= 50 OR e.n - e.rn < 1000 ORDER BY e.\"timestamp\", e.id"
/* clang-format on */
enum { E_ID = 0, E_NEWEST = 13, E_FIRST1000 = 14 };

/* `events`' objects as row_to_json() wrote them: compact, this order. */
static const api_rowjson_field event_fields[] = {
    {"id", 0, ROWJSON_TEXT},
    {"camera_id", 1, ROWJSON_TEXT},
    {"stream_id", 2, ROWJSON_TEXT},
    {"event_type", 3, ROWJSON_TEXT},
    {"type_detail", 4, ROWJSON_TEXT},
    {"confidence", 5, ROWJSON_NUM},
    {"timestamp", 6, ROWJSON_TIME},
    {"model_id", 7, ROWJSON_TEXT},
    {"model_version", 8, ROWJSON_TEXT},
    {"bounding_boxes", 9, ROWJSON_JSON},
    {"frame_id", 10, ROWJSON_TEXT},
    {"violation_id", 11, ROWJSON_TEXT},
    {"created_at", 12, ROWJSON_TIME},
};

static long long floor_day(int64_t us)
{
    int64_t q = us / DAY_US;
    return us % DAY_US < 0 ? q - 1 : q;
}

static bool is_true(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && *PQgetvalue(res, row, col);
}

/* The two lists from the rows of EVENT_SQL (oldest first), as json_agg()
 * wrote them: objects joined by ", \n ", scalars by ", ", "[]" for none. */
static void write_lists(buf *o, const PGresult *res)
{
    int n = PQntuples(res);
    jsonw_key(o, "events");
    buf_append_byte(o, '[');
    bool any = false;
    for (int i = n - 1; i >= 0; i--) { /* newest first */
        if (!is_true(res, i, E_NEWEST))
            continue;
        if (any)
            buf_append_str(o, ", \n ");
        any = true;
        buf_append_byte(o, '{');
        for (size_t k = 0; k < sizeof event_fields / sizeof event_fields[0]; k++) {
            if (k)
                buf_append_byte(o, ',');
            jsonw_str(o, event_fields[k].key);
            buf_append_byte(o, ':');
            api_rowjson_value(o, res, i, event_fields[k].col, event_fields[k].kind);
        }
        buf_append_byte(o, '}');
    }
    buf_append_byte(o, ']');
    jsonw_key(o, "event_ids");
    buf_append_byte(o, '[');
    any = false;
    for (int i = 0; i < n; i++) {
        if (!is_true(res, i, E_FIRST1000))
            continue;
        if (any)
            buf_append_str(o, ", ");
        any = true;
        api_rowjson_value(o, res, i, E_ID, ROWJSON_TEXT);
    }
    buf_append_byte(o, ']');
}

/* Outside the years EVENT_SQL covers: migration 0016's function, its JSON as is. */
static bool write_by_function(api_req *r, buf *o, const char *id, int64_t first_us, int64_t last_us,
                              bool read_only)
{
    char f[24], l[24];
    snprintf(f, sizeof f, "%lld", (long long)first_us);
    snprintf(l, sizeof l, "%lld", (long long)last_us);
    const char *p[3] = {id, f, l};
    PGresult *res = api_query(r, read_only,
                              "SELECT events, event_ids FROM ruth_violation_events($1,"
                              " 'epoch'::timestamptz + $2::bigint * interval '1 microsecond',"
                              " 'epoch'::timestamptz + $3::bigint * interval '1 microsecond')",
                              3, p);
    if (!res)
        return false;
    jsonw_key(o, "events");
    api_rowjson_value(o, res, 0, 0, ROWJSON_JSON);
    jsonw_key(o, "event_ids");
    api_rowjson_value(o, res, 0, 1, ROWJSON_JSON);
    PQclear(res);
    return true;
}

bool api_violation_events_write(api_req *r, buf *o, const char *id, int64_t first_us,
                                int64_t last_us, bool read_only)
{
    long long lo = floor_day(first_us), hi = floor_day(last_us) + 1;
    if (lo < MIN_DAY || hi > MAX_DAY || hi <= lo)
        return write_by_function(r, o, id, first_us, last_us, read_only);
    char sql[sizeof EVENT_SQL + 48];
    snprintf(sql, sizeof sql, EVENT_SQL, lo * 86400, hi * 86400);
    const char *p[1] = {id};
    PGresult *res = api_query_binary(r, read_only, sql, 1, p);
    if (!res)
        return false;
    write_lists(o, res);
    PQclear(res);
    return true;
}
