/* ruth-worker under failure, against real Kafka and PostgreSQL:
 *  - three workers, one SIGKILLed mid-stream and restarted: every result
 *    stored exactly once, rollups exact, offsets committed to the end;
 *  - PostgreSQL stopped for 20 s mid-stream, with a second worker joining
 *    and leaving meanwhile (its partitions reach the first one while it is
 *    paused): workers stay up, /ready says 503, and afterwards every
 *    message is stored once;
 *  - SIGTERM mid-stream: the worker finishes its batch, commits and leaves
 *    the group at once, so the other takes over without a session timeout
 *    and without redelivery;
 *  - SIGKILL mid-stream: the other worker has every partition moving again
 *    within seconds (the session timeout), measured and printed;
 *  - SIGKILL after a batch's outbox rows were published but before the next
 *    batch (which deletes them) came: a restarted worker's sweep publishes
 *    them again and empties the outbox, and every violation of the whole
 *    file has its ViolationChange on the topic. */
#include "itest.h"

#include "buf.h"
#include "codec.h"

#include <curl/curl.h>

#define N_CRASH 200000L
#define N_OUTAGE 20000L

static char logs[12][256]; /* one per worker start whose log is read: logs append */

static pid_t start_worker(int i)
{
    snprintf(logs[i], sizeof logs[i], "/tmp/%s-worker-%d.log", itest_db_name, i);
    return itest_spawn("ruth-worker", NULL, logs[i]);
}

static int simulate(long count, int fps, int cameras)
{
    char c[32], f[32], cams[32];
    snprintf(c, sizeof c, "%ld", count);
    snprintf(f, sizeof f, "%d", fps);
    snprintf(cams, sizeof cams, "%d", cameras);
    const char *args[] = {"--count", c,    "--fps",    f,      "--cameras", cams,
                          "--seed",  "11", "--format", "avro", "--quiet",   NULL};
    return itest_run("ruth-simulate", args);
}

#define PARTS 3

/* The workers' group's committed offset (0 when none) and the high
 * watermark of each partition; false when Kafka did not answer. */
static bool group_offsets(int64_t committed[PARTS], int64_t high[PARTS])
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", getenv("KAFKA_BOOTSTRAP_SERVERS"), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "group.id", getenv("RUTH_WORKER_GROUP"), err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    const char *topic = getenv("RUTH_TOPIC_INFERENCE");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(PARTS);
    for (int p = 0; p < PARTS; p++)
        rd_kafka_topic_partition_list_add(l, topic, p);
    bool ok = rd_kafka_committed(c, l, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int p = 0; ok && p < PARTS; p++) {
        int64_t lo;
        ok = rd_kafka_query_watermark_offsets(c, topic, p, &lo, &high[p], 10000) ==
             RD_KAFKA_RESP_ERR_NO_ERROR;
        committed[p] = l->elems[p].offset < 0 ? 0 : l->elems[p].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(c);
    return ok;
}

/* Sum over partitions of (high watermark - committed offset) for the
 * workers' group: 0 when every message is committed; -1 on no answer. */
static long long group_lag(void)
{
    int64_t committed[PARTS], high[PARTS];
    if (!group_offsets(committed, high))
        return -1;
    long long lag = 0;
    for (int p = 0; p < PARTS; p++)
        lag += high[p] - committed[p];
    return lag;
}

static void crash_and_restart_stores_everything_once(void)
{
    pid_t w[3];
    for (int i = 0; i < 3; i++)
        w[i] = start_worker(i);
    CHECK_EQ_INT(simulate(N_CRASH, 0, 24), 0);
    /* Kill one worker once roughly a third is stored, restart it. */
    double end = itest_now() + 120;
    while (itest_query("SELECT count(*) FROM events") < N_CRASH / 3 && itest_now() < end)
        usleep(100 * 1000);
    kill(w[1], SIGKILL);
    itest_wait_exit(w[1], 5);
    fprintf(stderr, "   killed a worker at %lld events\n",
            itest_query("SELECT count(*) FROM events"));
    w[1] = start_worker(1);
    long long got = itest_wait_query("SELECT count(*) FROM events", N_CRASH, 300);
    if (got != N_CRASH)
        for (int i = 0; i < 3; i++)
            kill(w[i], SIGKILL);
    CHECK_MSG(got == N_CRASH, "%lld events stored for %ld results", got, N_CRASH);
    CHECK_EQ_INT(itest_query("SELECT count(DISTINCT idempotency_key) FROM events"), N_CRASH);
    CHECK_EQ_INT(itest_query("SELECT sum(count) FROM event_rollups"), N_CRASH);
    CHECK_EQ_INT(itest_query("SELECT sum(count) FROM event_rollups_hourly"), N_CRASH);
    /* Each violation's event_count equals the events linked to it. */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violations v WHERE event_count <>"
                             " (SELECT count(*) FROM events e WHERE e.violation_id = v.id)"),
                 0);
    CHECK(itest_query("SELECT count(*) FROM violations") > 0);
    long long outbox = itest_wait_query("SELECT count(*) FROM outbox", 0, 30);
    double t = itest_now();
    long long lag;
    while ((lag = group_lag()) != 0 && itest_now() - t < 30)
        sleep(1);
    int exits[3];
    for (int i = 0; i < 3; i++) { /* stop them before any CHECK can return early */
        kill(w[i], SIGTERM);
        exits[i] = itest_wait_exit(w[i], 20);
    }
    CHECK_EQ_INT(outbox, 0);
    CHECK_MSG(lag == 0, "committed offsets are %lld behind", lag);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(exits[i], 0);
}

static size_t collect(char *data, size_t size, size_t n, void *out)
{
    buf_append(out, data, size * n);
    return size * n;
}

/* GET http://127.0.0.1:port/path; the status, the body in `body` when given. */
static long http_get(int port, const char *path, buf *body)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    buf ignored = {0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body ? body : &ignored);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    buf_free(&ignored);
    if (body)
        buf_append(body, "", 1); /* NUL-terminated */
    return code;
}

static long http_status(int port, const char *path)
{
    return http_get(port, path, NULL);
}

/* Value of one sample (`name` with its labels, as printed) on /metrics; -1 when absent. */
static double metric_value(int port, const char *sample)
{
    buf b = {0};
    double v = -1;
    if (http_get(port, "/metrics", &b) == 200) {
        char needle[256];
        snprintf(needle, sizeof needle, "\n%s ", sample);
        const char *at = strstr((const char *)b.data, needle);
        if (at)
            v = strtod(at + strlen(needle), NULL);
    }
    buf_free(&b);
    return v;
}

/* A worker's metrics port, read from its start-up log line. */
static int worker_port(int i)
{
    double t = itest_now();
    int port;
    while ((port = itest_log_int(logs[i], "\"metrics_port\":")) < 0 && itest_now() - t < 20)
        usleep(100 * 1000);
    return port;
}

static int dev_stack(const char *cmd)
{
    char sh[1024];
    snprintf(sh, sizeof sh, "\"%s\" %s >/dev/null", testlib_env("RUTH_DEV_STACK"), cmd);
    return system(sh);
}

static void database_outage_pauses_and_recovers(void)
{
    long long before = itest_query("SELECT count(*) FROM events");
    pid_t w = start_worker(3); /* a log of its own: its metrics port is read from it */
    double t = itest_now();
    int port = worker_port(3);
    CHECK(port > 0);
    while (http_status(port, "/ready") != 200 && itest_now() - t < 30)
        usleep(200 * 1000);
    CHECK_EQ_INT(http_status(port, "/ready"), 200);
    /* 40 cameras at 25 frames/s = 1000 results/s for 20 s. */
    pid_t sim;
    {
        const char *args[] = {"--count", "20000", "--fps",    "25",   "--cameras", "40",
                              "--seed",  "12",    "--format", "json", "--quiet",   NULL};
        sim = itest_spawn("ruth-simulate", args, NULL);
    }
    while (itest_query("SELECT count(*) FROM events") < before + 2000 && itest_now() - t < 60)
        usleep(100 * 1000);
    CHECK_EQ_INT(dev_stack("pg-stop"), 0);
    double stopped = itest_now();
    /* A second worker joins during the outage and leaves again: the first
     * gets partitions while it is paused, and must not lose what they hold. */
    pid_t second = start_worker(2);
    bool second_left = false;
    long ready = 0;
    while (itest_now() - stopped < 20) {
        long s = http_status(port, "/ready");
        if (s == 503)
            ready = s;
        if (!second_left && itest_now() - stopped > 9) {
            kill(second, SIGTERM);
            second_left = true;
        }
        usleep(500 * 1000);
    }
    int alive = kill(w, 0) == 0;
    int second_exit = itest_wait_exit(second, 15);
    CHECK_EQ_INT(dev_stack("pg-start"), 0);
    CHECK_MSG(ready == 503, "/ready never said 503 during the outage");
    CHECK_MSG(alive, "the worker died while PostgreSQL was down");
    CHECK_EQ_INT(second_exit, 0);
    CHECK_EQ_INT(itest_wait_exit(sim, 120), 0);
    long long want = before + N_OUTAGE;
    long long got = itest_wait_query("SELECT count(*) FROM events", want, 120);
    CHECK_MSG(got == want, "%lld events after the outage, want %lld", got, want);
    CHECK_EQ_INT(itest_query("SELECT count(DISTINCT idempotency_key) FROM events"), want);
    CHECK_EQ_INT(itest_query("SELECT sum(count) FROM event_rollups"), want);
    CHECK_EQ_INT(http_status(port, "/ready"), 200);
    double t1 = itest_now();
    while (group_lag() != 0 && itest_now() - t1 < 30)
        sleep(1);
    CHECK_EQ_INT(group_lag(), 0);
    kill(w, SIGTERM);
    CHECK_EQ_INT(itest_wait_exit(w, 15), 0);
}

static void sigterm_mid_stream_hands_over_cleanly(void)
{
    long long before = itest_query("SELECT count(*) FROM events");
    pid_t a = start_worker(4), b = start_worker(5);
    int port_b = worker_port(5);
    CHECK(port_b > 0);
    sleep(6); /* both in the group, partitions shared */
    /* 40 cameras at 50 frames/s = 2000 results/s for 12 s. */
    pid_t sim;
    {
        const char *args[] = {"--count", "24000", "--fps",    "50",   "--cameras", "40",
                              "--seed",  "13",    "--format", "avro", "--quiet",   NULL};
        sim = itest_spawn("ruth-simulate", args, NULL);
    }
    while (itest_query("SELECT count(*) FROM events") < before + 4000)
        usleep(50 * 1000);
    /* Redeliveries the other worker saw so far (a start-up rebalance that
     * moves partitions in mid-batch causes some); the handover adds none. */
    double dup0 = metric_value(port_b, "ruth_worker_events_duplicate_total");
    double t0 = itest_now();
    kill(a, SIGTERM);
    int st = itest_wait_exit(a, 15);
    double took = itest_now() - t0;
    CHECK_EQ_INT(itest_wait_exit(sim, 60), 0);
    /* Had it not left the group, its partitions would wait for the session
     * timeout (45 s) before reaching the other worker. */
    long long want = before + 24000;
    long long got = itest_wait_query("SELECT count(*) FROM events", want, 15);
    CHECK_EQ_INT(st, 0);
    CHECK_MSG(took < 5, "SIGTERM took %.1f s", took);
    CHECK_MSG(got == want, "%lld events 15 s after the stream, want %lld", got, want);
    /* It committed what it stored: the other worker saw no redelivery from
     * the handover, and its own counters tell the story. */
    CHECK(dup0 >= 0);
    CHECK_EQ_INT((long long)metric_value(port_b, "ruth_worker_events_duplicate_total"),
                 (long long)dup0);
    CHECK(metric_value(port_b, "ruth_worker_events_persisted_total") > 0);
    CHECK(metric_value(port_b, "ruth_worker_rebalances_total") >= 2);
    double t1 = itest_now();
    while (group_lag() != 0 && itest_now() - t1 < 30)
        sleep(1);
    CHECK_EQ_INT(group_lag(), 0);
    kill(b, SIGTERM);
    CHECK_EQ_INT(itest_wait_exit(b, 15), 0);
}

/* Issue 14, item 5: a replica that crashes (no leave-group) costs the
 * group seconds, not librdkafka's default 45 s session timeout: measured as
 * the time from SIGKILL until every partition's committed offset has moved
 * past where it was, while results keep arriving. */
static void sigkill_costs_seconds(void)
{
    long long before = itest_query("SELECT count(*) FROM events");
    pid_t a = start_worker(6), b = start_worker(7);
    sleep(6); /* both in the group, partitions shared */
    /* 30 cameras at 40 frames/s = 1200 results/s for 25 s. */
    pid_t sim;
    {
        const char *args[] = {"--count", "30000", "--fps",    "40",   "--cameras", "30",
                              "--seed",  "17",    "--format", "avro", "--quiet",   NULL};
        sim = itest_spawn("ruth-simulate", args, NULL);
    }
    while (itest_query("SELECT count(*) FROM events") < before + 3000)
        usleep(50 * 1000);
    int64_t at_kill[PARTS], high[PARTS], now[PARTS];
    double t0 = itest_now();
    kill(a, SIGKILL);
    itest_wait_exit(a, 5);
    /* Read after it is gone: nothing of its own can move them any more. */
    CHECK(group_offsets(at_kill, high));
    double recovered = -1;
    while (recovered < 0 && itest_now() - t0 < 20) {
        usleep(200 * 1000);
        if (!group_offsets(now, high))
            continue;
        bool all = true;
        for (int p = 0; p < PARTS; p++)
            all = all && now[p] > at_kill[p];
        if (all)
            recovered = itest_now() - t0;
    }
    fprintf(stderr, "   every partition moving again %.1f s after a SIGKILL\n", recovered);
    int sim_rc = itest_wait_exit(sim, 60);
    long long want = before + 30000;
    long long got = itest_wait_query("SELECT count(*) FROM events", want, 30);
    kill(b, SIGTERM);
    int b_rc = itest_wait_exit(b, 15);
    CHECK_MSG(recovered > 0 && recovered < 12, "partitions stalled %.1f s after a crash",
              recovered);
    CHECK_EQ_INT(sim_rc, 0);
    CHECK_MSG(got == want, "%lld events after the stream, want %lld", got, want);
    CHECK_EQ_INT(b_rc, 0);
}

/* Issue 14, item 7: SIGTERM while a rebalance is pending (a second worker
 * joining at that moment). The stopping worker commits what it stored under
 * the new generation before it leaves, so the joining one is handed no
 * redelivery. */
static void sigterm_during_rebalance_commits(void)
{
    long long before = itest_query("SELECT count(*) FROM events");
    pid_t a = start_worker(8);
    sleep(4); /* alone in the group: every partition */
    pid_t sim;
    {
        const char *args[] = {"--count", "24000", "--fps",    "50",   "--cameras", "40",
                              "--seed",  "19",    "--format", "avro", "--quiet",   NULL};
        sim = itest_spawn("ruth-simulate", args, NULL);
    }
    while (itest_query("SELECT count(*) FROM events") < before + 4000)
        usleep(50 * 1000);
    pid_t b = start_worker(9);
    usleep(700 * 1000); /* its JoinGroup is in: the group is rebalancing */
    double t0 = itest_now();
    kill(a, SIGTERM);
    int st = itest_wait_exit(a, 15);
    double took = itest_now() - t0;
    int sim_rc = itest_wait_exit(sim, 60);
    long long want = before + 24000;
    long long got = itest_wait_query("SELECT count(*) FROM events", want, 30);
    int port_b = worker_port(9);
    double dup = metric_value(port_b, "ruth_worker_events_duplicate_total");
    int refused = itest_log_count(logs[8], "final offset commit failed");
    kill(b, SIGTERM);
    int b_rc = itest_wait_exit(b, 15);
    fprintf(stderr, "   stopped in %.1f s; %.0f redelivered results reached the other worker\n",
            took, dup);
    CHECK_EQ_INT(st, 0);
    CHECK_MSG(took < 10, "SIGTERM took %.1f s", took);
    CHECK_EQ_INT(sim_rc, 0);
    CHECK_MSG(got == want, "%lld events after the stream, want %lld", got, want);
    CHECK_EQ_INT(refused, 0);
    CHECK_MSG(dup == 0, "%.0f results redelivered after the handover", dup);
    CHECK_EQ_INT(b_rc, 0);
}

typedef struct changes {
    codec *c;
    char (*ids)[37]; /* violation ids seen, sorted after reading */
    size_t n, cap, undecoded;
} changes;

static void on_change(const rd_kafka_message_t *m, void *arg)
{
    changes *ch = arg;
    violation_change_msg v;
    void *arena = NULL;
    codec_error err;
    if (codec_decode_violation_change(ch->c, m->payload, m->len, &v, &arena, &err) != 0) {
        ch->undecoded++;
    } else {
        if (ch->n == ch->cap) {
            ch->cap = ch->cap ? 2 * ch->cap : 1024;
            ch->ids = realloc(ch->ids, ch->cap * sizeof *ch->ids);
        }
        snprintf(ch->ids[ch->n++], sizeof *ch->ids, "%s", v.violation_id);
    }
    codec_arena_free(arena);
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Issue 15: the batch's outbox rows are produced after COMMIT and deleted by
 * the next batch's transaction (or by an idle worker a second later). A
 * worker killed in between leaves them in the outbox: the sweep of the next
 * worker must publish them, so no ViolationChange is lost. */
static void kill_after_outbox_publish_loses_no_change(void)
{
    long long before = itest_query("SELECT count(*) FROM events");
    pid_t w = start_worker(10);
    sleep(4); /* in the group with every partition */
    CHECK_EQ_INT(simulate(3000, 0, 6), 0);
    /* Kill it the moment the last batch is committed: its outbox rows are
     * published, not yet deleted. */
    double end = itest_now() + 60;
    while (itest_query("SELECT count(*) FROM events") < before + 3000 && itest_now() < end)
        usleep(10 * 1000);
    kill(w, SIGKILL);
    itest_wait_exit(w, 5);
    long long left = itest_query("SELECT count(*) FROM outbox");
    fprintf(stderr, "   killed with %lld outbox rows left\n", left);
    pid_t again = start_worker(11);
    long long after = itest_wait_query("SELECT count(*) FROM outbox", 0, 30);
    kill(again, SIGTERM);
    int rc = itest_wait_exit(again, 20);
    CHECK_MSG(left > 0, "the worker deleted its outbox rows before the kill (%lld left)", left);
    CHECK_EQ_INT(after, 0);
    CHECK_EQ_INT(rc, 0);
    CHECK(itest_log_count(logs[11], "outbox rows left by an earlier writer") >= 1);
    /* Every violation (of every test in this file) has a change on the topic. */
    char err[256];
    changes ch = {codec_new(NULL, err, sizeof err), NULL, 0, 0, 0};
    itest_consume(getenv("RUTH_TOPIC_VIOLATIONS"), 3, on_change, &ch);
    qsort(ch.ids, ch.n, sizeof *ch.ids, id_cmp);
    PGconn *db = PQconnectdb(itest_db_url);
    PGresult *r = PQexec(db, "SELECT id::text FROM violations");
    int missing = 0;
    for (int i = 0; i < PQntuples(r); i++)
        missing += !ch.n || !bsearch(PQgetvalue(r, i, 0), ch.ids, ch.n, sizeof *ch.ids, id_cmp);
    CHECK(PQntuples(r) > 0);
    CHECK_MSG(missing == 0, "%d of %d violations have no ViolationChange on the topic", missing,
              PQntuples(r));
    CHECK_EQ_INT(ch.undecoded, 0);
    PQclear(r);
    PQfinish(db);
    free(ch.ids);
    codec_destroy(ch.c);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_setup("wfail", 3);
    TEST_RUN(crash_and_restart_stores_everything_once);
    TEST_RUN(database_outage_pauses_and_recovers);
    TEST_RUN(sigterm_mid_stream_hands_over_cleanly);
    TEST_RUN(sigkill_costs_seconds);
    TEST_RUN(sigterm_during_rebalance_commits);
    TEST_RUN(kill_after_outbox_publish_loses_no_change);
    if (!testlib_failures)
        itest_teardown();
    else
        fprintf(stderr, "database %s kept; worker logs /tmp/%s-worker-*.log\n", itest_db_name,
                itest_db_name);
    curl_global_cleanup();
    return TEST_EXIT();
}
