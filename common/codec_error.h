/* codec_error.h - the codec's error: a stable code (the dead-letter reason)
 * and a message naming the field. A leaf: the registry client and every
 * codec source file report through it. */
#ifndef RUTH_CODEC_ERROR_H
#define RUTH_CODEC_ERROR_H

#include <stdbool.h>

typedef enum {
    CODEC_OK = 0,
    CODEC_E_BAD_FRAMING,          /* no known framing: empty, wrong magic, truncated header */
    CODEC_E_UNKNOWN_SCHEMA_ID,    /* registry says the id does not exist, or no registry set */
    CODEC_E_UNKNOWN_FINGERPRINT,  /* single-object fingerprint matches no bundled schema */
    CODEC_E_REGISTRY_UNAVAILABLE, /* transient: registry unreachable or 5xx; retry, don't DLQ */
    CODEC_E_INCOMPATIBLE_SCHEMA,  /* writer schema cannot be resolved against ours */
    CODEC_E_AVRO_DECODE,          /* truncated or corrupt Avro body, trailing bytes */
    CODEC_E_JSON_SYNTAX,          /* not parseable JSON, or not an object */
    CODEC_E_JSON_TOO_DEEP,        /* nesting beyond CODEC_JSON_MAX_DEPTH */
    CODEC_E_MISSING_FIELD,        /* a required field is absent or null */
    CODEC_E_WRONG_TYPE,           /* a field has the wrong JSON/Avro type */
    CODEC_E_INVALID_VALUE,        /* NaN, out of range, negative box, bad UUID or timestamp... */
    CODEC_E_INVALID_UTF8,         /* a string is not valid UTF-8 */
    CODEC_E_TOO_LARGE,            /* payload, string or array over its limit */
    CODEC_E_CLOCK_SKEW,           /* timestamp too far from now (codec_check_skew) */
    CODEC_E_TOO_COMPLEX,          /* decoding work beyond the message's budget (writer schema) */
} codec_errcode;

typedef struct codec_error {
    codec_errcode code;
    char message[256]; /* human-readable, names the field: "bounding_boxes[2].width is negative" */
} codec_error;

/* Stable upper-case name of a code, e.g. "MISSING_FIELD" (the DLQ reason). */
const char *codec_errcode_name(codec_errcode code);
/* true for failures that a retry may cure (registry unavailable): such a
 * message must not be dead-lettered. */
bool codec_error_is_transient(codec_errcode code);

/* Fill err (when not NULL) with code and the printf-style message; returns
 * -1, so failing paths read `return codec_error_set(err, ...);`. */
int codec_error_set(codec_error *err, codec_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
