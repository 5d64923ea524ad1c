/* Camera-offline incidents against real Kafka and PostgreSQL, with two
 * ruth-worker replicas: the limit's edges (global and per camera), cameras
 * stopped through stop-inference or switched off, exactly one incident when
 * the sweeping replica is killed, recovery, and the ViolationChanges that
 * subscribers receive. */
#include "codec.h"
#include "itest.h"

#define LIMIT_S 6 /* RUTH_OFFLINE_AFTER_SEC */
#define SWEEP_LINE "this replica sweeps for silent cameras"

static rd_kafka_t *prod;
static char logs[2][256];
static pid_t workers[2];

static void send_result(const char *camera)
{
    char json[512];
    int n = snprintf(json, sizeof json,
                     "{\"camera_id\":\"%s\",\"model_id\":\"m1\",\"timestamp\":%lld,"
                     "\"event_type\":\"no_fall\",\"confidence\":0.5,\"stream_id\":\"s-%s\","
                     "\"bounding_boxes\":[]}",
                     camera, (long long)itest_wall_us(), camera);
    itest_produce(prod, getenv("RUTH_TOPIC_INFERENCE"), camera, json, (size_t)n);
    rd_kafka_flush(prod, 10000);
}

static long long q(const char *fmt, const char *camera)
{
    char sql[768];
    snprintf(sql, sizeof sql, fmt, camera);
    return itest_query(sql);
}

#define OFFLINE "SELECT count(*) FROM violations WHERE camera_id = '%s' AND type = 'camera_offline'"
#define ONGOING OFFLINE " AND ended_at IS NULL"

/* Which replica holds the sweep lock: 0 or 1, -1 when none says so yet. */
static int sweeper(double timeout_s)
{
    double end = itest_now() + timeout_s;
    do {
        for (int i = 0; i < 2; i++)
            if (workers[i] > 0 && itest_log_count(logs[i], SWEEP_LINE) > 0)
                return i;
        usleep(200 * 1000);
    } while (itest_now() < end);
    return -1;
}

static void under_and_over_the_limit_with_sweeper_killed(void)
{
    /* cam-off-a: the global limit; cam-off-b: its own 3 s; cam-off-never:
     * off (0); cam-off-stop: stopped through stop-inference. */
    itest_exec(itest_db_url,
               "INSERT INTO cameras (id, offline_after_seconds, inference_stopped_at) VALUES"
               " ('cam-off-a', NULL, NULL), ('cam-off-b', 3, NULL),"
               " ('cam-off-never', 0, NULL), ('cam-off-stop', NULL, now())");
    send_result("cam-off-a");
    send_result("cam-off-b");
    send_result("cam-off-never");
    send_result("cam-off-stop");
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM camera_activity", 4, 60), 4);
    int s = sweeper(10);
    CHECK(s >= 0);
    /* Kill the sweeping replica: the other one must take over the lock. */
    kill(workers[s], SIGKILL);
    itest_wait_exit(workers[s], 5);
    workers[s] = -1;
    /* Just under the global limit, in the database's clock: nothing for
     * cam-off-a yet. */
    long long left_ms =
        itest_query("SELECT (extract(epoch FROM a.last_result_at + interval '6 seconds' - now())"
                    " * 1000)::bigint FROM camera_activity a WHERE camera_id = 'cam-off-a'");
    CHECK(left_ms > 1000);
    if (left_ms > 1000)
        usleep((useconds_t)(left_ms - 1000) * 1000);
    CHECK_EQ_INT(q(OFFLINE, "cam-off-a"), 0);
    /* Over it: exactly one incident, raised by the survivor. */
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM violations"
                                  " WHERE camera_id = 'cam-off-a' AND type = 'camera_offline'",
                                  1, 20),
                 1);
    CHECK_EQ_INT(sweeper(0), 1 - s);
    CHECK_EQ_INT(q(OFFLINE, "cam-off-b"), 1);
    /* Raised only past the limit, measured in the database's clock. */
    CHECK_EQ_INT(q("SELECT count(*) FROM violations v JOIN camera_activity a USING (camera_id)"
                   " WHERE v.camera_id = '%s' AND v.type = 'camera_offline'"
                   " AND v.created_at - a.last_result_at >= interval '6 seconds'"
                   " AND v.created_at - a.last_result_at < interval '12 seconds'"
                   " AND v.severity = 'critical' AND v.first_event_at = a.last_result_at",
                   "cam-off-a"),
                 1);
    sleep(3); /* more sweeps: still one */
    CHECK_EQ_INT(q(OFFLINE, "cam-off-a"), 1);
    CHECK_EQ_INT(q(OFFLINE, "cam-off-never"), 0);
    CHECK_EQ_INT(q(OFFLINE, "cam-off-stop"), 0);
}

static void recovery_ends_the_incident(void)
{
    send_result("cam-off-a");
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM violations WHERE camera_id = 'cam-off-a'"
                                  " AND type = 'camera_offline' AND ended_at IS NOT NULL",
                                  1, 30),
                 1);
    /* Its limit off from here on: silent again for 6 s (a slow run), it
     * would rightly open a second incident, which the counts below and
     * the subscribers' check do not expect. */
    itest_exec(itest_db_url, "UPDATE cameras SET offline_after_seconds = 0 WHERE id = 'cam-off-a'");
    CHECK_EQ_INT(q(ONGOING, "cam-off-a"), 0);
    /* Switching a camera's limit off ends its incident too. */
    itest_exec(itest_db_url, "UPDATE cameras SET offline_after_seconds = 0 WHERE id = 'cam-off-b'");
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM violations WHERE camera_id = 'cam-off-b'"
                                  " AND type = 'camera_offline' AND ended_at IS NULL",
                                  0, 10),
                 0);
    /* One incident each, whatever was redelivered when the killed replica's
     * partitions moved (a redelivered result is no arrival). */
    CHECK_EQ_INT(q(OFFLINE, "cam-off-a"), 1);
    CHECK_EQ_INT(q(OFFLINE, "cam-off-b"), 1);
}

/* ViolationChanges of camera_offline violations, each (violation, version)
 * once: delivery is at least once, a copy repeats the version. */
typedef struct seen {
    codec *c;
    char keys[64][80];
    int nkeys;
    int opened_a, updated_a_ended, other;
} seen;

static void on_change(const rd_kafka_message_t *m, void *arg)
{
    seen *s = arg;
    violation_change_msg vc;
    void *arena = NULL;
    codec_error err;
    if (codec_decode_violation_change(s->c, m->payload, m->len, &vc, &arena, &err) == 0 &&
        !strcmp(vc.violation.type, "camera_offline")) {
        char key[80];
        snprintf(key, sizeof key, "%s/%lld", vc.violation_id, (long long)vc.version);
        bool dup = false;
        for (int i = 0; i < s->nkeys && !dup; i++)
            dup = !strcmp(s->keys[i], key);
        if (!dup && s->nkeys < 64) {
            snprintf(s->keys[s->nkeys++], sizeof s->keys[0], "%s", key);
            if (!strcmp(vc.violation.camera_id, "cam-off-a")) {
                s->opened_a += !strcmp(vc.change, "opened");
                s->updated_a_ended += !strcmp(vc.change, "updated") && vc.violation.ended_at_us > 0;
            } else {
                s->other++;
            }
        }
    }
    codec_arena_free(arena);
}

static void subscribers_see_opened_and_ended(void)
{
    char err[256];
    seen s = {.c = codec_new(NULL, err, sizeof err)};
    itest_consume(getenv("RUTH_TOPIC_VIOLATIONS"), 3, on_change, &s);
    CHECK_EQ_INT(s.opened_a, 1);
    CHECK_EQ_INT(s.updated_a_ended, 1);
    CHECK_EQ_INT(s.other, 2); /* cam-off-b opened, then ended */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM outbox"), 0);
    codec_destroy(s.c);
}

int main(void)
{
    itest_setup("woff", 2);
    setenv("RUTH_OFFLINE_AFTER_SEC", "6", 1);
    setenv("RUTH_OFFLINE_SEVERITY", "critical", 1);
    prod = itest_producer();
    for (int i = 0; i < 2; i++) {
        snprintf(logs[i], sizeof logs[i], "/tmp/%s-worker%d.log", itest_db_name, i);
        workers[i] = itest_spawn("ruth-worker", NULL, logs[i]);
    }
    TEST_RUN(under_and_over_the_limit_with_sweeper_killed);
    TEST_RUN(recovery_ends_the_incident);
    TEST_RUN(subscribers_see_opened_and_ended);
    for (int i = 0; i < 2; i++)
        if (workers[i] > 0) {
            kill(workers[i], SIGTERM);
            itest_stopped(workers[i], 15, "ruth-worker", logs[i]);
        }
    rd_kafka_destroy(prod);
    if (!testlib_failures)
        itest_teardown();
    else
        fprintf(stderr, "database %s kept; worker logs %s %s\n", itest_db_name, logs[0], logs[1]);
    return TEST_EXIT();
}
