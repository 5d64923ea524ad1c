/* ingest_items.h - a POST /v1/inference body cut into its InferenceResults
 * (ingest_items.c). Pure: no I/O, no allocation but the item array.
 *
 * A JSON body is one object (one result) or an array of them; the array is
 * cut at its top-level commas by a scanner that follows strings and
 * nesting, so each item's own bytes go to the codec (which parses and
 * validates them, and names what is wrong). An element that is not an
 * object is still an item: the codec refuses it by its index. An Avro body
 * (single-object or Confluent framing) is one result. */
#ifndef RUTH_INGEST_ITEMS_H
#define RUTH_INGEST_ITEMS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ingest_item {
    const unsigned char *p; /* into the body (borrowed) */
    size_t len;
} ingest_item;

typedef enum {
    INGEST_ITEMS_OK = 0,
    INGEST_ITEMS_MALFORMED, /* the body is not one object or an array of values */
    INGEST_ITEMS_EMPTY,     /* an empty array */
    INGEST_ITEMS_TOO_MANY,  /* more than `max` items */
} ingest_items_result;

/* Cut a JSON body into at most `max` items, written to `items` (room for
 * `max`); *n receives the count, *batch whether the body was an array.
 * On INGEST_ITEMS_MALFORMED `why` says where. */
ingest_items_result ingest_items_json(const unsigned char *body, size_t len, ingest_item *items,
                                      size_t max, size_t *n, bool *batch, char *why, size_t whysz);

/* Whether the Content-Type names an Avro body: application/vnd.apache.avro
 * or avro/binary (parameters after ';' ignored, case-insensitive); false
 * for NULL. */
bool ingest_items_is_avro(const char *content_type);

#endif
