/* fuzz_codec.c - InferenceResult decoding (common/codec.c) on arbitrary
 * message values, in all three framings: the first bytes choose, as they do
 * for the worker. Confluent-framed inputs name a writer schema by id; ids
 * 1-4 are served by an in-process schema registry (libmicrohttpd on a
 * loopback port) so the resolving decoder, not only the bundled one, is
 * fuzzed:
 *   1  the bundled InferenceResult schema
 *   2  its fields reordered, plus a writer-only string
 *   3  another producer's record: float confidence, a map of attributes
 *   4  writer-only nested arrays, a union of records and a fixed (the shapes
 *      that multiply skimming work; the decode budget must hold)
 * Any other id is a 404 (UNKNOWN_SCHEMA_ID). A decode either succeeds with a
 * result that passes validation's own promises or fails with a code. */
#include "fuzz.h"

#include "codec.h"

#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *writer_reordered =
    "{\"type\":\"record\",\"name\":\"InferenceResult\",\"namespace\":\"ai.ruth.v1\",\"fields\":["
    "{\"name\":\"event_type\",\"type\":\"string\"},{\"name\":\"camera_id\",\"type\":\"string\"},"
    "{\"name\":\"gpu\",\"type\":\"string\"},{\"name\":\"model_id\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"confidence\",\"type\":\"double\"}]}";

static const char *writer_other =
    "{\"type\":\"record\",\"name\":\"Detection\",\"namespace\":\"com.acme\",\"fields\":["
    "{\"name\":\"camera_id\",\"type\":\"string\"},{\"name\":\"model_id\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":\"long\"},{\"name\":\"event_type\",\"type\":\"string\"},"
    "{\"name\":\"confidence\",\"type\":\"float\"},"
    "{\"name\":\"bounding_boxes\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\","
    "\"name\":\"BoundingBox\",\"fields\":[{\"name\":\"x\",\"type\":\"double\"},"
    "{\"name\":\"y\",\"type\":\"double\"},{\"name\":\"width\",\"type\":\"double\"},"
    "{\"name\":\"height\",\"type\":\"double\"},{\"name\":\"label\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"confidence\",\"type\":[\"null\",\"double\"]}]}}},"
    "{\"name\":\"attributes\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
    "{\"name\":\"result_id\",\"type\":[\"null\",\"string\"]}]}";

static const char *writer_nested =
    "{\"type\":\"record\",\"name\":\"Nested\",\"fields\":["
    "{\"name\":\"camera_id\",\"type\":\"string\"},{\"name\":\"model_id\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":\"long\"},{\"name\":\"event_type\",\"type\":\"string\"},"
    "{\"name\":\"junk\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":"
    "[\"null\",{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"f\",\"type\":"
    "{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}},{\"name\":\"m\",\"type\":{\"type\":\"map\","
    "\"values\":\"bytes\"}}]}]}}},{\"name\":\"confidence\",\"type\":\"double\"}]}";

typedef struct fuzz_codec_state {
    codec *c;
    struct MHD_Daemon *registry;
} fuzz_codec_state;

static fuzz_codec_state state; /* why: libFuzzer's entry points take no context */

static enum MHD_Result registry_answer(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version, const char *upload,
                                       size_t *upload_size, void **st)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size, (void)st;
    const char *schema = NULL;
    if (!strcmp(url, "/schemas/ids/1"))
        schema = codec_schema_json(state.c, "InferenceResult", NULL);
    else if (!strcmp(url, "/schemas/ids/2"))
        schema = writer_reordered;
    else if (!strcmp(url, "/schemas/ids/3"))
        schema = writer_other;
    else if (!strcmp(url, "/schemas/ids/4"))
        schema = writer_nested;
    char *body;
    unsigned status = 200;
    if (schema) {
        json_t *j = json_pack("{ss}", "schema", schema);
        body = json_dumps(j, 0);
        json_decref(j);
    } else {
        status = 404;
        body = strdup("{\"error_code\":40403,\"message\":\"Schema not found\"}");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/vnd.schemaregistry.v1+json");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* At exit: the codec's cached writer schemas are not leaks, but LeakSanitizer
 * cannot see through avro-c's references to them. */
static void fuzz_codec_release(void)
{
    codec_destroy(state.c);
    MHD_stop_daemon(state.registry);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    state.registry = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                      NULL, registry_answer, NULL, MHD_OPTION_END);
    if (!state.registry) {
        fprintf(stderr, "fuzz_codec: cannot start the in-process registry\n");
        exit(1);
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(state.registry, MHD_DAEMON_INFO_BIND_PORT);
    char url[64], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)info->port);
    state.c = codec_new(url, err, sizeof err);
    if (!state.c) {
        fprintf(stderr, "fuzz_codec: %s\n", err);
        exit(1);
    }
    atexit(fuzz_codec_release);
    return 0;
}

/* What a successful decode promises the worker (codec.h); model_id may be
 * left to the caller when `model_optional`. */
static void check_result(const inference_result *r, bool model_optional)
{
    bool model_ok = r->model_id ? r->model_id[0] != '\0' : model_optional;
    bool ok = r->camera_id && r->camera_id[0] && model_ok && r->event_type && r->event_type[0] &&
              isfinite(r->confidence) && r->confidence >= 0 && r->confidence <= 1 &&
              r->nboxes <= CODEC_MAX_BOXES;
    for (size_t i = 0; ok && i < r->nboxes; i++)
        ok = r->boxes[i].width >= 0 && r->boxes[i].height >= 0 &&
             r->boxes[i].width <= CODEC_MAX_BOX_PIXELS;
    if (!ok) {
        fprintf(stderr, "fuzz_codec: a decoded result breaks the codec's promises\n");
        abort();
    }
}

/* Each input twice: strictly (ruth-ingest), and with the defaults the
 * worker takes from the Kafka record and the camera's session. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const codec_decode_opts worker_opts = {
        .default_camera_id = "cam-key",
        .default_timestamp_us = 1764000000000000,
        .has_default_timestamp = true,
        .model_id_optional = true,
    };
    for (int pass = 0; pass < 2; pass++) {
        inference_result r = {0};
        codec_error err;
        const codec_decode_opts *opts = pass ? &worker_opts : NULL;
        if (codec_decode_inference_opts(state.c, data, size, opts, &r, &err) == 0) {
            check_result(&r, pass == 1);
            inference_result_free(&r);
        } else if (!codec_errcode_name(err.code)) {
            abort();
        }
    }
    return 0;
}
