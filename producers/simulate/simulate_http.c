/* simulate_http.c - see simulate_http.h. */
#include "simulate_http.h"

#include "api_auth.h"
#include "buf.h"
#include "clock.h"
#include "log.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HTTP_TOKEN_TTL_S 7200
#define HTTP_TOKEN_RENEW_S 3600

struct sim_http {
    char *url;
    int batch;
    const char *key, *secret; /* borrowed */
    CURL *curl;               /* one handle: the connection is kept alive */
    char auth[1200];          /* "Authorization: Bearer ..." */
    int64_t token_at;         /* when the token was minted (s) */
    buf body;                 /* "[r1,r2,..." */
    int n;                    /* results in body */
    double first_at;          /* monotonic s of the oldest pending */
    sim_http_stats st;
    uint64_t errors_logged;
};

sim_http *sim_http_new(const char *url, int batch, const char *ingest_key, const char *jwt_secret,
                       char *err, size_t errsz)
{
    bool key = ingest_key && *ingest_key, secret = jwt_secret && *jwt_secret;
    if (!key && !secret) {
        snprintf(err, errsz,
                 "--http needs JWT_SECRET_KEY (to mint a runtime token) or "
                 "RUTH_INGEST_KEY, as ruth-ingest has them");
        return NULL;
    }
    sim_http *h = xcalloc(1, sizeof *h);
    h->url = xstrdup(url);
    h->batch = batch > 0 ? batch : 1;
    h->key = key ? ingest_key : NULL;
    h->secret = jwt_secret;
    h->curl = curl_easy_init();
    if (!h->curl) {
        snprintf(err, errsz, "cannot initialise libcurl");
        sim_http_free(h);
        return NULL;
    }
    return h;
}

void sim_http_free(sim_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    buf_free(&h->body);
    free(h->url);
    free(h);
}

static void http__credentials(sim_http *h)
{
    if (h->key) {
        snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s", h->key);
        return;
    }
    int64_t now = (int64_t)time(NULL);
    if (h->auth[0] && now - h->token_at < HTTP_TOKEN_RENEW_S)
        return;
    char *tok = auth_mint(h->secret, "ruth-simulate", ROLE_RUNTIME, now, now + HTTP_TOKEN_TTL_S);
    snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s", tok);
    free(tok);
    h->token_at = now;
}

typedef struct http_answer {
    buf body;
    int retry_after;
} http_answer;

static size_t http__on_body(char *p, size_t sz, size_t n, void *arg)
{
    http_answer *a = arg;
    if (a->body.len < 4096)
        buf_append(&a->body, p, sz * n);
    return sz * n;
}

static size_t http__on_header(char *p, size_t sz, size_t n, void *arg)
{
    http_answer *a = arg;
    if (sz * n > 12 && !strncasecmp(p, "Retry-After:", 12))
        a->retry_after = atoi(p + 12);
    return sz * n;
}

/* One POST of the pending body: the HTTP status, 0 on a transport error. */
static long http__post(sim_http *h, http_answer *a)
{
    http__credentials(h);
    struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
    hs = curl_slist_append(hs, h->auth);
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)h->body.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)h->body.len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http__on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http__on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        buf_set(&a->body, curl_easy_strerror(rc), strlen(curl_easy_strerror(rc)));
    curl_slist_free_all(hs);
    return status;
}

static void http__log(sim_http *h, long status, const http_answer *a)
{
    h->errors_logged++;
    if (h->errors_logged > 10 && (h->errors_logged & (h->errors_logged - 1)))
        return; /* an outage would drown the log */
    log_warn("POST %s: %ld %.*s", h->url, status, (int)(a->body.len > 300 ? 300 : a->body.len),
             a->body.data ? (const char *)a->body.data : "");
}

void sim_http_flush(sim_http *h)
{
    if (!h->n)
        return;
    buf_append(&h->body, "]", 1);
    double until = clock_mono_s() + SIM_HTTP_RETRY_FOR_S;
    long status = 0;
    for (;;) {
        http_answer a = {0};
        status = http__post(h, &a);
        h->st.posts++;
        bool retry = status == 0 || status == 503;
        if (status != 202)
            http__log(h, status, &a);
        int wait = a.retry_after > 0 ? a.retry_after : 1;
        buf_free(&a.body);
        if (!retry || shutdown_requested() || clock_mono_s() + wait > until)
            break;
        h->st.retries++;
        for (int i = 0; i < wait * 10 && !shutdown_requested(); i++)
            usleep(100 * 1000);
    }
    if (status == 202)
        h->st.acked += (uint64_t)h->n;
    else
        h->st.failed += (uint64_t)h->n;
    h->n = 0;
    buf_reset(&h->body);
}

void sim_http_add(sim_http *h, const void *json, size_t len)
{
    if (!h->n) {
        buf_append(&h->body, "[", 1);
        h->first_at = clock_mono_s();
    } else
        buf_append(&h->body, ",", 1);
    buf_append(&h->body, json, len);
    if (++h->n >= h->batch)
        sim_http_flush(h);
}

void sim_http_tick(sim_http *h)
{
    if (h->n && (clock_mono_s() - h->first_at) * 1000 >= SIM_HTTP_MAX_WAIT_MS)
        sim_http_flush(h);
}

sim_http_stats sim_http_stats_get(const sim_http *h)
{
    sim_http_stats s = h->st;
    s.pending = (uint64_t)h->n;
    return s;
}
