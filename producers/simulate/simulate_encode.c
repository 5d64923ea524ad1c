/* simulate_encode.c - see simulate_encode.h. All three formats come from the
 * shared codec, so the simulator produces exactly what the worker reads. */
#include "simulate_encode.h"

#include "buf.h"
#include "codec.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_encoder {
    sim_format format;
    codec *codec;
    int32_t schema_id; /* Confluent framing only */
};

sim_encoder *sim_encoder_new(sim_format format, const ruth_config *cfg, char *errstr, size_t errsz)
{
    const char *registry = format == SIM_FORMAT_AVRO_CONFLUENT ? cfg->schema_registry_url : NULL;
    if (format == SIM_FORMAT_AVRO_CONFLUENT && (!registry || !*registry)) {
        snprintf(errstr, errsz, "--format avro-confluent needs SCHEMA_REGISTRY_URL");
        return NULL;
    }
    codec *c = codec_new(registry, errstr, errsz);
    if (!c)
        return NULL;
    sim_encoder *enc = xcalloc(1, sizeof *enc);
    enc->format = format;
    enc->codec = c;
    if (format == SIM_FORMAT_AVRO_CONFLUENT) {
        char subject[300];
        snprintf(subject, sizeof subject, "%s-value", cfg->topic_inference);
        codec_error err;
        if (codec_register_inference_schema(c, subject, &enc->schema_id, &err) != 0) {
            snprintf(errstr, errsz, "registering the InferenceResult schema: %s", err.message);
            sim_encoder_free(enc);
            return NULL;
        }
    }
    return enc;
}

void sim_encoder_free(sim_encoder *enc)
{
    if (!enc)
        return;
    codec_destroy(enc->codec);
    free(enc);
}

int sim_encode(sim_encoder *enc, const sim_frame *f, buf *out, char *errstr, size_t errsz)
{
    codec_bbox boxes[SIM_MAX_BOXES];
    codec_attr attrs[SIM_MAX_ATTRS];
    char frame_id[24];
    for (int i = 0; i < f->nboxes; i++)
        boxes[i] = (codec_bbox){f->boxes[i].x,
                                f->boxes[i].y,
                                f->boxes[i].width,
                                f->boxes[i].height,
                                f->boxes[i].label,
                                f->boxes[i].confidence,
                                true};
    for (int i = 0; i < f->nattrs; i++)
        attrs[i] = (codec_attr){f->attr_keys[i], f->attr_values[i]};
    snprintf(frame_id, sizeof frame_id, "%" PRId64, f->frame_id);
    inference_result r = {0};
    r.camera_id = f->camera_id;
    r.model_id = f->model_id;
    r.timestamp_us = f->timestamp_us;
    r.event_type = f->event_type;
    r.confidence = f->confidence;
    r.boxes = boxes;
    r.nboxes = (size_t)f->nboxes;
    r.frame_id = frame_id;
    r.stream_id = f->stream_id[0] ? f->stream_id : NULL;
    r.model_version = f->model_version;
    r.inference_time_ms = f->inference_time_ms;
    r.has_inference_time = true;
    r.runtime_id = f->runtime_id[0] ? f->runtime_id : NULL;
    r.error_code = f->error_code;
    r.error_message = f->error_message;
    r.attributes = attrs;
    r.nattributes = (size_t)f->nattrs;
    r.result_id = f->result_id[0] ? f->result_id : NULL;
    r.frame_width = SIM_FRAME_WIDTH; /* every box is in a frame of this size */
    r.frame_height = SIM_FRAME_HEIGHT;
    static const codec_format fmts[] = {[SIM_FORMAT_AVRO] = CODEC_FMT_SINGLE_OBJECT,
                                        [SIM_FORMAT_AVRO_CONFLUENT] = CODEC_FMT_CONFLUENT,
                                        [SIM_FORMAT_JSON] = CODEC_FMT_JSON};
    codec_error err;
    buf_reset(out);
    if (codec_encode_inference(enc->codec, fmts[enc->format], enc->schema_id, &r, out, &err) != 0) {
        snprintf(errstr, errsz, "encoding a result of %s: %s", f->camera_id, err.message);
        return -1;
    }
    return 0;
}
