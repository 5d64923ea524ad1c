/* wire_dump.c - arch-wire-dump: every byte the pipeline puts on the wire or
 * into PostgreSQL, as hex lines, so two builds (x86_64 natively, arm64
 * under qemu-user) can be compared byte for byte (tests/arch/compare-wire).
 *
 * Byte order and alignment are where C code breaks across architectures;
 * this prints, for the same inputs:
 *   - the CRC-64-AVRO fingerprint and canonical-form length of each bundled
 *     schema (single-object headers carry the fingerprint little-endian);
 *   - for each file of the given folders (codec fixtures, fuzz seeds): the
 *     decode outcome (error code and message), and for a valid result its
 *     re-encoding as single-object Avro, Confluent Avro and JSON, decoded
 *     again and encoded as JSON (round trip);
 *   - EvidenceRequest and ViolationChange seeds (`evidence_request*`,
 *     `violation_change*` files) decoded and re-encoded the same way;
 *   - Event encodings (single-object Avro and JSON) of a fixed event;
 *   - the event ids the worker derives (worker_uuid_from_key);
 *   - a COPY binary batch (pg_copy) of every field kind with edge values.
 *
 *   arch-wire-dump DIR...   lines on stdout; exit 1 if nothing was dumped */
#include "avro_canonical.h"
#include "buf.h"
#include "codec.h"
#include "pg_copy.h"
#include "text.h"
#include "worker_events.h"
#include "xmalloc.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wire_dump_hex(const char *what, const char *name, const void *p, size_t n)
{
    const unsigned char *b = p;
    printf("%s %s len=%zu ", what, name, n);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    putchar('\n');
}

static int wire_dump_names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file's bytes into `out`: .hex files are decoded from hex text. */
static int wire_dump_read(const char *path, buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(out, chunk, n);
    fclose(f);
    size_t plen = strlen(path);
    if (plen > 4 && !strcmp(path + plen - 4, ".hex")) {
        size_t k = 0;
        for (size_t i = 0; i < out->len; i++)
            if (strchr("0123456789abcdefABCDEF", out->data[i]) && out->data[i])
                out->data[k++] = out->data[i];
        unsigned char *bin = xmalloc(k / 2 + 1);
        if (!text_hex_decode((const char *)out->data, k & ~(size_t)1, bin)) {
            free(bin);
            return -1;
        }
        buf_set(out, bin, k / 2);
        free(bin);
    }
    return 0;
}

static void wire_dump_error(const char *name, const codec_error *err)
{
    printf("decode %s ERR %s %s\n", name, codec_errcode_name(err->code), err->message);
}

static void wire_dump_inference(codec *c, const char *name, const buf *in)
{
    inference_result r = {0};
    codec_error err;
    if (codec_decode_inference(c, in->data, in->len, &r, &err) != 0) {
        wire_dump_error(name, &err);
        return;
    }
    printf("decode %s OK camera=%s ts=%" PRId64 " conf=%a boxes=%zu attrs=%zu\n", name, r.camera_id,
           r.timestamp_us, r.confidence, r.nboxes, r.nattributes);
    static const codec_format fmts[] = {CODEC_FMT_SINGLE_OBJECT, CODEC_FMT_CONFLUENT,
                                        CODEC_FMT_JSON};
    static const char *const fmt_names[] = {"single_object", "confluent", "json"};
    buf enc = {0}, again = {0};
    for (int i = 0; i < 3; i++) {
        buf_reset(&enc);
        char what[64];
        snprintf(what, sizeof what, "encode.%s", fmt_names[i]);
        if (codec_encode_inference(c, fmts[i], 7, &r, &enc, &err) != 0) {
            wire_dump_error(name, &err);
            continue;
        }
        wire_dump_hex(what, name, enc.data, enc.len);
        if (fmts[i] == CODEC_FMT_CONFLUENT)
            continue; /* decoding it needs a registry */
        inference_result back = {0};
        if (codec_decode_inference(c, enc.data, enc.len, &back, &err) != 0) {
            wire_dump_error(name, &err);
            continue;
        }
        buf_reset(&again);
        codec_encode_inference(c, CODEC_FMT_JSON, 0, &back, &again, &err);
        snprintf(what, sizeof what, "roundtrip.%s", fmt_names[i]);
        wire_dump_hex(what, name, again.data, again.len);
        inference_result_free(&back);
    }
    buf_free(&enc);
    buf_free(&again);
    inference_result_free(&r);
}

static void wire_dump_msgs(codec *c, const char *name, const buf *in)
{
    void *arena = NULL;
    codec_error err;
    buf so = {0}, js = {0};
    int rc;
    if (strstr(name, "evidence_request")) {
        evidence_request_msg m;
        rc = codec_decode_evidence_request(c, in->data, in->len, &m, &arena, &err);
        if (rc == 0)
            rc = codec_encode_evidence_request(c, CODEC_FMT_SINGLE_OBJECT, &m, &so, &err) ||
                 codec_encode_evidence_request(c, CODEC_FMT_JSON, &m, &js, &err);
    } else {
        violation_change_msg m;
        rc = codec_decode_violation_change(c, in->data, in->len, &m, &arena, &err);
        if (rc == 0)
            rc = codec_encode_violation_change(c, CODEC_FMT_SINGLE_OBJECT, &m, &so, &err) ||
                 codec_encode_violation_change(c, CODEC_FMT_JSON, &m, &js, &err);
    }
    if (rc != 0) {
        wire_dump_error(name, &err);
    } else {
        wire_dump_hex("encode.single_object", name, so.data, so.len);
        wire_dump_hex("encode.json", name, js.data, js.len);
    }
    codec_arena_free(arena);
    buf_free(&so);
    buf_free(&js);
}

/* Every regular file of `dir`, in name order. Returns how many. */
static int wire_dump_dir(codec *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "arch-wire-dump: cannot open %s\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".py"))
            continue;
        if (n == cap)
            names = xrealloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, wire_dump_names_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        buf in = {0};
        if (wire_dump_read(path, &in) != 0)
            printf("read %s FAILED\n", names[i]);
        else if (strstr(names[i], "evidence_request") || strstr(names[i], "violation_change"))
            wire_dump_msgs(c, names[i], &in);
        else
            wire_dump_inference(c, names[i], &in);
        buf_free(&in);
        free(names[i]);
    }
    free(names);
    return (int)n;
}

static void wire_dump_schemas(codec *c)
{
    static const char *const names[] = {"InferenceResult", "Event", "ViolationChange",
                                        "EvidenceRequest"};
    for (int i = 0; i < 4; i++) {
        uint64_t fp = 0;
        const char *json = codec_schema_json(c, names[i], &fp);
        char err[256];
        char *canon = json ? avro_canonical_form(json, strlen(json), err, sizeof err) : NULL;
        printf("schema %s fingerprint=%016" PRIx64 " recomputed=%016" PRIx64 " canonical_len=%zu\n",
               names[i], fp, canon ? avro_fingerprint64(canon, strlen(canon)) : 0,
               canon ? strlen(canon) : 0);
        free(canon);
    }
    printf("crc64avro empty=%016" PRIx64 " abc=%016" PRIx64 "\n", avro_fingerprint64("", 0),
           avro_fingerprint64("abc", 3));
}

static void wire_dump_event(codec *c)
{
    const codec_bbox boxes[] = {{0.5, 1.25, 640.0, 480.0, "person", 0.875, true},
                                {1e-300, 0.1, 99999.5, 3.0, NULL, 0.0, false}};
    event_msg m = {.id = "0b6f2c1e-8d4a-5f3b-9e2d-7c1a4b5e6f70",
                   .camera_id = "cam-\xc3\xa9t\xc3\xa9",
                   .event_type = "fall_detected",
                   .confidence = 0.1 + 0.2,
                   .timestamp_us = -1234567,
                   .model_id = "fall-v2",
                   .boxes = boxes,
                   .nboxes = 2,
                   .inference_time_ms = 12.5,
                   .has_inference_time = true,
                   .violation_id = "d3b07384-d9a0-4c5f-8b3e-1f2a3b4c5d6e",
                   .created_at_us = INT64_C(1768300200123456)};
    buf b = {0};
    codec_error err;
    if (codec_encode_event(c, CODEC_FMT_SINGLE_OBJECT, &m, &b, &err) == 0)
        wire_dump_hex("event.single_object", "fixed", b.data, b.len);
    else
        wire_dump_error("event", &err);
    buf_reset(&b);
    if (codec_encode_event(c, CODEC_FMT_JSON, &m, &b, &err) == 0)
        wire_dump_hex("event.json", "fixed", b.data, b.len);
    buf_free(&b);
}

static void wire_dump_uuids(void)
{
    static const char *const keys[] = {"", "a",
                                       "7f9c1d2e-3b4a-4c5d-8e6f-708192a3b4c5@1768300200000000",
                                       "t.inference/11/9223372036854775807@-1"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char id[37];
        worker_uuid_from_key(keys[i], id);
        unsigned char u[16];
        char back[TEXT_UUID_LEN + 1] = "";
        if (text_uuid_parse(id, u))
            text_uuid_format(u, back);
        printf("uuid key=\"%s\" id=%s reformatted=%s\n", keys[i], id, back);
    }
}

/* A COPY batch with every field kind the worker writes, at edge values. */
static void wire_dump_copy(void)
{
    buf b = {0};
    pg_copy_header(&b);
    pg_copy_row(&b, 9);
    pg_copy_uuid(&b, "0b6f2c1e-8d4a-5f3b-9e2d-7c1a4b5e6f70");
    pg_copy_text(&b, "cam-001");
    pg_copy_text(&b, NULL);
    pg_copy_f8(&b, 0.1, true);
    pg_copy_f8(&b, 0.0, false);
    pg_copy_ts(&b, INT64_C(1768300200123456));
    pg_copy_jsonb(&b, "{\"k\":\"v\"}", 9);
    pg_copy_u32(&b, 0x01020304u);
    pg_copy_u64(&b, UINT64_C(0x0102030405060708));
    pg_copy_row(&b, 6);
    pg_copy_f8(&b, -0.0, true);
    pg_copy_f8(&b, NAN, true);
    pg_copy_f8(&b, -INFINITY, true);
    pg_copy_f8(&b, 1e-310, true); /* subnormal */
    pg_copy_ts(&b, INT64_C(-1));  /* before the epoch and before 2000 */
    pg_copy_ts(&b, INT64_C(946684800000000));
    pg_copy_trailer(&b);
    wire_dump_hex("copy", "batch", b.data, b.len);
    buf_free(&b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: arch-wire-dump DIR...\n");
        return 2;
    }
    char err[256];
    codec *c = codec_new(NULL, err, sizeof err);
    if (!c) {
        fprintf(stderr, "arch-wire-dump: %s\n", err);
        return 1;
    }
    int files = 0;
    for (int i = 1; i < argc; i++) {
        int n = wire_dump_dir(c, argv[i]);
        if (n < 0) {
            codec_destroy(c);
            return 1;
        }
        files += n;
    }
    wire_dump_schemas(c);
    wire_dump_event(c);
    wire_dump_uuids();
    wire_dump_copy();
    codec_destroy(c);
    printf("files %d\n", files);
    return files > 0 ? 0 : 1;
}
