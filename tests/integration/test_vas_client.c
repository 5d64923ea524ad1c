/* test_vas_client.c - the VAS client (common/vas.c) against the VAS test
 * double (tests/vas/, ruth-vas-double from RUTH_BIN_DIR): snapshots and
 * bookmarks until ready, media with and without Range, token expiry and a
 * revoked refresh token, one refresh shared by many threads, 503 / 404 /
 * NO_RECORDING_DATA as errors with the right retry advice, devices and
 * streams, metrics. Needs no Kafka or PostgreSQL: only the double. */
#include "buf.h"
#include "itest.h"
#include "metrics.h"
#include "vas.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>

typedef struct double_proc {
    pid_t pid;
    int port;
    char base[64];
    char log[256];
} double_proc;

static double_proc dbl;      /* the double most cases use */
static double_proc dbl_fast; /* one whose tokens live 3 s */

static bool double_start(double_proc *d, const char *const *args)
{
    snprintf(d->log, sizeof d->log, "/tmp/test_vas_client.%d.%p.log", (int)getpid(), (void *)d);
    unlink(d->log);
    d->pid = itest_spawn("ruth-vas-double", args, d->log);
    double end = itest_now() + 15;
    while ((d->port = itest_log_int(d->log, "listening on 127.0.0.1:")) <= 0 && itest_now() < end)
        usleep(50 * 1000);
    if (d->port <= 0) {
        fprintf(stderr, "ruth-vas-double did not start (log %s)\n", d->log);
        return false;
    }
    snprintf(d->base, sizeof d->base, "http://127.0.0.1:%d", d->port);
    return true;
}

static int double_stop(double_proc *d)
{
    if (d->pid <= 0)
        return -1;
    kill(d->pid, SIGTERM);
    int rc = itest_wait_exit(d->pid, 10);
    d->pid = 0;
    unlink(d->log);
    return rc;
}

/* ---- the control API, over plain libcurl -------------------------------- */

static size_t collect(char *p, size_t sz, size_t n, void *arg)
{
    buf_append(arg, p, sz * n);
    return sz * n;
}

/* method path [body] on the double; the status, the answer into *out when
 * given (caller frees). */
static long ctl(const double_proc *d, const char *method, const char *path, const char *body,
                buf *out)
{
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "%s%s", d->base, path);
    buf scratch = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &scratch);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    long st = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_free(&scratch);
    return st;
}

/* GET /_control/calls as a JSON array (caller decrefs); NULL on failure. */
static json_t *calls(const double_proc *d)
{
    buf b = {0};
    json_t *j = NULL;
    if (ctl(d, "GET", "/_control/calls", NULL, &b) == 200) {
        json_error_t je;
        j = json_loadb((const char *)b.data, b.len, 0, &je);
    }
    buf_free(&b);
    if (!json_is_array(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* How many recorded calls have this method, a path starting with `path`
 * and (status > 0) this status. */
static int count_calls(const json_t *cs, const char *method, const char *path, int status)
{
    int n = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c)
    {
        const char *m = json_string_value(json_object_get(c, "method"));
        const char *p = json_string_value(json_object_get(c, "path"));
        long st = (long)json_integer_value(json_object_get(c, "status"));
        if (m && p && strcmp(m, method) == 0 && strncmp(p, path, strlen(path)) == 0 &&
            (status <= 0 || st == status))
            n++;
    }
    return n;
}

/* The request body of the last call with this method and path prefix. */
static const json_t *last_body(const json_t *cs, const char *method, const char *path)
{
    const json_t *found = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c)
    {
        const char *m = json_string_value(json_object_get(c, "method"));
        const char *p = json_string_value(json_object_get(c, "path"));
        if (m && p && strcmp(m, method) == 0 && strncmp(p, path, strlen(path)) == 0)
            found = json_object_get(c, "body");
    }
    return found;
}

/* Every VAS call but the token calls carried a valid token. */
static bool all_authorized(const json_t *cs)
{
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c)
    {
        const char *p = json_string_value(json_object_get(c, "path"));
        if (p && strncmp(p, "/v2/auth/", 9) != 0 && !json_is_true(json_object_get(c, "authorized")))
            return false;
    }
    return true;
}

static void reset(const double_proc *d)
{
    ctl(d, "POST", "/_control/reset", "{}", NULL);
}

static vas *client(const double_proc *d, metrics *reg)
{
    char es[256];
    vas_conf c = {.base_url = d->base,
                  .client_id = "ruth",
                  .client_secret = "ruth-secret",
                  .connect_timeout_ms = 2000,
                  .timeout_ms = 10000,
                  .reg = reg};
    vas *v = vas_new(&c, es, sizeof es);
    if (!v)
        fprintf(stderr, "vas_new: %s\n", es);
    return v;
}

/* ---- media sink ---------------------------------------------------------- */

typedef struct media {
    int heads, status;
    bool data_before_head;
    char ctype[64], crange[128];
    int64_t clen;
    buf body;
} media;

static void on_head(void *arg, int status, const char *ctype, int64_t clen, const char *crange)
{
    media *m = arg;
    m->heads++;
    m->status = status;
    snprintf(m->ctype, sizeof m->ctype, "%s", ctype ? ctype : "");
    snprintf(m->crange, sizeof m->crange, "%s", crange ? crange : "");
    m->clen = clen;
}

static bool on_data(void *arg, const void *p, size_t n)
{
    media *m = arg;
    if (m->heads == 0)
        m->data_before_head = true;
    buf_append(&m->body, p, n);
    return true;
}

static int fetch(vas *v, const char *path, const char *range, size_t max, media *m, vas_error *e)
{
    memset(m, 0, sizeof *m);
    vas_media_sink s = {on_head, on_data, m};
    return vas_media_get(v, path, range, max, &s, e);
}

/* ---- cases --------------------------------------------------------------- */

static bool metrics_has(metrics *reg, const char *needle)
{
    size_t len;
    char *text = metrics_render(reg, &len);
    bool ok = strstr(text, needle) != NULL;
    if (!ok)
        fprintf(stderr, "metrics lack %s:\n%s\n", needle, text);
    free(text);
    return ok;
}

static void test_snapshot(void)
{
    reset(&dbl);
    metrics *reg = metrics_new();
    vas *v = client(&dbl, reg);
    CHECK(v);
    vas_snapshot s;
    vas_error e;
    int rc =
        vas_snapshot_create(v, "str-1", 0, "ruth-evidence", "{\"violation_id\":\"v-1\"}", &s, &e);
    CHECK_MSG(rc == 0, "%d %s %s", e.http_status, e.code, e.message);
    CHECK(s.id[0]);
    CHECK(strstr(s.image_url, "/image") != NULL);
    media m;
    char img[128];
    snprintf(img, sizeof img, "/v2/snapshots/%s/image", s.id);
    /* Not ready yet (1 s delay): a 404 through err, and no head. */
    CHECK_EQ_INT(fetch(v, img, NULL, 0, &m, &e), -1);
    CHECK_EQ_INT(e.http_status, 404);
    CHECK_EQ_INT(m.heads, 0);
    buf_free(&m.body);
    double end = itest_now() + 10;
    while (strcmp(s.status, "ready") != 0 && itest_now() < end) {
        usleep(200 * 1000);
        CHECK_MSG(vas_snapshot_get(v, s.id, &s, &e) == 0, "%d %s", e.http_status, e.code);
    }
    CHECK_EQ_STR(s.status, "ready");
    rc = fetch(v, s.image_url, NULL, 0, &m, &e);
    CHECK_MSG(rc == 0, "%d %s %s", e.http_status, e.code, e.message);
    CHECK_EQ_INT(m.heads, 1);
    CHECK(!m.data_before_head);
    CHECK_EQ_INT(m.status, 200);
    CHECK(strncmp(m.ctype, "image/jpeg", 10) == 0);
    CHECK(m.body.len > 4 && m.body.data[0] == 0xFF && m.body.data[1] == 0xD8);
    CHECK_EQ_INT(m.clen, (int64_t)m.body.len);
    size_t full = m.body.len;
    buf_free(&m.body);
    /* Bounded: a known length over the bound fails before any head. */
    CHECK_EQ_INT(fetch(v, img, NULL, full - 1, &m, &e), -1);
    CHECK_EQ_STR(e.code, "TOO_LARGE");
    CHECK_EQ_INT(m.heads, 0);
    buf_free(&m.body);

    json_t *cs = calls(&dbl);
    CHECK(cs);
    const json_t *b = last_body(cs, "POST", "/v2/streams/str-1/snapshots");
    bool body_ok = b && strcmp(json_string_value(json_object_get(b, "source")), "live") == 0 &&
                   json_object_get(b, "timestamp") == NULL &&
                   json_is_string(json_object_get(json_object_get(b, "metadata"), "violation_id"));
    bool authorized = all_authorized(cs);
    json_decref(cs);
    CHECK(body_ok);
    CHECK(authorized);
    CHECK(metrics_has(reg, "ruth_ai_vas_api_requests_total{endpoint=\"POST "
                           "/v2/streams/{id}/snapshots\",status=\"201\"} 1"));
    CHECK(metrics_has(reg, "endpoint=\"GET /v2/snapshots/{id}/image\",status=\"404\"} 1"));
    CHECK(metrics_has(reg,
                      "ruth_ai_vas_api_latency_seconds_count{endpoint=\"POST /v2/auth/token\"}"));
    vas_destroy(v);
    metrics_destroy(reg);
}

/* The guide's polling: 1 s, x1.5, at most 5 s apart, up to `limit_s`. */
static int poll_bookmark(vas *v, vas_bookmark *b, double limit_s, vas_error *e)
{
    double end = itest_now() + limit_s, wait = 1.0;
    while (strcmp(b->status, "processing") == 0 && itest_now() < end) {
        usleep((useconds_t)(wait * 1e6));
        wait = wait * 1.5 > 5 ? 5 : wait * 1.5;
        if (vas_bookmark_get(v, b->id, b, e) != 0)
            return -1;
    }
    return 0;
}

static void test_bookmark_and_range(void)
{
    reset(&dbl);
    vas *v = client(&dbl, NULL);
    CHECK(v);
    vas_bookmark_req rq = {.before_seconds = 5,
                           .after_seconds = 10,
                           .label = "Person without helmet",
                           .event_type = "no_helmet",
                           .confidence = 0.91,
                           .created_by = "ruth-evidence",
                           .metadata_json = "{\"violation_id\":\"v-2\"}"};
    vas_bookmark b;
    vas_error e;
    CHECK_MSG(vas_bookmark_create(v, "str-2", &rq, &b, &e) == 0, "%d %s", e.http_status, e.code);
    CHECK_EQ_STR(b.status, "processing");
    CHECK(b.duration_seconds > 14.9 && b.duration_seconds < 15.1);
    CHECK_MSG(poll_bookmark(v, &b, 30, &e) == 0, "%d %s", e.http_status, e.code);
    CHECK_EQ_STR(b.status, "ready");
    CHECK(strstr(b.video_url, "/video") != NULL);

    media m;
    CHECK_MSG(fetch(v, b.video_url, NULL, 0, &m, &e) == 0, "%d %s", e.http_status, e.code);
    CHECK_EQ_INT(m.status, 200);
    CHECK(strncmp(m.ctype, "video/mp4", 9) == 0);
    CHECK(m.body.len > 200);
    buf full = m.body;
    media r;
    int rc = fetch(v, b.video_url, "bytes=100-199", 0, &r, &e);
    bool same = rc == 0 && r.body.len == 100 && memcmp(r.body.data, full.data + 100, 100) == 0;
    char want[64];
    snprintf(want, sizeof want, "bytes 100-199/%zu", full.len);
    bool head_ok = r.heads == 1 && r.status == 206 && r.clen == 100 && strcmp(r.crange, want) == 0;
    buf_free(&full);
    buf_free(&r.body);
    CHECK_MSG(rc == 0, "%d %s", e.http_status, e.code);
    CHECK(same);
    CHECK_MSG(head_ok, "status %d length %lld range '%s'", r.status, (long long)r.clen, r.crange);
    CHECK_EQ_INT(fetch(v, b.video_url, "bytes=99999999-", 0, &m, &e), -1);
    CHECK_EQ_INT(e.http_status, 416);
    CHECK_EQ_INT(m.heads, 0);
    buf_free(&m.body);
    char thumb[128];
    snprintf(thumb, sizeof thumb, "/v2/bookmarks/%s/thumbnail", b.id);
    CHECK(fetch(v, thumb, NULL, 0, &m, &e) == 0);
    bool jpeg = strncmp(m.ctype, "image/jpeg", 10) == 0 && m.body.len > 2;
    buf_free(&m.body);
    CHECK(jpeg);

    json_t *cs = calls(&dbl);
    const json_t *body = last_body(cs, "POST", "/v2/streams/str-2/bookmarks");
    bool ok = body && json_integer_value(json_object_get(body, "before_seconds")) == 5 &&
              json_integer_value(json_object_get(body, "after_seconds")) == 10 &&
              strcmp(json_string_value(json_object_get(body, "source")), "live") == 0 &&
              strcmp(json_string_value(json_object_get(body, "event_type")), "no_helmet") == 0 &&
              json_number_value(json_object_get(body, "confidence")) > 0.9;
    json_decref(cs);
    CHECK(ok);
    vas_destroy(v);
}

static void test_historical(void)
{
    reset(&dbl);
    vas *v = client(&dbl, NULL);
    CHECK(v);
    int64_t at = itest_wall_us() - 60 * 1000000LL;
    vas_bookmark_req rq = {.historical = true,
                           .center_timestamp_us = at,
                           .before_seconds = 3,
                           .after_seconds = 4,
                           .confidence = -1,
                           .created_by = "ruth-evidence"};
    vas_bookmark b;
    vas_snapshot s;
    vas_error e;
    CHECK(vas_bookmark_create(v, "str-1", &rq, &b, &e) == 0);
    CHECK(vas_snapshot_create(v, "str-1", at, "ruth-evidence", NULL, &s, &e) == 0);
    char iso[CLOCK_ISO8601_LEN];
    clock_format_iso8601_ms(at, iso, sizeof iso);
    json_t *cs = calls(&dbl);
    const json_t *bb = last_body(cs, "POST", "/v2/streams/str-1/bookmarks");
    const json_t *sb = last_body(cs, "POST", "/v2/streams/str-1/snapshots");
    bool ok = bb && sb &&
              strcmp(json_string_value(json_object_get(bb, "source")), "historical") == 0 &&
              strcmp(json_string_value(json_object_get(bb, "center_timestamp")), iso) == 0 &&
              json_object_get(bb, "confidence") == NULL &&
              strcmp(json_string_value(json_object_get(sb, "source")), "historical") == 0 &&
              strcmp(json_string_value(json_object_get(sb, "timestamp")), iso) == 0;
    json_decref(cs);
    CHECK(ok);
    /* Older than the retention: NO_RECORDING_DATA, final. */
    ctl(&dbl, "POST", "/_control/stream", "{\"stream_id\":\"old\",\"no_recording\":true}", NULL);
    CHECK_EQ_INT(vas_snapshot_create(v, "old", at, "ruth-evidence", NULL, &s, &e), -1);
    CHECK_EQ_STR(e.code, "NO_RECORDING_DATA");
    CHECK_EQ_INT(vas_retry_delay_ms(&e, 1), -1);
    vas_destroy(v);
}

static void test_token_expiry(void)
{
    reset(&dbl);
    vas *v = client(&dbl, NULL);
    CHECK(v);
    vas_stream *st = NULL;
    size_t n = 0;
    vas_error e;
    CHECK(vas_streams(v, NULL, &st, &n, &e) == 0);
    free(st);
    CHECK_EQ_INT(ctl(&dbl, "POST", "/_control/expire-tokens", "{}", NULL), 200);
    CHECK_MSG(vas_streams(v, "cam-1", &st, &n, &e) == 0, "%d %s", e.http_status, e.code);
    bool found = n == 1 && strcmp(st[0].id, "str-1") == 0 && strcmp(st[0].state, "LIVE") == 0;
    free(st);
    CHECK(found);
    json_t *cs = calls(&dbl);
    CHECK(cs);
    int auth = count_calls(cs, "POST", "/v2/auth/token", 200) -
               count_calls(cs, "POST", "/v2/auth/token/refresh", 200);
    int refresh = count_calls(cs, "POST", "/v2/auth/token/refresh", 200);
    int rejected = count_calls(cs, "GET", "/v2/streams", 401);
    json_decref(cs);
    CHECK_EQ_INT(auth, 1);    /* authenticated once, at the first call */
    CHECK_EQ_INT(refresh, 1); /* the 401 was answered by a refresh */
    CHECK_EQ_INT(rejected, 1);
    vas_destroy(v);
}

static void test_refresh_revoked(void)
{
    reset(&dbl);
    vas *v = client(&dbl, NULL);
    CHECK(v);
    vas_stream *st = NULL;
    size_t n = 0;
    vas_error e;
    CHECK(vas_probe(v, &e) == 0);
    ctl(&dbl, "POST", "/_control/expire-tokens", "{}", NULL);
    ctl(&dbl, "POST", "/_control/revoke-refresh", "{}", NULL);
    CHECK_MSG(vas_streams(v, NULL, &st, &n, &e) == 0, "%d %s %s", e.http_status, e.code, e.message);
    free(st);
    CHECK_EQ_INT(n, 3);
    json_t *cs = calls(&dbl);
    int refused = count_calls(cs, "POST", "/v2/auth/token/refresh", 401);
    int auth = count_calls(cs, "POST", "/v2/auth/token", 200);
    json_decref(cs);
    CHECK_EQ_INT(refused, 1);
    CHECK_EQ_INT(auth, 2); /* the first, and again after the refused refresh */
    vas_destroy(v);
}

typedef struct worker_arg {
    vas *v;
    int failures;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < 5; i++) {
        vas_error e;
        if (vas_probe(a->v, &e) != 0)
            a->failures++;
    }
    return NULL;
}

/* One token per process: after an expiry, many threads share one refresh. */
static void test_threads_share_refresh(void)
{
    reset(&dbl);
    vas *v = client(&dbl, NULL);
    CHECK(v);
    vas_error e;
    CHECK(vas_probe(v, &e) == 0);
    ctl(&dbl, "POST", "/_control/expire-tokens", "{}", NULL);
    pthread_t t[6];
    worker_arg a[6];
    for (int i = 0; i < 6; i++) {
        a[i] = (worker_arg){v, 0};
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    int failures = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        failures += a[i].failures;
    }
    json_t *cs = calls(&dbl);
    int refresh = count_calls(cs, "POST", "/v2/auth/token/refresh", 0);
    json_decref(cs);
    vas_destroy(v);
    CHECK_EQ_INT(failures, 0);
    CHECK_EQ_INT(refresh, 1);
}

/* Refresh before expiry at 80 % of the lifetime, without a 401 first. */
static void test_proactive_refresh(void)
{
    vas *v = client(&dbl_fast, NULL);
    CHECK(v);
    vas_error e;
    CHECK(vas_probe(v, &e) == 0);
    usleep(2600 * 1000); /* lifetime 3 s: refresh due at 2.4 s */
    CHECK(vas_probe(v, &e) == 0);
    json_t *cs = calls(&dbl_fast);
    int refresh = count_calls(cs, "POST", "/v2/auth/token/refresh", 200);
    int rejected = count_calls(cs, "GET", "/v2/streams", 401);
    json_decref(cs);
    vas_destroy(v);
    CHECK_EQ_INT(refresh, 1);
    CHECK_EQ_INT(rejected, 0);
}

static void test_errors(void)
{
    reset(&dbl);
    vas *v = client(&dbl, NULL);
    CHECK(v);
    vas_snapshot s;
    vas_error e;
    ctl(&dbl, "POST", "/_control/fail",
        "{\"status\":503,\"count\":1,\"error\":\"SERVICE_UNAVAILABLE\",\"prefix\":\"/v2/streams\"}",
        NULL);
    CHECK_EQ_INT(vas_snapshot_create(v, "str-1", 0, "t", NULL, &s, &e), -1);
    CHECK_EQ_INT(e.http_status, 503);
    CHECK_EQ_STR(e.code, "SERVICE_UNAVAILABLE");
    int d = vas_retry_delay_ms(&e, 1);
    CHECK_MSG(d >= 8000 && d <= 12000, "%d", d);
    CHECK(vas_snapshot_create(v, "str-1", 0, "t", NULL, &s, &e) == 0); /* the outage is over */

    ctl(&dbl, "POST", "/_control/stream", "{\"stream_id\":\"gone\",\"missing\":true}", NULL);
    CHECK_EQ_INT(vas_snapshot_create(v, "gone", 0, "t", NULL, &s, &e), -1);
    CHECK_EQ_INT(e.http_status, 404);
    CHECK_EQ_STR(e.code, "STREAM_NOT_FOUND");
    CHECK_EQ_INT(vas_retry_delay_ms(&e, 1), -1);
    vas_bookmark b;
    CHECK_EQ_INT(vas_bookmark_get(v, "no-such-bookmark", &b, &e), -1);
    CHECK_EQ_INT(e.http_status, 404);
    CHECK_EQ_INT(vas_retry_delay_ms(&e, 1), -1);
    /* Exactly one call each: the client itself never retries an error. */
    json_t *cs = calls(&dbl);
    int gone = count_calls(cs, "POST", "/v2/streams/gone/", 0);
    json_decref(cs);
    CHECK_EQ_INT(gone, 1);
    vas_destroy(v);
}

/* Network errors: a dropped connection and a call past timeout_ms are
 * NETWORK with status 0, which the matrix retries. */
static void test_network(void)
{
    reset(&dbl);
    char es[256];
    vas_conf c = {.base_url = dbl.base,
                  .client_id = "ruth",
                  .client_secret = "ruth-secret",
                  .timeout_ms = 500};
    vas *v = vas_new(&c, es, sizeof es);
    CHECK(v);
    vas_error e;
    CHECK(vas_probe(v, &e) == 0);
    /* Two drops: curl may retry once on a reused connection by itself. */
    ctl(&dbl, "POST", "/_control/drop", "{\"count\":2}", NULL);
    int rc = vas_probe(v, &e);
    if (rc != 0) {
        CHECK_EQ_INT(e.http_status, 0);
        CHECK_EQ_STR(e.code, "NETWORK");
        CHECK(vas_retry_delay_ms(&e, 1) > 0);
    }
    for (int i = 0; i < 3 && (rc = vas_probe(v, &e)) != 0; i++)
        ;
    CHECK_EQ_INT(rc, 0);
    ctl(&dbl, "POST", "/_control/latency", "{\"ms\":1500}", NULL);
    double t0 = itest_now();
    rc = vas_probe(v, &e);
    double took = itest_now() - t0;
    ctl(&dbl, "POST", "/_control/latency", "{\"ms\":0}", NULL);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(e.http_status, 0);
    CHECK_EQ_STR(e.code, "NETWORK");
    CHECK_MSG(took < 1.2, "the call took %.2f s past its 0.5 s timeout", took);
    CHECK(vas_probe(v, &e) == 0);
    vas_destroy(v);
}

static void test_devices(void)
{
    reset(&dbl);
    vas *v = client(&dbl, NULL);
    CHECK(v);
    const char *devs =
        "[{\"id\":\"d-1\",\"name\":\"CUG1\",\"display_name\":\"TANK5_IN_CUG1\","
        "\"location\":\"Gate\",\"stream_id\":\"s-1\",\"state\":\"LIVE\"},"
        "{\"id\":\"d-2\",\"name\":\"CUG2\",\"stream_id\":\"s-2\",\"state\":\"READY\"}]";
    CHECK_EQ_INT(ctl(&dbl, "PUT", "/_control/devices", devs, NULL), 200);
    vas_device *d = NULL;
    size_t n = 0;
    vas_error e;
    CHECK(vas_devices(v, &d, &n, &e) == 0);
    bool ok = n == 2 && strcmp(d[0].id, "d-1") == 0 && strcmp(d[0].name, "TANK5_IN_CUG1") == 0 &&
              strcmp(d[0].location, "Gate") == 0 && strcmp(d[1].name, "CUG2") == 0;
    free(d);
    CHECK(ok);
    vas_stream *s = NULL;
    CHECK(vas_streams(v, "d-2", &s, &n, &e) == 0);
    ok = n == 1 && strcmp(s[0].id, "s-2") == 0 && strcmp(s[0].camera_id, "d-2") == 0 &&
         strcmp(s[0].state, "READY") == 0;
    free(s);
    CHECK(ok);
    CHECK(vas_streams(v, NULL, &s, &n, &e) == 0);
    free(s);
    CHECK_EQ_INT(n, 2);
    vas_destroy(v);
}

int main(void)
{
    const char *args[] = {"--snapshot-delay-ms", "1000", "--bookmark-delay-ms", "1500", NULL};
    const char *fast[] = {"--token-lifetime", "3", NULL};
    if (!double_start(&dbl, args) || !double_start(&dbl_fast, fast))
        return 1;
    TEST_RUN(test_snapshot);
    TEST_RUN(test_bookmark_and_range);
    TEST_RUN(test_historical);
    TEST_RUN(test_token_expiry);
    TEST_RUN(test_refresh_revoked);
    TEST_RUN(test_threads_share_refresh);
    TEST_RUN(test_proactive_refresh);
    TEST_RUN(test_errors);
    TEST_RUN(test_network);
    TEST_RUN(test_devices); /* last: it replaces the default devices */
    int stop = double_stop(&dbl);
    int stop_fast = double_stop(&dbl_fast);
    if (stop != 0 || stop_fast != 0)
        fprintf(stderr, "ruth-vas-double did not exit cleanly on SIGTERM: %d %d\n", stop,
                stop_fast);
    return TEST_EXIT() || stop != 0 || stop_fast != 0;
}
