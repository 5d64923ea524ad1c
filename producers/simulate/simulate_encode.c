/* simulate_encode.c - see simulate_encode.h. */
#include "simulate_encode.h"

#include "log.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_encoder {
    sim_format format;
    char *json; /* scratch for the JSON text */
    size_t cap;
};

sim_encoder *sim_encoder_new(sim_format format, const ruth_config *cfg, char *errstr,
                             size_t errsz)
{
    if (format != SIM_FORMAT_JSON) {
        snprintf(errstr, errsz, "Avro encoding needs the shared codec, which this build lacks");
        return NULL;
    }
    sim_encoder *enc = xcalloc(1, sizeof *enc);
    enc->format = format;
    enc->cap = 8192;
    enc->json = xmalloc(enc->cap);
    return enc;
}

void sim_encoder_free(sim_encoder *enc)
{
    if (!enc)
        return;
    free(enc->json);
    free(enc);
}

#define PUT(...)                                                                           \
    do {                                                                                   \
        int n_ = snprintf(s + len, cap - len, __VA_ARGS__);                                \
        if (n_ > 0)                                                                        \
            len += (size_t)n_ < cap - len ? (size_t)n_ : cap - len - 1;                    \
    } while (0)
#define PUTSTR(k, v)                                                                       \
    do {                                                                                   \
        PUT("\"%s\":\"", k);                                                               \
        log_json_escape(s, &len, cap, v);                                                  \
        PUT("\",");                                                                        \
    } while (0)

int sim_encode(sim_encoder *enc, const sim_frame *f, sim_buf *out, char *errstr, size_t errsz)
{
    char *s = enc->json;
    size_t cap = enc->cap, len = 0;
    PUT("{");
    if (f->result_id[0])
        PUTSTR("result_id", f->result_id);
    PUT("\"frame_id\":%" PRId64 ",", f->frame_id);
    PUTSTR("camera_id", f->camera_id);
    PUTSTR("stream_id", f->stream_id);
    PUTSTR("model_id", f->model_id);
    PUTSTR("model_version", f->model_version);
    PUT("\"timestamp\":%" PRId64 ",", f->timestamp_us);
    PUTSTR("event_type", f->event_type);
    PUT("\"confidence\":%.4f,\"bounding_boxes\":[", f->confidence);
    for (int i = 0; i < f->nboxes; i++)
        PUT("%s{\"x\":%.0f,\"y\":%.0f,\"width\":%.0f,\"height\":%.0f,\"label\":\"%s\","
            "\"confidence\":%.4f}",
            i ? "," : "", f->boxes[i].x, f->boxes[i].y, f->boxes[i].width, f->boxes[i].height,
            f->boxes[i].label, f->boxes[i].confidence);
    PUT("],\"inference_time_ms\":%.2f,", f->inference_time_ms);
    PUTSTR("runtime_id", f->runtime_id);
    if (f->error_code) {
        PUTSTR("error_code", f->error_code);
        PUTSTR("error_message", f->error_message);
    }
    PUT("\"attributes\":{");
    for (int i = 0; i < f->nattrs; i++)
        PUT("%s\"%s\":\"%s\"", i ? "," : "", f->attr_keys[i], f->attr_values[i]);
    PUT("}}");
    if (len >= cap - 1) {
        snprintf(errstr, errsz, "result of %s does not fit %zu bytes", f->camera_id, cap);
        return -1;
    }
    sim_buf_set(out, s, len);
    return 0;
}
