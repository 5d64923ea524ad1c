/* codec_avro_write.c - Avro binary bodies of the four messages, in schema
 * field order (the framing header is codec.c's). Appends to a buf; fails
 * only on an enum value outside the schema. */
#include "codec.h"

#include "codec_internal.h"

#include <string.h>

static void avro_out_opt_string(buf *b, const char *s)
{
    if (!s) {
        buf_avro_long(b, 0);
        return;
    }
    buf_avro_long(b, 1);
    buf_avro_string(b, s);
}

static void avro_out_opt_double(buf *b, bool has, double v)
{
    buf_avro_long(b, has ? 1 : 0);
    if (has)
        buf_avro_double(b, v);
}

static void avro_out_opt_ts(buf *b, int64_t us)
{
    buf_avro_long(b, us ? 1 : 0);
    if (us)
        buf_avro_long(b, us);
}

static void avro_out_boxes(buf *b, const codec_bbox *boxes, size_t n)
{
    if (n) {
        buf_avro_long(b, (int64_t)n);
        for (size_t i = 0; i < n; i++) {
            buf_avro_double(b, boxes[i].x);
            buf_avro_double(b, boxes[i].y);
            buf_avro_double(b, boxes[i].width);
            buf_avro_double(b, boxes[i].height);
            avro_out_opt_string(b, boxes[i].label);
            avro_out_opt_double(b, boxes[i].has_confidence, boxes[i].confidence);
        }
    }
    buf_avro_long(b, 0);
}

static const char *avro_str(const char *s)
{
    return s ? s : "";
}

void codec__avro_encode_inference(const inference_result *r, buf *b)
{
    buf_avro_string(b, avro_str(r->camera_id));
    buf_avro_string(b, avro_str(r->model_id));
    buf_avro_long(b, r->timestamp_us);
    buf_avro_string(b, avro_str(r->event_type));
    buf_avro_double(b, r->confidence);
    avro_out_boxes(b, r->boxes, r->nboxes);
    avro_out_opt_string(b, r->frame_id);
    avro_out_opt_string(b, r->stream_id);
    avro_out_opt_string(b, r->model_version);
    avro_out_opt_double(b, r->has_inference_time, r->inference_time_ms);
    avro_out_opt_string(b, r->runtime_id);
    avro_out_opt_string(b, r->error_code);
    avro_out_opt_string(b, r->error_message);
    if (r->nattributes) {
        buf_avro_long(b, (int64_t)r->nattributes);
        for (size_t i = 0; i < r->nattributes; i++) {
            buf_avro_string(b, r->attributes[i].key);
            buf_avro_string(b, r->attributes[i].value);
        }
    }
    buf_avro_long(b, 0);
    avro_out_opt_string(b, r->result_id);
    /* version 2: ["null", "int"], null when unknown */
    const int32_t frame[2] = {r->frame_width, r->frame_height};
    for (int i = 0; i < 2; i++) {
        buf_avro_long(b, frame[i] > 0 ? 1 : 0);
        if (frame[i] > 0)
            buf_avro_long(b, frame[i]);
    }
}

/* Index of `s` in the enum symbols, or -1. */
static int codec__symbol(const char *s, const char *const *symbols, int n)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, symbols[i]))
            return i;
    return -1;
}

void codec__avro_encode_event(const event_msg *m, buf *b)
{
    buf_avro_string(b, avro_str(m->id));
    buf_avro_string(b, avro_str(m->camera_id));
    avro_out_opt_string(b, m->stream_id);
    buf_avro_string(b, avro_str(m->event_type));
    avro_out_opt_string(b, m->type_detail);
    buf_avro_double(b, m->confidence);
    buf_avro_long(b, m->timestamp_us);
    buf_avro_string(b, avro_str(m->model_id));
    avro_out_opt_string(b, m->model_version);
    avro_out_boxes(b, m->boxes, m->nboxes);
    avro_out_opt_string(b, m->frame_id);
    avro_out_opt_double(b, m->has_inference_time, m->inference_time_ms);
    avro_out_opt_string(b, m->violation_id);
    buf_avro_long(b, m->created_at_us);
    avro_out_opt_string(b, m->metadata_json);
    avro_out_opt_string(b, m->extra_json);
}

int codec__avro_encode_violation_change(const violation_change_msg *m, buf *b, codec_error *err)
{
    int change = codec__symbol(m->change, codec__change_symbols, 5);
    int status = codec__symbol(m->violation.status, codec__status_symbols, 4);
    if (change < 0)
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "change \"%s\" is not a ChangeKind",
                               avro_str(m->change));
    if (status < 0)
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "status \"%s\" is not a ViolationStatus",
                               avro_str(m->violation.status));
    const violation_msg *v = &m->violation;
    buf_avro_string(b, avro_str(m->violation_id));
    buf_avro_long(b, change);
    buf_avro_long(b, m->occurred_at_us);
    buf_avro_long(b, m->version);
    buf_avro_string(b, avro_str(v->id));
    buf_avro_string(b, avro_str(v->type));
    buf_avro_string(b, avro_str(v->camera_id));
    avro_out_opt_string(b, v->stream_id);
    buf_avro_long(b, status);
    buf_avro_string(b, avro_str(v->severity));
    buf_avro_double(b, v->confidence);
    buf_avro_double(b, v->max_confidence);
    buf_avro_long(b, v->event_count);
    buf_avro_long(b, v->first_event_at_us);
    buf_avro_long(b, v->last_event_at_us);
    avro_out_opt_ts(b, v->ended_at_us);
    avro_out_boxes(b, v->boxes, v->nboxes);
    avro_out_opt_string(b, v->reviewed_by);
    avro_out_opt_ts(b, v->reviewed_at_us);
    avro_out_opt_string(b, v->resolution_notes);
    avro_out_opt_string(b, v->snapshot_status);
    avro_out_opt_string(b, v->snapshot_url);
    avro_out_opt_string(b, v->bookmark_status);
    avro_out_opt_string(b, v->bookmark_url);
    buf_avro_long(b, v->created_at_us);
    buf_avro_long(b, v->updated_at_us);
    buf_avro_long(b, v->version);
    return 0;
}

int codec__avro_encode_evidence_request(const evidence_request_msg *m, buf *b, codec_error *err)
{
    int kind = codec__symbol(m->kind, codec__kind_symbols, 2);
    if (kind < 0)
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "kind \"%s\" is not an EvidenceKind",
                               avro_str(m->kind));
    buf_avro_string(b, avro_str(m->violation_id));
    buf_avro_string(b, avro_str(m->camera_id));
    avro_out_opt_string(b, m->stream_id);
    buf_avro_long(b, kind);
    buf_avro_long(b, m->center_timestamp_us);
    buf_avro_long(b, m->before_seconds);
    buf_avro_long(b, m->after_seconds);
    buf_avro_long(b, m->attempt);
    return 0;
}
