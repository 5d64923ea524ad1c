/* api_list.c - pagination shared by every list endpoint.
 *
 * Offset paging is the contract's; keyset paging (`cursor` / `next_cursor`)
 * is for deep pages at scale: the cursor is base64url("<sort tag>|<sort
 * value>|<row id>") of the last row returned, and the next page starts
 * strictly after it in the same order, so its cost does not grow with depth.
 *
 * `total` is exact up to LIST_COUNT_EXACT_MAX matching rows, above that it
 * is PostgreSQL's row estimate for the same query and
 * `pagination.total_exact` is false. Counts are cached for one second per
 * query and parameters, so dashboards polling the same list do not count on
 * every request. */
#include "api_list.h"
#include "clock.h"

#include "b64url.h"
#include "hash.h"

#include "api_auth.h"
#include "api_db.h"
#include "api_params.h"
#include "api_rowjson.h"
#include "api_util.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_CACHE_SLOTS 512
#define COUNT_CACHE_TTL 1.0

typedef struct count_slot {
    uint64_t hash;
    char *key;
    long long total;
    bool exact;
    double at;
} count_slot;

struct list_counts {
    pthread_mutex_t mu;
    count_slot slots[COUNT_CACHE_SLOTS];
};

list_counts *list_counts_new(void)
{
    list_counts *lc = xcalloc(1, sizeof *lc);
    pthread_mutex_init(&lc->mu, NULL);
    return lc;
}

void list_counts_free(list_counts *lc)
{
    if (!lc)
        return;
    for (int i = 0; i < COUNT_CACHE_SLOTS; i++)
        free(lc->slots[i].key);
    pthread_mutex_destroy(&lc->mu);
    free(lc);
}

/* A cursor's sort value must parse as the sort column's type. */
static bool key_ok(const char *k, char kind)
{
    char *end;
    if (kind == 'i') {
        /* Microseconds since the epoch, within the years the API accepts
         * anywhere (to 9999): PostgreSQL's bigint * interval overflows
         * far below INT64_MAX. */
        errno = 0;
        long long v = strtoll(k, &end, 10);
        return !*end && !errno && v >= 0 && v <= 253402300799000000LL;
    }
    if (kind == 'f') {
        /* ERANGE: 1e-400 underflows, and float8 refuses it as out of range. */
        errno = 0;
        double d = strtod(k, &end);
        return !*end && !errno && d >= 0 && d <= 1;
    }
    return true;
}

bool list_cursor_parse(const char *cursor, const char *sort_tag, char key_kind, api_page *pg)
{
    buf b = {0};
    bool good = strlen(cursor) < 512 && b64url_decode(cursor, strlen(cursor), &b);
    buf_append_byte(&b, 0);
    char *s = (char *)b.data;
    char *bar1 = good ? strchr(s, '|') : NULL;
    char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    if (bar2) {
        *bar1 = *bar2 = '\0';
        good = !strcmp(s, sort_tag) && api_is_uuid(bar2 + 1) &&
               strlen(bar1 + 1) < sizeof pg->after_key && bar1[1] &&
               api_is_utf8(bar1 + 1, strlen(bar1 + 1)) && key_ok(bar1 + 1, key_kind);
        if (good) {
            snprintf(pg->after_key, sizeof pg->after_key, "%s", bar1 + 1);
            snprintf(pg->after_id, sizeof pg->after_id, "%s", bar2 + 1);
        }
    } else {
        good = false;
    }
    buf_free(&b);
    return good;
}

bool list_page(api_req *r, long dflt_limit, long max_limit, const char *sort_tag, char key_kind,
               api_page *pg)
{
    memset(pg, 0, sizeof *pg);
    pg->limit = dflt_limit;
    bool ok = param_int(r, "limit", 1, max_limit, &pg->limit);
    ok = param_int(r, "offset", 0, 1000000000L, &pg->offset) && ok;
    pg->cursor = param_str(r, "cursor");
    if (!pg->cursor)
        return ok;
    if (pg->offset) {
        param_invalid(r, "cursor", "cannot be combined with offset");
        return false;
    }
    if (!list_cursor_parse(pg->cursor, sort_tag, key_kind, pg)) {
        param_invalid(r, "cursor", "is not a cursor issued for this list and sort order");
        return false;
    }
    pg->keyset = true;
    return ok;
}

static long long plan_rows(api_req *r, const char *from_where, int nparams,
                           const char *const *params)
{
    buf sql = {0};
    buf_printf(&sql, "EXPLAIN (FORMAT JSON) SELECT 1 %s", from_where);
    buf_append_byte(&sql, 0);
    PGresult *res = api_query(r, true, (const char *)sql.data, nparams, params);
    buf_free(&sql);
    if (!res)
        return -1;
    json_t *j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    json_t *rows = json_object_get(json_object_get(json_array_get(j, 0), "Plan"), "Plan Rows");
    long long n = (long long)json_number_value(rows);
    json_decref(j);
    return n;
}

long long list_count(api_req *r, const char *from_where, int nparams, const char *const *params,
                     bool *exact)
{
    buf key = {0};
    buf_append_str(&key, from_where);
    for (int i = 0; i < nparams; i++) {
        buf_append_byte(&key, 0x1f);
        buf_append_str(&key, params[i] ? params[i] : "\x1e");
    }
    buf_append_byte(&key, 0);
    uint64_t h = hash_fnv1a64_str((const char *)key.data);
    double now = clock_mono_s();
    list_counts *lc = r->a->counts;
    count_slot *s = NULL;
    if (lc) {
        pthread_mutex_lock(&lc->mu);
        s = &lc->slots[h % COUNT_CACHE_SLOTS];
        if (s->key && s->hash == h && now - s->at < COUNT_CACHE_TTL &&
            !strcmp(s->key, (const char *)key.data)) {
            long long total = s->total;
            *exact = s->exact;
            pthread_mutex_unlock(&lc->mu);
            buf_free(&key);
            return total;
        }
        pthread_mutex_unlock(&lc->mu);
    }

    buf sql = {0};
    buf_printf(&sql, "SELECT count(*) FROM (SELECT 1 %s LIMIT %d) c", from_where,
               LIST_COUNT_EXACT_MAX + 1);
    buf_append_byte(&sql, 0);
    PGresult *res = api_query(r, true, (const char *)sql.data, nparams, params);
    buf_free(&sql);
    if (!res) {
        buf_free(&key);
        return -1;
    }
    long long total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    *exact = true;
    if (total > LIST_COUNT_EXACT_MAX) {
        long long est = plan_rows(r, from_where, nparams, params);
        if (est < 0) {
            buf_free(&key);
            return -1;
        }
        total = est > total ? est : total;
        *exact = false;
    }
    if (!lc) {
        buf_free(&key);
        return total;
    }
    pthread_mutex_lock(&lc->mu);
    free(s->key);
    s->key = (char *)key.data; /* the cache takes the key */
    s->hash = h;
    s->total = total;
    s->exact = *exact;
    s->at = now;
    pthread_mutex_unlock(&lc->mu);
    return total;
}

/* The default writer: ready item JSON in column 0. */
static void list__row_json(buf *o, const PGresult *res, int row)
{
    buf_append(o, PQgetvalue(res, row, 0), (size_t)PQgetlength(res, row, 0));
}

static const list_writer list__json = {list__row_json, 1, 2, false, false};

static void list_respond(api_req *r, const char *items, PGresult *res, const api_page *pg,
                         const char *sort_tag, long long total, bool exact, const list_writer *lw)
{
    int rows = PQntuples(res);
    bool more = rows > pg->limit;
    int n = more ? (int)pg->limit : rows;
    buf *o = &r->out;
    buf_reset(o);
    buf_printf(o, "{\"%s\":[", items);
    for (int i = 0; i < n; i++) {
        if (i)
            buf_append_byte(o, ',');
        lw->item(o, res, i);
    }
    /* On a keyset page the offset of the page is unknown; report 0. */
    buf_printf(o,
               "],\"pagination\":{\"total\":%lld,\"limit\":%ld,\"offset\":%ld,\"has_more\":%s,"
               "\"total_exact\":%s,\"next_cursor\":",
               total, pg->limit, pg->offset, more ? "true" : "false", exact ? "true" : "false");
    if (more && sort_tag) {
        buf c = {0};
        char kt[48], it[48];
        buf_printf(&c, "%s|%s|%s", sort_tag, api_rowjson_cstr(res, n - 1, lw->key_col, kt),
                   api_rowjson_cstr(res, n - 1, lw->id_col, it));
        buf_append_byte(o, '"');
        b64url_encode(o, c.data, c.len);
        buf_append_byte(o, '"');
        buf_free(&c);
    } else {
        buf_append_str(o, "null");
    }
    buf_append_str(o, "}}");
    r->status = 200;
}

static void sqlw__cond(sqlw *w, const char *cond, const char *const *values, int nvalues)
{
    if (w->n + nvalues > SQLW_MAX_PARAMS)
        return; /* callers use a fixed, smaller number of conditions */
    if (w->where.len && w->where.data[w->where.len - 1] == 0)
        w->where.len--; /* drop the terminator sqlw_sql() added */
    buf_append_str(&w->where, w->where.len ? " AND " : " WHERE ");
    int k = 0;
    for (const char *p = cond; *p; p++) {
        if (p[0] == '$' && p[1] == '?' && k < nvalues) {
            w->params[w->n] = values[k++];
            buf_printf(&w->where, "$%d", ++w->n);
            p++;
        } else {
            buf_append_byte(&w->where, (unsigned char)*p);
        }
    }
}

void sqlw_add(sqlw *w, const char *cond, const char *value)
{
    if (value)
        sqlw__cond(w, cond, &value, 1);
}

void sqlw_add2(sqlw *w, const char *cond, const char *v1, const char *v2)
{
    const char *v[2] = {v1, v2};
    sqlw__cond(w, cond, v, 2);
}

int sqlw_param(sqlw *w, const char *value)
{
    w->params[w->n] = value;
    return ++w->n;
}

const char *sqlw_sql(sqlw *w)
{
    if (!w->where.len || w->where.data[w->where.len - 1] != 0)
        buf_append_byte(&w->where, 0);
    return (const char *)w->where.data;
}

void sqlw_free(sqlw *w)
{
    buf_free(&w->where);
}

long long list_total(api_req *r, const char *from, sqlw *w, char *fw, size_t fwsz, bool *exact)
{
    snprintf(fw, fwsz, "FROM %s%s", from, sqlw_sql(w));
    long long total = list_count(r, fw, w->n, w->params, exact);
    if (total < 0)
        sqlw_free(w);
    return total;
}

void list_fetch(api_req *r, const char *items, sqlw *w, const api_page *pg, const char *sort_tag,
                long long total, bool exact, const char *select)
{
    list_fetch_rows(r, items, w, pg, sort_tag, total, exact, select, &list__json);
}

void list_fetch_rows(api_req *r, const char *items, sqlw *w, const api_page *pg,
                     const char *sort_tag, long long total, bool exact, const char *select,
                     const list_writer *lw)
{
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%ld", pg->limit + 1); /* one more tells has_more */
    snprintf(off, sizeof off, "%ld", pg->offset);
    buf sql = {0};
    if (lw->literal_limit && !pg->offset) {
        buf_printf(&sql, "%s LIMIT %s", select, lim); /* see list_writer */
    } else {
        int plim = sqlw_param(w, lim), poff = sqlw_param(w, off);
        buf_printf(&sql, "%s LIMIT $%d OFFSET $%d", select, plim, poff);
    }
    PGresult *res = lw->binary ? api_query_binary(r, true, buf_cstr(&sql), w->n, w->params)
                               : api_query(r, true, buf_cstr(&sql), w->n, w->params);
    buf_free(&sql);
    sqlw_free(w);
    if (!res)
        return;
    list_respond(r, items, res, pg, sort_tag, total, exact, lw);
    PQclear(res);
}
