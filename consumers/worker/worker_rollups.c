/* worker_rollups.c - per-minute and per-hour rollups of a batch's new
 * events (step 3 of worker_batch.c).
 *
 * The per-minute counts are aggregated in C, then both tables are upserted
 * by one statement, so a batch costs one round trip here whatever its size.
 * Only events stored by this batch count (`inserted`): a redelivery adds
 * nothing. */
#include "worker_rollups.h"

#include "pg.h"
#include "pg_array.h"
#include "xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct rollup {
    int64_t minute_us;
    const char *camera_id, *event_type;
    int64_t count;
    double max_conf;
} rollup;

static int rollups__cmp(const void *a, const void *b)
{
    const rollup *x = a, *y = b;
    if (x->minute_us != y->minute_us)
        return x->minute_us < y->minute_us ? -1 : 1;
    int c = strcmp(x->camera_id, y->camera_id);
    return c ? c : strcmp(x->event_type, y->event_type);
}

int worker_rollups_write(worker *w, const worker_event *ev, size_t n, char *err, size_t errsz)
{
    rollup *ru = xmalloc((n ? n : 1) * sizeof *ru);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].inserted)
            continue;
        int64_t t = ev[i].r.timestamp_us;
        int64_t m = t - ((t % 60000000) + 60000000) % 60000000;
        ru[k++] = (rollup){m, ev[i].r.camera_id, ev[i].event_type, 1, ev[i].r.confidence};
    }
    int rc = 0;
    if (k) {
        /* Sorted, so concurrent writers lock rows in the same order. */
        qsort(ru, k, sizeof *ru, rollups__cmp);
        size_t u = 0;
        for (size_t i = 1; i < k; i++) {
            if (!rollups__cmp(&ru[u], &ru[i])) {
                ru[u].count++;
                if (ru[i].max_conf > ru[u].max_conf)
                    ru[u].max_conf = ru[i].max_conf;
            } else {
                ru[++u] = ru[i];
            }
        }
        k = u + 1;
        pg_array m = {0}, c = {0}, t = {0}, cnt = {0}, mx = {0};
        pg_array_begin(&m);
        pg_array_begin(&c);
        pg_array_begin(&t);
        pg_array_begin(&cnt);
        pg_array_begin(&mx);
        for (size_t i = 0; i < k; i++) {
            pg_array_addf(&m, "%lld", (long long)ru[i].minute_us);
            pg_array_add(&c, ru[i].camera_id);
            pg_array_add(&t, ru[i].event_type);
            pg_array_addf(&cnt, "%lld", (long long)ru[i].count);
            pg_array_addf(&mx, "%.17g", ru[i].max_conf);
        }
        const char *p[5] = {pg_array_end(&m), pg_array_end(&c), pg_array_end(&t),
                            pg_array_end(&cnt), pg_array_end(&mx)};
        rc =
            pg_stmts_exec_ok(
                w->stmts, w->db,
                "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[],"
                "   $4::bigint[], $5::float8[]) AS u(m, c, t, n, x)),"
                " per_minute AS ("
                "  INSERT INTO event_rollups (minute, camera_id, event_type, count, max_confidence)"
                "  SELECT 'epoch'::timestamptz + m * interval '1 microsecond', c, t, n, x FROM u"
                "  ON CONFLICT (minute, camera_id, event_type) DO UPDATE SET"
                "  count = event_rollups.count + EXCLUDED.count, max_confidence ="
                "  greatest(event_rollups.max_confidence, EXCLUDED.max_confidence))"
                " INSERT INTO event_rollups_hourly (hour, camera_id, event_type, count,"
                "  max_confidence)"
                " SELECT 'epoch'::timestamptz + (m / 3600000000) * interval '1 hour', c, t,"
                "  sum(n), max(x) FROM u GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
                " ON CONFLICT (hour, camera_id, event_type) DO UPDATE SET"
                " count = event_rollups_hourly.count + EXCLUDED.count, max_confidence ="
                " greatest(event_rollups_hourly.max_confidence, EXCLUDED.max_confidence)",
                5, p, NULL, err, errsz)
                ? 0
                : -1;
        pg_array_free(&m);
        pg_array_free(&c);
        pg_array_free(&t);
        pg_array_free(&cnt);
        pg_array_free(&mx);
    }
    free(ru);
    return rc;
}
