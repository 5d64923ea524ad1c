/* Confluent-framed Avro through a real ruth-worker against a real Schema
 * Registry (Apicurio Registry from scripts/dev-stack, its Confluent API in
 * SCHEMA_REGISTRY_URL), Kafka and PostgreSQL:
 *  - ruth-simulate registers the bundled InferenceResult schema and
 *    produces Confluent-framed Avro; the worker stores every result;
 *  - writer schemas that evolved compatibly (a field added with a default;
 *    fields removed that the reader defaults) resolve against the bundled
 *    reader schema, with the values they carry;
 *  - an incompatible writer schema (camera_id an int) is dead-lettered as
 *    INCOMPATIBLE_SCHEMA with its reason, an unknown id as
 *    UNKNOWN_SCHEMA_ID;
 *  - the worker asks the registry for each id once: the registry's own
 *    request counter (/metrics) goes up by one per distinct id, however
 *    many messages carry it;
 *  - the registry stopped mid-stream is an outage: the batch is retried,
 *    nothing is dead-lettered, and the stream continues once it is back. */
#include "itest.h"

#include "buf.h"
#include "codec.h"

#include <avro.h>
#include <curl/curl.h>
#include <jansson.h>

#define N_SIM 300
#define N_EACH 40

static char worker_log[256];
static const char *registry_url; /* SCHEMA_REGISTRY_URL: the Confluent API */
static char subject[300];
static int64_t base_ts;
static long next_result; /* result ids */
static long produced;    /* capture times */
static rd_kafka_t *producer;
static int32_t id_bundled = -1; /* the bundled schema's id, once registered */

static size_t collect(char *data, size_t size, size_t n, void *out)
{
    buf_append(out, data, size * n);
    return size * n;
}

/* HTTP to the registry; the status, the NUL-terminated body in `body`. */
static long http(const char *url, const char *post, buf *body)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    struct curl_slist *h = NULL;
    if (post) {
        h = curl_slist_append(h, "Content-Type: application/vnd.schemaregistry.v1+json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    }
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_append(body, "", 1);
    return code;
}

/* Registers `schema` under the test's subject; its id, or -1. */
static int32_t register_schema(const char *schema)
{
    char url[512];
    snprintf(url, sizeof url, "%s/subjects/%s/versions", registry_url, subject);
    json_t *j = json_pack("{ss}", "schema", schema);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    buf b = {0};
    long st = http(url, text, &b);
    free(text);
    json_t *doc = json_loads((const char *)b.data, 0, NULL);
    int32_t id = st == 200 ? (int32_t)json_integer_value(json_object_get(doc, "id")) : -1;
    if (id <= 0)
        fprintf(stderr, "   registering: %ld %s\n", st, (const char *)b.data);
    json_decref(doc);
    buf_free(&b);
    return id > 0 ? id : -1;
}

/* GET /schemas/ids/{id} answers the registry has served with `group`
 * (2xx, 4xx), from its own Micrometer counter; -1 when unreadable. */
static double registry_gets(const char *group)
{
    char url[512], needle[256];
    snprintf(url, sizeof url, "%s/metrics", testlib_env("RUTH_REGISTRY_URL"));
    snprintf(needle, sizeof needle,
             "rest_requests_seconds_count{method=\"GET\",path=\"/apis/ccompat/v7/schemas/ids/"
             "{id}\",status_code_group=\"%s\"} ",
             group);
    buf b = {0};
    double v = -1;
    if (http(url, NULL, &b) == 200) {
        const char *at = strstr((const char *)b.data, needle);
        v = at ? strtod(at + strlen(needle), NULL) : 0; /* absent: none served yet */
    }
    buf_free(&b);
    return v;
}

/* ---- writer schemas, derived from the bundled one ---- */

/* The bundled InferenceResult with `drop` fields removed (comma-separated
 * names) and, when add is set, that field appended. Caller frees. */
static char *writer_schema(const char *drop, const char *add)
{
    char err[256];
    codec *c = codec_new(NULL, err, sizeof err);
    json_t *s = json_loads(codec_schema_json(c, "InferenceResult", NULL), 0, NULL);
    codec_destroy(c);
    json_t *fields = json_object_get(s, "fields"), *kept = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        char name[80];
        snprintf(name, sizeof name, ",%s,", json_string_value(json_object_get(f, "name")));
        char list[256];
        snprintf(list, sizeof list, ",%s,", drop ? drop : "");
        if (!strstr(list, name))
            json_array_append(kept, f);
    }
    if (add)
        json_array_append_new(kept, json_loads(add, 0, NULL));
    json_object_set_new(s, "fields", kept);
    char *text = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    return text;
}

/* One record of writer schema w, Confluent-framed with id: every field the
 * test knows is set (camera, ids, times, 0.9), optional ones left null,
 * arrays and maps empty; camera_id as an int where the writer says so. */
static void encode(const char *schema_json, int32_t id, const char *camera, buf *out)
{
    avro_schema_t w;
    if (avro_schema_from_json_length(schema_json, strlen(schema_json), &w))
        return;
    avro_value_iface_t *iface = avro_generic_class_from_schema(w);
    avro_value_t rec, fv, br;
    avro_generic_value_new(iface, &rec);
    char result_id[40];
    snprintf(result_id, sizeof result_id, "00000000-0000-4000-8000-%012ld", next_result++);
    produced++;
    size_t n;
    avro_value_get_size(&rec, &n);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        avro_value_get_by_index(&rec, i, &fv, &name);
        const char *text = !strcmp(name, "camera_id")    ? camera
                           : !strcmp(name, "model_id")   ? "fall-detector"
                           : !strcmp(name, "event_type") ? "no_fall"
                           : !strcmp(name, "result_id")  ? result_id
                           : !strcmp(name, "site")       ? "north-gate"
                                                         : NULL;
        avro_value_t *v = &fv;
        if (avro_value_get_type(&fv) == AVRO_UNION) {
            avro_value_set_branch(&fv, text ? 1 : 0, &br);
            v = &br;
        }
        switch (avro_value_get_type(v)) {
        case AVRO_STRING:
            avro_value_set_string(v, text ? text : "");
            break;
        case AVRO_INT32:
            avro_value_set_int(v, 7);
            break;
        case AVRO_INT64:
            avro_value_set_long(v, base_ts + 1000 * produced); /* 1 ms apart */
            break;
        case AVRO_DOUBLE:
            avro_value_set_double(v, 0.9);
            break;
        default: /* null, empty array or map */
            break;
        }
    }
    size_t len = 0;
    avro_value_sizeof(&rec, &len);
    unsigned char hdr[5] = {0, (unsigned char)(id >> 24), (unsigned char)(id >> 16),
                            (unsigned char)(id >> 8), (unsigned char)id};
    buf_reset(out);
    buf_append(out, hdr, 5);
    buf_reserve(out, len);
    avro_writer_t wr = avro_writer_memory((char *)out->data + 5, (int64_t)len);
    if (avro_value_write(wr, &rec) == 0)
        out->len = 5 + len;
    avro_writer_free(wr);
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(w);
}

static void produce(rd_kafka_t *p, const char *schema, int32_t id, const char *camera, int count)
{
    buf b = {0};
    for (int i = 0; i < count; i++) {
        encode(schema, id, camera, &b);
        itest_produce(p, getenv("RUTH_TOPIC_INFERENCE"), camera, b.data, b.len);
    }
    rd_kafka_flush(p, 10000);
    buf_free(&b);
}

/* ---- dead letters ---- */

typedef struct dlq_seen {
    int incompatible, unknown, other;
    char incompatible_msg[512];
} dlq_seen;

static const char *header(const rd_kafka_message_t *m, const char *name, char *out, size_t n)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    out[0] = '\0';
    if (rd_kafka_message_headers(m, &h) == 0 &&
        rd_kafka_header_get_last(h, name, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(out, n, "%.*s", (int)len, (const char *)v);
    return out;
}

static void on_dead_letter(const rd_kafka_message_t *m, void *arg)
{
    dlq_seen *d = arg;
    char code[64], key[64];
    header(m, "ruth.error.code", code, sizeof code);
    snprintf(key, sizeof key, "%.*s", (int)m->key_len, (const char *)m->key);
    if (!strcmp(key, "cam-incompatible") && !strcmp(code, "INCOMPATIBLE_SCHEMA")) {
        d->incompatible++;
        header(m, "ruth.error.message", d->incompatible_msg, sizeof d->incompatible_msg);
    } else if (!strcmp(key, "cam-unknown") && !strcmp(code, "UNKNOWN_SCHEMA_ID")) {
        d->unknown++;
    } else {
        d->other++;
        fprintf(stderr, "   unexpected dead letter: key %s, %s\n", key, code);
    }
}

static long long events_of(const char *camera)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE camera_id = '%s'", camera);
    return itest_query(sql);
}

static long long wait_events(const char *camera, long long want, double timeout_s)
{
    double end = itest_now() + timeout_s;
    long long v;
    while ((v = events_of(camera)) != want && itest_now() < end)
        usleep(200 * 1000);
    return v;
}

static int dev_stack(const char *cmd)
{
    char sh[1024];
    snprintf(sh, sizeof sh, "\"%s\" %s >&2", testlib_env("RUTH_DEV_STACK"), cmd);
    return system(sh);
}

/* ---- cases ---- */

static void simulate_registers_and_worker_stores(void)
{
    char count[16];
    snprintf(count, sizeof count, "%d", N_SIM);
    const char *args[] = {"--count",         count,      "--fps",    "0",
                          "--cameras",       "3",        "--format", "avro-confluent",
                          "--camera-prefix", "cam-sim-", "--quiet",  NULL};
    CHECK_EQ_INT(itest_run("ruth-simulate", args), 0);
    /* The schema is in the registry under the topic's subject. */
    char url[512];
    snprintf(url, sizeof url, "%s/subjects/%s/versions/latest", registry_url, subject);
    buf b = {0};
    long st = http(url, NULL, &b);
    bool named = strstr((const char *)b.data, "InferenceResult") != NULL;
    buf_free(&b);
    CHECK_EQ_INT(st, 200);
    CHECK(named);
    long long got = itest_wait_query("SELECT count(*) FROM events WHERE camera_id LIKE 'cam-sim-%'",
                                     N_SIM, 120);
    CHECK_MSG(got == N_SIM, "%lld of %d simulated results stored", got, N_SIM);
}

static void evolution_incompatible_unknown_and_one_fetch_per_id(void)
{
    rd_kafka_t *p = producer;
    char *same = writer_schema(NULL, NULL);
    char *added = writer_schema(
        NULL, "{\"name\":\"site\",\"type\":\"string\",\"default\":\"hq\",\"doc\":\"added later\"}");
    char *removed = writer_schema("confidence,frame_id,attributes,bounding_boxes", NULL);
    /* camera_id an int: Apicurio's default compatibility (NONE) accepts it
     * under the same subject; Confluent's (BACKWARD) would refuse it. */
    char *incompatible = writer_schema("camera_id", "{\"name\":\"camera_id\",\"type\":\"int\"}");
    int32_t id_same = register_schema(same), id_added = register_schema(added);
    int32_t id_removed = register_schema(removed), id_incompatible = register_schema(incompatible);
    fprintf(stderr, "   ids: bundled %d, added %d, removed %d, incompatible %d\n", id_same,
            id_added, id_removed, id_incompatible);
    CHECK(id_same > 0 && id_added > 0 && id_removed > 0 && id_incompatible > 0);
    id_bundled = id_same;
    CHECK(id_added != id_same && id_removed != id_same && id_incompatible != id_removed);
    /* Far above any content id this run can have made. */
    int32_t id_unknown = 0x7fff0000;

    double ok0 = registry_gets("2xx"), missing0 = registry_gets("4xx");
    CHECK(ok0 >= 0 && missing0 >= 0);
    produce(p, same, id_same, "cam-same", N_EACH);
    produce(p, added, id_added, "cam-added", N_EACH);
    produce(p, removed, id_removed, "cam-removed", N_EACH);
    produce(p, incompatible, id_incompatible, "cam-incompatible", N_EACH);
    produce(p, same, id_unknown, "cam-unknown", N_EACH);

    CHECK_EQ_INT(wait_events("cam-same", N_EACH, 60), N_EACH);
    CHECK_EQ_INT(wait_events("cam-added", N_EACH, 60), N_EACH);
    CHECK_EQ_INT(wait_events("cam-removed", N_EACH, 60), N_EACH);
    /* The values each writer carried, and the reader's defaults for what
     * it did not. */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-added'"
                             " AND confidence = 0.9 AND model_id = 'fall-detector'"),
                 N_EACH);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-removed'"
                             " AND confidence = 0 AND frame_id IS NULL AND attributes = '{}'"
                             " AND bounding_boxes = '[]'"),
                 N_EACH);

    dlq_seen d = {0};
    itest_consume(getenv("RUTH_TOPIC_DLQ"), 3, on_dead_letter, &d);
    CHECK_EQ_INT(d.incompatible, N_EACH);
    CHECK_EQ_INT(d.unknown, N_EACH);
    CHECK_EQ_INT(d.other, 0);
    CHECK_MSG(strstr(d.incompatible_msg, "camera_id") != NULL, "reason: %s", d.incompatible_msg);
    fprintf(stderr, "   incompatible: %s\n", d.incompatible_msg);
    CHECK_EQ_INT(events_of("cam-incompatible"), 0);
    CHECK_EQ_INT(events_of("cam-unknown"), 0);

    /* Once per id (the unknown one within its 5 s memory), however many
     * messages carried it, as the registry itself counted. */
    double ok = registry_gets("2xx") - ok0, missing = registry_gets("4xx") - missing0;
    fprintf(stderr, "   registry served %.0f schema lookups and %.0f misses for %d messages\n", ok,
            missing, 5 * N_EACH);
    CHECK_MSG(ok == 4, "%.0f lookups for 4 known ids", ok);
    CHECK_MSG(missing == 1, "%.0f lookups for 1 unknown id", missing);
    free(same);
    free(added);
    free(removed);
    free(incompatible);
}

static void registry_outage_is_retried_not_dead_lettered(void)
{
    rd_kafka_t *p = producer;
    /* A writer the worker has not fetched yet, registered before the stop. */
    char *late = writer_schema(
        "frame_id", "{\"name\":\"shift\",\"type\":[\"null\",\"string\"],\"default\":null}");
    int32_t id_late = register_schema(late);
    CHECK(id_late > 0);
    int decode_waits = itest_log_count(worker_log, "cannot decode yet");
    CHECK_EQ_INT(dev_stack("registry-stop"), 0);
    double stopped = itest_now();
    produce(p, late, id_late, "cam-outage", N_EACH);
    /* Behind them (same key, same partition), results of a writer the
     * worker knows: they wait for the batch, and are not lost either. */
    char *same = writer_schema(NULL, NULL);
    produce(p, same, id_bundled, "cam-outage", N_EACH);
    free(same);
    sleep(4);
    long long during = events_of("cam-outage");
    int waits = itest_log_count(worker_log, "cannot decode yet") - decode_waits;
    CHECK_EQ_INT(dev_stack("registry-start"), 0);
    fprintf(stderr, "   registry down %.1f s; worker waited %d time(s)\n", itest_now() - stopped,
            waits);
    CHECK_EQ_INT(during, 0);
    CHECK_MSG(waits > 0, "the worker never met the outage");
    CHECK_EQ_INT(wait_events("cam-outage", 2 * N_EACH, 90), 2 * N_EACH);
    /* Nothing new in the dead-letter topic: still only the earlier case's. */
    dlq_seen d = {0};
    itest_consume(getenv("RUTH_TOPIC_DLQ"), 3, on_dead_letter, &d);
    CHECK_EQ_INT(d.incompatible + d.unknown, 2 * N_EACH);
    CHECK_EQ_INT(d.other, 0);
    /* The restarted registry (its counters new) was asked for that id once. */
    CHECK_EQ_INT((long long)registry_gets("2xx"), 1);
    free(late);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    registry_url = testlib_env("SCHEMA_REGISTRY_URL");
    testlib_env("RUTH_REGISTRY_URL");
    itest_setup("registry", 3);
    snprintf(subject, sizeof subject, "%s-value", getenv("RUTH_TOPIC_INFERENCE"));
    base_ts = itest_wall_us();
    next_result = (long)(itest_now() * 1000) % 100000000 * 1000;
    snprintf(worker_log, sizeof worker_log, "/tmp/%s-worker.log", itest_db_name);
    pid_t w = itest_spawn("ruth-worker", NULL, worker_log);
    producer = itest_producer();

    /* Each case builds on the one before (ids, dead letters so far). */
    TEST_RUN(simulate_registers_and_worker_stores);
    if (!testlib_failures)
        TEST_RUN(evolution_incompatible_unknown_and_one_fetch_per_id);
    if (!testlib_failures)
        TEST_RUN(registry_outage_is_retried_not_dead_lettered);

    rd_kafka_destroy(producer);
    kill(w, SIGTERM);
    int rc = itest_wait_exit(w, 20);
    if (rc != 0)
        fprintf(stderr, "ruth-worker exited %d; log %s\n", rc, worker_log);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT() || rc != 0;
}
