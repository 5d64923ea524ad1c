/* evidence_sync.c - camera sync: VAS devices and their streams into the
 * `cameras` table (name, location, VAS device id, stream id and state), so
 * violations carry a camera name and evidence can use the camera's live
 * stream when a result named none. At start and every RUTH_CAMERA_SYNC_SEC. */
#include "evidence.h"

#include "clock.h"
#include "log.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct evidence_sync {
    evidence *e;
    pthread_t thread;
};

/* A camera is a VAS device; its id is the device id, which is what
 * runtimes put in camera_id. A camera first seen in a result keeps its
 * row and gains the VAS fields; `active` is VAS's is_active. */
static const char upsert_sql[] =
    "INSERT INTO cameras (id, vas_device_id, name, location, stream_id, stream_state,"
    " description, active)"
    " VALUES ($1, $1, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''),"
    " NULLIF($6, ''), $7::bool)"
    " ON CONFLICT (id) DO UPDATE SET vas_device_id = EXCLUDED.vas_device_id,"
    " name = COALESCE(EXCLUDED.name, cameras.name),"
    " location = COALESCE(EXCLUDED.location, cameras.location),"
    " description = COALESCE(EXCLUDED.description, cameras.description),"
    " active = EXCLUDED.active,"
    " stream_id = COALESCE(EXCLUDED.stream_id, cameras.stream_id),"
    " stream_state = EXCLUDED.stream_state";

/* The device's stream to use: a LIVE one first, else the first listed. */
static const vas_stream *sync_stream_of(const vas_device *d, const vas_stream *st, size_t n)
{
    const vas_stream *any = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(st[i].camera_id, d->id))
            continue;
        if (!strcmp(st[i].state, "LIVE"))
            return &st[i];
        if (!any)
            any = &st[i];
    }
    return any;
}

int evidence_sync_once(evidence *e, PGconn *db)
{
    vas_device *dev = NULL;
    vas_stream *st = NULL;
    size_t nd = 0, ns = 0;
    vas_error err = {0};
    int rc = -1, stored = 0;
    if (vas_devices(e->vas, &dev, &nd, &err) || vas_streams(e->vas, NULL, &st, &ns, &err)) {
        log_warn("camera sync: VAS %s: %s", err.code, err.message);
        goto done;
    }
    for (size_t i = 0; i < nd; i++) {
        const vas_stream *s = sync_stream_of(&dev[i], st, ns);
        const char *p[7] = {dev[i].id,
                            dev[i].name,
                            dev[i].location,
                            s ? s->id : "",
                            s ? s->state : "",
                            dev[i].description,
                            dev[i].is_active ? "true" : "false"};
        char msg[512];
        char state[6];
        if (!pg_exec_params_ok(db, upsert_sql, 7, p, state, msg, sizeof msg)) {
            log_warn("camera sync: %s: %s", dev[i].id, msg);
            continue;
        }
        stored++;
    }
    log_info("camera sync: %d of %zu VAS device(s) stored, %zu stream(s)", stored, nd, ns);
    rc = 0;
done:
    free(dev);
    free(st);
    return rc;
}

static void *sync_thread(void *arg)
{
    evidence_sync *s = arg;
    PGconn *db = NULL;
    double next = 0;
    while (!shutdown_requested()) {
        if (clock_mono_s() < next) {
            usleep(100 * 1000);
            continue;
        }
        char err[512];
        if (!db || PQstatus(db) != CONNECTION_OK) {
            pg_close(db);
            db = pg_connect(s->e->cfg->database_url, "ruth-evidence-sync", 5, err, sizeof err);
        }
        /* Retried sooner when it failed: a camera name matters to operators. */
        bool ok = db && evidence_sync_once(s->e, db) == 0;
        next = clock_mono_s() + (ok ? s->e->cfg->camera_sync_sec : 5);
    }
    pg_close(db);
    return NULL;
}

evidence_sync *evidence_sync_start(evidence *e)
{
    if (e->cfg->camera_sync_sec <= 0)
        return NULL;
    evidence_sync *s = xcalloc(1, sizeof *s);
    s->e = e;
    if (pthread_create(&s->thread, NULL, sync_thread, s) != 0) {
        log_error("cannot start the camera sync thread");
        free(s);
        return NULL;
    }
    return s;
}

void evidence_sync_join(evidence_sync *s)
{
    if (!s)
        return;
    pthread_join(s->thread, NULL);
    free(s);
}
