/* test_worker_boxes: the boxes ruth-worker stores in events.bounding_boxes
 * (and violations.bounding_boxes) are the boxes of the Event it publishes,
 * including a box without a label or confidence.
 *
 * Both come from one writer (codec_boxes_json): the column leaves an absent
 * label/confidence out (the API's BoundingBox gives them "when known"),
 * the Avro Event carries them as null; the test reads the column with
 * jansson and the published Event with avro-c over the bundled schema. */
#include "codec.h"
#include "itest.h"

#include <avro.h>
#include <jansson.h>
#include <math.h>

static codec *cx;
static char event_id[64];

typedef struct seen {
    int events, matched;
    bool same; /* the boxes of the matched Event equal the column's */
    char why[256];
    json_t *column; /* events.bounding_boxes of event_id */
} seen;

/* Field `name` of record `rec` through a ["null", T] union; false for null. */
static bool field(avro_value_t *rec, const char *name, avro_value_t *out)
{
    avro_value_t f;
    if (avro_value_get_by_name(rec, name, &f, NULL))
        return false;
    if (avro_value_get_type(&f) != AVRO_UNION) {
        *out = f;
        return true;
    }
    int disc;
    avro_value_get_discriminant(&f, &disc);
    if (disc == 0)
        return false;
    avro_value_get_current_branch(&f, out);
    return true;
}

/* Box `i` of the Event against box `i` of the column. */
static bool box_same(avro_value_t *item, json_t *col, seen *s, size_t i)
{
    static const char *const nums[] = {"x", "y", "width", "height"};
    for (int k = 0; k < 4; k++) {
        avro_value_t f;
        double d = NAN;
        if (field(item, nums[k], &f))
            avro_value_get_double(&f, &d);
        json_t *c = json_object_get(col, nums[k]);
        if (!json_is_number(c) || json_number_value(c) != d) {
            snprintf(s->why, sizeof s->why, "box %zu: %s differs", i, nums[k]);
            return false;
        }
    }
    avro_value_t f;
    json_t *label = json_object_get(col, "label");
    if (field(item, "label", &f)) {
        const char *str;
        size_t n;
        avro_value_get_string(&f, &str, &n);
        if (!json_is_string(label) || strcmp(json_string_value(label), str)) {
            snprintf(s->why, sizeof s->why, "box %zu: label \"%s\" not in the column", i, str);
            return false;
        }
    } else if (label) { /* a null label in the Event: absent from the column */
        snprintf(s->why, sizeof s->why, "box %zu: the column has a label, the Event none", i);
        return false;
    }
    json_t *conf = json_object_get(col, "confidence");
    if (field(item, "confidence", &f)) {
        double d;
        avro_value_get_double(&f, &d);
        if (!json_is_number(conf) || json_number_value(conf) != d) {
            snprintf(s->why, sizeof s->why, "box %zu: confidence differs", i);
            return false;
        }
    } else if (conf) {
        snprintf(s->why, sizeof s->why, "box %zu: the column has a confidence, the Event none", i);
        return false;
    }
    return true;
}

static void on_event(const rd_kafka_message_t *m, void *arg)
{
    seen *s = arg;
    s->events++;
    uint64_t fp;
    const char *json = codec_schema_json(cx, "Event", &fp);
    const unsigned char *p = m->payload;
    if (!json || m->len < 10 || p[0] != 0xC3 || p[1] != 0x01)
        return;
    avro_schema_t schema;
    if (avro_schema_from_json_length(json, strlen(json), &schema))
        return;
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t v;
    avro_generic_value_new(iface, &v);
    avro_reader_t rd = avro_reader_memory((const char *)p + 10, (int64_t)m->len - 10);
    avro_value_t id, arr, item;
    const char *ids = NULL;
    size_t n = 0, nboxes = 0;
    if (avro_value_read(rd, &v) == 0 && !avro_value_get_by_name(&v, "id", &id, NULL) &&
        !avro_value_get_string(&id, &ids, &n) && !strcmp(ids, event_id)) {
        s->matched++;
        avro_value_get_by_name(&v, "bounding_boxes", &arr, NULL);
        avro_value_get_size(&arr, &nboxes);
        s->same = nboxes == json_array_size(s->column);
        if (!s->same)
            snprintf(s->why, sizeof s->why, "%zu boxes in the Event, %zu in the column", nboxes,
                     json_array_size(s->column));
        for (size_t i = 0; s->same && i < nboxes; i++) {
            avro_value_get_by_index(&arr, i, &item, NULL);
            s->same = box_same(&item, json_array_get(s->column, i), s, i);
        }
    }
    avro_reader_free(rd);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}

static char *query_text(const char *sql)
{
    PGconn *c = PQconnectdb(itest_db_url);
    PGresult *r = PQexec(c, sql);
    char *v = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        v = xstrdup(PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return v;
}

static void unlabelled_box_same_in_column_and_event(void)
{
    rd_kafka_t *prod = itest_producer();
    char json[1024];
    long long ts = (long long)(itest_wall_us() - 60LL * 1000000);
    /* A box without label and confidence, one with both (quotes, UTF-8). */
    int n = snprintf(json, sizeof json,
                     "{\"camera_id\":\"cam-box\",\"model_id\":\"m1\",\"timestamp\":%lld,"
                     "\"event_type\":\"fall_detected\",\"confidence\":0.9,"
                     "\"result_id\":\"5d0c9a52-2f7e-4c1e-9a61-0b7c05e3f001\","
                     "\"bounding_boxes\":[{\"x\":10.5,\"y\":20,\"width\":30,\"height\":40},"
                     "{\"x\":1,\"y\":2,\"width\":3.25,\"height\":4,"
                     "\"label\":\"helmet \\\"red\\\" \xc3\xa9\",\"confidence\":0.25}]}",
                     ts);
    itest_produce(prod, getenv("RUTH_TOPIC_INFERENCE"), "cam-box", json, (size_t)n);
    rd_kafka_flush(prod, 10000);
    rd_kafka_destroy(prod);
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM events", 1, 60), 1);
    char *id = query_text("SELECT id::text FROM events");
    char *boxes = query_text("SELECT bounding_boxes::text FROM events");
    CHECK(id && boxes);
    snprintf(event_id, sizeof event_id, "%s", id);
    free(id);
    static seen s;
    s.column = json_loads(boxes, 0, NULL);
    free(boxes);
    CHECK(json_array_size(s.column) == 2);
    /* The column leaves out what the box does not have. */
    CHECK(!json_object_get(json_array_get(s.column, 0), "label"));
    CHECK(!json_object_get(json_array_get(s.column, 0), "confidence"));
    /* The violation it opened carries the same boxes (its best event's). */
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM violations v JOIN events e"
                                  " ON e.violation_id = v.id"
                                  " WHERE v.bounding_boxes = e.bounding_boxes",
                                  1, 30),
                 1);
    itest_consume(getenv("RUTH_TOPIC_EVENTS"), 3, on_event, &s);
    json_decref(s.column);
    CHECK_MSG(s.matched == 1, "%d of %d Events are %s", s.matched, s.events, event_id);
    CHECK_MSG(s.same, "%s", s.why);
}

int main(void)
{
    itest_setup("wbox", 1);
    char err[256];
    cx = codec_new(NULL, err, sizeof err);
    if (!cx) {
        fprintf(stderr, "codec: %s\n", err);
        return 1;
    }
    char log[256];
    snprintf(log, sizeof log, "/tmp/%s-worker.log", itest_db_name);
    pid_t w = itest_spawn("ruth-worker", NULL, log);
    TEST_RUN(unlabelled_box_same_in_column_and_event);
    kill(w, SIGTERM);
    itest_stopped(w, 15, "ruth-worker", log);
    codec_destroy(cx);
    if (!testlib_failures)
        itest_teardown();
    else
        fprintf(stderr, "database %s kept; worker log %s\n", itest_db_name, log);
    return TEST_EXIT();
}
