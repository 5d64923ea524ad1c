/* ingest_items.c - see ingest_items.h. */
#include "ingest_items.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool items__ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t items__skip_ws(const unsigned char *b, size_t len, size_t i)
{
    while (i < len && items__ws(b[i]))
        i++;
    return i;
}

/* The end of the JSON string whose opening quote is at b[i]: the index just
 * past its closing quote, or 0 when it never closes. */
static size_t items__string_end(const unsigned char *b, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (b[i] == '\\')
            i++;
        else if (b[i] == '"')
            return i + 1;
    }
    return 0;
}

/* The end of the value starting at b[i] (not whitespace): past its closing
 * bracket for objects and arrays, past the quote for strings, at the next
 * delimiter for scalars. *complete is false when the body ends first. */
static size_t items__value_end(const unsigned char *b, size_t len, size_t i, bool *complete)
{
    *complete = true;
    if (b[i] == '"') {
        size_t e = items__string_end(b, len, i);
        *complete = e != 0;
        return e ? e : len;
    }
    if (b[i] == '{' || b[i] == '[') {
        size_t depth = 0;
        for (; i < len; i++) {
            if (b[i] == '"') {
                size_t e = items__string_end(b, len, i);
                if (!e)
                    break;
                i = e - 1;
            } else if (b[i] == '{' || b[i] == '[') {
                depth++;
            } else if (b[i] == '}' || b[i] == ']') {
                if (--depth == 0)
                    return i + 1;
            }
        }
        *complete = false;
        return len;
    }
    while (i < len && b[i] != ',' && b[i] != ']' && !items__ws(b[i]))
        i++;
    return i;
}

ingest_items_result ingest_items_json(const unsigned char *body, size_t len, ingest_item *items,
                                      size_t max, size_t *n, bool *batch, char *why, size_t whysz)
{
    *n = 0;
    *batch = false;
    size_t i = items__skip_ws(body, len, 0);
    if (i < len && body[i] == '{') { /* one result: the codec checks all of it */
        if (max < 1)
            return INGEST_ITEMS_TOO_MANY;
        items[0] = (ingest_item){body + i, len - i};
        *n = 1;
        return INGEST_ITEMS_OK;
    }
    if (i >= len || body[i] != '[') {
        snprintf(why, whysz, "the body must be an InferenceResult object or an array of them");
        return INGEST_ITEMS_MALFORMED;
    }
    *batch = true;
    i = items__skip_ws(body, len, i + 1);
    if (i < len && body[i] == ']') {
        if (items__skip_ws(body, len, i + 1) != len) {
            snprintf(why, whysz, "characters after the array");
            return INGEST_ITEMS_MALFORMED;
        }
        return INGEST_ITEMS_EMPTY;
    }
    for (;;) {
        if (i >= len || body[i] == ',' || body[i] == ']') {
            snprintf(why, whysz, "item %zu is missing", *n);
            return INGEST_ITEMS_MALFORMED;
        }
        bool complete;
        size_t end = items__value_end(body, len, i, &complete);
        if (!complete) {
            snprintf(why, whysz, "the body ends inside item %zu", *n);
            return INGEST_ITEMS_MALFORMED;
        }
        if (*n == max)
            return INGEST_ITEMS_TOO_MANY;
        items[(*n)++] = (ingest_item){body + i, end - i};
        i = items__skip_ws(body, len, end);
        if (i < len && body[i] == ',') {
            i = items__skip_ws(body, len, i + 1);
            continue;
        }
        if (i < len && body[i] == ']')
            break;
        snprintf(why, whysz, "expected ',' or ']' after item %zu", *n - 1);
        return INGEST_ITEMS_MALFORMED;
    }
    if (items__skip_ws(body, len, i + 1) != len) {
        snprintf(why, whysz, "characters after the array");
        return INGEST_ITEMS_MALFORMED;
    }
    return INGEST_ITEMS_OK;
}

bool ingest_items_is_avro(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    return (n == 27 && !strncasecmp(ct, "application/vnd.apache.avro", 27)) ||
           (n == 11 && !strncasecmp(ct, "avro/binary", 11));
}
