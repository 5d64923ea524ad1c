/* fuzz_ingest_items.c - ruth-ingest's body splitter
 * (producers/ingest/ingest_items.c) on arbitrary POST /v1/inference bodies:
 * every item it cuts must lie inside the body, in order and without
 * overlap, and each goes through the codec as the gateway sends it. */
#include "fuzz.h"

#include "codec.h"
#include "ingest_items.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_ITEMS 100

static codec *items_codec; /* why: libFuzzer's entry points take no context */

static void fuzz_ingest_items_release(void)
{
    codec_destroy(items_codec);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    items_codec = codec_new(NULL, err, sizeof err);
    if (!items_codec) {
        fprintf(stderr, "fuzz_ingest_items: %s\n", err);
        exit(1);
    }
    atexit(fuzz_ingest_items_release);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ingest_item items[MAX_ITEMS];
    size_t n = 0;
    bool batch = false;
    char why[256];
    if (ingest_items_json(data, size, items, MAX_ITEMS, &n, &batch, why, sizeof why) !=
        INGEST_ITEMS_OK)
        return 0;
    if (n == 0 || n > MAX_ITEMS || (!batch && n != 1))
        abort();
    const unsigned char *prev_end = data;
    for (size_t i = 0; i < n; i++) {
        if (items[i].p < prev_end || items[i].p + items[i].len > data + size) {
            fprintf(stderr, "fuzz_ingest_items: item %zu outside the body or overlapping\n", i);
            abort();
        }
        prev_end = items[i].p + items[i].len;
        inference_result r = {0};
        codec_error err;
        if (codec_decode_inference(items_codec, items[i].p, items[i].len, &r, &err) == 0)
            inference_result_free(&r);
    }
    return 0;
}
