/* test_evidence: ruth-evidence against the dev stack's real Kafka and
 * PostgreSQL and the VAS test double (ruth-vas-double).
 *
 * Violations and their pending evidence rows are written as ruth-worker
 * writes them, and EvidenceRequests are put on the evidence topic; what a
 * user relies on is then checked from outside: evidence rows ready with
 * VAS ids and URLs, evidence_ready ViolationChanges on the violations topic,
 * final failures without retries, a VAS outage (with the process killed in
 * the middle of it) that loses nothing and calls VAS at a bounded rate,
 * and a slow bookmark on one camera that does not hold up another's
 * snapshot. */
#include "codec.h"
#include "itest.h"
#include "log.h"
#include "testlib.h"
#include "xmalloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>

static char g_vas[128];
static char g_evlog[256];
static pid_t g_double, g_ev;
static codec *g_codec;
static rd_kafka_t *g_prod;

/* ---- the double's control API ---- */

static size_t sink(char *p, size_t sz, size_t n, void *arg)
{
    buf *b = arg;
    buf_append(b, p, sz * n);
    return sz * n;
}

/* POST (body) or GET (NULL) `path` on the double; the answer in *out. */
static long ctl(const char *path, const char *body, buf *out)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", g_vas, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    buf ignore = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &ignore);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_free(&ignore);
    return status;
}

/* VAS calls recorded by the double whose path contains `needle` (is it,
 * when it ends with '$') and that were answered `status` (0: any). */
static int vas_calls_answered(const char *needle, long status)
{
    buf b = {0};
    ctl("/_control/calls", NULL, &b);
    json_t *calls = json_loadb((const char *)b.data, b.len, 0, NULL);
    buf_free(&b);
    int n = 0;
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *path = json_string_value(json_object_get(c, "path"));
        long st = (long)json_integer_value(json_object_get(c, "status"));
        size_t nl = strlen(needle);
        bool exact = nl && needle[nl - 1] == '$';
        bool match = path && (exact ? strlen(path) == nl - 1 && !strncmp(path, needle, nl - 1)
                                    : strstr(path, needle) != NULL);
        if (match && (!status || st == status))
            n++;
    }
    json_decref(calls);
    return n;
}

static int vas_calls(const char *needle)
{
    return vas_calls_answered(needle, 0);
}

/* ---- processes ---- */

static void start_double(void)
{
    char log[256];
    snprintf(log, sizeof log, "/tmp/%s-vas.log", itest_db_name);
    /* Snapshots ready at once (VAS may answer a create so), bookmarks after polling. */
    const char *args[] = {"--port", "0", "--snapshot-delay-ms", "0", "--bookmark-delay-ms",
                          "1500",   NULL};
    g_double = itest_spawn("ruth-vas-double", args, log);
    int port = -1;
    for (int i = 0; i < 100 && port < 0; i++) {
        usleep(100 * 1000);
        port = itest_log_int(log, "listening on 127.0.0.1:");
    }
    if (port < 0) {
        fprintf(stderr, "ruth-vas-double did not start (%s)\n", log);
        exit(1);
    }
    snprintf(g_vas, sizeof g_vas, "http://127.0.0.1:%d", port);
}

static void start_evidence(void)
{
    g_ev = itest_spawn("ruth-evidence", NULL, g_evlog);
}

/* ---- requests ---- */

/* A violation on `camera` with its two pending evidence rows (as
 * ruth-worker writes them) and their EvidenceRequests. `stream` NULL: the
 * camera's synced stream. `age_s`: how long ago it happened. */
static void request(const char *camera, const char *stream, int age_s, char vid[37])
{
    static int seq; /* one open violation per camera and type: a type each */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO violations (type, camera_id, stream_id, confidence, max_confidence,"
             " first_event_at, last_event_at) VALUES ('fall_%d', '%s', %s%s%s, 0.9, 0.9,"
             " now() - interval '%d seconds', now() - interval '%d seconds') RETURNING id",
             ++seq, camera, stream ? "'" : "", stream ? stream : "NULL", stream ? "'" : "", age_s,
             age_s);
    PGconn *db = PQconnectdb(itest_db_url);
    PGresult *r = PQexec(db, sql);
    snprintf(vid, 37, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    static const struct {
        const char *kind;
        int before, after;
    } kinds[] = {{"snapshot", 0, 0}, {"bookmark", 5, 10}};
    for (int k = 0; k < 2; k++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO evidence (violation_id, kind, camera_id, stream_id,"
                 " center_timestamp, before_seconds, after_seconds) SELECT id, '%s', camera_id,"
                 " stream_id, first_event_at, %d, %d FROM violations WHERE id = '%s'",
                 kinds[k].kind, kinds[k].before, kinds[k].after, vid);
        PQclear(PQexec(db, sql));
        evidence_request_msg m = {.violation_id = vid,
                                  .camera_id = camera,
                                  .stream_id = stream,
                                  .kind = kinds[k].kind,
                                  .center_timestamp_us = itest_wall_us() - age_s * 1000000LL,
                                  .before_seconds = kinds[k].before,
                                  .after_seconds = kinds[k].after};
        buf b = {0};
        codec_error err;
        if (codec_encode_evidence_request(g_codec, CODEC_FMT_SINGLE_OBJECT, &m, &b, &err) == 0)
            itest_produce(g_prod, getenv("RUTH_TOPIC_EVIDENCE"), camera, b.data, b.len);
        buf_free(&b);
    }
    PQfinish(db);
    rd_kafka_flush(g_prod, 5000);
}

static long long evidence_count(const char *where)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM evidence WHERE %s", where);
    return itest_query(sql);
}

/* ---- cases ---- */

static void on_change(const rd_kafka_message_t *m, void *arg)
{
    violation_change_msg vc;
    void *arena = NULL;
    codec_error err;
    if (codec_decode_violation_change(g_codec, m->payload, m->len, &vc, &arena, &err) == 0 &&
        !strcmp(vc.change, "evidence_ready"))
        (*(int *)arg)++;
    codec_arena_free(arena);
}

static void ready_with_vas_ids_and_published(void)
{
    /* Camera sync brings the double's cameras and their streams. */
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM cameras WHERE stream_id IS NOT NULL"
                                  " AND name IS NOT NULL",
                                  3, 30),
                 3);
    /* ...with VAS's description and is_active (the double: "<name> camera",
     * active when its stream is live). */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM cameras WHERE description LIKE 'CAM-_ camera'"
                             " AND active"),
                 3);
    char v[3][37];
    request("cam-1", NULL, 1, v[0]);
    request("cam-2", NULL, 1, v[1]);
    request("cam-3", "str-3", 60, v[2]); /* an older one: historical */
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM evidence WHERE status = 'ready'", 6, 60),
                 6);
    CHECK_EQ_INT(evidence_count("status = 'ready' AND vas_id IS NOT NULL AND url IS NOT NULL"
                                " AND completed_at IS NOT NULL"),
                 6);
    CHECK_EQ_INT(evidence_count("kind = 'bookmark' AND duration_seconds = 15"), 3);
    /* One create per item: polls are GETs of /v2/snapshots/{id}. */
    CHECK_EQ_INT(vas_calls("/snapshots") - vas_calls("/v2/snapshots/"), 3);
    CHECK_EQ_INT(vas_calls("/bookmarks") - vas_calls("/v2/bookmarks/"), 3);
    /* Every item's final state went out as a ViolationChange. */
    int ready_changes = 0;
    itest_consume(getenv("RUTH_TOPIC_VIOLATIONS"), 3, on_change, &ready_changes);
    CHECK_EQ_INT(ready_changes, 6);
}

static void final_failures_are_not_retried(void)
{
    CHECK_EQ_INT(ctl("/_control/stream", "{\"stream_id\":\"gone\",\"missing\":true}", NULL), 200);
    CHECK_EQ_INT(ctl("/_control/stream", "{\"stream_id\":\"old\",\"no_recording\":true}", NULL),
                 200);
    char gone[37], old[37];
    request("cam-1", "gone", 1, gone);
    request("cam-2", "old", 8 * 86400, old); /* past VAS's 7-day retention */
    char where[256];
    snprintf(where, sizeof where,
             "SELECT count(*) FROM evidence WHERE status = 'failed' AND violation_id IN"
             " ('%s', '%s')",
             gone, old);
    CHECK_EQ_INT(itest_wait_query(where, 4, 30), 4);
    snprintf(where, sizeof where, "violation_id = '%s' AND last_error LIKE '%%NOT_FOUND%%'", gone);
    CHECK_EQ_INT(evidence_count(where), 2);
    snprintf(where, sizeof where, "violation_id = '%s' AND last_error LIKE '%%NO_RECORDING%%'",
             old);
    CHECK(evidence_count(where) >= 1);
    sleep(3); /* nothing more is sent for them */
    CHECK_EQ_INT(vas_calls("/v2/streams/gone/"), 2);
    CHECK(vas_calls("/v2/streams/old/") <= 2);
}

static void outage_loses_nothing_and_calls_vas_sparingly(void)
{
    ctl("/_control/reset", "{}", NULL);
    CHECK_EQ_INT(ctl("/_control/fail",
                     "{\"status\":503,\"count\":-1,\"error\":\"SERVICE_UNAVAILABLE\","
                     "\"prefix\":\"/v2/\"}",
                     NULL),
                 200);
    long long before = evidence_count("status = 'ready'");
    char v[37];
    for (int i = 0; i < 10; i++)
        request(i % 2 ? "cam-1" : "cam-2", NULL, 1, v);
    sleep(10);
    /* Killed in the middle of the outage, started again. */
    kill(g_ev, SIGKILL);
    itest_wait_exit(g_ev, 5);
    start_evidence();
    sleep(10);
    /* 20 items, 20 s of outage: without the breaker every item would have
     * been tried at least once and again after 10 s (the guide's 503 delay),
     * 40+ calls; with it (3 failures open it for 2 s, then one probe) far
     * fewer, whatever the backlog. */
    int during = vas_calls("/v2/");
    fprintf(stderr, "   VAS calls during a 20 s outage with 20 items waiting: %d\n", during);
    CHECK(during <= 30);
    CHECK_EQ_INT(evidence_count("status = 'failed' AND requested_at > now() - interval '30 s'"
                                " AND camera_id IN ('cam-1', 'cam-2') AND last_error LIKE '%503%'"),
                 0);
    CHECK_EQ_INT(ctl("/_control/fail", "{\"count\":0}", NULL), 200);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM evidence WHERE status = 'ready'");
    CHECK_EQ_INT(itest_wait_query(sql, before + 20, 60), before + 20);
    /* What can duplicate on VAS: a create VAS answered whose answer was
     * lost (here: to the kill) before the VAS id was committed. */
    int created = vas_calls_answered("/snapshots", 201) + vas_calls_answered("/bookmarks", 201);
    fprintf(stderr, "   items created on VAS for 20 requests: %d (%d duplicate)\n", created,
            created - 20);
    CHECK(created >= 20);
}

static long long ready_of(const char *vid)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM evidence WHERE violation_id = '%s' AND status = 'ready'", vid);
    return itest_wait_query(sql, 2, 30);
}

static void token_expiry_mid_run_fails_nothing(void)
{
    ctl("/_control/reset", "{}", NULL);
    CHECK_EQ_INT(ctl("/_control/expire-tokens", "{}", NULL), 200);
    char a[37], b[37];
    request("cam-1", "str-1", 1, a);
    CHECK_EQ_INT(ready_of(a), 2);
    CHECK(vas_calls_answered("/v2/auth/token/refresh$", 200) >= 1); /* expiry: refreshed */
    CHECK_EQ_INT(ctl("/_control/revoke-refresh", "{}", NULL), 200);
    CHECK_EQ_INT(ctl("/_control/expire-tokens", "{}", NULL), 200);
    request("cam-2", "str-2", 1, b);
    CHECK_EQ_INT(ready_of(b), 2);
    CHECK(vas_calls_answered("/v2/auth/token/refresh$", 401) >= 1); /* revoked refresh */
    CHECK(vas_calls_answered("/v2/auth/token$", 200) >= 1);         /* ...so logged in again */
    CHECK_EQ_INT(evidence_count("status = 'failed' AND last_error LIKE '%401%'"), 0);
}

static void slow_bookmark_does_not_delay_another_camera(void)
{
    ctl("/_control/reset", "{}", NULL);
    CHECK_EQ_INT(
        ctl("/_control/stream", "{\"stream_id\":\"str-1\",\"bookmark_delay_ms\":20000}", NULL),
        200);
    char slow[37], quick[37];
    request("cam-1", "str-1", 1, slow);
    request("cam-2", "str-2", 1, quick);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM evidence WHERE violation_id = '%s' AND status = 'ready'", quick);
    double t0 = itest_now();
    CHECK_EQ_INT(itest_wait_query(sql, 2, 15), 2);
    fprintf(stderr, "   other camera's evidence ready in %.1f s\n", itest_now() - t0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM evidence WHERE violation_id = '%s' AND kind = 'bookmark'"
             " AND status = 'processing'",
             slow);
    CHECK_EQ_INT(itest_query(sql), 1); /* still on VAS */
}

int main(void)
{
    log_init("test_evidence", LOG_WARN, true);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_setup("evid", 3);
    snprintf(g_evlog, sizeof g_evlog, "/tmp/%s-evidence.log", itest_db_name);
    start_double();
    char err[256];
    g_codec = codec_new(NULL, err, sizeof err);
    g_prod = itest_producer();
    setenv("VAS_BASE_URL", g_vas, 1);
    setenv("VAS_CLIENT_ID", "ruth", 1);
    setenv("VAS_CLIENT_SECRET", "ruth-secret", 1);
    setenv("RUTH_EVIDENCE_BREAKER_FAILURES", "3", 1);
    setenv("RUTH_EVIDENCE_BREAKER_OPEN_SEC", "2", 1);
    setenv("RUTH_EVIDENCE_LEASE_SEC", "5", 1);
    setenv("RUTH_CAMERA_SYNC_SEC", "2", 1);
    char group[160];
    snprintf(group, sizeof group, "%s.evidence", getenv("RUTH_WORKER_GROUP"));
    setenv("RUTH_EVIDENCE_GROUP", group, 1);
    start_evidence();
    TEST_RUN(ready_with_vas_ids_and_published);
    TEST_RUN(final_failures_are_not_retried);
    TEST_RUN(outage_loses_nothing_and_calls_vas_sparingly);
    TEST_RUN(token_expiry_mid_run_fails_nothing);
    TEST_RUN(slow_bookmark_does_not_delay_another_camera);
    kill(g_ev, SIGTERM);
    int ev_exit = itest_wait_exit(g_ev, 20);
    kill(g_double, SIGTERM);
    itest_wait_exit(g_double, 5);
    if (ev_exit != 0) {
        fprintf(stderr, "ruth-evidence exited %d (log %s)\n", ev_exit, g_evlog);
        testlib_failures++;
    }
    rd_kafka_destroy(g_prod);
    codec_destroy(g_codec);
    if (!testlib_failures)
        itest_teardown();
    return TEST_EXIT();
}
