/* ihttp.h - one HTTP request from a test with libcurl: the status, the
 * body (parsed as JSON when it is JSON) and the headers tests look at.
 * The integration tests of ruth-api, the VAS double and the contract
 * checks (contract.h) all ask through here; tests that must play a broken
 * or hostile client use raw sockets instead (rawhttp.h). */
#ifndef RUTH_TESTS_IHTTP_H
#define RUTH_TESTS_IHTTP_H

#include "buf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct ihttp_resp {
    long status;  /* 0: no answer (refused, closed, timed out) */
    buf body;     /* owned */
    json_t *json; /* the body parsed, NULL when it is not JSON; owned */
    char request_id[80], etag[32], retry_after[16], allow_origin[128];
    char ctype[128], crange[128], accept_ranges[32];
} ihttp_resp;

static inline void ihttp_resp_free(ihttp_resp *r)
{
    buf_free(&r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static inline size_t ihttp__on_body(char *p, size_t sz, size_t n, void *arg)
{
    buf_append(arg, p, sz * n);
    return sz * n;
}

static inline size_t ihttp__on_header(char *p, size_t sz, size_t n, void *arg)
{
    ihttp_resp *r = arg;
    size_t len = sz * n;
    struct {
        const char *name;
        char *out;
        size_t outsz;
    } h[] = {{"x-request-id:", r->request_id, sizeof r->request_id},
             {"etag:", r->etag, sizeof r->etag},
             {"retry-after:", r->retry_after, sizeof r->retry_after},
             {"access-control-allow-origin:", r->allow_origin, sizeof r->allow_origin},
             {"content-type:", r->ctype, sizeof r->ctype},
             {"content-range:", r->crange, sizeof r->crange},
             {"accept-ranges:", r->accept_ranges, sizeof r->accept_ranges}};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        size_t k = strlen(h[i].name);
        if (len > k && !strncasecmp(p, h[i].name, k)) {
            const char *v = p + k;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
                vl--;
            snprintf(h[i].out, h[i].outsz, "%.*s", (int)vl, v);
        }
    }
    return len;
}

/* `method` http://127.0.0.1:<port><path> (sent as is, not normalised),
 * with the whole header lines of `headers` (NULL-terminated, or NULL) and
 * `body` (JSON, or NULL); HEAD asks for no body. */
static inline void ihttp_send(int port, const char *method, const char *path,
                              const char *const *headers, const char *body, ihttp_resp *out)
{
    ihttp_resp_free(out);
    char url[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    struct curl_slist *hs = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hs = curl_slist_append(hs, headers[i]);
    if (body)
        hs = curl_slist_append(hs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ihttp__on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ihttp__on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    out->json =
        out->body.len ? json_loadb((const char *)out->body.data, out->body.len, 0, NULL) : NULL;
}

/* The usual request: a bearer `token` (NULL: none) and one more header line
 * `hdr` (NULL: none). */
static inline void ihttp_request(int port, const char *method, const char *path, const char *token,
                                 const char *body, const char *hdr, ihttp_resp *out)
{
    char auth[2048];
    const char *headers[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (hdr)
        headers[n++] = hdr;
    ihttp_send(port, method, path, headers, body, out);
}

#endif
