/* fuzz_codec_msgs.c - the decoders of the pipeline's own topics, which
 * ruth-evidence and any subscriber read (EvidenceRequest, ViolationChange;
 * single-object Avro or JSON) on arbitrary bytes. The first input byte
 * picks the decoder, the rest is the message value. */
#include "fuzz.h"

#include "codec.h"

#include <stdio.h>
#include <stdlib.h>

static codec *msgs_codec; /* why: libFuzzer's entry points take no context */

static void fuzz_codec_msgs_release(void)
{
    codec_destroy(msgs_codec);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    msgs_codec = codec_new(NULL, err, sizeof err);
    if (!msgs_codec) {
        fprintf(stderr, "fuzz_codec_msgs: %s\n", err);
        exit(1);
    }
    atexit(fuzz_codec_msgs_release);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    void *arena = NULL;
    codec_error err;
    int rc;
    if (data[0] & 1) {
        evidence_request_msg m;
        rc = codec_decode_evidence_request(msgs_codec, data + 1, size - 1, &m, &arena, &err);
        if (rc == 0 && (!m.violation_id || !m.camera_id || !m.kind))
            abort(); /* required fields promised on success */
    } else {
        violation_change_msg m;
        rc = codec_decode_violation_change(msgs_codec, data + 1, size - 1, &m, &arena, &err);
        if (rc == 0 && (!m.violation_id || !m.change))
            abort();
    }
    if (rc != 0 && !codec_errcode_name(err.code))
        abort();
    codec_arena_free(arena);
    return 0;
}
