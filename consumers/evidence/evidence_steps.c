/* evidence_steps.c - the step threads of ruth-evidence: claim a due
 * evidence row, do one VAS step for it, write down what happened and when
 * to look again.
 *
 * Why a due-time column swept from PostgreSQL (and not in-process timers or
 * a retry topic): the row is already the durable record of the item, so a
 * request survives restarts and VAS outages with nothing else to keep; many
 * replicas share the work with FOR UPDATE SKIP LOCKED; a claim pushes the
 * due time forward by RUTH_EVIDENCE_LEASE_SEC, so the item of a replica that
 * died mid-step is taken over when the lease runs out; and an item waiting
 * (a bookmark still processing, a retry delay) is just a row with a later
 * due time: it holds up nobody, on any camera.
 *
 * Steps: pending -> create the snapshot / bookmark on VAS -> processing
 * (VAS id stored) -> poll (1 s, x1.5, at most 5 s apart) -> ready | failed.
 * A VAS error is retried after vas_retry_delay_ms() or is final. Final
 * states publish a ViolationChange (evidence_ready / evidence_failed)
 * through the outbox in the same transaction. */
#include "evidence.h"

#include "clock.h"
#include "log.h"
#include "outbox.h"
#include "pg_array.h"
#include "shutdown.h"
#include "violation_row.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDLE_SLEEP_US (200 * 1000)
#define NO_STREAM_TRIES 3
#define LIVE_WINDOW_US (10 * 1000000LL) /* a snapshot this close to now is taken live */

/* One thread's connection and codec (neither is shared between threads). */
typedef struct stepper {
    evidence *e;
    pthread_t thread;
    PGconn *db;
    pg_stmts *stmts;
    codec *codec;
} stepper;

struct evidence_steps {
    stepper *threads;
    int n;
};

/* A claimed row. */
typedef struct item {
    char id[37], violation_id[37], kind[16], status[16];
    char camera_id[128], stream_id[128], vas_id[128];
    char event_type[64];
    int64_t center_us;
    int before_s, after_s, attempts, polls;
    double processing_s; /* seconds since VAS accepted it; < 0 when not yet */
    double confidence;
    char claim[24]; /* claim_seq of this claim: writes count only while it holds */
} item;

static const char claim_sql[] =
    "UPDATE evidence e SET next_attempt_at = now() + make_interval(secs => $1::int),"
    " claimed_until = now() + make_interval(secs => $1::int), claim_seq = e.claim_seq + 1"
    " FROM (SELECT id FROM evidence WHERE status IN ('pending', 'processing')"
    "       AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT 1"
    "       FOR UPDATE SKIP LOCKED) d"
    " WHERE e.id = d.id"
    " RETURNING e.id, e.violation_id, e.kind, e.status, e.camera_id,"
    " COALESCE(e.stream_id, (SELECT c.stream_id FROM cameras c WHERE c.id = e.camera_id), ''),"
    " COALESCE((extract(epoch FROM e.center_timestamp) * 1000000)::bigint, 0),"
    " COALESCE(e.before_seconds, 0), COALESCE(e.after_seconds, 0), COALESCE(e.vas_id, ''),"
    " e.attempts, e.polls,"
    " COALESCE(extract(epoch FROM now() - e.processing_since)::float8, -1),"
    " (SELECT v.type FROM violations v WHERE v.id = e.violation_id),"
    " (SELECT v.max_confidence FROM violations v WHERE v.id = e.violation_id), e.claim_seq";

static const char accepted_sql[] =
    "UPDATE evidence SET status = 'processing', vas_id = $2, url = NULLIF($3, ''),"
    " duration_seconds = $4::float8, processing_since = now(), polls = 0, last_error = NULL,"
    " next_attempt_at = now() + make_interval(secs => $5::float8), claimed_until = NULL"
    " WHERE id = $1 AND status IN ('pending', 'processing') AND claim_seq = $6::bigint";

static const char later_sql[] =
    "UPDATE evidence SET attempts = attempts + $2::int, polls = polls + $3::int,"
    " last_error = COALESCE(NULLIF($4, ''), last_error),"
    " next_attempt_at = now() + make_interval(secs => $5::float8), claimed_until = NULL"
    " WHERE id = $1 AND status IN ('pending', 'processing') AND claim_seq = $6::bigint";

static const char final_sql[] =
    "UPDATE evidence SET status = $2, vas_id = COALESCE(NULLIF($7, ''), vas_id),"
    " url = COALESCE(NULLIF($3, ''), url),"
    " thumbnail_url = NULLIF($4, ''), duration_seconds = COALESCE($5::float8, duration_seconds),"
    " last_error = NULLIF($6, ''), completed_at = now(), next_attempt_at = NULL,"
    " claimed_until = NULL"
    " WHERE id = $1 AND status IN ('pending', 'processing') AND claim_seq = $8::bigint";

/* VAS is back: items waiting out a retry delay are due now. */
static const char vas_back_sql[] =
    "UPDATE evidence SET next_attempt_at = now() WHERE status IN ('pending', 'processing')"
    " AND attempts > 0 AND next_attempt_at > now()"
    " AND (claimed_until IS NULL OR claimed_until < now())"; /* not one being worked on */

/* A final state's ViolationChange carries the violation's new version. */
static const char touch_violation_sql[] = "UPDATE violations SET updated_at = now() WHERE id = $1";

static void item_read(item *it, const PGresult *r)
{
#define COPY(field, col) snprintf(it->field, sizeof it->field, "%s", PQgetvalue(r, 0, col))
    COPY(id, 0);
    COPY(violation_id, 1);
    COPY(kind, 2);
    COPY(status, 3);
    COPY(camera_id, 4);
    COPY(stream_id, 5);
    COPY(vas_id, 9);
    COPY(event_type, 13);
#undef COPY
    it->center_us = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
    it->before_s = atoi(PQgetvalue(r, 0, 7));
    it->after_s = atoi(PQgetvalue(r, 0, 8));
    it->attempts = atoi(PQgetvalue(r, 0, 10));
    it->polls = atoi(PQgetvalue(r, 0, 11));
    it->processing_s = atof(PQgetvalue(r, 0, 12));
    it->confidence = PQgetisnull(r, 0, 14) ? -1 : atof(PQgetvalue(r, 0, 14));
    snprintf(it->claim, sizeof it->claim, "%s", PQgetvalue(r, 0, 15));
}

/* 1 = claimed into *it, 0 = nothing due, -1 = database error. */
static int steps_claim(stepper *s, item *it)
{
    char lease[16], state[6], err[512];
    snprintf(lease, sizeof lease, "%d", s->e->cfg->evidence_claim_lease_sec);
    const char *p[1] = {lease};
    PGresult *r = pg_stmts_exec(s->stmts, s->db, claim_sql, 1, p, state, err, sizeof err);
    if (!r) {
        log_warn("cannot claim evidence: %s", err);
        return -1;
    }
    int got = PQntuples(r) == 1;
    if (got)
        item_read(it, r);
    PQclear(r);
    return got;
}

static bool steps_exec(stepper *s, const char *sql, int n, const char *const *p)
{
    char state[6], err[512];
    if (pg_stmts_exec_ok(s->stmts, s->db, sql, n, p, state, err, sizeof err))
        return true;
    log_warn("evidence update failed: %s", err);
    return false;
}

/* Look again in `delay_s`; a failed call (`e` set) counts as an attempt. */
static void steps_later(stepper *s, const item *it, double delay_s, const vas_error *e, bool poll)
{
    char delay[32], why[400] = "";
    snprintf(delay, sizeof delay, "%.3f", delay_s);
    if (e)
        snprintf(why, sizeof why, "%s: %s", e->code, e->message);
    const char *p[6] = {it->id, e ? "1" : "0", poll ? "1" : "0", why, delay, it->claim};
    steps_exec(s, later_sql, 6, p);
    if (e)
        metric_inc(s->e->m.retries);
}

/* ready or failed, with the ViolationChange, in one transaction; then the
 * outbox row is relayed. A row another replica finished first is left. */
static void steps_final_as(stepper *s, const item *it, const char *vas_id, bool ready,
                           const char *url, const char *thumb, double duration, const char *why)
{
    char err[512] = "", dur[32];
    snprintf(dur, sizeof dur, "%.3f", duration);
    const char *p[8] = {it->id,
                        ready ? "ready" : "failed",
                        url ? url : "",
                        thumb ? thumb : "",
                        duration > 0 ? dur : NULL,
                        why ? why : "",
                        vas_id ? vas_id : "",
                        it->claim};
    outbox_batch ob = {0};
    pg_array ids = {0}, vid = {0};
    PGresult *rows = NULL;
    if (!pg_exec_ok(s->db, "BEGIN", err, sizeof err))
        goto failed;
    char state[6];
    PGresult *r = pg_stmts_exec(s->stmts, s->db, final_sql, 8, p, state, err, sizeof err);
    if (!r)
        goto failed;
    bool mine = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (!mine) {
        pg_rollback_quietly(s->db);
        return;
    }
    const char *pv[1] = {it->violation_id};
    if (!steps_exec(s, touch_violation_sql, 1, pv))
        goto failed;
    pg_array_begin(&vid);
    pg_array_add(&vid, it->violation_id);
    const char *pr[1] = {pg_array_end(&vid)};
    rows = pg_stmts_exec(s->stmts, s->db, violation_row_select, 1, pr, state, err, sizeof err);
    if (!rows || PQntuples(rows) != 1)
        goto failed;
    outbox_batch_begin(&ob);
    codec_error cerr = {0};
    if (outbox_put_violation_change(&ob, s->codec, s->e->cfg->topic_violations, rows, 0,
                                    ready ? "evidence_ready" : "evidence_failed", 0, NULL, &cerr)) {
        snprintf(err, sizeof err, "ViolationChange: %s", cerr.message);
        goto failed;
    }
    pg_array_begin(&ids);
    if (outbox_batch_insert(&ob, s->db, s->stmts, &ids, err, sizeof err) ||
        !pg_exec_ok(s->db, "COMMIT", err, sizeof err))
        goto failed;
    metric_inc(ready ? s->e->m.ready : s->e->m.failed);
    log_ctx ctx = LOG_CTX_INIT;
    ctx.violation_id = it->violation_id;
    log_at(ready ? LOG_INFO : LOG_WARN, &ctx, "%s evidence %s %s%s%s", it->kind, it->id,
           ready ? "ready" : "failed", why ? ": " : "", why ? why : "");
    const char *pi[1] = {pg_array_end(&ids)};
    outbox_relay(s->db, s->e->producer, OUTBOX_FLUSH_TIMEOUT_MS, "id = ANY($1::bigint[])", 1,
                 pi); /* what is not acknowledged stays for the sweep */
    goto done;
failed:
    log_warn("evidence %s not finished yet: %s", it->id, err);
    pg_rollback_quietly(s->db);
done:
    PQclear(rows);
    outbox_batch_free(&ob);
    pg_array_free(&ids);
    pg_array_free(&vid);
}

/* A final state for an item whose VAS id (if any) is already stored. */
static void steps_final(stepper *s, const item *it, bool ready, const char *url, const char *thumb,
                        double duration, const char *why)
{
    steps_final_as(s, it, NULL, ready, url, thumb, duration, why);
}

/* 5xx and network errors say VAS is unwell; a 4xx answer says it is up. */
static bool steps_transient(const vas_error *e)
{
    return e->http_status == 0 || e->http_status >= 500;
}

/* Tell the breaker how a call went; when that closes it, VAS is back and
 * what waited for it is due at once rather than at its backed-off time. */
static void steps_vas_outcome(stepper *s, const vas_error *e)
{
    if (evidence_breaker_report(&s->e->breaker, e && steps_transient(e), clock_mono_s())) {
        log_info("VAS answers again: circuit breaker closed, retries due now");
        steps_exec(s, vas_back_sql, 0, NULL);
    }
}

/* A failed VAS call: retried later per the guide's matrix, or final. */
static void steps_vas_failed(stepper *s, const item *it, const vas_error *e)
{
    steps_vas_outcome(s, e);
    int delay = vas_retry_delay_ms(e, it->attempts + 1);
    /* An outage loses nothing: past the guide's retries, a 5xx or network
     * error is tried again every minute (with jitter) until VAS is back;
     * only answers that will not change (4xx, NO_RECORDING_DATA) fail. */
    if (delay < 0 && steps_transient(e))
        delay = 50000 + rand() % 20000;
    if (delay >= 0) {
        log_ctx ctx = LOG_CTX_INIT;
        ctx.violation_id = it->violation_id;
        log_at(LOG_WARN, &ctx, "VAS %s for evidence %s (%s: %s); again in %d ms", it->kind, it->id,
               e->code, e->message, delay);
        steps_later(s, it, delay / 1000.0, e, false);
        return;
    }
    char why[400];
    snprintf(why, sizeof why, "%s: %s", e->code, e->message);
    steps_final(s, it, false, NULL, NULL, 0, why);
}

/* Seconds until the next poll: 1 s, x1.5 each time, at most 5 s apart. */
static double steps_poll_delay(int polls)
{
    double d = pow(1.5, polls);
    return d > 5 ? 5 : d;
}

static void steps_create(stepper *s, const item *it)
{
    vas_error e = {0};
    char meta[256];
    snprintf(meta, sizeof meta, "{\"violation_id\":\"%s\",\"evidence_id\":\"%s\"}",
             it->violation_id, it->id);
    if (!strcmp(it->kind, "snapshot")) {
        vas_snapshot snap;
        bool live = it->center_us <= 0 || clock_wall_us() - it->center_us < LIVE_WINDOW_US;
        if (vas_snapshot_create(s->e->vas, it->stream_id, live ? 0 : it->center_us, "ruth-evidence",
                                meta, &snap, &e)) {
            steps_vas_failed(s, it, &e);
            return;
        }
        steps_vas_outcome(s, NULL);
        if (!strcmp(snap.status, "ready") && snap.image_url[0]) { /* ready at once */
            steps_final_as(s, it, snap.id, true, snap.image_url, NULL, 0, NULL);
            return;
        }
        const char *p[6] = {it->id, snap.id, snap.image_url, "0", "0.5", it->claim};
        steps_exec(s, accepted_sql, 6, p);
        return;
    }
    vas_bookmark_req req = {.historical = it->center_us > 0,
                            .center_timestamp_us = it->center_us,
                            .before_seconds = it->before_s,
                            .after_seconds = it->after_s,
                            .label = it->event_type[0] ? it->event_type : NULL,
                            .event_type = it->event_type[0] ? it->event_type : NULL,
                            .confidence = it->confidence,
                            .created_by = "ruth-evidence",
                            .metadata_json = meta};
    vas_bookmark bm;
    if (vas_bookmark_create(s->e->vas, it->stream_id, &req, &bm, &e)) {
        steps_vas_failed(s, it, &e);
        return;
    }
    steps_vas_outcome(s, NULL);
    char dur[32];
    snprintf(dur, sizeof dur, "%.3f", bm.duration_seconds);
    const char *p[6] = {it->id, bm.id, "", dur, "1", it->claim};
    steps_exec(s, accepted_sql, 6, p);
}

static void steps_poll(stepper *s, const item *it)
{
    vas_error e = {0};
    bool bookmark = !strcmp(it->kind, "bookmark");
    const char *status, *url, *thumb = NULL, *why;
    double duration = 0;
    vas_snapshot snap;
    vas_bookmark bm;
    int rc = bookmark ? vas_bookmark_get(s->e->vas, it->vas_id, &bm, &e)
                      : vas_snapshot_get(s->e->vas, it->vas_id, &snap, &e);
    if (rc) {
        steps_vas_failed(s, it, &e);
        return;
    }
    steps_vas_outcome(s, NULL);
    status = bookmark ? bm.status : snap.status;
    url = bookmark ? bm.video_url : snap.image_url;
    why = bookmark ? bm.error : snap.error;
    if (bookmark) {
        thumb = bm.thumbnail_url;
        duration = bm.duration_seconds;
    }
    if (!strcmp(status, "ready")) {
        steps_final(s, it, true, url, thumb, duration, NULL);
    } else if (!strcmp(status, "failed")) {
        steps_final(s, it, false, NULL, NULL, 0, why[0] ? why : "VAS reported failure");
    } else if (it->processing_s > s->e->cfg->evidence_bookmark_timeout_sec) {
        char msg[128];
        snprintf(msg, sizeof msg, "EXTRACTION_TIMEOUT: still processing on VAS after %d s",
                 s->e->cfg->evidence_bookmark_timeout_sec);
        steps_final(s, it, false, NULL, NULL, 0, msg);
    } else {
        steps_later(s, it, steps_poll_delay(it->polls), NULL, true);
    }
}

static void steps_one(stepper *s, const item *it)
{
    if (!it->stream_id[0]) {
        if (it->attempts < NO_STREAM_TRIES) { /* camera sync may bring it */
            vas_error e = {.http_status = 404};
            snprintf(e.code, sizeof e.code, "NO_STREAM");
            snprintf(e.message, sizeof e.message, "the camera has no VAS stream yet");
            steps_later(s, it, 5, &e, false);
            return;
        }
        steps_final(s, it, false, NULL, NULL, 0,
                    "NO_STREAM: the camera has no VAS stream (none in the request, none synced)");
        return;
    }
    if (!evidence_breaker_allow(&s->e->breaker, clock_mono_s())) {
        /* VAS is down: look again once the breaker may let a call through. */
        steps_later(s, it, s->e->cfg->evidence_breaker_open_sec, NULL, false);
        return;
    }
    double t0 = clock_mono_s();
    if (it->vas_id[0])
        steps_poll(s, it);
    else
        steps_create(s, it);
    metric_observe(s->e->m.step_seconds, clock_mono_s() - t0);
}

static bool steps_connect(stepper *s)
{
    if (s->db && PQstatus(s->db) == CONNECTION_OK)
        return true;
    pg_close(s->db);
    pg_stmts_reset(s->stmts);
    char err[512];
    s->db = pg_connect(s->e->cfg->database_url, "ruth-evidence-steps", 5, err, sizeof err);
    return s->db != NULL;
}

static void steps_nap(useconds_t us)
{
    for (useconds_t slept = 0; slept < us && !shutdown_requested(); slept += 50 * 1000)
        usleep(50 * 1000);
}

static void *steps_thread(void *arg)
{
    stepper *s = arg;
    while (!shutdown_requested()) {
        if (!steps_connect(s)) {
            steps_nap(1000 * 1000);
            continue;
        }
        if (evidence_breaker_state_at(&s->e->breaker, clock_mono_s()) == BREAKER_OPEN) {
            metric_set(s->e->m.breaker_state, BREAKER_OPEN);
            steps_nap(IDLE_SLEEP_US); /* nothing is claimed while VAS is known down */
            continue;
        }
        item it;
        int got = steps_claim(s, &it);
        if (got <= 0) {
            metric_set(s->e->m.breaker_state,
                       evidence_breaker_state_at(&s->e->breaker, clock_mono_s()));
            steps_nap(got < 0 ? 1000 * 1000 : IDLE_SLEEP_US);
            continue;
        }
        steps_one(s, &it);
    }
    return NULL;
}

evidence_steps *evidence_steps_start(evidence *e, char *errstr, size_t errsz)
{
    evidence_steps *st = xcalloc(1, sizeof *st);
    st->threads = xcalloc((size_t)e->cfg->evidence_workers, sizeof *st->threads);
    for (int i = 0; i < e->cfg->evidence_workers; i++) {
        stepper *s = &st->threads[i];
        s->e = e;
        s->stmts = pg_stmts_new();
        s->codec = codec_new(e->cfg->schema_registry_url, errstr, errsz);
        if (!s->codec || pthread_create(&s->thread, NULL, steps_thread, s) != 0) {
            if (s->codec)
                snprintf(errstr, errsz, "cannot start an evidence step thread");
            codec_destroy(s->codec);
            pg_stmts_free(s->stmts);
            shutdown_request();
            evidence_steps_join(st);
            return NULL;
        }
        st->n++;
    }
    return st;
}

void evidence_steps_join(evidence_steps *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->n; i++) {
        stepper *s = &st->threads[i];
        pthread_join(s->thread, NULL);
        pg_close(s->db);
        pg_stmts_free(s->stmts);
        codec_destroy(s->codec);
    }
    free(st->threads);
    free(st);
}
