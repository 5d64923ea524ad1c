/* schema_registry.c - see schema_registry.h. */
#include "schema_registry.h"

#include "avro_canonical.h"
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "xmalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define REGISTRY_TIMEOUT_MS 5000
#define REGISTRY_MAX_RESPONSE (1 << 20)
/* Ids the registry said it does not know are not asked again for this long:
 * a stream of messages with a bogus id costs a request every few seconds,
 * not one each; short, as a schema may be registered (or a lagging replica
 * catch up) right after. */
#define REGISTRY_UNKNOWN_TTL_US (5 * 1000000LL)
#define REGISTRY_UNKNOWN_SLOTS 64

/* What Confluent's own clients send: its versioned media type first. */
#define REGISTRY_ACCEPT                                                                            \
    "Accept: application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; "        \
    "qs=0.9, application/json; qs=0.5"

struct schema_registry {
    char *base;
    char *user_info; /* basic auth, or NULL; never logged */
    char *ca_file, *cert_file, *key_file;
    CURL *curl;
    schema_registry_entry *entries;
    size_t n, cap;
    struct {
        int32_t id;
        int64_t until_us; /* 0 = free */
        char why[256];    /* what made the id's messages dead letters (codec_error.message) */
    } unknown[REGISTRY_UNKNOWN_SLOTS];
};

static char *registry__opt(const char *v)
{
    return v && *v ? xstrdup(v) : NULL;
}

/* A file option that must be readable now: named, with the path (a path
 * is no secret), so a typo fails at start and not at the first message. */
static bool registry__readable(const char *setting, const char *path, char *errstr, size_t errsz)
{
    if (!path || access(path, R_OK) == 0)
        return true;
    snprintf(errstr, errsz, "%s: cannot read %s: %s", setting, path, strerror(errno));
    return false;
}

schema_registry *schema_registry_new_with(const char *base_url, const schema_registry_options *o,
                                          char *errstr, size_t errsz)
{
    static const schema_registry_options none = {0};
    if (!o)
        o = &none;
    schema_registry *r = xcalloc(1, sizeof *r);
    r->user_info = registry__opt(o->user_info);
    r->ca_file = registry__opt(o->ca_file);
    r->cert_file = registry__opt(o->cert_file);
    r->key_file = registry__opt(o->key_file);
    if (r->user_info && !strchr(r->user_info, ':')) {
        /* Never echo the value: it is a credential. */
        snprintf(errstr, errsz,
                 "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO must be user:password (it has no ':')");
        goto failed;
    }
    if (!r->cert_file != !r->key_file) {
        snprintf(errstr, errsz,
                 "SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION and SCHEMA_REGISTRY_SSL_KEY_LOCATION "
                 "go together (mutual TLS needs both)");
        goto failed;
    }
    if (!registry__readable("SCHEMA_REGISTRY_SSL_CA_LOCATION", r->ca_file, errstr, errsz) ||
        !registry__readable("SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION", r->cert_file, errstr,
                            errsz) ||
        !registry__readable("SCHEMA_REGISTRY_SSL_KEY_LOCATION", r->key_file, errstr, errsz))
        goto failed;
    r->curl = curl_easy_init();
    if (!r->curl) {
        snprintf(errstr, errsz, "cannot initialise libcurl for SCHEMA_REGISTRY_URL");
        goto failed;
    }
    r->base = xstrdup(base_url);
    size_t l = strlen(r->base);
    while (l && r->base[l - 1] == '/')
        r->base[--l] = '\0';
    return r;
failed:
    schema_registry_destroy(r);
    return NULL;
}

schema_registry *schema_registry_new(const char *base_url, char *errstr, size_t errsz)
{
    schema_registry_options o = {0};
    if (g_cfg) {
        o.user_info = g_cfg->schema_registry_user_info;
        o.ca_file = g_cfg->schema_registry_ca_file;
        o.cert_file = g_cfg->schema_registry_cert_file;
        o.key_file = g_cfg->schema_registry_key_file;
    }
    return schema_registry_new_with(base_url, &o, errstr, errsz);
}

void schema_registry_destroy(schema_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        avro_schema_decref(r->entries[i].schema);
        free(r->entries[i].canonical);
        free(r->entries[i].json);
    }
    free(r->entries);
    if (r->curl)
        curl_easy_cleanup(r->curl);
    free(r->base);
    if (r->user_info) /* a credential: not left in freed memory */
        memset(r->user_info, 0, strlen(r->user_info));
    free(r->user_info);
    free(r->ca_file);
    free(r->cert_file);
    free(r->key_file);
    free(r);
}

typedef struct registry__sink {
    buf *b;
    bool over; /* the answer passed REGISTRY_MAX_RESPONSE: transfer aborted */
} registry__sink;

static size_t registry__collect(char *d, size_t sz, size_t n, void *arg)
{
    registry__sink *k = arg;
    if (k->b->len + sz * n > REGISTRY_MAX_RESPONSE) {
        k->over = true;
        return 0; /* aborts the transfer */
    }
    buf_append(k->b, d, sz * n);
    return sz * n;
}

/* The media types a Confluent-compatible registry answers with (Apicurio:
 * application/json); a missing Content-Type is let through to the JSON
 * parser. Anything else (an HTML login page of a proxy) is not an answer
 * about the schema. */
static bool registry__json_type(const char *type)
{
    if (!type)
        return true;
    static const char *const ok[] = {"application/vnd.schemaregistry.v1+json",
                                     "application/vnd.schemaregistry+json", "application/json"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t n = strlen(ok[i]);
        if (!strncasecmp(type, ok[i], n) && (type[n] == '\0' || type[n] == ';' || type[n] == ' '))
            return true;
    }
    return false;
}

/* Perform a request; *status receives the HTTP status. Returns 0; 1 for an
 * answer over REGISTRY_MAX_RESPONSE, with err set to `too_large` (a code
 * that is not transient: the registry answered, and asking again gets the
 * same answer); -1 for connection failures, timeouts, 5xx and 429, with
 * REGISTRY_UNAVAILABLE. */
static int registry__request(schema_registry *r, const char *url, const char *post_body, buf *resp,
                             long *status, codec_errcode too_large, codec_error *err)
{
    registry__sink sink = {resp, false};
    CURL *c = r->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)REGISTRY_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, registry__collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    /* Refuses a declared Content-Length over the limit before the body. */
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)REGISTRY_MAX_RESPONSE);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ruth-schema-registry-client");
    if (r->user_info) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, r->user_info);
    }
    if (r->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
    if (r->cert_file) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, r->cert_file);
        curl_easy_setopt(c, CURLOPT_SSLKEY, r->key_file);
    }
    struct curl_slist *h = curl_slist_append(NULL, REGISTRY_ACCEPT);
    if (post_body) {
        h = curl_slist_append(h, "Content-Type: application/vnd.schemaregistry.v1+json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (sink.over || cc == CURLE_FILESIZE_EXCEEDED) {
        codec_error_set(err, too_large, "schema registry answer is over %d bytes",
                        REGISTRY_MAX_RESPONSE);
        return 1;
    }
    if (cc != CURLE_OK)
        return codec_error_set(err, CODEC_E_REGISTRY_UNAVAILABLE, "schema registry: %s",
                               curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (*status >= 500 || *status == 429)
        return codec_error_set(err, CODEC_E_REGISTRY_UNAVAILABLE, "schema registry answered %ld",
                               *status);
    const char *type = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    if (!registry__json_type(type))
        return codec_error_set(err, CODEC_E_REGISTRY_UNAVAILABLE,
                               "schema registry answered %ld with %s, not JSON (a proxy or a "
                               "wrong SCHEMA_REGISTRY_URL?)",
                               *status, type);
    return 0;
}

/* Confluent's error body {"error_code": N, "message": ...}: N, or 0. */
static long registry__error_code(const buf *resp)
{
    json_t *doc = json_loadb((const char *)resp->data, resp->len, 0, NULL);
    long code = (long)json_integer_value(json_object_get(doc, "error_code"));
    json_decref(doc);
    return code;
}

/* Not asked again for REGISTRY_UNKNOWN_TTL_US: its messages are dead
 * letters for `why` (the error they got) until then. */
static void registry__remember_unknown(schema_registry *r, int32_t id, const char *why)
{
    size_t slot = (uint32_t)id % REGISTRY_UNKNOWN_SLOTS;
    r->unknown[slot].id = id;
    r->unknown[slot].until_us = clock_mono_us() + REGISTRY_UNKNOWN_TTL_US;
    snprintf(r->unknown[slot].why, sizeof r->unknown[slot].why, "%s", why);
}

/* A 200 answer: parse the writer schema and cache it under id. */
static int registry__store(schema_registry *r, int32_t id, const buf *resp,
                           const schema_registry_entry **out, codec_error *err)
{
    int rc = -1;
    json_t *doc = json_loadb((const char *)resp->data, resp->len, 0, NULL);
    if (!json_is_object(doc)) {
        codec_error_set(err, CODEC_E_REGISTRY_UNAVAILABLE,
                        "schema id %d: the registry's answer is not a JSON object", id);
        goto done;
    }
    const char *schema = json_string_value(json_object_get(doc, "schema"));
    if (!schema) {
        codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID, "schema id %d: no schema in the answer",
                        id);
        goto done;
    }
    avro_schema_t s;
    if (avro_schema_from_json_length(schema, strlen(schema), &s)) {
        codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID, "schema id %d does not parse: %s", id,
                        avro_strerror());
        goto done;
    }
    char cerr[256];
    char *canonical = avro_canonical_form(schema, strlen(schema), cerr, sizeof cerr);
    if (!canonical) {
        avro_schema_decref(s);
        codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID, "schema id %d: %s", id, cerr);
        goto done;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->entries = xrealloc(r->entries, r->cap * sizeof *r->entries);
    }
    r->entries[r->n] = (schema_registry_entry){id, s, canonical, xstrdup(schema)};
    *out = &r->entries[r->n++];
    rc = 0;
done:
    json_decref(doc);
    return rc;
}

int schema_registry_get(schema_registry *r, int32_t id, const schema_registry_entry **out,
                        codec_error *err)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->entries[i].id == id) {
            *out = &r->entries[i];
            return 0;
        }
    }
    size_t slot = (uint32_t)id % REGISTRY_UNKNOWN_SLOTS;
    if (r->unknown[slot].until_us && r->unknown[slot].id == id &&
        clock_mono_us() < r->unknown[slot].until_us)
        return codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID, "%s (asked less than %lld s ago)",
                               r->unknown[slot].why, REGISTRY_UNKNOWN_TTL_US / 1000000);
    char url[1024];
    snprintf(url, sizeof url, "%s/schemas/ids/%d", r->base, id);
    buf resp = {0};
    long status = 0;
    int rc = -1;
    int got = registry__request(r, url, NULL, &resp, &status, CODEC_E_UNKNOWN_SCHEMA_ID, err);
    if (got) {
        if (got > 0) {
            /* Over the size limit: a permanent failure of this id (its
             * messages are dead-lettered), remembered like a 404 so a
             * stream of them does not download the answer each time. */
            codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID,
                            "schema id %d: the registry's answer is over the size limit (%d "
                            "bytes)",
                            id, REGISTRY_MAX_RESPONSE);
            registry__remember_unknown(r, id, err->message);
        }
        goto done;
    }
    /* Only Confluent's "schema not found" (40403) is the id's fault; a bare
     * 404 is a wrong base URL (Apicurio answers 404 with error_code 404 for
     * a path outside /apis/ccompat/v7) and must not dead-letter a stream. */
    if (status == 404 && registry__error_code(&resp) != 40403) {
        codec_error_set(err, CODEC_E_REGISTRY_UNAVAILABLE,
                        "schema id %d: registry answered 404 without Confluent's error 40403 "
                        "(is SCHEMA_REGISTRY_URL the API's root? Apicurio: .../apis/ccompat/v7)",
                        id);
    } else if (status == 404) {
        codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID, "schema id %d: registry answered %ld", id,
                        status);
        registry__remember_unknown(r, id, err->message);
    } else if (status != 200) {
        /* Credentials, redirects, proxies: the registry's problem, not the
         * message's; retried, never dead-lettered. */
        codec_error_set(
            err, CODEC_E_REGISTRY_UNAVAILABLE, "schema id %d: registry answered %ld%s", id, status,
            status == 401 || status == 403 ? " (check SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO)" : "");
    } else {
        rc = registry__store(r, id, &resp, out, err);
        /* A schema that does not parse, or no schema: the id's fault, like
         * a 404 (an answer that is not JSON at all is an outage). */
        if (rc != 0 && err->code == CODEC_E_UNKNOWN_SCHEMA_ID)
            registry__remember_unknown(r, id, err->message);
    }
done:
    buf_free(&resp);
    return rc;
}

int schema_registry_register(schema_registry *r, const char *subject, const char *schema_json,
                             int32_t *id, codec_error *err)
{
    char url[1024];
    char *esc = curl_easy_escape(r->curl, subject, 0);
    snprintf(url, sizeof url, "%s/subjects/%s/versions", r->base, esc ? esc : subject);
    curl_free(esc);
    json_t *body = json_pack("{ss}", "schema", schema_json);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    buf resp = {0};
    long status = 0;
    int rc =
        registry__request(r, url, text, &resp, &status, CODEC_E_INCOMPATIBLE_SCHEMA, err) ? -1 : 0;
    free(text);
    if (rc == 0) {
        json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
        json_t *jid = json_object_get(doc, "id");
        const char *why = json_string_value(json_object_get(doc, "message"));
        if (status / 100 != 2 || !json_is_integer(jid))
            rc = codec_error_set(err, CODEC_E_INCOMPATIBLE_SCHEMA,
                                 "registering under %s: registry answered %ld%s%.200s", subject,
                                 status, why ? ": " : "", why ? why : "");
        else
            *id = (int32_t)json_integer_value(jid);
        json_decref(doc);
    }
    buf_free(&resp);
    return rc;
}
