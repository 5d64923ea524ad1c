/* Every released InferenceResult version decodes into the current one
 * (schemas/history/, codec.c): a version 1 message, as producers built
 * before frame_width and frame_height send it, gets the new fields'
 * defaults; a version 2 message its frame size. Single-object messages
 * are matched by fingerprint (the fixtures tests/fixtures/codec/OK__*),
 * Confluent ones by the writer schema the registry (in-process here) gives
 * for their id; JSON takes our names and the proto3 ones. */
#include "codec.h"
#include "embedded.h"
#include "testlib.h"
#include "xmalloc.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct embedded_file ruth_schema_files[];
extern const size_t ruth_schema_files_count;

static codec *cx;

static const char *embedded_schema(const char *name)
{
    for (size_t i = 0; i < ruth_schema_files_count; i++)
        if (!strcmp(ruth_schema_files[i].name, name))
            return ruth_schema_files[i].data;
    return NULL;
}

static size_t read_fixture(const char *name, unsigned char **data)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/codec/%s", getenv("RUTH_FIXTURES"), name);
    size_t n = 0;
    *data = (unsigned char *)testlib_read_file(path, &n);
    return n;
}

/* Decode fixture `name` with codec c; 0, or -1 with *err filled. */
static int decode_fixture(codec *c, const char *name, inference_result *r, codec_error *err)
{
    unsigned char *data;
    size_t len = read_fixture(name, &data);
    memset(err, 0, sizeof *err);
    snprintf(err->message, sizeof err->message, "cannot read the fixture %.200s", name);
    int rc = len ? codec_decode_inference(c, data, len, r, err) : -1;
    free(data);
    return rc;
}

static void single_object_versions(void)
{
    inference_result r;
    codec_error err;
    CHECK_MSG(decode_fixture(cx, "OK__v1_single_object.bin", &r, &err) == 0, "v1: %s", err.message);
    CHECK(!strcmp(r.camera_id, "cam-1") && r.nboxes == 1 && r.nattributes == 1);
    CHECK(r.result_id && !strcmp(r.result_id, "0b9e3a52-7c4d-4e7a-9f0a-0123456789ab"));
    CHECK(r.frame_width == 0 && r.frame_height == 0); /* the defaults: null */
    inference_result_free(&r);

    CHECK_MSG(decode_fixture(cx, "OK__v2_frame_size.bin", &r, &err) == 0, "v2: %s", err.message);
    CHECK(r.frame_width == 1280 && r.frame_height == 720);
    CHECK(!strcmp(r.camera_id, "cam-1") && r.nboxes == 1 && r.result_id);
    /* re-encoded, it is version 2 (its fingerprint) with the frame size */
    buf enc = {0};
    CHECK(codec_encode_inference(cx, CODEC_FMT_SINGLE_OBJECT, 0, &r, &enc, &err) == 0);
    uint64_t fp = 0;
    codec_schema_json(cx, "InferenceResult", &fp);
    CHECK(fp == 0x30f842eee97d5cb9ULL);
    CHECK(enc.len > 10 && enc.data[2] == 0xb9 && enc.data[9] == 0x30);
    inference_result back;
    CHECK(codec_decode_inference(cx, enc.data, enc.len, &back, &err) == 0);
    CHECK(back.frame_width == 1280 && back.frame_height == 720);
    inference_result_free(&back);
    buf_free(&enc);
    inference_result_free(&r);

    CHECK_MSG(decode_fixture(cx, "OK__v2_no_frame_size.bin", &r, &err) == 0, "%s", err.message);
    CHECK(r.frame_width == 0 && r.frame_height == 0);
    inference_result_free(&r);
}

static void json_frame_size(void)
{
    const char *names[] = {"OK__json_frame_size.json", "OK__json_proto3_frame_size.json"};
    for (int i = 0; i < 2; i++) {
        inference_result r;
        codec_error err;
        CHECK_MSG(decode_fixture(cx, names[i], &r, &err) == 0, "%s: %s", names[i], err.message);
        CHECK(r.frame_width == 1280 && r.frame_height == 720);
        buf out = {0}; /* and JSON out carries it */
        CHECK(codec_encode_inference(cx, CODEC_FMT_JSON, 0, &r, &out, &err) == 0);
        buf_append_byte(&out, 0);
        CHECK(strstr((const char *)out.data, "\"frame_width\":1280,\"frame_height\":720") != NULL);
        buf_free(&out);
        inference_result_free(&r);
    }
}

/* The registry: id 21 is version 1 (what an old producer registered), id
 * 22 the current schema. */
static enum MHD_Result registry(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **state)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size, (void)state;
    const char *schema =
        !strcmp(url, "/schemas/ids/21")   ? embedded_schema("inference_result.v1.avsc")
        : !strcmp(url, "/schemas/ids/22") ? embedded_schema("inference_result.avsc")
                                          : NULL;
    json_t *j = json_pack("{ss}", "schema", schema ? schema : "");
    char *body = json_dumps(j, 0);
    json_decref(j);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result r = MHD_queue_response(conn, schema ? 200 : 404, resp);
    MHD_destroy_response(resp);
    return r;
}

/* A single-object fixture re-framed as Confluent with schema id `id`. */
static size_t confluent_from(const char *fixture, int id, unsigned char **out)
{
    unsigned char *so;
    size_t len = read_fixture(fixture, &so);
    *out = xmalloc(len);
    (*out)[0] = 0;
    (*out)[1] = (*out)[2] = (*out)[3] = 0;
    (*out)[4] = (unsigned char)id;
    memcpy(*out + 5, so + 10, len - 10);
    free(so);
    return len - 5;
}

static void confluent_versions(void)
{
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                                            registry, NULL, MHD_OPTION_END);
    CHECK(d != NULL);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char url[64], errstr[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)info->port);
    codec *rc = codec_new(url, errstr, sizeof errstr);
    CHECK_MSG(rc != NULL, "%s", errstr);
    const struct {
        const char *fixture;
        int id, width;
    } cases[] = {{"OK__v1_single_object.bin", 21, 0}, {"OK__v2_frame_size.bin", 22, 1280}};
    for (int i = 0; i < 2; i++) {
        unsigned char *msg;
        size_t len = confluent_from(cases[i].fixture, cases[i].id, &msg);
        inference_result r;
        codec_error err;
        CHECK_MSG(codec_decode_inference(rc, msg, len, &r, &err) == 0, "id %d: %s", cases[i].id,
                  err.message);
        CHECK(r.format == CODEC_FMT_CONFLUENT && !strcmp(r.camera_id, "cam-1") && r.nboxes == 1);
        CHECK(r.frame_width == cases[i].width);
        inference_result_free(&r);
        /* a version 1 body under the version 2 id is refused, not misread */
        if (cases[i].id == 21) {
            msg[4] = 22;
            CHECK(codec_decode_inference(rc, msg, len, &r, &err) != 0);
            CHECK_EQ_STR(codec_errcode_name(err.code), "AVRO_DECODE");
        }
        free(msg);
    }
    codec_destroy(rc);
    MHD_stop_daemon(d);
}

int main(void)
{
    char errstr[256];
    cx = codec_new(NULL, errstr, sizeof errstr);
    if (!cx) {
        fprintf(stderr, "codec_new: %s\n", errstr);
        return 1;
    }
    TEST_RUN(single_object_versions);
    TEST_RUN(json_frame_size);
    TEST_RUN(confluent_versions);
    codec_destroy(cx);
    return TEST_EXIT();
}
