/* ruth-ingest against real Kafka:
 *  - a batch answered 202 is on the topic, keyed by camera_id, byte for byte;
 *  - invalid items are named by index and field, and nothing of that
 *    request reaches the topic;
 *  - batch and body limits, malformed bodies;
 *  - auth: no token, wrong role, expired, wrong key (401/403), runtime
 *    token and ingest key (202);
 *  - Avro bodies (single-object accepted; Confluent without a registry 400);
 *  - the broker stopped mid-stream: 503 with Retry-After while it is down,
 *    202 again after, and every result of every 202 is on the topic. */
#include "ihttp.h"
#include "itest.h"

#include "api_auth.h"
#include "buf.h"
#include "codec.h"
#include "kafka_admin.h"
#include "xmalloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#define SECRET "ingest-test-secret-0123456789abcdef"
#define KEY "ingest-key-0123456789abcdef-0123456789"
#define MAX_BATCH 50
#define MAX_IDS 200000

static int port;
static char logf[256];
static atomic_long next_id;

/* result ids answered 202 */
static char (*acked)[40];
static atomic_long nacked;

typedef struct answer {
    long status;
    buf body;
    char retry_after[32];
} answer;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    buf_append(arg, p, sz * n);
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    answer *a = arg;
    if (!strncasecmp(p, "Retry-After:", 12))
        snprintf(a->retry_after, sizeof a->retry_after, "%.*s", (int)strcspn(p + 12, "\r\n") - 1,
                 p + 13);
    return sz * n;
}

/* POST `body` to /v1/inference with `auth` (a full header line or NULL). */
static answer post(const char *auth, const char *ctype, const void *body, size_t len)
{
    answer a = {0};
    char url[128], ct[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/inference", port);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
    struct curl_slist *hs = curl_slist_append(NULL, ct);
    if (auth)
        hs = curl_slist_append(hs, auth);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    buf_cstr(&a.body);
    return a;
}

static long get_status(const char *path)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    buf b = {0};
    long st = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    buf_free(&b);
    return st;
}

static void new_id(char out[40])
{
    snprintf(out, 40, "00000000-0000-4000-8000-%012lx", atomic_fetch_add(&next_id, 1));
}

/* One valid result as JSON with a fresh result_id (written to id). */
static void result_json(buf *b, int cam, char id[40])
{
    char ts[40];
    clock_format_iso8601_ms(clock_wall_us(), ts, sizeof ts);
    new_id(id);
    buf_printf(b,
               "{\"camera_id\":\"cam-%d\",\"model_id\":\"fall-detector\",\"timestamp\":\"%s\","
               "\"event_type\":\"fall_detected\",\"confidence\":0.9,\"result_id\":\"%s\"}",
               cam, ts, id);
}

/* A batch of n valid results; their ids go to ids[]. */
static void batch_json(buf *b, int n, char (*ids)[40])
{
    buf_append_str(b, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            buf_append_str(b, ",");
        result_json(b, i % 7, ids[i]);
    }
    buf_append_str(b, "]");
}

static void remember(char (*ids)[40], int n)
{
    long at = atomic_fetch_add(&nacked, n);
    for (int i = 0; i < n && at + i < MAX_IDS; i++)
        memcpy(acked[at + i], ids[i], 40);
}

static char key_header[128], runtime_header[1024];
/* result ids of valid items in refused requests: never on the topic */
static char refused[8][40];
static int nrefused;

/* ---- what is on the topic ---- */

typedef struct seen {
    codec *c;
    char (*ids)[40];
    long n;
    long bad_keys;
} seen;

static void on_msg(const rd_kafka_message_t *m, void *arg)
{
    seen *s = arg;
    inference_result r = {0};
    codec_error err;
    /* As the worker reads it: model_id and timestamp may be left out. */
    const codec_decode_opts opts = {
        .default_timestamp_us = 1, .has_default_timestamp = true, .model_id_optional = true};
    if (codec_decode_inference_opts(s->c, m->payload, m->len, &opts, &r, &err) != 0) {
        fprintf(stderr, "undecodable message on the topic: %s\n", err.message);
        s->bad_keys++;
        return;
    }
    if (!m->key || m->key_len != strlen(r.camera_id) || memcmp(m->key, r.camera_id, m->key_len))
        s->bad_keys++;
    if (r.result_id && s->n < MAX_IDS)
        snprintf(s->ids[s->n++], 40, "%s", r.result_id);
    inference_result_free(&r);
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* ---- cases ---- */

static void accepted_batch_is_on_topic(void)
{
    char ids[20][40];
    buf b = {0};
    batch_json(&b, 20, ids);
    answer a = post(runtime_header, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 202);
    json_t *j = json_loads((const char *)a.body.data, 0, NULL);
    CHECK(j && json_integer_value(json_object_get(j, "accepted")) == 20);
    json_decref(j);
    if (a.status == 202)
        remember(ids, 20);
    buf_free(&a.body);
    buf_free(&b);
    /* one object, and the key instead of a token */
    char id[1][40];
    buf_reset(&b);
    result_json(&b, 3, id[0]);
    a = post(key_header, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 202);
    if (a.status == 202)
        remember(id, 1);
    buf_free(&a.body);
    buf_free(&b);
}

/* What the worker fills in (model_id from the camera's inference session,
 * timestamp from the record) may be left out here too: accepted as the
 * worker would accept it, and written as sent. */
static void worker_defaults_accepted(void)
{
    char id[40];
    new_id(id);
    char body[256];
    snprintf(body, sizeof body,
             "{\"cameraId\":\"cam-3\",\"eventType\":\"fall_detected\",\"confidence\":0.8,"
             "\"result_id\":\"%s\"}",
             id);
    answer a = post(runtime_header, NULL, body, strlen(body));
    CHECK_MSG(a.status == 202, "%ld: %.*s", a.status, (int)a.body.len, (const char *)a.body.data);
    if (a.status == 202)
        remember(&id, 1);
    buf_free(&a.body);
}

static void bad_items_named(void)
{
    char ids[2][40], ts[40];
    clock_format_iso8601_ms(clock_wall_us(), ts, sizeof ts);
    buf b = {0};
    buf_append_str(&b, "[");
    result_json(&b, 1, ids[0]);
    buf_printf(&b,
               ",{\"model_id\":\"m\",\"timestamp\":\"%s\",\"event_type\":\"x\"}"
               ",{\"camera_id\":\"c\",\"model_id\":\"m\",\"timestamp\":\"%s\","
               "\"event_type\":\"x\",\"confidence\":2}"
               ",42,",
               ts, ts);
    result_json(&b, 2, ids[1]);
    buf_append_str(&b, "]");
    answer a = post(runtime_header, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 400);
    json_t *j = json_loads((const char *)a.body.data, 0, NULL);
    CHECK(j != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "error")), "VALIDATION_ERROR");
    CHECK(json_integer_value(json_object_get(j, "status_code")) == 400);
    CHECK(json_string_value(json_object_get(j, "request_id")) != NULL);
    json_t *d = json_object_get(j, "details");
    json_t *items = json_object_get(d, "items");
    CHECK(json_array_size(items) == 3);
    CHECK(json_integer_value(json_object_get(d, "invalid_items")) == 3);
    CHECK(json_integer_value(json_object_get(d, "total_items")) == 5);
    static const struct {
        int index;
        const char *field, *code;
    } want[] = {{1, "camera_id", "MISSING_FIELD"},
                {2, "confidence", "INVALID_VALUE"},
                {3, NULL, "WRONG_TYPE"}};
    for (size_t i = 0; i < 3 && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        CHECK(json_integer_value(json_object_get(it, "index")) == want[i].index);
        if (want[i].field)
            CHECK_EQ_STR(json_string_value(json_object_get(it, "field")), want[i].field);
        else
            CHECK(json_is_null(json_object_get(it, "field")));
        CHECK_EQ_STR(json_string_value(json_object_get(it, "code")), want[i].code);
    }
    json_decref(j);
    buf_free(&a.body);
    buf_free(&b);
    memcpy(refused[nrefused++], ids[0], 40); /* checked in acknowledged_means_written */
    memcpy(refused[nrefused++], ids[1], 40);
}

static void limits(void)
{
    char ids[MAX_BATCH + 1][40];
    buf b = {0};
    batch_json(&b, MAX_BATCH + 1, ids);
    answer a = post(runtime_header, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 413);
    CHECK(strstr((const char *)a.body.data, "\"max_items\":50") != NULL);
    buf_free(&a.body);
    buf_reset(&b);
    batch_json(&b, MAX_BATCH, ids); /* exactly the limit is fine */
    a = post(runtime_header, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 202);
    if (a.status == 202)
        remember(ids, MAX_BATCH);
    buf_free(&a.body);
    static const char *const bad[] = {"[]", "[{}", "{\"a\":1} x", "nonsense", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = post(runtime_header, NULL, bad[i], strlen(bad[i]));
        CHECK_MSG(a.status == 400, "body \"%s\": %ld", bad[i], a.status);
        buf_free(&a.body);
    }
    buf_reset(&b);
    buf_append_str(&b, "[");
    while (b.len < 70000)
        buf_append_str(&b, "{\"camera_id\":\"padding padding padding padding\"},");
    buf_append_str(&b, "{}]");
    a = post(runtime_header, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 413);
    buf_free(&a.body);
    buf_free(&b);
}

static void auth(void)
{
    char id[1][40];
    buf b = {0};
    result_json(&b, 1, id[0]);
    int64_t now = (int64_t)time(NULL);
    char *viewer = auth_mint(SECRET, "vera", ROLE_VIEWER, now, now + 600);
    char *admin = auth_mint(SECRET, "adam", ROLE_ADMIN, now, now + 600);
    char *expired = auth_mint(SECRET, "rt", ROLE_RUNTIME, now - 7200, now - 3600);
    char *forged =
        auth_mint("another-secret-0123456789abcdef-xyz", "rt", ROLE_RUNTIME, now, now + 600);
    char h[1024];
    snprintf(h, sizeof h, "Authorization: Bearer %s", viewer);
    answer a = post(NULL, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 401);
    buf_free(&a.body);
    a = post(h, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 403);
    CHECK(strstr((const char *)a.body.data, "INSUFFICIENT_PERMISSIONS") != NULL);
    buf_free(&a.body);
    snprintf(h, sizeof h, "Authorization: Bearer %s", admin);
    a = post(h, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 403);
    buf_free(&a.body);
    snprintf(h, sizeof h, "Authorization: Bearer %s", expired);
    a = post(h, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 401);
    CHECK(strstr((const char *)a.body.data, "TOKEN_EXPIRED") != NULL);
    buf_free(&a.body);
    snprintf(h, sizeof h, "Authorization: Bearer %s", forged);
    a = post(h, NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 401);
    buf_free(&a.body);
    a = post("X-Ingest-Key: not-the-key-0123456789abcdef-0123456789", NULL, b.data, b.len);
    CHECK_EQ_INT((int)a.status, 401);
    buf_free(&a.body);
    /* the key is never logged */
    CHECK_EQ_INT(itest_log_count(logf, KEY), 0);
    free(viewer);
    free(admin);
    free(expired);
    free(forged);
    buf_free(&b);
}

static void avro_bodies(void)
{
    char err[256];
    codec *c = codec_new(NULL, err, sizeof err);
    char id[1][40];
    new_id(id[0]);
    inference_result r = {0};
    r.camera_id = "cam-avro";
    r.model_id = "fall-detector";
    r.timestamp_us = clock_wall_us();
    r.event_type = "fall_detected";
    r.confidence = 0.8;
    r.result_id = id[0];
    buf b = {0};
    codec_error ce;
    CHECK(codec_encode_inference(c, CODEC_FMT_SINGLE_OBJECT, 0, &r, &b, &ce) == 0);
    answer a = post(key_header, "avro/binary", b.data, b.len);
    CHECK_EQ_INT((int)a.status, 202);
    if (a.status == 202)
        remember(id, 1);
    buf_free(&a.body);
    /* Confluent framing needs a registry, which this stack has not */
    buf_reset(&b);
    CHECK(codec_encode_inference(c, CODEC_FMT_CONFLUENT, 7, &r, &b, &ce) == 0);
    a = post(key_header, "application/vnd.apache.avro", b.data, b.len);
    CHECK_EQ_INT((int)a.status, 400);
    CHECK(strstr((const char *)a.body.data, "UNKNOWN_SCHEMA_ID") != NULL);
    buf_free(&a.body);
    /* JSON sent as Avro is refused, not guessed */
    a = post(key_header, "application/vnd.apache.avro", "{}", 2);
    CHECK_EQ_INT((int)a.status, 400);
    buf_free(&a.body);
    buf_free(&b);
    codec_destroy(c);
}

/* ---- the broker stopped mid-stream ---- */

static atomic_bool posting;
static atomic_long n202, n503, n503_retry, nother;

static void *poster(void *arg)
{
    (void)arg;
    char ids[10][40];
    while (atomic_load(&posting)) {
        buf b = {0};
        batch_json(&b, 10, ids);
        answer a = post(runtime_header, NULL, b.data, b.len);
        if (a.status == 202) {
            atomic_fetch_add(&n202, 1);
            remember(ids, 10);
        } else if (a.status == 503) {
            atomic_fetch_add(&n503, 1);
            if (atoi(a.retry_after) >= 1)
                atomic_fetch_add(&n503_retry, 1);
            usleep(200 * 1000);
        } else {
            atomic_fetch_add(&nother, 1);
            fprintf(stderr, "unexpected %ld: %s\n", a.status, (const char *)a.body.data);
        }
        buf_free(&a.body);
        buf_free(&b);
    }
    return NULL;
}

static bool wait_ready(double timeout_s)
{
    double end = itest_now() + timeout_s;
    while (itest_now() < end) {
        if (get_status("/ready") == 200)
            return true;
        usleep(200 * 1000);
    }
    return false;
}

static void broker_outage(void)
{
    char cmd[1200];
    const char *stack = testlib_env("RUTH_DEV_STACK");
    atomic_store(&posting, true);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, poster, NULL);
    sleep(2);
    long before = atomic_load(&n202);
    snprintf(cmd, sizeof cmd, "'%s' kafka-stop", stack);
    CHECK(system(cmd) == 0);
    sleep(5);
    CHECK_EQ_INT((int)get_status("/ready"), 503);
    CHECK_EQ_INT((int)get_status("/health"), 503); /* unhealthy: Kafka is what it needs */
    long during = atomic_load(&n202);
    sleep(3);
    /* nothing can be acknowledged while the broker is down */
    CHECK_MSG(atomic_load(&n202) == during, "202s while Kafka was down: %ld -> %ld", during,
              atomic_load(&n202));
    snprintf(cmd, sizeof cmd, "'%s' kafka-start", stack);
    CHECK(system(cmd) == 0);
    CHECK(wait_ready(60));
    long after_start = atomic_load(&n202);
    sleep(3);
    atomic_store(&posting, false);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    fprintf(stderr,
            "outage: 202 before %ld, at stop %ld, after restart %ld; 503 %ld (%ld with "
            "Retry-After), other %ld\n",
            before, during, atomic_load(&n202) - after_start, atomic_load(&n503),
            atomic_load(&n503_retry), atomic_load(&nother));
    CHECK(before > 0);
    CHECK(atomic_load(&n503) > 0);
    CHECK(atomic_load(&n503) == atomic_load(&n503_retry));
    CHECK(atomic_load(&n202) > after_start); /* accepted again after the restart */
    CHECK_EQ_INT((int)atomic_load(&nother), 0);
    /* ruth-api's health shape: status, service, version, timestamp,
     * components, error. */
    ihttp_resp h = {0};
    ihttp_request(port, "GET", "/health", NULL, NULL, NULL, &h);
    CHECK_EQ_INT(h.status, 200);
    CHECK_EQ_STR(json_string_value(json_object_get(h.json, "status")), "healthy");
    CHECK_EQ_STR(json_string_value(json_object_get(h.json, "service")), "ruth-ingest");
    CHECK(json_is_string(json_object_get(h.json, "version")) &&
          json_is_string(json_object_get(h.json, "timestamp")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(h.json, "components"), "kafka")),
                 "healthy");
    CHECK(json_is_null(json_object_get(h.json, "error")));
    ihttp_resp_free(&h);
}

/* A result the broker refuses for good (over the topic's max.message.bytes)
 * is answered 500 naming the refusal, not 503: a retry would be refused
 * the same way. A second ruth-ingest writes to a topic taking 1 KiB. */
static void refused_for_good_is_500(void)
{
    char topic[200], err[512], log2[300];
    snprintf(topic, sizeof topic, "%s.small", getenv("RUTH_TOPIC_INFERENCE"));
    rd_kafka_t *adm = itest_producer();
    kafka_topic_spec spec = {topic, 1, 1, 1024};
    int created = 0;
    int rc = kafka_admin_create_topics(adm, &spec, 1, 10000, &created, err, sizeof err);
    rd_kafka_destroy(adm);
    CHECK_MSG(rc == 0, "%s", err);
    char *inference = xstrdup(getenv("RUTH_TOPIC_INFERENCE"));
    setenv("RUTH_TOPIC_INFERENCE", topic, 1);
    snprintf(log2, sizeof log2, "%s.small", logf);
    pid_t pid = itest_spawn("ruth-ingest", NULL, log2);
    setenv("RUTH_TOPIC_INFERENCE", inference, 1);
    free(inference);
    int main_port = port;
    port = -1;
    for (int i = 0; i < 100 && port <= 0; i++) {
        usleep(100 * 1000);
        port = itest_log_int(log2, "\"ingest_port\":");
    }
    bool ready = port > 0 && wait_ready(30);
    /* ~6 KB of attribute text that lz4 cannot bring under 1 KiB. */
    buf b = {0};
    char id[40];
    new_id(id);
    buf_printf(&b,
               "{\"camera_id\":\"cam-big\",\"event_type\":\"x\",\"result_id\":\"%s\","
               "\"attributes\":{",
               id);
    uint64_t x = 88172645463325252ull;
    for (int k = 0; k < 2; k++) { /* two values, each under the codec's 4096 */
        buf_printf(&b, "%s\"noise%d\":\"", k ? "," : "", k);
        for (int i = 0; i < 3000; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf_append_byte(&b, "abcdefghijklmnopqrstuvwxyz0123456789"[x % 36]);
        }
        buf_append_str(&b, "\"");
    }
    buf_append_str(&b, "}}");
    answer a = ready ? post(runtime_header, NULL, b.data, b.len) : (answer){0};
    json_t *j = a.body.len ? json_loadb((const char *)a.body.data, a.body.len, 0, NULL) : NULL;
    kill(pid, SIGTERM);
    itest_wait_exit(pid, 30);
    port = main_port;
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *why = json_string_value(json_object_get(json_object_get(j, "details"), "reason"));
    char error[64], reason[64];
    snprintf(error, sizeof error, "%s", e ? e : "");
    snprintf(reason, sizeof reason, "%s", why ? why : "");
    long status = a.status;
    fprintf(stderr, "   %ld: %.300s\n", status, a.body.len ? (const char *)a.body.data : "");
    json_decref(j);
    buf_free(&a.body);
    buf_free(&b);
    CHECK(ready);
    CHECK_EQ_INT(status, 500);
    CHECK_EQ_STR(error, "INTERNAL_ERROR");
    CHECK_EQ_STR(reason, "MSG_SIZE_TOO_LARGE");
}

/* Every result answered 202 is on the topic, keyed by its camera, and the
 * refused ones are not. */
static void acknowledged_means_written(void)
{
    char err[256];
    seen s = {codec_new(NULL, err, sizeof err), xcalloc(MAX_IDS, 40), 0, 0};
    long n = itest_consume(getenv("RUTH_TOPIC_INFERENCE"), 5, on_msg, &s);
    qsort(s.ids, (size_t)s.n, 40, id_cmp);
    long want = atomic_load(&nacked), missing = 0;
    for (long i = 0; i < want && i < MAX_IDS; i++)
        if (!bsearch(acked[i], s.ids, (size_t)s.n, 40, id_cmp)) {
            if (missing++ < 5)
                fprintf(stderr, "acknowledged but not on the topic: %s\n", acked[i]);
        }
    fprintf(stderr, "topic: %ld messages; %ld results acknowledged, %ld of them missing\n", n, want,
            missing);
    for (int i = 0; i < nrefused; i++)
        CHECK_MSG(!bsearch(refused[i], s.ids, (size_t)s.n, 40, id_cmp),
                  "%s of a refused request is on the topic", refused[i]);
    CHECK(want > 100);
    CHECK_EQ_INT((int)missing, 0);
    CHECK_EQ_INT((int)s.bad_keys, 0);
    codec_destroy(s.c);
    free(s.ids);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_setup("ingest", 3);
    acked = xcalloc(MAX_IDS, sizeof *acked);
    atomic_store(&next_id, (long)(itest_now() * 1000) % 1000000 * 1000);
    setenv("JWT_SECRET_KEY", SECRET, 1);
    setenv("RUTH_INGEST_KEY", KEY, 1);
    setenv("RUTH_INGEST_PORT", "0", 1);
    setenv("RUTH_INGEST_MAX_BATCH", "50", 1);
    setenv("RUTH_INGEST_MAX_BODY_BYTES", "65536", 1);
    setenv("RUTH_INGEST_ACK_TIMEOUT_MS", "2000", 1);
    setenv("RUTH_INGEST_RETRY_AFTER_SEC", "2", 1);
    /* avro_bodies expects a Confluent id to be unknown: no registry here
     * (the dev stack's, shared with other tests, may know any id). */
    unsetenv("SCHEMA_REGISTRY_URL");
    snprintf(logf, sizeof logf, "/tmp/%s-ingest.log", itest_db_name);
    snprintf(key_header, sizeof key_header, "X-Ingest-Key: %s", KEY);
    int64_t now = (int64_t)time(NULL);
    char *tok = auth_mint(SECRET, "runtime-1", ROLE_RUNTIME, now, now + 3600);
    snprintf(runtime_header, sizeof runtime_header, "Authorization: Bearer %s", tok);
    free(tok);
    pid_t pid = itest_spawn("ruth-ingest", NULL, logf);
    for (int i = 0; i < 100 && port <= 0; i++) {
        usleep(100 * 1000);
        port = itest_log_int(logf, "\"ingest_port\":");
    }
    if (port <= 0 || !wait_ready(30)) {
        fprintf(stderr, "ruth-ingest did not become ready (log %s)\n", logf);
        kill(pid, SIGKILL);
        itest_teardown();
        return 1;
    }
    TEST_RUN(accepted_batch_is_on_topic);
    TEST_RUN(bad_items_named);
    TEST_RUN(worker_defaults_accepted);
    TEST_RUN(limits);
    TEST_RUN(auth);
    TEST_RUN(avro_bodies);
    TEST_RUN(broker_outage);
    TEST_RUN(refused_for_good_is_500);
    TEST_RUN(acknowledged_means_written);
    kill(pid, SIGTERM);
    int st = itest_wait_exit(pid, 30);
    if (st != 0) {
        fprintf(stderr, "ruth-ingest exited %d after SIGTERM\n", st);
        testlib_failures++;
    }
    free(acked);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT();
}
