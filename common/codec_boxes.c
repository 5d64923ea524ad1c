/* codec_boxes.c - the JSON text of bounding boxes and attributes, the one
 * writer of both: the database columns (events.bounding_boxes, attributes,
 * violations.bounding_boxes) and the JSON messages (codec_json.c parses
 * its output rather than building boxes of its own). */
#include "codec.h"

#include "buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hand-written rather than jansson because they run for every event on the
 * worker's COPY path (events.bounding_boxes and attributes, and
 * violations.bounding_boxes): measured on this machine, 1.0 us per event for
 * one to three boxes against 5.6-6.6 us building and dumping the same with
 * jansson, about 8 % of a core at 15,000 events/s. So this is the only box
 * writer: the JSON encoders (codec_json.c) parse its output instead of building
 * their own. */

static void text__str(buf *b, const char *s)
{
    buf_append_byte(b, '"');
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s;; p++) {
        if (*p && *p != '"' && *p != '\\' && *p >= 0x20)
            continue;
        buf_append(b, run, (size_t)((const char *)p - run)); /* the clean run so far */
        if (!*p)
            break;
        if (*p == '"' || *p == '\\') {
            buf_append_byte(b, '\\');
            buf_append_byte(b, *p);
        } else {
            buf_printf(b, "\\u%04x", *p);
        }
        run = (const char *)p + 1;
    }
    buf_append_byte(b, '"');
}

/* Shortest text that reads back as the same double: integers (the usual
 * pixel coordinates) without printf, others with %.15g when that round-trips,
 * else %.17g; null for what JSON cannot hold (validation rejects those). */
static void text__num(buf *b, double v)
{
    if (!isfinite(v)) {
        buf_append_str(b, "null");
        return;
    }
    if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v) {
        char tmp[24];
        int n = 0;
        int64_t x = (int64_t)v;
        bool neg = x < 0;
        uint64_t u = neg ? (uint64_t)(-x) : (uint64_t)x;
        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (neg)
            buf_append_byte(b, '-');
        while (n)
            buf_append_byte(b, (unsigned char)tmp[--n]);
        return;
    }
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof tmp, "%.17g", v);
    buf_append_str(b, tmp);
}

void codec_boxes_json(buf *b, const codec_bbox *bx, size_t n, bool absent_as_null)
{
    buf_append_byte(b, '[');
    for (size_t i = 0; i < n; i++) {
        buf_append_str(b, i ? ",{\"x\":" : "{\"x\":");
        text__num(b, bx[i].x);
        buf_append_str(b, ",\"y\":");
        text__num(b, bx[i].y);
        buf_append_str(b, ",\"width\":");
        text__num(b, bx[i].width);
        buf_append_str(b, ",\"height\":");
        text__num(b, bx[i].height);
        if (bx[i].label) {
            buf_append_str(b, ",\"label\":");
            text__str(b, bx[i].label);
        } else if (absent_as_null) {
            buf_append_str(b, ",\"label\":null");
        }
        if (bx[i].has_confidence) {
            buf_append_str(b, ",\"confidence\":");
            text__num(b, bx[i].confidence);
        } else if (absent_as_null) {
            buf_append_str(b, ",\"confidence\":null");
        }
        buf_append_byte(b, '}');
    }
    buf_append_byte(b, ']');
}

void codec_boxes_attrs_json(buf *b, const codec_attr *a, size_t n)
{
    buf_append_byte(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_append_byte(b, ',');
        text__str(b, a[i].key);
        buf_append_byte(b, ':');
        text__str(b, a[i].value);
    }
    buf_append_byte(b, '}');
}

/* The boxes as a jansson value: codec_boxes_json's text, parsed (NULL when
 * it is not valid JSON, e.g. a label that is not UTF-8). */
