/* codec_error.c - see codec_error.h. */
#include "codec_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *codec_errcode_name(codec_errcode code)
{
    switch (code) {
    case CODEC_OK:
        return "OK";
    case CODEC_E_BAD_FRAMING:
        return "BAD_FRAMING";
    case CODEC_E_UNKNOWN_SCHEMA_ID:
        return "UNKNOWN_SCHEMA_ID";
    case CODEC_E_UNKNOWN_FINGERPRINT:
        return "UNKNOWN_FINGERPRINT";
    case CODEC_E_REGISTRY_UNAVAILABLE:
        return "REGISTRY_UNAVAILABLE";
    case CODEC_E_INCOMPATIBLE_SCHEMA:
        return "INCOMPATIBLE_SCHEMA";
    case CODEC_E_AVRO_DECODE:
        return "AVRO_DECODE";
    case CODEC_E_JSON_SYNTAX:
        return "JSON_SYNTAX";
    case CODEC_E_JSON_TOO_DEEP:
        return "JSON_TOO_DEEP";
    case CODEC_E_MISSING_FIELD:
        return "MISSING_FIELD";
    case CODEC_E_WRONG_TYPE:
        return "WRONG_TYPE";
    case CODEC_E_INVALID_VALUE:
        return "INVALID_VALUE";
    case CODEC_E_INVALID_UTF8:
        return "INVALID_UTF8";
    case CODEC_E_TOO_LARGE:
        return "TOO_LARGE";
    case CODEC_E_CLOCK_SKEW:
        return "CLOCK_SKEW";
    case CODEC_E_TOO_COMPLEX:
        return "TOO_COMPLEX";
    }
    return "UNKNOWN";
}

bool codec_error_is_transient(codec_errcode code)
{
    return code == CODEC_E_REGISTRY_UNAVAILABLE;
}

int codec_error_set(codec_error *err, codec_errcode code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}
