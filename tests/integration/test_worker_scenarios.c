/* ruth-worker against real Kafka and PostgreSQL: the processing rules of
 * ARCHITECTURE §5 pinned by scenario (one camera per scenario), the
 * dead-letter path, idempotency, and what subscribers receive. */
#include "codec.h"
#include "itest.h"

static rd_kafka_t *prod;
static int64_t t0; /* capture-time base: ten minutes ago */
static char worker_log[256];

/* One JSON result of `model`. `ts_s` is seconds after t0. */
static void send_model_result(const char *camera, const char *model, const char *type, double conf,
                              double ts_s, const char *result_id)
{
    char json[512];
    int n = snprintf(json, sizeof json,
                     "{\"camera_id\":\"%s\",\"model_id\":\"%s\",\"timestamp\":%lld,"
                     "\"event_type\":\"%s\",\"confidence\":%.3f,\"stream_id\":\"s-%s\","
                     "\"model_version\":\"1.2.3\","
                     "\"bounding_boxes\":[{\"x\":10,\"y\":20,\"width\":30,\"height\":40}]%s%s%s}",
                     camera, model, (long long)(t0 + (int64_t)(ts_s * 1e6)), type, conf, camera,
                     result_id ? ",\"result_id\":\"" : "", result_id ? result_id : "",
                     result_id ? "\"" : "");
    itest_produce(prod, getenv("RUTH_TOPIC_INFERENCE"), camera, json, (size_t)n);
}

static void send_result(const char *camera, const char *type, double conf, double ts_s,
                        const char *result_id)
{
    send_model_result(camera, "m1", type, conf, ts_s, result_id);
}

static long long q(const char *fmt, const char *camera)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, camera);
    return itest_query(sql);
}

#define VIOLATIONS "SELECT count(*) FROM violations WHERE camera_id = '%s'"
#define EVENTS "SELECT count(*) FROM events WHERE camera_id = '%s'"

static void wait_events(long long total)
{
    rd_kafka_flush(prod, 10000);
    long long got = itest_wait_query("SELECT count(*) FROM events", total, 60);
    if (got != total)
        fprintf(stderr, "waited for %lld events, have %lld\n", total, got);
}

static long long total_events;

static void threshold_edges(void)
{
    send_result("cam-thr-a", "fall_detected", 0.69, 0, NULL);
    send_result("cam-thr-b", "fall_detected", 0.70, 0, NULL);
    total_events += 2;
    wait_events(total_events);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-thr-a"), 0);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-thr-b"), 1);
    CHECK_EQ_INT(q("SELECT count(*) FROM evidence e JOIN violations v ON v.id = e.violation_id"
                   " WHERE v.camera_id = '%s' AND e.status = 'pending'",
                   "cam-thr-b"),
                 2);
}

static void debounce_min_hits(void)
{
    itest_exec(itest_db_url, "INSERT INTO rules (camera_id, event_type, min_confidence, min_hits,"
                             " window_seconds, cooldown_seconds, severity) VALUES"
                             " ('cam-deb', 'fall_detected', 0.7, 3, 10, 60, 'critical'),"
                             " ('cam-deb-slow', 'fall_detected', 0.7, 3, 10, 60, 'critical')");
    sleep(6); /* the worker reloads rules every few seconds */
    send_result("cam-deb", "fall_detected", 0.9, 100, NULL);
    send_result("cam-deb", "fall_detected", 0.9, 101, NULL);
    total_events += 2;
    wait_events(total_events);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-deb"), 0);
    send_result("cam-deb", "fall_detected", 0.9, 102, NULL);
    /* three hits, but never three within 10 s */
    send_result("cam-deb-slow", "fall_detected", 0.9, 100, NULL);
    send_result("cam-deb-slow", "fall_detected", 0.9, 115, NULL);
    send_result("cam-deb-slow", "fall_detected", 0.9, 130, NULL);
    total_events += 4;
    wait_events(total_events);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-deb"), 1);
    CHECK_EQ_INT(
        q("SELECT count(*) FROM violations WHERE camera_id = '%s' AND severity = 'critical'",
          "cam-deb"),
        1);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-deb-slow"), 0);
}

static void cooldown_attach_then_new_incident(void)
{
    send_result("cam-cd", "fall_detected", 0.80, 200, NULL);
    send_result("cam-cd", "fall_detected", 0.95, 230, NULL); /* within 60 s: attaches */
    send_result("cam-cd", "no_fall", 0.99, 240, NULL);       /* stored, never violates */
    send_result("cam-cd", "fall_detected", 0.85, 400,
                NULL); /* after the cooldown: a new incident */
    total_events += 4;
    wait_events(total_events);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-cd"), 2);
    CHECK_EQ_INT(q("SELECT event_count FROM violations WHERE camera_id = '%s'"
                   " AND ended_at IS NOT NULL",
                   "cam-cd"),
                 2);
    CHECK_EQ_INT(q("SELECT round(max_confidence * 100) FROM violations WHERE camera_id = '%s'"
                   " AND ended_at IS NOT NULL",
                   "cam-cd"),
                 95);
    /* The contract's confidence is the highest of its events (§3.2); the
     * opening event's stays as opening_confidence. */
    CHECK_EQ_INT(q("SELECT round(confidence * 100) FROM violations WHERE camera_id = '%s'"
                   " AND ended_at IS NOT NULL",
                   "cam-cd"),
                 95);
    CHECK_EQ_INT(q("SELECT round(opening_confidence * 100) FROM violations WHERE camera_id = '%s'"
                   " AND ended_at IS NOT NULL",
                   "cam-cd"),
                 80);
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'"
                   " AND model_version = '1.2.3'",
                   "cam-cd"),
                 2);
    /* ended when its cooldown ran out: last event (230) + 60 s */
    CHECK_EQ_INT(q("SELECT extract(epoch FROM ended_at - last_event_at)::int FROM violations"
                   " WHERE camera_id = '%s' AND ended_at IS NOT NULL",
                   "cam-cd"),
                 60);
    CHECK_EQ_INT(
        q("SELECT count(*) FROM violations WHERE camera_id = '%s' AND ended_at IS NULL", "cam-cd"),
        1);
    CHECK_EQ_INT(
        q("SELECT count(*) FROM events WHERE camera_id = '%s' AND violation_id IS NOT NULL",
          "cam-cd"),
        3);
}

static void per_camera_rule_overrides_global(void)
{
    itest_exec(itest_db_url, "INSERT INTO rules (camera_id, event_type, min_confidence, min_hits,"
                             " window_seconds, cooldown_seconds, severity) VALUES"
                             " ('cam-strict', 'fall_detected', 0.95, 1, 10, 60, 'low')");
    sleep(6);
    send_result("cam-strict", "fall_detected", 0.90, 300, NULL);
    send_result("cam-global", "fall_detected", 0.90, 300, NULL);
    total_events += 2;
    wait_events(total_events);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-strict"), 0);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-global"), 1);
}

/* Two models on one camera, each under its own rule, in one batch: a
 * debounced model's result first must not impose its min_hits on the
 * other's, and the incident takes the severity of its best event's rule. */
static void each_model_under_its_own_rule(void)
{
    itest_exec(itest_db_url, "INSERT INTO rules (camera_id, model_id, event_type, min_confidence,"
                             " min_hits, window_seconds, cooldown_seconds, severity) VALUES"
                             " ('cam-mm', 'm2', 'fall_detected', 0.5, 3, 10, 60, 'low')");
    sleep(6);
    send_model_result("cam-mm", "m2", "fall_detected", 0.6, 400, NULL);
    send_model_result("cam-mm", "m1", "fall_detected", 0.9, 401, NULL);
    total_events += 2;
    wait_events(total_events);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-mm"), 1);
    CHECK_EQ_INT(q("SELECT count(*) FROM violations v JOIN rules r ON r.id = v.rule_id"
                   " WHERE v.camera_id = '%s' AND r.model_id IS NULL AND v.severity = r.severity",
                   "cam-mm"),
                 1);
}

static void no_fall_and_errors_stored_without_violation(void)
{
    send_result("cam-quiet", "no_fall", 0.99, 10, NULL);
    send_result("cam-quiet", "error", 0, 11, NULL);
    total_events += 2;
    wait_events(total_events);
    CHECK_EQ_INT(q(EVENTS, "cam-quiet"), 2);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-quiet"), 0);
    CHECK_EQ_INT(q("SELECT sum(count) FROM event_rollups WHERE camera_id = '%s'", "cam-quiet"), 2);
    CHECK_EQ_INT(q("SELECT count(*) FROM event_rollups WHERE camera_id = '%s'"
                   " AND event_type = 'error'",
                   "cam-quiet"),
                 1);
    CHECK_EQ_INT(q("SELECT count(*) FROM cameras WHERE id = '%s' AND discovered", "cam-quiet"), 1);
}

static void dismissed_incident_keeps_attaching(void)
{
    send_result("cam-dis", "fall_detected", 0.9, 500, NULL);
    total_events += 1;
    wait_events(total_events);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-dis"), 1);
    itest_exec(itest_db_url,
               "UPDATE violations SET status = 'dismissed' WHERE camera_id = 'cam-dis'");
    send_result("cam-dis", "fall_detected", 0.9, 520, NULL);
    total_events += 1;
    wait_events(total_events);
    CHECK_EQ_INT(q(VIOLATIONS, "cam-dis"), 1);
    CHECK_EQ_INT(q("SELECT event_count FROM violations WHERE camera_id = '%s'"
                   " AND status = 'dismissed' AND ended_at IS NULL",
                   "cam-dis"),
                 2);
}

static void ppe_labels_mapped(void)
{
    send_result("cam-ppe", "missing_hardhat", 0.8, 50, NULL);
    total_events += 1;
    wait_events(total_events);
    CHECK_EQ_INT(q("SELECT count(*) FROM events WHERE camera_id = '%s' AND event_type ="
                   " 'ppe_violation' AND type_detail = 'missing_hardhat'",
                   "cam-ppe"),
                 1);
    CHECK_EQ_INT(
        q("SELECT count(*) FROM violations WHERE camera_id = '%s' AND type = 'ppe_violation'",
          "cam-ppe"),
        1);
    send_result("cam-ppe", "forklift_too_fast", 0.8, 51, NULL); /* unmapped: keeps its name */
    total_events += 1;
    wait_events(total_events);
    CHECK_EQ_INT(q("SELECT count(*) FROM events WHERE camera_id = '%s' AND event_type ="
                   " 'forklift_too_fast' AND type_detail IS NULL",
                   "cam-ppe"),
                 1);
}

static void retried_result_is_one_event(void)
{
    const char *id = "6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a6b";
    send_result("cam-dup", "fall_detected", 0.9, 600, id);
    send_result("cam-dup", "fall_detected", 0.9, 600, id);
    send_result("cam-dup", "no_fall", 0.1, 601, NULL);
    total_events += 2;
    wait_events(total_events);
    sleep(1);
    CHECK_EQ_INT(q(EVENTS, "cam-dup"), 2);
    CHECK_EQ_INT(q("SELECT sum(count) FROM event_rollups WHERE camera_id = '%s'", "cam-dup"), 2);
    CHECK_EQ_INT(q("SELECT event_count FROM violations WHERE camera_id = '%s'", "cam-dup"), 1);
}

/* A result stored in an earlier, committed batch and sent again (a
 * redelivery after a crash between COMMIT and the offset commit, or a
 * producer retrying late) beside a new one: the batch's COPY into events
 * hits the unique key, the worker takes the staged path, and only the new
 * result counts anywhere. */
static void redelivered_result_after_commit_is_skipped(void)
{
    const char *id = "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";
    send_result("cam-redo", "fall_detected", 0.9, 700, id);
    total_events += 1;
    wait_events(total_events);
    send_result("cam-redo", "fall_detected", 0.9, 700, id);
    send_result("cam-redo", "fall_detected", 0.8, 702, NULL);
    total_events += 1;
    wait_events(total_events);
    sleep(1);
    CHECK(itest_log_count(worker_log, "stored before (redelivery)") >= 1);
    CHECK_EQ_INT(q(EVENTS, "cam-redo"), 2);
    CHECK_EQ_INT(q("SELECT sum(count) FROM event_rollups WHERE camera_id = '%s'", "cam-redo"), 2);
    CHECK_EQ_INT(
        q("SELECT sum(count) FROM event_rollups_hourly WHERE camera_id = '%s'", "cam-redo"), 2);
    CHECK_EQ_INT(q("SELECT event_count FROM violations WHERE camera_id = '%s'", "cam-redo"), 2);
    CHECK_EQ_INT(q("SELECT count(*) FROM events e JOIN violations v ON v.id = e.violation_id"
                   " WHERE v.camera_id = '%s'",
                   "cam-redo"),
                 2);
}

typedef struct dlq_seen {
    int n, with_reason, missing_field, too_large, skew, framing;
} dlq_seen;

static void on_dlq(const rd_kafka_message_t *m, void *arg)
{
    dlq_seen *s = arg;
    s->n++;
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, "ruth.error.code", &v, &len))
        return;
    char code[64];
    snprintf(code, sizeof code, "%.*s", (int)len, (const char *)v);
    if (rd_kafka_header_get_last(h, "ruth.error.offset", &v, &len) == 0 &&
        rd_kafka_header_get_last(h, "ruth.error.message", &v, &len) == 0)
        s->with_reason++;
    s->missing_field += !strcmp(code, "MISSING_FIELD");
    s->too_large += !strcmp(code, "TOO_LARGE");
    s->skew += !strcmp(code, "CLOCK_SKEW");
    s->framing += !strcmp(code, "BAD_FRAMING");
}

static void malformed_go_to_dlq_and_good_ones_persist(void)
{
    const char *topic = getenv("RUTH_TOPIC_INFERENCE");
    /* No camera_id and no key to take it from (an empty key is none). */
    const char *bad1 = "{\"model_id\":\"m1\",\"timestamp\":1,\"event_type\":\"x\"}";
    itest_produce(prod, topic, "", bad1, strlen(bad1));
    send_result("cam-bad", "no_fall", 0.2, 700, NULL);
    itest_produce(prod, topic, "cam-bad", "\x7f\x01garbage", 9);
    send_result("cam-bad", "no_fall", 0.2, 701, NULL);
    char skewed[256];
    int n = snprintf(skewed, sizeof skewed,
                     "{\"camera_id\":\"cam-bad\",\"model_id\":\"m\",\"timestamp\":%lld,"
                     "\"event_type\":\"no_fall\"}",
                     (long long)(itest_wall_us() + 7LL * 86400 * 1000000));
    itest_produce(prod, topic, "cam-bad", skewed, (size_t)n);
    size_t big = 8192; /* over RUTH_MAX_MESSAGE_BYTES=4096 set in main() */
    char *huge = xcalloc(1, big);
    memset(huge, ' ', big - 1);
    huge[0] = '{';
    itest_produce(prod, topic, "cam-bad", huge, big);
    free(huge);
    total_events += 2;
    wait_events(total_events);
    CHECK_EQ_INT(q(EVENTS, "cam-bad"), 2);
    dlq_seen s = {0};
    itest_consume(getenv("RUTH_TOPIC_DLQ"), 3, on_dlq, &s);
    CHECK_EQ_INT(s.n, 4);
    CHECK_EQ_INT(s.with_reason, 4);
    CHECK_EQ_INT(s.missing_field, 1);
    CHECK_EQ_INT(s.framing, 1);
    CHECK_EQ_INT(s.skew, 1);
    CHECK_EQ_INT(s.too_large, 1);
}

/* Dead letters as seen on the DLQ, to be matched against the originals. */
typedef struct dead_letter {
    int32_t partition;
    int64_t offset;
    char *key, *value;
    size_t key_len, value_len;
    char code[40], stage[16];
    bool matched;
} dead_letter;

typedef struct dead_letters {
    dead_letter *v;
    size_t n, cap;
    const char *topic;
} dead_letters;

static char *header_text(rd_kafka_headers_t *h, const char *name, char *out, size_t n)
{
    const void *v;
    size_t len;
    out[0] = '\0';
    if (h && rd_kafka_header_get_last(h, name, &v, &len) == 0)
        snprintf(out, n, "%.*s", (int)len, (const char *)v);
    return out;
}

static void on_dead_letter(const rd_kafka_message_t *m, void *arg)
{
    dead_letters *d = arg;
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m, &h);
    char text[64];
    if (strcmp(header_text(h, "ruth.error.topic", text, sizeof text), d->topic))
        return;
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 256;
        d->v = xrealloc(d->v, d->cap * sizeof *d->v);
    }
    dead_letter *l = &d->v[d->n++];
    memset(l, 0, sizeof *l);
    l->partition = (int32_t)atoi(header_text(h, "ruth.error.partition", text, sizeof text));
    l->offset = atoll(header_text(h, "ruth.error.offset", text, sizeof text));
    header_text(h, "ruth.error.code", l->code, sizeof l->code);
    header_text(h, "ruth.error.stage", l->stage, sizeof l->stage);
    l->key_len = m->key_len;
    l->key = xmalloc(m->key_len + 1);
    memcpy(l->key, m->key, m->key_len);
    l->value_len = m->len;
    l->value = xmalloc(m->len + 1);
    memcpy(l->value, m->payload, m->len);
}

/* An original message: the dead letter naming its place must carry its bytes. */
static void on_original(const rd_kafka_message_t *m, void *arg)
{
    dead_letters *d = arg;
    for (size_t i = 0; i < d->n; i++) {
        dead_letter *l = &d->v[i];
        if (l->partition == m->partition && l->offset == m->offset)
            l->matched = l->key_len == m->key_len && !memcmp(l->key, m->key, m->key_len) &&
                         l->value_len == m->len && !memcmp(l->value, m->payload, m->len);
    }
}

/* The simulator's malformed messages (every kind it makes, both framings)
 * interleaved with valid traffic: each bad one is on the DLQ with its
 * original key and bytes, its source place, stage and code; every good one
 * is stored; the worker keeps running. */
static void simulated_malformed_traffic_dead_lettered(void)
{
    const char *formats[] = {"json", "avro"};
    long long malformed = 0;
    for (int f = 0; f < 2; f++) {
        char log[300];
        snprintf(log, sizeof log, "/tmp/%s-simulate-%s.log", itest_db_name, formats[f]);
        const char *args[] = {"--count",
                              "1500",
                              "--fps",
                              "0",
                              "--cameras",
                              "6",
                              "--camera-prefix",
                              "cam-mal-",
                              "--seed",
                              "21",
                              "--format",
                              formats[f],
                              "--malformed-fraction",
                              "0.1",
                              "--quiet",
                              NULL};
        pid_t sim = itest_spawn("ruth-simulate", args, log);
        CHECK_EQ_INT(itest_wait_exit(sim, 60), 0);
        int n = itest_log_int(log, "\"malformed\":"); /* the summary line */
        CHECK_MSG(n > 50, "%d malformed messages in %s", n, log);
        malformed += n;
    }
    long long good = 3000 - malformed;
    total_events += good;
    wait_events(total_events);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id LIKE 'cam-mal-%'"), good);
    dead_letters d = {.topic = getenv("RUTH_TOPIC_INFERENCE")};
    itest_consume(getenv("RUTH_TOPIC_DLQ"), 3, on_dead_letter, &d);
    CHECK_EQ_INT((long long)d.n, malformed + 4); /* + the hand-made ones above */
    itest_consume(d.topic, 3, on_original, &d);
    size_t matched = 0, staged = 0;
    char codes[64][40];
    size_t ncodes = 0;
    for (size_t i = 0; i < d.n; i++) {
        matched += d.v[i].matched;
        staged += !strcmp(d.v[i].stage, "decode") || !strcmp(d.v[i].stage, "validate");
        size_t k = 0;
        while (k < ncodes && strcmp(codes[k], d.v[i].code))
            k++;
        if (k == ncodes && ncodes < 64)
            snprintf(codes[ncodes++], sizeof codes[0], "%s", d.v[i].code);
        free(d.v[i].key);
        free(d.v[i].value);
    }
    free(d.v);
    CHECK_EQ_INT((long long)matched, (long long)d.n);
    CHECK_EQ_INT((long long)staged, (long long)d.n);
    CHECK_MSG(ncodes >= 8, "only %zu distinct error codes", ncodes);
}

/* Partitions of days before the retention (30 days here, set in main())
 * are dropped by the worker's housekeeping; upcoming days have theirs. */
static void old_event_partitions_dropped(void)
{
    const char *old = "SELECT count(*) FROM pg_class WHERE relname = 'events_p' ||"
                      " to_char((now() AT TIME ZONE 'UTC')::date - 40, 'YYYYMMDD')";
    CHECK_EQ_INT(itest_wait_query(old, 0, 15), 0);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM pg_class WHERE relname = 'events_p' ||"
                             " to_char((now() AT TIME ZONE 'UTC')::date + 2, 'YYYYMMDD')"),
                 1);
    CHECK(q(EVENTS, "cam-thr-b") == 1); /* recent rows untouched */
}

typedef struct changes_seen {
    codec *c;
    int n, opened, updated, decoded, evidence;
    /* versions per violation, in topic order: never going back */
    char ids[512][37];
    int64_t last_version[512];
    int nids, regressions, grown;
    int windows_ok; /* evidence requests with the configured before/after */
} changes_seen;

static void on_change(const rd_kafka_message_t *m, void *arg)
{
    changes_seen *s = arg;
    violation_change_msg vc;
    void *arena = NULL;
    codec_error err;
    s->n++;
    if (codec_decode_violation_change(s->c, m->payload, m->len, &vc, &arena, &err) == 0) {
        s->decoded++;
        s->opened += !strcmp(vc.change, "opened");
        s->updated += !strcmp(vc.change, "updated");
        int k = 0;
        while (k < s->nids && strcmp(s->ids[k], vc.violation_id))
            k++;
        if (k == s->nids && k < 512) {
            snprintf(s->ids[k], sizeof s->ids[k], "%s", vc.violation_id);
            s->last_version[k] = 0;
            s->nids++;
        }
        if (k < 512) {
            s->regressions += vc.version < s->last_version[k];
            s->grown += vc.version > 1 && vc.version > s->last_version[k];
            s->last_version[k] = vc.version;
        }
    }
    codec_arena_free(arena);
}

static void on_evidence(const rd_kafka_message_t *m, void *arg)
{
    changes_seen *s = arg;
    evidence_request_msg er;
    void *arena = NULL;
    codec_error err;
    if (codec_decode_evidence_request(s->c, m->payload, m->len, &er, &arena, &err) == 0) {
        s->evidence++;
        s->windows_ok +=
            !strcmp(er.kind, "snapshot")
                ? er.before_seconds == 0 && er.after_seconds == 0
                : !strcmp(er.kind, "bookmark") && er.before_seconds == 5 && er.after_seconds == 10;
    }
    codec_arena_free(arena);
}

static void subscribers_receive_events_and_changes(void)
{
    long events = itest_consume(getenv("RUTH_TOPIC_EVENTS"), 3, NULL, NULL);
    CHECK_MSG(events >= total_events, "%ld events published for %lld stored", events, total_events);
    char err[256];
    static changes_seen s; /* 23 KB: not on the stack */
    s.c = codec_new(NULL, err, sizeof err);
    itest_consume(getenv("RUTH_TOPIC_VIOLATIONS"), 3, on_change, &s);
    itest_consume(getenv("RUTH_TOPIC_EVIDENCE"), 3, on_evidence, &s);
    codec_destroy(s.c);
    long long opened = itest_query("SELECT count(*) FROM violations");
    CHECK_EQ_INT(s.decoded, s.n);
    CHECK_MSG(s.opened >= opened, "%d opened changes for %lld violations", s.opened, opened);
    CHECK(s.updated >= 1); /* cam-dis: an existing incident gained an event */
    CHECK_EQ_INT(s.evidence, opened * 2);
    CHECK_EQ_INT(s.windows_ok, s.evidence); /* snapshot 0/0, bookmark 5 s before, 10 s after */
    CHECK_EQ_INT(s.regressions, 0);         /* a violation's version never goes back */
    CHECK(s.grown >= 1);                    /* ...and grows with each change */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM evidence e JOIN violations v"
                             " ON v.id = e.violation_id AND e.center_timestamp = v.first_event_at"
                             " WHERE (e.kind = 'snapshot' AND e.before_seconds = 0)"
                             "    OR (e.kind = 'bookmark' AND e.before_seconds = 5"
                             "        AND e.after_seconds = 10)"),
                 opened * 2);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM outbox"), 0);
}

int main(void)
{
    itest_setup("wscen", 3);
    setenv("RUTH_MAX_MESSAGE_BYTES", "4096", 1);
    prod = itest_producer();
    t0 = itest_wall_us() - 600LL * 1000000;
    snprintf(worker_log, sizeof worker_log, "/tmp/%s-worker.log", itest_db_name);
    /* A partition forty days old, for the retention housekeeping to drop. */
    if (itest_query("SELECT ruth_ensure_event_partitions("
                    "(now() AT TIME ZONE 'UTC')::date - 40, 1)") < 0)
        testlib_failures++;
    setenv("RUTH_EVENTS_RETENTION_DAYS", "30", 1);
    pid_t w = itest_spawn("ruth-worker", NULL, worker_log);
    TEST_RUN(threshold_edges);
    TEST_RUN(debounce_min_hits);
    TEST_RUN(cooldown_attach_then_new_incident);
    TEST_RUN(per_camera_rule_overrides_global);
    TEST_RUN(each_model_under_its_own_rule);
    TEST_RUN(no_fall_and_errors_stored_without_violation);
    TEST_RUN(dismissed_incident_keeps_attaching);
    TEST_RUN(ppe_labels_mapped);
    TEST_RUN(retried_result_is_one_event);
    TEST_RUN(redelivered_result_after_commit_is_skipped);
    TEST_RUN(malformed_go_to_dlq_and_good_ones_persist);
    TEST_RUN(simulated_malformed_traffic_dead_lettered);
    TEST_RUN(subscribers_receive_events_and_changes);
    TEST_RUN(old_event_partitions_dropped);
    kill(w, SIGTERM);
    int st = itest_wait_exit(w, 15);
    if (st != 0) {
        fprintf(stderr, "ruth-worker exited %d after SIGTERM (log: %s)\n", st, worker_log);
        testlib_failures++;
    }
    rd_kafka_destroy(prod);
    if (!testlib_failures)
        itest_teardown();
    else
        fprintf(stderr, "database %s kept for inspection; worker log %s\n", itest_db_name,
                worker_log);
    return TEST_EXIT();
}
