/* schema_registry.c - see schema_registry.h. */
#include "schema_registry.h"

#include "avro_canonical.h"
#include "buf.h"
#include "clock.h"
#include "xmalloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define REGISTRY_TIMEOUT_MS 5000
#define REGISTRY_MAX_RESPONSE (1 << 20)
/* Ids the registry said it does not know are not asked again for this long:
 * a stream of messages with a bogus id costs a request every few seconds,
 * not one each; short, as a schema may be registered (or a lagging replica
 * catch up) right after. */
#define REGISTRY_UNKNOWN_TTL_US (5 * 1000000LL)
#define REGISTRY_UNKNOWN_SLOTS 64

struct schema_registry {
    char *base;
    CURL *curl;
    schema_registry_entry *entries;
    size_t n, cap;
    struct {
        int32_t id;
        int64_t until_us; /* 0 = free */
        bool too_large;   /* the answer was over REGISTRY_MAX_RESPONSE, not a 404 */
    } unknown[REGISTRY_UNKNOWN_SLOTS];
};

schema_registry *schema_registry_new(const char *base_url, char *errstr, size_t errsz)
{
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(errstr, errsz, "cannot initialise libcurl for SCHEMA_REGISTRY_URL");
        return NULL;
    }
    schema_registry *r = xcalloc(1, sizeof *r);
    r->base = xstrdup(base_url);
    size_t l = strlen(r->base);
    while (l && r->base[l - 1] == '/')
        r->base[--l] = '\0';
    r->curl = curl;
    return r;
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
    curl_easy_cleanup(r->curl);
    free(r->base);
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
    struct curl_slist *h =
        curl_slist_append(NULL, "Accept: application/vnd.schemaregistry.v1+json");
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
    return 0;
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
        return codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID,
                               r->unknown[slot].too_large
                                   ? "schema id %d: the registry's answer is over the size limit "
                                     "(asked less than %lld s ago)"
                                   : "schema id %d: unknown to the registry (asked less than %lld "
                                     "s ago)",
                               id, REGISTRY_UNKNOWN_TTL_US / 1000000);
    char url[1024];
    snprintf(url, sizeof url, "%s/schemas/ids/%d", r->base, id);
    buf resp = {0};
    long status = 0;
    int rc = -1;
    json_t *doc = NULL;
    int got = registry__request(r, url, NULL, &resp, &status, CODEC_E_UNKNOWN_SCHEMA_ID, err);
    if (got) {
        if (got > 0) {
            /* Over the size limit: a permanent failure of this id (its
             * messages are dead-lettered), remembered like a 404 so a
             * stream of them does not download the answer each time. */
            codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID,
                            "schema id %d: the registry's answer is over %d bytes", id,
                            REGISTRY_MAX_RESPONSE);
            r->unknown[slot].id = id;
            r->unknown[slot].until_us = clock_mono_us() + REGISTRY_UNKNOWN_TTL_US;
            r->unknown[slot].too_large = true;
        }
        goto done;
    }
    if (status == 404) {
        codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID, "schema id %d: registry answered %ld", id,
                        status);
        r->unknown[slot].id = id;
        r->unknown[slot].until_us = clock_mono_us() + REGISTRY_UNKNOWN_TTL_US;
        r->unknown[slot].too_large = false;
        goto done;
    }
    if (status != 200) {
        /* Credentials, redirects, proxies: the registry's problem, not the
         * message's; retried, never dead-lettered. */
        codec_error_set(err, CODEC_E_REGISTRY_UNAVAILABLE, "schema id %d: registry answered %ld",
                        id, status);
        goto done;
    }
    doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
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
        if (status / 100 != 2 || !json_is_integer(jid))
            rc = codec_error_set(err, CODEC_E_INCOMPATIBLE_SCHEMA,
                                 "registering under %s: registry answered %ld", subject, status);
        else
            *id = (int32_t)json_integer_value(jid);
        json_decref(doc);
    }
    buf_free(&resp);
    return rc;
}
