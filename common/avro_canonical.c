/* avro_canonical.c - see avro_canonical.h; rules from the Avro specification,
 * "Parsing Canonical Form for Schemas" and "Schema Fingerprints". */
#include "avro_canonical.h"

#include "buf.h"
#include "xmalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define AVRO_FP_EMPTY 0xc15d213aa4d7a795ULL

static const char *const avro__primitives[] = {"null",  "boolean", "int",   "long",
                                               "float", "double",  "bytes", "string"};

static bool avro__is_primitive(const char *s)
{
    for (size_t i = 0; i < sizeof avro__primitives / sizeof avro__primitives[0]; i++)
        if (!strcmp(s, avro__primitives[i]))
            return true;
    return false;
}

/* Full name of `name` in namespace `ns` ([FULLNAMES]). */
static char *avro__fullname(const char *name, const char *ns)
{
    if (strchr(name, '.') || !ns || !*ns)
        return xstrdup(name);
    return xasprintf("%s.%s", ns, name);
}

static int avro__emit(buf *out, json_t *schema, const char *ns, int depth, char *errstr,
                      size_t errsz);

static void avro__str(buf *out, const char *s)
{
    json_t *j = json_string(s);
    char *enc = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    if (enc)
        buf_append_str(out, enc);
    free(enc);
    json_decref(j);
}

/* A name where a schema is expected: a primitive as itself, else the full
 * name of a named type. */
static void avro__emit_name(buf *out, const char *s, const char *ns)
{
    if (avro__is_primitive(s)) {
        avro__str(out, s);
        return;
    }
    char *full = avro__fullname(s, ns);
    avro__str(out, full);
    free(full);
}

static int avro__emit_union(buf *out, json_t *schema, const char *ns, int depth, char *errstr,
                            size_t errsz)
{
    buf_append_byte(out, '[');
    size_t i;
    json_t *v;
    json_array_foreach(schema, i, v)
    {
        if (i)
            buf_append_byte(out, ',');
        if (avro__emit(out, v, ns, depth + 1, errstr, errsz))
            return -1;
    }
    buf_append_byte(out, ']');
    return 0;
}

static void avro__emit_symbols(buf *out, json_t *schema)
{
    buf_append_str(out, ",\"symbols\":[");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(schema, "symbols"), i, v)
    {
        if (i)
            buf_append_byte(out, ',');
        avro__str(out, json_string_value(v) ? json_string_value(v) : "");
    }
    buf_append_byte(out, ']');
}

/* A record's fields, their types resolved in `inner_ns`. */
static int avro__emit_fields(buf *out, json_t *schema, const char *inner_ns, int depth,
                             char *errstr, size_t errsz)
{
    int rc = 0;
    buf_append_str(out, ",\"fields\":[");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(schema, "fields"), i, f)
    {
        if (i)
            buf_append_byte(out, ',');
        buf_append_str(out, "{\"name\":");
        const char *fname = json_string_value(json_object_get(f, "name"));
        avro__str(out, fname ? fname : "");
        buf_append_str(out, ",\"type\":");
        if ((rc = avro__emit(out, json_object_get(f, "type"), inner_ns, depth + 1, errstr, errsz)))
            break;
        buf_append_byte(out, '}');
    }
    buf_append_byte(out, ']');
    return rc;
}

static bool avro__is_named_type(const char *type)
{
    return !strcmp(type, "record") || !strcmp(type, "error") || !strcmp(type, "enum") ||
           !strcmp(type, "fixed");
}

/* A record, error, enum or fixed: its full name, type and the attributes
 * the canonical form keeps. */
static int avro__emit_named(buf *out, json_t *schema, const char *type, const char *ns, int depth,
                            char *errstr, size_t errsz)
{
    const char *name = json_string_value(json_object_get(schema, "name"));
    if (!name) {
        snprintf(errstr, errsz, "named type without \"name\"");
        return -1;
    }
    const char *own_ns = json_string_value(json_object_get(schema, "namespace"));
    char *full = avro__fullname(name, own_ns ? own_ns : ns);
    /* Names inside take the namespace of this type's full name. */
    char *inner_ns = NULL;
    const char *dot = strrchr(full, '.');
    if (dot)
        inner_ns = xstrndup(full, (size_t)(dot - full));
    buf_append_str(out, "{\"name\":");
    avro__str(out, full);
    buf_append_str(out, ",\"type\":");
    avro__str(out, !strcmp(type, "error") ? "record" : type);
    int rc = 0;
    if (!strcmp(type, "enum"))
        avro__emit_symbols(out, schema);
    else if (!strcmp(type, "fixed"))
        buf_printf(out, ",\"size\":%lld",
                   (long long)json_integer_value(json_object_get(schema, "size")));
    else
        rc = avro__emit_fields(out, schema, inner_ns, depth, errstr, errsz);
    buf_append_byte(out, '}');
    free(full);
    free(inner_ns);
    return rc;
}

/* {"type":"array","items":...} or {"type":"map","values":...}. */
static int avro__emit_container(buf *out, json_t *schema, const char *type, const char *key,
                                const char *ns, int depth, char *errstr, size_t errsz)
{
    buf_printf(out, "{\"type\":\"%s\",\"%s\":", type, key);
    if (avro__emit(out, json_object_get(schema, key), ns, depth + 1, errstr, errsz))
        return -1;
    buf_append_byte(out, '}');
    return 0;
}

static int avro__emit_object(buf *out, json_t *schema, const char *ns, int depth, char *errstr,
                             size_t errsz)
{
    const char *type = json_string_value(json_object_get(schema, "type"));
    if (!type) {
        snprintf(errstr, errsz, "schema object without a string \"type\"");
        return -1;
    }
    if (avro__is_primitive(type)) { /* {"type":"long","logicalType":...} -> "long" */
        avro__str(out, type);
        return 0;
    }
    if (avro__is_named_type(type))
        return avro__emit_named(out, schema, type, ns, depth, errstr, errsz);
    if (!strcmp(type, "array"))
        return avro__emit_container(out, schema, "array", "items", ns, depth, errstr, errsz);
    if (!strcmp(type, "map"))
        return avro__emit_container(out, schema, "map", "values", ns, depth, errstr, errsz);
    /* A reference to a named type written as {"type": "Name"}. */
    char *full = avro__fullname(type, ns);
    avro__str(out, full);
    free(full);
    return 0;
}

static int avro__emit(buf *out, json_t *schema, const char *ns, int depth, char *errstr,
                      size_t errsz)
{
    if (depth > 64) {
        snprintf(errstr, errsz, "schema nested too deeply");
        return -1;
    }
    if (json_is_string(schema)) {
        avro__emit_name(out, json_string_value(schema), ns);
        return 0;
    }
    if (json_is_array(schema)) /* union */
        return avro__emit_union(out, schema, ns, depth, errstr, errsz);
    if (!json_is_object(schema)) {
        snprintf(errstr, errsz, "schema element is neither string, array nor object");
        return -1;
    }
    return avro__emit_object(out, schema, ns, depth, errstr, errsz);
}

char *avro_canonical_form(const char *schema_json, size_t len, char *errstr, size_t errsz)
{
    json_error_t jerr;
    json_t *root = json_loadb(schema_json, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        snprintf(errstr, errsz, "schema is not JSON: %s (line %d)", jerr.text, jerr.line);
        return NULL;
    }
    buf out = {0};
    int rc = avro__emit(&out, root, NULL, 0, errstr, errsz);
    json_decref(root);
    if (rc) {
        buf_free(&out);
        return NULL;
    }
    buf_cstr(&out);
    return (char *)out.data;
}

static uint64_t avro__fp_table[256];
static pthread_once_t avro__fp_once = PTHREAD_ONCE_INIT;

static void avro__fp_init(void)
{
    for (int i = 0; i < 256; i++) {
        uint64_t fp = (uint64_t)i;
        for (int j = 0; j < 8; j++)
            fp = (fp >> 1) ^ (AVRO_FP_EMPTY & -(fp & 1));
        avro__fp_table[i] = fp;
    }
}

uint64_t avro_fingerprint64(const void *data, size_t len)
{
    pthread_once(&avro__fp_once, avro__fp_init); /* codecs live on several threads */
    const unsigned char *p = data;
    uint64_t fp = AVRO_FP_EMPTY;
    for (size_t i = 0; i < len; i++)
        fp = (fp >> 8) ^ avro__fp_table[(fp ^ p[i]) & 0xff];
    return fp;
}
