/* vas_http.c - the VAS client's transport: pooled libcurl handles, the
 * process's token, one call with its single 401 refresh-and-retry, bounded
 * answers, metrics and logs. See vas_internal.h. */
#include "vas_internal.h"

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "text.h"
#include "xmalloc.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Error bodies are only read for their code and message. */
#define VAS_ERROR_BODY_MAX 16384

void vas__set_error(vas_error *err, int http_status, const char *code, const char *fmt, ...)
{
    err->http_status = http_status;
    snprintf(err->code, sizeof err->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    text_utf8_trim(err->message);
}

/* ---- connection pool ---------------------------------------------------- */

static CURL *vas__handle_get(vas *v)
{
    CURL *c = NULL;
    pthread_mutex_lock(&v->pool_mu);
    if (v->nidle > 0)
        c = v->idle[--v->nidle];
    pthread_mutex_unlock(&v->pool_mu);
    if (!c)
        c = curl_easy_init();
    else
        curl_easy_reset(c); /* keeps the live connection and DNS cache */
    return c;
}

static void vas__handle_put(vas *v, CURL *c)
{
    pthread_mutex_lock(&v->pool_mu);
    if (v->nidle < VAS_POOL_MAX) {
        v->idle[v->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&v->pool_mu);
    if (c)
        curl_easy_cleanup(c);
}

void vas__transport_close(vas *v)
{
    for (size_t i = 0; i < v->nidle; i++)
        curl_easy_cleanup(v->idle[i]);
    v->nidle = 0;
    free(v->access);
    free(v->refresh);
    v->access = v->refresh = NULL;
}

/* ---- one HTTP exchange -------------------------------------------------- */

typedef struct vas__xfer {
    const vas__req *rq;
    CURL *c;
    buf body;   /* JSON answer, or the error body of any call */
    size_t cap; /* bound on body for a 2xx JSON answer */
    bool too_large, aborted, head_sent;
    size_t delivered;
    long status; /* of the last exchange */
    char content_range[128];
} vas__xfer;

static long vas__status_now(CURL *c)
{
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    return st;
}

static void vas__media_head(vas__xfer *x, long st)
{
    char *ctype = NULL;
    curl_off_t clen = -1;
    curl_easy_getinfo(x->c, CURLINFO_CONTENT_TYPE, &ctype);
    curl_easy_getinfo(x->c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
    x->head_sent = true;
    if (x->rq->sink->on_head)
        x->rq->sink->on_head(x->rq->sink->arg, (int)st, ctype, clen >= 0 ? (int64_t)clen : -1,
                             x->content_range[0] ? x->content_range : NULL);
}

static size_t vas__on_write(char *d, size_t sz, size_t n, void *arg)
{
    vas__xfer *x = arg;
    size_t len = sz * n;
    long st = vas__status_now(x->c);
    if (st < 200 || st >= 300) { /* an error body: keep its start only */
        if (x->body.len < VAS_ERROR_BODY_MAX)
            buf_append(&x->body, d,
                       len < VAS_ERROR_BODY_MAX - x->body.len ? len
                                                              : VAS_ERROR_BODY_MAX - x->body.len);
        return len;
    }
    const vas__req *rq = x->rq;
    if (!rq->sink) {
        if (x->body.len + len > x->cap) {
            x->too_large = true;
            return 0; /* aborts the transfer */
        }
        buf_append(&x->body, d, len);
        return len;
    }
    if (!x->head_sent) {
        curl_off_t clen = -1;
        curl_easy_getinfo(x->c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
        if (rq->max_bytes && clen > 0 && (uint64_t)clen > rq->max_bytes) {
            x->too_large = true; /* before on_head: the caller can still answer an error */
            return 0;
        }
        vas__media_head(x, st);
    }
    if (rq->max_bytes && x->delivered + len > rq->max_bytes) {
        x->too_large = true;
        return 0;
    }
    if (!rq->sink->on_data(rq->sink->arg, d, len)) {
        x->aborted = true;
        return 0;
    }
    x->delivered += len;
    return len;
}

/* Only Content-Range is needed from the headers (curl keeps the rest). */
static size_t vas__on_header(char *d, size_t sz, size_t n, void *arg)
{
    vas__xfer *x = arg;
    size_t len = sz * n;
    if (len >= 5 && strncmp(d, "HTTP/", 5) == 0) {
        x->content_range[0] = '\0'; /* a new response (after a 100 Continue, say) */
    } else if (len > 14 && strncasecmp(d, "content-range:", 14) == 0) {
        const char *p = d + 14, *e = d + len;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        while (e > p && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
            e--;
        size_t m = (size_t)(e - p) < sizeof x->content_range - 1 ? (size_t)(e - p)
                                                                 : sizeof x->content_range - 1;
        memcpy(x->content_range, p, m);
        x->content_range[m] = '\0';
    }
    return len;
}

static void vas__observe(vas *v, const char *endpoint, long st, double secs)
{
    if (!v->reg)
        return;
    char labels[256];
    if (st > 0)
        snprintf(labels, sizeof labels, "endpoint=\"%s\",status=\"%ld\"", endpoint, st);
    else
        snprintf(labels, sizeof labels, "endpoint=\"%s\",status=\"network\"", endpoint);
    metric_inc(metrics_counter(v->reg, "ruth_ai_vas_api_requests_total",
                               "VAS API calls by route pattern and HTTP status", labels));
    snprintf(labels, sizeof labels, "endpoint=\"%s\"", endpoint);
    metric_observe(metrics_histogram(v->reg, "ruth_ai_vas_api_latency_seconds",
                                     "VAS API call latency by route pattern", labels,
                                     metrics_latency_buckets, metrics_latency_nbuckets),
                   secs);
}

static void vas__log_call(const char *endpoint, long st, CURLcode cc, double secs,
                          const vas__xfer *x, const char *detail)
{
    char extra[320];
    snprintf(extra, sizeof extra, "\"endpoint\":\"%s\",\"status\":%ld,\"seconds\":%.3f", endpoint,
             st, secs);
    log_ctx ctx = LOG_CTX_INIT;
    ctx.extra_json = extra;
    if (x->too_large)
        log_at(LOG_WARN, &ctx, "VAS answer over its size bound; dropped");
    else if (x->aborted)
        log_at(LOG_INFO, &ctx, "VAS media transfer stopped by its receiver");
    else if (cc != CURLE_OK)
        log_at(LOG_WARN, &ctx, "VAS call failed: %s", detail);
    else if (st >= 500)
        log_at(LOG_WARN, &ctx, "VAS answered an error");
    else if (log_enabled(LOG_DEBUG))
        log_at(LOG_DEBUG, &ctx, "VAS call done");
}

/* Perform one exchange; `token` may be NULL. *status is 0 when no answer
 * came. Returns the curl result. */
static CURLcode vas__perform(vas *v, const vas__req *rq, const char *token, vas__xfer *x,
                             long *status, char *cerr)
{
    CURL *c = vas__handle_get(v);
    if (!c) {
        snprintf(cerr, CURL_ERROR_SIZE, "cannot initialise libcurl");
        *status = 0;
        return CURLE_FAILED_INIT;
    }
    x->c = c;
    char *url = xasprintf("%s%s", v->base, rq->path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, v->connect_timeout_ms);
    if (rq->sink) {
        /* A long video to a slow client may take longer than any total
         * bound: a media transfer fails only when it stalls (under 1 byte/s
         * for the call timeout), the reused handle's total bound lifted. */
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)(v->timeout_ms / 1000 + 1));
    } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, v->timeout_ms);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 0L);
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, vas__on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, vas__on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    struct curl_slist *h = NULL;
    char *auth = NULL, *range = NULL;
    if (token) {
        auth = xasprintf("Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (rq->sink && rq->range) {
        range = xasprintf("Range: %s", rq->range);
        h = curl_slist_append(h, range);
    }
    if (!rq->sink)
        h = curl_slist_append(h, "Accept: application/json");
    if (strcmp(rq->method, "POST") == 0) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(rq->body ? strlen(rq->body) : 0));
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);

    double t0 = clock_mono_s();
    CURLcode cc = curl_easy_perform(c);
    double secs = clock_mono_s() - t0;
    *status = vas__status_now(c);
    if (cc != CURLE_OK && !x->too_large && !x->aborted)
        *status = 0; /* a partial answer is no answer */
    vas__observe(v, rq->endpoint, *status, secs);
    vas__log_call(rq->endpoint, *status, cc, secs, x, cerr[0] ? cerr : curl_easy_strerror(cc));

    /* The handle must not keep pointers into this call's memory. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(h);
    if (auth) {
        memset(auth, 0, strlen(auth)); /* the token does not linger in freed memory */
        free(auth);
    }
    free(range);
    free(url);
    vas__handle_put(v, c);
    x->c = NULL;
    return cc;
}

/* The VAS error body {error, error_description, ...} into err; a body that
 * is not one gives the code "HTTP_<status>". */
static void vas__error_from_body(vas_error *err, long st, const buf *b)
{
    json_error_t je;
    json_t *j = b->len ? json_loadb((const char *)b->data, b->len, 0, &je) : NULL;
    const char *code = j ? json_string_value(json_object_get(j, "error")) : NULL;
    const char *desc = j ? json_string_value(json_object_get(j, "error_description")) : NULL;
    if (!desc && j)
        desc = json_string_value(json_object_get(j, "message"));
    char fallback[16];
    snprintf(fallback, sizeof fallback, "HTTP_%ld", st);
    vas__set_error(err, (int)st, code && *code ? code : fallback, "VAS answered %ld%s%s", st,
                   desc ? ": " : "", desc ? desc : "");
    json_decref(j);
}

/* The result of a finished exchange as err (0 when it succeeded). */
static int vas__result(const vas__req *rq, CURLcode cc, long st, const vas__xfer *x,
                       const char *cerr, vas_error *err)
{
    if (x->too_large) {
        vas__set_error(err, (int)st, "TOO_LARGE", "%s: the answer is larger than %zu bytes",
                       rq->endpoint, rq->sink ? rq->max_bytes : x->cap);
        return -1;
    }
    if (x->aborted) {
        vas__set_error(err, (int)st, "ABORTED", "%s: the receiver stopped the transfer",
                       rq->endpoint);
        return -1;
    }
    if (cc != CURLE_OK) {
        vas__set_error(err, 0, "NETWORK", "%s: %s", rq->endpoint,
                       cerr[0] ? cerr : curl_easy_strerror(cc));
        return -1;
    }
    if (st < 200 || st >= 300) {
        vas__error_from_body(err, st, &x->body);
        return -1;
    }
    return 0;
}

/* ---- the token ---------------------------------------------------------- */

/* POST /v2/auth/token or /v2/auth/token/refresh; on success the new token
 * is installed (tok_mu taken here). `refresh` is a copy of the refresh
 * token or NULL to authenticate. */
static int vas__fetch_token(vas *v, const char *refresh, vas_error *err)
{
    json_t *req =
        refresh ? json_pack("{ss}", "refresh_token", refresh)
                : json_pack("{ssss}", "client_id", v->client_id, "client_secret", v->client_secret);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    vas__req rq = {.method = "POST",
                   .path = refresh ? "/v2/auth/token/refresh" : "/v2/auth/token",
                   .endpoint = refresh ? "POST /v2/auth/token/refresh" : "POST /v2/auth/token",
                   .body = body};
    vas__xfer x = {.rq = &rq, .cap = v->max_response};
    char cerr[CURL_ERROR_SIZE] = "";
    long st = 0;
    int64_t t0 = clock_mono_us();
    CURLcode cc = vas__perform(v, &rq, NULL, &x, &st, cerr);
    memset(body, 0, strlen(body)); /* it held a secret */
    free(body);
    int rc = vas__result(&rq, cc, st, &x, cerr, err);
    json_t *j = NULL;
    if (rc == 0) {
        json_error_t je;
        j = json_loadb((const char *)x.body.data, x.body.len, 0, &je);
        const char *at = json_string_value(json_object_get(j, "access_token"));
        const char *rt = json_string_value(json_object_get(j, "refresh_token"));
        json_int_t life = json_integer_value(json_object_get(j, "expires_in"));
        if (!at || !*at) {
            vas__set_error(err, (int)st, "BAD_RESPONSE", "%s: no access_token in the answer",
                           rq.endpoint);
            rc = -1;
        } else {
            if (life <= 0)
                life = 3600; /* the guide's lifetime when VAS does not say */
            int64_t keep = v->refresh_margin_sec > 0 && v->refresh_margin_sec < life
                               ? (int64_t)life - v->refresh_margin_sec
                               : (int64_t)life * 8 / 10;
            pthread_mutex_lock(&v->tok_mu);
            free(v->access);
            v->access = xstrdup(at);
            if (rt && *rt) { /* refresh answers carry none: the old one stays */
                free(v->refresh);
                v->refresh = xstrdup(rt);
            }
            v->refresh_at_us = t0 + keep * 1000000;
            v->expires_at_us = t0 + (int64_t)life * 1000000;
            v->tok_gen++;
            pthread_mutex_unlock(&v->tok_mu);
            log_info("VAS token %s (lifetime %lld s, next refresh in %lld s)",
                     refresh ? "refreshed" : "obtained", (long long)life, (long long)keep);
        }
    }
    if (x.body.data)
        memset(x.body.data, 0, x.body.len);
    buf_free(&x.body);
    json_decref(j);
    return rc;
}

/* Copy the current token into *tok if it is usable now; `fresh` asks for
 * one not yet due for refresh. Called with tok_mu held. */
static bool vas__token_copy(vas *v, bool fresh, char **tok, uint64_t *gen)
{
    int64_t now = clock_mono_us();
    if (!v->access || now >= (fresh ? v->refresh_at_us : v->expires_at_us))
        return false;
    *tok = xstrdup(v->access);
    *gen = v->tok_gen;
    return true;
}

/* A token for a call into *tok (caller frees) and its generation. `stale`
 * is the generation VAS just rejected with a 401 (0: none): that token is
 * not used again. */
static int vas__token(vas *v, uint64_t stale, char **tok, uint64_t *gen, vas_error *err)
{
    pthread_mutex_lock(&v->tok_mu);
    if (stale && stale == v->tok_gen)
        v->refresh_at_us = v->expires_at_us = 0; /* VAS says it is dead */
    bool ok =
        vas__token_copy(v, true, tok, gen) || (v->fetching && vas__token_copy(v, false, tok, gen));
    pthread_mutex_unlock(&v->tok_mu);
    if (ok)
        return 0;

    pthread_mutex_lock(&v->fetch_mu);
    pthread_mutex_lock(&v->tok_mu);
    ok = vas__token_copy(v, true, tok, gen); /* another thread just fetched one */
    char *refresh = !ok && v->refresh ? xstrdup(v->refresh) : NULL;
    v->fetching = !ok;
    pthread_mutex_unlock(&v->tok_mu);
    int rc = 0;
    if (!ok) {
        rc = refresh ? vas__fetch_token(v, refresh, err) : -1;
        if (rc != 0 && refresh && err->http_status == 401) {
            log_info("VAS refused the refresh token (%s); authenticating again", err->code);
            pthread_mutex_lock(&v->tok_mu);
            free(v->refresh);
            v->refresh = NULL;
            pthread_mutex_unlock(&v->tok_mu);
        }
        if (rc != 0 && (!refresh || err->http_status == 401))
            rc = vas__fetch_token(v, NULL, err);
        pthread_mutex_lock(&v->tok_mu);
        v->fetching = false;
        /* A failed refresh leaves the old token in use while it lives. */
        ok = vas__token_copy(v, rc == 0, tok, gen);
        pthread_mutex_unlock(&v->tok_mu);
        if (refresh) {
            memset(refresh, 0, strlen(refresh));
            free(refresh);
        }
        if (rc != 0 && ok)
            log_warn("VAS token refresh failed (%s); the current token is used until it expires",
                     err->code);
    }
    pthread_mutex_unlock(&v->fetch_mu);
    if (ok)
        return 0;
    if (rc == 0)
        vas__set_error(err, 0, "BAD_RESPONSE", "VAS gave a token that has already expired");
    return -1;
}

static void vas__token_free(char *tok)
{
    if (tok) {
        memset(tok, 0, strlen(tok));
        free(tok);
    }
}

/* ---- calls -------------------------------------------------------------- */

/* One call with its single 401 refresh-and-retry; x->body holds the answer. */
static int vas__call(vas *v, const vas__req *rq, vas__xfer *x, vas_error *err)
{
    uint64_t stale = 0;
    for (int attempt = 0;; attempt++) {
        char *tok = NULL;
        uint64_t gen = 0;
        if (rq->auth && vas__token(v, stale, &tok, &gen, err) != 0)
            return -1;
        char cerr[CURL_ERROR_SIZE] = "";
        long st = 0;
        buf_reset(&x->body);
        x->too_large = x->aborted = x->head_sent = false;
        x->delivered = 0;
        x->content_range[0] = '\0';
        CURLcode cc = vas__perform(v, rq, tok, x, &st, cerr);
        vas__token_free(tok);
        x->status = st;
        if (cc == CURLE_OK && st == 401 && rq->auth && attempt == 0) {
            log_info("VAS answered 401 on %s; refreshing the token and retrying once",
                     rq->endpoint);
            stale = gen;
            continue;
        }
        int rc = vas__result(rq, cc, st, x, cerr, err);
        if (rc == 0 && rq->sink && !x->head_sent)
            vas__media_head(x, st); /* an empty body still has a head */
        return rc;
    }
}

int vas__call_json(vas *v, const vas__req *rq, json_t **out, vas_error *err)
{
    vas__xfer x = {.rq = rq, .cap = v->max_response};
    *out = NULL;
    int rc = vas__call(v, rq, &x, err);
    if (rc == 0) {
        json_error_t je;
        *out = json_loadb((const char *)x.body.data, x.body.len, 0, &je);
        if (!*out) {
            vas__set_error(err, (int)x.status, "BAD_RESPONSE", "%s: the answer is not JSON: %s",
                           rq->endpoint, je.text);
            rc = -1;
        }
    }
    buf_free(&x.body);
    return rc;
}

int vas__call_media(vas *v, const vas__req *rq, vas_error *err)
{
    vas__xfer x = {.rq = rq, .cap = VAS_ERROR_BODY_MAX};
    int rc = vas__call(v, rq, &x, err);
    buf_free(&x.body);
    return rc;
}
