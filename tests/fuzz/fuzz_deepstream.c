/* fuzz_deepstream.c - NVIDIA DeepStream nvmsgconv JSON (full and minimal
 * schema, common/codec_deepstream.c) on arbitrary bytes, as ruth-worker
 * decodes the RUTH_TOPIC_DEEPSTREAM topic. Each object decoded must keep
 * the codec's promises: a sensor, a type, at most one box of finite,
 * non-negative size. (A full-schema message without `messageid` has no
 * idempotency key of its own: the worker then keys it by its offset.) */
#include "fuzz.h"

#include "codec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_OBJECTS 64

static codec *ds_codec; /* why: libFuzzer's entry points take no context */

static void fuzz_deepstream_release(void)
{
    codec_destroy(ds_codec);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    ds_codec = codec_new(NULL, err, sizeof err);
    if (!ds_codec) {
        fprintf(stderr, "fuzz_deepstream: %s\n", err);
        exit(1);
    }
    atexit(fuzz_deepstream_release);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const codec_decode_opts opts = {
        .default_timestamp_us = 1764000000000000,
        .has_default_timestamp = true,
        .model_id_optional = true,
    };
    inference_result out[MAX_OBJECTS] = {0};
    size_t n = 0;
    codec_error err;
    if (codec_decode_deepstream(ds_codec, data, size, &opts, out, MAX_OBJECTS, &n, &err) != 0) {
        if (!codec_errcode_name(err.code))
            abort();
        return 0;
    }
    if (n > MAX_OBJECTS)
        abort();
    for (size_t i = 0; i < n; i++) {
        const inference_result *r = &out[i];
        bool ok =
            r->camera_id && r->camera_id[0] && r->event_type && r->event_type[0] && r->nboxes <= 1;
        for (size_t b = 0; ok && b < r->nboxes; b++)
            ok = isfinite(r->boxes[b].width) && r->boxes[b].width >= 0 &&
                 isfinite(r->boxes[b].height) && r->boxes[b].height >= 0;
        if (!ok) {
            fprintf(stderr, "fuzz_deepstream: object %zu breaks the codec's promises\n", i);
            abort();
        }
        inference_result_free(&out[i]);
    }
    return 0;
}
