/* worker_zones.c - see worker_zones.h. */
#include "worker_zones.h"

#include "log.h"
#include "polygon.h"
#include "xmalloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int zones__cmp(const void *a, const void *b)
{
    const worker_zone *x = a, *y = b;
    int c = strcmp(x->camera_id, y->camera_id);
    return c ? c : strcmp(x->name, y->name);
}

void worker_zones_free(worker *w)
{
    for (size_t i = 0; i < w->nzones; i++) {
        free(w->zones[i].camera_id);
        free(w->zones[i].name);
        free(w->zones[i].xy);
    }
    free(w->zones);
    w->zones = NULL;
    w->nzones = 0;
}

/* [[x, y], ...] into z->xy; false when it is not that. */
static bool zones__points(worker_zone *z, const char *text)
{
    json_t *a = json_loads(text, 0, NULL);
    size_t n = json_array_size(a);
    bool ok = n >= 3;
    z->xy = xcalloc(n ? n * 2 : 1, sizeof *z->xy);
    for (size_t i = 0; ok && i < n; i++) {
        json_t *p = json_array_get(a, i);
        ok = json_array_size(p) == 2 && json_is_number(json_array_get(p, 0)) &&
             json_is_number(json_array_get(p, 1));
        if (ok) {
            z->xy[2 * i] = json_number_value(json_array_get(p, 0));
            z->xy[2 * i + 1] = json_number_value(json_array_get(p, 1));
        }
    }
    z->n = n;
    json_decref(a);
    return ok;
}

void worker_zones_load(worker *w, const PGresult *res)
{
    worker_zones_free(w);
    int rows = PQntuples(res);
    w->zones = xcalloc(rows ? (size_t)rows : 1, sizeof *w->zones);
    for (int row = 0; row < rows; row++) {
        worker_zone *z = &w->zones[w->nzones];
        memset(z, 0, sizeof *z);
        if (!zones__points(z, PQgetvalue(res, row, 3))) {
            log_warn("zone %s of camera %s has unreadable points: ignored", PQgetvalue(res, row, 1),
                     PQgetvalue(res, row, 0));
            free(z->xy);
            continue;
        }
        z->camera_id = xstrdup(PQgetvalue(res, row, 0));
        z->name = xstrdup(PQgetvalue(res, row, 1));
        z->normalized = PQgetvalue(res, row, 2)[0] == 't';
        z->frame_w = atoi(PQgetvalue(res, row, 4));
        z->frame_h = atoi(PQgetvalue(res, row, 5));
        w->nzones++;
    }
    qsort(w->zones, w->nzones, sizeof *w->zones, zones__cmp);
}

void worker_zones_of(const worker *w, worker_event *e)
{
    e->nzones = 0;
    if (!w->nzones || !e->r.nboxes)
        return;
    /* The first zone of the camera (lower bound). */
    size_t lo = 0, hi = w->nzones;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(w->zones[mid].camera_id, e->r.camera_id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    const int fw = e->r.frame_width, fh = e->r.frame_height; /* the analysed frame, 0 = unknown */
    for (size_t i = lo; i < w->nzones && !strcmp(w->zones[i].camera_id, e->r.camera_id); i++) {
        const worker_zone *z = &w->zones[i];
        double sx = 1, sy = 1; /* box pixels -> zone units */
        if (z->normalized) {
            int zw = fw > 0 ? fw : z->frame_w, zh = fh > 0 ? fh : z->frame_h;
            if (zw <= 0 || zh <= 0)
                continue;
            sx = 1.0 / zw;
            sy = 1.0 / zh;
        } else if (fw > 0 && fh > 0 && z->frame_w > 0 && z->frame_h > 0) {
            sx = (double)z->frame_w / fw;
            sy = (double)z->frame_h / fh;
        }
        for (size_t b = 0; b < e->r.nboxes; b++) {
            const codec_bbox *bx = &e->r.boxes[b];
            double px, py;
            polygon_box_anchor(bx->x, bx->y, bx->width, bx->height, &px, &py);
            if (polygon_contains(z->xy, z->n, px * sx, py * sy)) {
                if (e->nzones < WORKER_EVENT_MAX_ZONES)
                    e->zones[e->nzones++] = z->name;
                break;
            }
        }
    }
}

bool worker_zones_required(const rule *r, const worker_event *e)
{
    if (!r->nrequired)
        return true;
    for (int i = 0; i < r->nrequired; i++)
        for (int k = 0; k < e->nzones; k++)
            if (!strcmp(r->required_zones[i], e->zones[k]))
                return true;
    return false;
}

void worker_zones_union(worker_event *const *q, size_t from, size_t to, const char *violation_id,
                        pg_array *out)
{
    pg_array lit = {0};
    pg_array_begin(&lit);
    const char *seen[WORKER_EVENT_MAX_ZONES];
    int nseen = 0;
    for (size_t i = from; i < to; i++) {
        const worker_event *e = q[i];
        if (strcmp(e->violation_id, violation_id))
            continue;
        for (int k = 0; k < e->nzones; k++) {
            bool dup = false;
            for (int s = 0; s < nseen && !dup; s++)
                dup = !strcmp(seen[s], e->zones[k]);
            if (!dup && nseen < WORKER_EVENT_MAX_ZONES) {
                seen[nseen++] = e->zones[k];
                pg_array_add(&lit, e->zones[k]);
            }
        }
    }
    pg_array_add(out, pg_array_end(&lit));
    pg_array_free(&lit);
}
