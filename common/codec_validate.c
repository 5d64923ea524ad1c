/* codec_validate.c - what every decoded InferenceResult must satisfy,
 * whatever its format (codec_decode_inference's promise), and the text and
 * time checks the codec shares with the REST API. */
#include "codec.h"

#include "codec_internal.h"
#include "text.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

bool codec_utf8_valid(const char *s, size_t n)
{
    return text_utf8_valid(s, n);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t codec__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool codec__digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

bool codec_parse_iso8601(const char *s, int64_t *us)
{
    int Y, M, D, h, m, sec;
    const char *p = s;
    if (!codec__digits(&p, 4, &Y) || *p++ != '-' || !codec__digits(&p, 2, &M) || *p++ != '-' ||
        !codec__digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!codec__digits(&p, 2, &h) || *p++ != ':' || !codec__digits(&p, 2, &m) || *p++ != ':' ||
        !codec__digits(&p, 2, &sec))
        return false;
    int64_t frac = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int nd = 0;
        while (isdigit((unsigned char)*p)) {
            if (nd < 6) {
                frac = frac * 10 + (*p - '0');
                nd++;
            }
            p++;
        }
        if (nd == 0)
            return false;
        while (nd++ < 6)
            frac *= 10;
    }
    int offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!codec__digits(&p, 2, &oh))
            return false;
        if (*p == ':')
            p++;
        if (!codec__digits(&p, 2, &om) || oh > 23 || om > 59)
            return false;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return false; /* no offset: ambiguous, refused */
    }
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*p || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
        return false;
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
        return false;
    int64_t days = codec__days_from_civil(Y, (unsigned)M, (unsigned)D);
    int64_t t = days * 86400 + h * 3600 + m * 60 + sec - offset_s;
    *us = t * 1000000 + frac;
    return true;
}

int codec_check_skew(int64_t timestamp_us, int64_t now_us, int64_t max_skew_s, codec_error *err)
{
    int64_t d = timestamp_us - now_us;
    if (d < 0)
        d = -d;
    if (d / 1000000 > max_skew_s)
        return codec_error_set(err, CODEC_E_CLOCK_SKEW,
                               "timestamp is %lld s away from now (limit %lld s)",
                               (long long)(d / 1000000), (long long)max_skew_s);
    return 0;
}

static int codec__check_str(const char *field, const char *s, codec_error *err)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n > CODEC_MAX_STRING)
        return codec_error_set(err, CODEC_E_TOO_LARGE, "%s is longer than %d bytes", field,
                               CODEC_MAX_STRING);
    if (!text_utf8_valid(s, n))
        return codec_error_set(err, CODEC_E_INVALID_UTF8, "%s is not valid UTF-8", field);
    return 0;
}

int codec__validate_inference(inference_result *r, bool model_optional, codec_error *err)
{
    const struct {
        const char *name;
        const char *v;
        bool required;
    } strs[] = {
        {"camera_id", r->camera_id, true},
        {"model_id", r->model_id, !(model_optional && !r->model_id)},
        {"event_type", r->event_type, true},
        {"frame_id", r->frame_id, false},
        {"stream_id", r->stream_id, false},
        {"model_version", r->model_version, false},
        {"runtime_id", r->runtime_id, false},
        {"error_code", r->error_code, false},
        {"error_message", r->error_message, false},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (strs[i].required && !strs[i].v)
            return codec_error_set(err, CODEC_E_MISSING_FIELD, "%s is required", strs[i].name);
        if (codec__check_str(strs[i].name, strs[i].v, err))
            return -1;
        if (strs[i].required && !*strs[i].v)
            return codec_error_set(err, CODEC_E_INVALID_VALUE, "%s is empty", strs[i].name);
    }
    if (!isfinite(r->confidence) || r->confidence < 0 || r->confidence > 1)
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "confidence %g is not within 0..1",
                               r->confidence);
    if (r->has_inference_time && (!isfinite(r->inference_time_ms) || r->inference_time_ms < 0))
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "inference_time_ms %g is invalid",
                               r->inference_time_ms);
    if (r->frame_width < 0 || r->frame_width > CODEC_MAX_BOX_PIXELS || r->frame_height < 0 ||
        r->frame_height > CODEC_MAX_BOX_PIXELS)
        return codec_error_set(err, CODEC_E_INVALID_VALUE,
                               "frame_width %d x frame_height %d is not within 1..%.0f pixels",
                               (int)r->frame_width, (int)r->frame_height, CODEC_MAX_BOX_PIXELS);
    if ((r->frame_width == 0) != (r->frame_height == 0))
        return codec_error_set(err, CODEC_E_INVALID_VALUE,
                               "frame_width and frame_height come together (one is missing)");
    if (r->nboxes > CODEC_MAX_BOXES)
        return codec_error_set(err, CODEC_E_TOO_LARGE, "more than %d bounding_boxes",
                               CODEC_MAX_BOXES);
    for (size_t i = 0; i < r->nboxes; i++) {
        const codec_bbox *b = &r->boxes[i];
        const double v[4] = {b->x, b->y, b->width, b->height};
        static const char *const names[4] = {"x", "y", "width", "height"};
        for (int k = 0; k < 4; k++) {
            if (!isfinite(v[k]) || v[k] < 0)
                return codec_error_set(err, CODEC_E_INVALID_VALUE,
                                       "bounding_boxes[%zu].%s is negative or not a number", i,
                                       names[k]);
            if (v[k] > CODEC_MAX_BOX_PIXELS)
                return codec_error_set(err, CODEC_E_INVALID_VALUE,
                                       "bounding_boxes[%zu].%s is beyond %.0f pixels", i, names[k],
                                       CODEC_MAX_BOX_PIXELS);
        }
        if (b->has_confidence &&
            (!isfinite(b->confidence) || b->confidence < 0 || b->confidence > 1))
            return codec_error_set(err, CODEC_E_INVALID_VALUE,
                                   "bounding_boxes[%zu].confidence is not within 0..1", i);
        if (codec__check_str("bounding_boxes[].label", b->label, err))
            return -1;
    }
    if (r->nattributes > CODEC_MAX_ATTRIBUTES)
        return codec_error_set(err, CODEC_E_TOO_LARGE, "more than %d attributes",
                               CODEC_MAX_ATTRIBUTES);
    for (size_t i = 0; i < r->nattributes; i++)
        if (codec__check_str("attributes key", r->attributes[i].key, err) ||
            codec__check_str("attributes value", r->attributes[i].value, err))
            return -1;
    if (r->idempotency_key && codec__check_str("idempotency key", r->idempotency_key, err))
        return -1;
    if (r->result_id) {
        char norm[TEXT_UUID_LEN + 1];
        if (!text_uuid_normalize(r->result_id, norm))
            return codec_error_set(err, CODEC_E_INVALID_VALUE, "result_id is not a UUID");
        memcpy((char *)r->result_id, norm, 37); /* same length, owned by the arena */
    }
    /* 0001-01-01 .. 9999-12-31: anything else is a broken clock or a unit error. */
    if (r->timestamp_us < -62135596800000000LL || r->timestamp_us > 253402300799000000LL)
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "timestamp %lld is out of range",
                               (long long)r->timestamp_us);
    return 0;
}
