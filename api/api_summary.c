/* api_summary.c - GET /analytics/summary's figures, summed in C from the
 * rows api_analytics.c reads, and its JSON, byte for byte what PostgreSQL's
 * json functions wrote before (see api_summary.h). */
#include "api_summary.h"

#include "hash.h"
#include "jsonw.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const summary_statuses[4] = {"open", "reviewed", "dismissed", "resolved"};

void api_summary_init(api_summary *s, int64_t b0_s, int64_t width_s, int64_t to_us)
{
    memset(s, 0, sizeof *s);
    s->b0_s = b0_s;
    s->width_s = width_s;
    s->to_us = to_us;
    /* generate_series(b0, to - 1 us, width): every bucket starting before `to` */
    int64_t span_us = s->to_us - s->b0_s * 1000000;
    s->nbuckets = span_us > 0 ? (size_t)((span_us - 1) / (width_s * 1000000) + 1) : 0;
    s->bev = xcalloc(s->nbuckets + 1, sizeof *s->bev);
    s->bvio = xcalloc(s->nbuckets + 1, sizeof *s->bvio);
    s->ncap = 256;
    s->cam = xcalloc(s->ncap, sizeof *s->cam);
}

void api_summary_free(api_summary *s)
{
    free(s->bev);
    free(s->bvio);
    free(s->cam);
    free(s->type);
}

static api_summary_cam *summary_camera(api_summary *s, const char *id)
{
    if (2 * (s->ncam + 1) > s->ncap) { /* grow: rehash into twice the slots */
        api_summary_cam *old = s->cam;
        size_t oldcap = s->ncap;
        s->ncap *= 2;
        s->cam = xcalloc(s->ncap, sizeof *s->cam);
        for (size_t i = 0; i < oldcap; i++) {
            if (!old[i].id)
                continue;
            size_t j = hash_fnv1a64_str(old[i].id) & (s->ncap - 1);
            while (s->cam[j].id)
                j = (j + 1) & (s->ncap - 1);
            s->cam[j] = old[i];
        }
        free(old);
    }
    size_t j = hash_fnv1a64_str(id) & (s->ncap - 1);
    while (s->cam[j].id && strcmp(s->cam[j].id, id))
        j = (j + 1) & (s->ncap - 1);
    if (!s->cam[j].id) {
        s->cam[j] = (api_summary_cam){.id = id, .le_us = INT64_MIN, .mc = -1};
        s->ncam++;
    }
    return &s->cam[j];
}

static void summary_add_type(api_summary *s, const char *name, int64_t n)
{
    for (size_t i = 0; i < s->ntype; i++)
        if (!strcmp(s->type[i].name, name)) {
            s->type[i].n += n;
            return;
        }
    if (s->ntype == s->captype) {
        s->captype = s->captype ? 2 * s->captype : 8;
        s->type = xrealloc(s->type, s->captype * sizeof *s->type);
    }
    s->type[s->ntype++] = (api_summary_type){name, n};
}

/* The bucket of a time in epoch seconds, or -1 outside the series. */
static long summary_bucket(const api_summary *s, int64_t t_s)
{
    int64_t d = t_s - s->b0_s;
    if (d < 0)
        return -1;
    size_t k = (size_t)(d / s->width_s);
    return k < s->nbuckets ? (long)k : -1;
}

/* Row i's events of a camera (kinds 0 and 2): count, max confidence
 * (column 5), last event in epoch milliseconds (column 6, may be null). */
static void summary_camera_row(api_summary *s, const PGresult *res, int i, int64_t cnt)
{
    api_summary_cam *c = summary_camera(s, PQgetvalue(res, i, 2));
    c->events += cnt;
    if (!c->seen)
        s->active++;
    c->seen = true;
    const char *mct = PQgetvalue(res, i, 5);
    double mc = strtod(mct, NULL);
    if (mc > c->mc) {
        c->mc = mc;
        c->mc_txt = mct;
    }
    if (!PQgetisnull(res, i, 6)) {
        int64_t le = strtoll(PQgetvalue(res, i, 6), NULL, 10) * 1000;
        if (le > c->le_us)
            c->le_us = le;
    }
}

/* Row i's events of a type in a bucket (kinds 0 and 3): bucket start in
 * epoch seconds (column 1), type (column 3). */
static void summary_type_row(api_summary *s, const PGresult *res, int i, int64_t cnt)
{
    long k = summary_bucket(s, strtoll(PQgetvalue(res, i, 1), NULL, 10));
    if (k >= 0)
        s->bev[k] += cnt;
    s->events += cnt;
    summary_add_type(s, PQgetvalue(res, i, 3), cnt);
}

/* Row i's violations of a camera per status (kind 4): open, reviewed,
 * dismissed, resolved in columns 4, 7, 8, 9; none when all are zero (a
 * camera with no violation in the range is not one of the summary's). */
static void summary_camera_status(api_summary *s, const PGresult *res, int i)
{
    static const int col[4] = {4, 7, 8, 9};
    int64_t n[4], all = 0;
    bool any = false;
    for (int j = 0; j < 4; j++) {
        n[j] = strtoll(PQgetvalue(res, i, col[j]), NULL, 10);
        all += n[j];
        any = any || n[j];
    }
    if (!any)
        return;
    api_summary_cam *c = summary_camera(s, PQgetvalue(res, i, 2));
    c->vtotal += all;
    c->vopen += n[0];
    s->vtotal += all;
    for (int j = 0; j < 4; j++)
        s->vstatus[j] += n[j];
}

/* The rows of summary_sql or summary_blocks_sql: kind 0 a rollup row of a
 * camera and type, 2 a camera's figures, 3 a type's in a bucket, 1
 * violations, 4 a camera's violations per status. */
void api_summary_rows(api_summary *s, const PGresult *res)
{
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        const char *kind = PQgetvalue(res, i, 0);
        const char *cam = PQgetvalue(res, i, 2), *what = PQgetvalue(res, i, 3);
        int64_t cnt = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        if (kind[0] == '0' || kind[0] == '2')
            summary_camera_row(s, res, i, cnt);
        if (kind[0] == '2') /* its name */
            summary_camera(s, cam)->name = what;
        if (kind[0] == '0' || kind[0] == '3')
            summary_type_row(s, res, i, cnt);
        if (kind[0] == '4')
            summary_camera_status(s, res, i);
        if (kind[0] != '1')
            continue;
        if (!PQgetisnull(res, i, 1)) { /* violations of a bucket */
            long k = summary_bucket(s, strtoll(PQgetvalue(res, i, 1), NULL, 10));
            if (k >= 0)
                s->bvio[k] += cnt;
        } else { /* violations of a camera in a status */
            api_summary_cam *c = summary_camera(s, cam);
            c->vtotal += cnt;
            s->vtotal += cnt;
            for (int j = 0; j < 4; j++)
                if (!strcmp(what, summary_statuses[j]))
                    s->vstatus[j] += cnt;
            if (!strcmp(what, "open"))
                c->vopen += cnt;
        }
    }
}

/* jsonb's key order, which the totals object has always had: shorter keys
 * first, equal lengths bytewise. */
typedef struct summary_kv {
    char key[160];
    int64_t v;
} summary_kv;

static int summary_kv_cmp(const void *a, const void *b)
{
    const summary_kv *x = a, *y = b;
    size_t lx = strlen(x->key), ly = strlen(y->key);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->key, y->key);
}

/* why: the totals' keys are the fixed figures and one per event type; a
 * type may repeat a fixed key (`total`), and then, as jsonb's || did, the
 * type's count wins. */
static void summary_totals(const api_summary *s, buf *b)
{
    size_t n = 0, cap = 8 + s->ntype;
    summary_kv *kv = xcalloc(cap, sizeof *kv);
#define KV(k, val)                                                                                 \
    do {                                                                                           \
        size_t at_ = n;                                                                            \
        for (size_t q_ = 0; q_ < n; q_++)                                                          \
            if (!strcmp(kv[q_].key, (k)))                                                          \
                at_ = q_;                                                                          \
        snprintf(kv[at_].key, sizeof kv[at_].key, "%s", (k));                                      \
        kv[at_].v = (val);                                                                         \
        n += at_ == n;                                                                             \
    } while (0)
    char key[160];
    KV("violations_total", s->vtotal);
    KV("events_total", s->events);
    KV("cameras_active", s->active);
    for (int j = 0; j < 4; j++) {
        snprintf(key, sizeof key, "violations_%s", summary_statuses[j]);
        KV(key, s->vstatus[j]);
    }
    bool fall = false;
    for (size_t i = 0; i < s->ntype; i++) {
        snprintf(key, sizeof key, "events_%s", s->type[i].name);
        KV(key, s->type[i].n);
        fall = fall || !strcmp(s->type[i].name, "fall_detected");
    }
    if (!fall)
        KV("events_fall_detected", 0);
#undef KV
    qsort(kv, n, sizeof *kv, summary_kv_cmp);
    buf_append_byte(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_append_str(b, ", ");
        jsonw_str(b, kv[i].key);
        buf_append_str(b, ": ");
        jsonw_int(b, kv[i].v);
    }
    buf_append_byte(b, '}');
    free(kv);
}

static int summary_cam_cmp(const void *a, const void *b)
{
    const api_summary_cam *x = *(const api_summary_cam *const *)a,
                          *y = *(const api_summary_cam *const *)b;
    if (x->events != y->events)
        return x->events > y->events ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* by_camera as json_agg of rows wrote it: compact members, ", \n " between
 * elements; ordered by events, then camera id. */
static void summary_cameras(api_summary *s, buf *b, const PGresult *names)
{
    for (int i = 0; names && i < PQntuples(names); i++)
        summary_camera(s, PQgetvalue(names, i, 0))->name = PQgetvalue(names, i, 1);
    api_summary_cam **v = xmalloc((s->ncam ? s->ncam : 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < s->ncap; i++)
        if (s->cam[i].id)
            v[n++] = &s->cam[i];
    qsort(v, n, sizeof *v, summary_cam_cmp);
    buf_append_byte(b, '[');
    for (size_t i = 0; i < n; i++) {
        const api_summary_cam *c = v[i];
        buf_append_str(b, i ? ", \n {\"camera_id\":" : "{\"camera_id\":");
        jsonw_str(b, c->id);
        buf_append_str(b, ",\"camera_name\":");
        jsonw_str(b, c->name ? c->name : c->id);
        buf_append_str(b, ",\"violations_total\":");
        jsonw_int(b, c->vtotal);
        buf_append_str(b, ",\"violations_open\":");
        jsonw_int(b, c->vopen);
        buf_append_str(b, ",\"events_total\":");
        jsonw_int(b, c->events);
        buf_append_str(b, ",\"last_event_at\":");
        if (c->le_us == INT64_MIN)
            buf_append_str(b, "null");
        else
            jsonw_time_us(b, c->le_us);
        buf_append_str(b, ",\"max_confidence\":");
        if (c->seen)
            buf_append_str(b, c->mc_txt); /* float8out's, as row_to_json wrote it */
        else
            buf_append_str(b, "null");
        buf_append_byte(b, '}');
    }
    buf_append_byte(b, ']');
    free(v);
}

void api_summary_write(api_summary *s, buf *b, const char *const range[3], const char *gran,
                       const char *camera, const PGresult *names)
{
    buf_printf(b, "{\"summary\" : {\"time_range\" : {\"from\" : \"%s\", \"to\" : \"%s\"}", range[0],
               range[1]);
    buf_printf(b, ", \"granularity\" : \"%s\", \"camera_id\" : ", gran);
    if (camera)
        jsonw_str(b, camera);
    else
        buf_append_str(b, "null");
    buf_append_str(b, ", \"totals\" : ");
    summary_totals(s, b);
    buf_append_str(b, ", \"by_camera\" : ");
    summary_cameras(s, b, names);
    buf_append_str(b, ", \"time_series\" : [");
    for (size_t k = 0; k < s->nbuckets; k++) {
        buf_append_str(b, k ? ", {\"bucket\" : " : "{\"bucket\" : ");
        jsonw_time_us(b, (s->b0_s + (int64_t)k * s->width_s) * 1000000);
        buf_append_str(b, ", \"violations\" : ");
        jsonw_int(b, s->bvio[k]);
        buf_append_str(b, ", \"events\" : ");
        jsonw_int(b, s->bev[k]);
        buf_append_byte(b, '}');
    }
    buf_printf(b, "]}, \"generated_at\" : \"%s\"}", range[2]);
}
