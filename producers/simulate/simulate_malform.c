/* simulate_malform.c - see simulate_malform.h. */
#include "simulate_malform.h"

#include "xmalloc.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sim_malform {
    sim_format format;
    double fraction;
    sim_rng rng;
    const sim_malform_kind *kinds; /* the kinds this format can carry */
    size_t nkinds;
    uint64_t counts[SIM_MAL_COUNT];
};

static const sim_malform_kind sim__avro_kinds[] = {
    SIM_MAL_TRUNCATED,        SIM_MAL_BAD_MAGIC,
    SIM_MAL_UNKNOWN_SCHEMA,   SIM_MAL_EMPTY,
    SIM_MAL_CONFIDENCE_RANGE, SIM_MAL_CONFIDENCE_NAN,
    SIM_MAL_NEGATIVE_BOX,     SIM_MAL_EMPTY_CAMERA,
    SIM_MAL_INVALID_UTF8,     SIM_MAL_TIMESTAMP_ABSURD,
};
static const sim_malform_kind sim__json_kinds[] = {
    SIM_MAL_TRUNCATED,          SIM_MAL_BAD_MAGIC,      SIM_MAL_EMPTY,
    SIM_MAL_CONFIDENCE_RANGE,   SIM_MAL_CONFIDENCE_NAN, SIM_MAL_NEGATIVE_BOX,
    SIM_MAL_EMPTY_CAMERA,       SIM_MAL_INVALID_UTF8,   SIM_MAL_TIMESTAMP_ABSURD,
    SIM_MAL_MISSING_EVENT_TYPE, SIM_MAL_WRONG_TYPE,
};

static const char *const sim__kind_names[SIM_MAL_COUNT] = {
    "none",         "truncated",        "bad_magic",        "unknown_schema",
    "empty",        "confidence_range", "confidence_nan",   "negative_box",
    "empty_camera", "invalid_utf8",     "timestamp_absurd", "missing_event_type",
    "wrong_type",
};

/* Placeholders the JSON encoder can carry, swapped for what it cannot. */
#define SIM__NAN_MARK "\"__ruth_simulate_nan__\""
#define SIM__UTF8_MARK "\"__ruth_simulate_bad_utf8__\""
#define SIM__BAD_UTF8 "\"cam-\xff\xfe\xc3\x28\""

#define SIM__30_YEARS_US (30LL * 365 * 86400 * 1000000)

const char *sim_malform_kind_name(sim_malform_kind kind)
{
    return (unsigned)kind < SIM_MAL_COUNT ? sim__kind_names[kind] : "?";
}

sim_malform *sim_malform_new(sim_format format, double fraction, uint64_t seed)
{
    sim_malform *m = xcalloc(1, sizeof *m);
    m->format = format;
    m->fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    /* A generator of its own, so the scenario's sequence does not depend on
     * the fraction. */
    sim_rng_seed(&m->rng, seed ^ 0x6d616c666f726d21ull);
    if (format == SIM_FORMAT_JSON) {
        m->kinds = sim__json_kinds;
        m->nkinds = sizeof sim__json_kinds / sizeof sim__json_kinds[0];
    } else {
        m->kinds = sim__avro_kinds;
        m->nkinds = sizeof sim__avro_kinds / sizeof sim__avro_kinds[0];
    }
    return m;
}

void sim_malform_free(sim_malform *m)
{
    free(m);
}

const uint64_t *sim_malform_counts(const sim_malform *m)
{
    return m->counts;
}

sim_malform_kind sim_malform_pick(sim_malform *m)
{
    /* Always two draws, malformed or not (see the header). */
    double u = sim_rng_double(&m->rng);
    uint32_t k = sim_rng_below(&m->rng, (uint32_t)m->nkinds);
    if (!(u < m->fraction))
        return SIM_MAL_NONE;
    m->counts[m->kinds[k]]++;
    return m->kinds[k];
}

void sim_malform_frame(sim_malform *m, sim_malform_kind kind, sim_frame *f)
{
    bool json = m->format == SIM_FORMAT_JSON;
    switch (kind) {
    case SIM_MAL_CONFIDENCE_RANGE:
        f->confidence = 1.7;
        break;
    case SIM_MAL_CONFIDENCE_NAN:
        if (!json)
            f->confidence = NAN;
        break;
    case SIM_MAL_NEGATIVE_BOX:
        if (f->nboxes == 0) {
            f->nboxes = 1;
            f->boxes[0] = (sim_box){0, 0, 0, 0, f->confidence, "person"};
        }
        f->boxes[0].x = -25;
        f->boxes[0].width = -40;
        break;
    case SIM_MAL_EMPTY_CAMERA:
        f->camera_id[0] = '\0';
        break;
    case SIM_MAL_INVALID_UTF8:
        if (!json)
            snprintf(f->camera_id, sizeof f->camera_id, "cam-\xff\xfe\xc3\x28");
        break;
    case SIM_MAL_TIMESTAMP_ABSURD:
        f->timestamp_us += SIM__30_YEARS_US;
        break;
    default:
        break;
    }
}

/* Replace the first `mark` in b by `with`. */
static bool sim__replace(buf *b, const char *mark, const char *with)
{
    size_t ml = strlen(mark), wl = strlen(with);
    unsigned char *p = NULL;
    for (size_t i = 0; i + ml <= b->len && !p; i++)
        if (b->data[i] == (unsigned char)mark[0] && !memcmp(b->data + i, mark, ml))
            p = b->data + i;
    if (!p)
        return false;
    size_t at = (size_t)(p - b->data), tail = b->len - at - ml;
    unsigned char *out = xmalloc(b->len - ml + wl + 1);
    memcpy(out, b->data, at);
    memcpy(out + at, with, wl);
    memcpy(out + at + wl, b->data + at + ml, tail);
    free(b->data);
    b->data = out;
    b->len = b->cap = at + wl + tail;
    b->cap++;
    return true;
}

/* JSON kinds a JSON encoder cannot produce: edit the object, then swap
 * placeholders for the raw tokens. */
static bool sim__json_edit(sim_malform_kind kind, buf *b)
{
    json_error_t jerr;
    json_t *o = json_loadb((const char *)b->data, b->len, 0, &jerr);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return false;
    }
    const char *mark = NULL, *with = NULL;
    switch (kind) {
    case SIM_MAL_CONFIDENCE_NAN:
        json_object_set_new(o, "confidence", json_string("__ruth_simulate_nan__"));
        mark = SIM__NAN_MARK;
        with = "NaN";
        break;
    case SIM_MAL_INVALID_UTF8:
        json_object_set_new(o, "camera_id", json_string("__ruth_simulate_bad_utf8__"));
        mark = SIM__UTF8_MARK;
        with = SIM__BAD_UTF8;
        break;
    case SIM_MAL_MISSING_EVENT_TYPE:
        json_object_del(o, "event_type"); /* camera_id could come from the key */
        break;
    case SIM_MAL_WRONG_TYPE:
        json_object_set_new(o, "confidence", json_string("high"));
        break;
    default:
        break;
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return false;
    buf_set(b, s, strlen(s));
    free(s);
    return mark ? sim__replace(b, mark, with) : true;
}

bool sim_malform_bytes(sim_malform *m, sim_malform_kind kind, buf *b)
{
    size_t hdr = m->format == SIM_FORMAT_AVRO ? 10 : m->format == SIM_FORMAT_AVRO_CONFLUENT ? 5 : 1;
    bool json = m->format == SIM_FORMAT_JSON;
    switch (kind) {
    case SIM_MAL_TRUNCATED:
        if (b->len <= hdr + 1)
            return false;
        /* Keep the header, cut the body anywhere before its end. */
        b->len = hdr + sim_rng_below(&m->rng, (uint32_t)(b->len - hdr - 1));
        return true;
    case SIM_MAL_BAD_MAGIC:
        if (b->len < 1)
            return false;
        if (json) {
            static const char junk[] = "\x1f\x8b garbage ";
            unsigned char *out = xmalloc(b->len + sizeof junk);
            memcpy(out, junk, sizeof junk - 1);
            memcpy(out + sizeof junk - 1, b->data, b->len);
            free(b->data);
            b->data = out;
            b->len += sizeof junk - 1;
            b->cap = b->len + 1;
        } else {
            b->data[0] = 0x7f; /* neither 0x00 (Confluent), 0xC3 (single-object) nor '{' */
        }
        return true;
    case SIM_MAL_UNKNOWN_SCHEMA:
        if (json || b->len < hdr)
            return false;
        if (m->format == SIM_FORMAT_AVRO) {
            for (size_t i = 2; i < 10; i++)
                b->data[i] ^= 0x5a;
        } else {
            static const unsigned char id[4] = {0x7f, 0xff, 0xff, 0xf0};
            memcpy(b->data + 1, id, 4);
        }
        return true;
    case SIM_MAL_EMPTY:
        b->len = 0;
        return true;
    case SIM_MAL_CONFIDENCE_NAN:
    case SIM_MAL_INVALID_UTF8:
    case SIM_MAL_MISSING_EVENT_TYPE:
    case SIM_MAL_WRONG_TYPE:
        return json ? sim__json_edit(kind, b) : true;
    default:
        return true;
    }
}
