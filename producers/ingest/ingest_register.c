/* ingest_register.c - see ingest_register.h. */
#include "ingest_register.h"

#include "codec.h"
#include "log.h"
#include "runtime_registry.h"
#include "text.h"

#include <stdio.h>
#include <string.h>

/* How long a registration waits for a pooled connection. */
#define REGISTER_DB_WAIT_MS 2000

static void register__unavailable(ingest_req *r, const char *why)
{
    int after = r->g->cfg->ingest_retry_after_sec;
    snprintf(r->retry_after, sizeof r->retry_after, "%d", after);
    ingest_error(r, 503, "SERVICE_UNAVAILABLE",
                 json_pack("{s:s, s:i}", "reason", why, "retry_after_seconds", after),
                 "the runtime registry is unavailable: %s; retry later", why);
}

/* The body's framing problems (empty, too large, not UTF-8, too deep) as a
 * 400/413; true when there is none. The declaration's own fields are
 * runtime_registry's. */
static bool register__body_ok(ingest_req *r)
{
    const char *s = (const char *)r->body.data;
    size_t n = r->body.len;
    if (r->upload.too_large || n > INGEST_REGISTER_MAX_BYTES) {
        ingest_error(r, 413, "PAYLOAD_TOO_LARGE",
                     json_pack("{s:i}", "max_body_bytes", INGEST_REGISTER_MAX_BYTES),
                     "a capability declaration is at most %d bytes", INGEST_REGISTER_MAX_BYTES);
        return false;
    }
    const char *why =
        !n                       ? "a JSON object is required"
        : !text_utf8_valid(s, n) ? "must be valid UTF-8"
        : codec_json_depth(s, n, INGEST_REGISTER_MAX_DEPTH) > INGEST_REGISTER_MAX_DEPTH
            ? "nested deeper than 16 levels"
            : NULL;
    if (why) {
        ingest_error(r, 400, "VALIDATION_ERROR", json_pack("{s:s}", "body", why),
                     "the request body is not a capability declaration: %s", why);
        return false;
    }
    return true;
}

void ingest_register_request(ingest_req *r)
{
    ingest *g = r->g;
    if (!register__body_ok(r))
        return;
    if (!g->db) {
        register__unavailable(r, "DATABASE_URL is not set on ruth-ingest");
        return;
    }
    char err[1024];
    PGconn *c = pg_pool_get(g->db, REGISTER_DB_WAIT_MS, err, sizeof err);
    log_ctx ctx = LOG_CTX_INIT;
    ctx.request_id = r->request_id;
    if (!c) {
        log_at(LOG_WARN, &ctx, "no database connection for a registration: %s", err);
        register__unavailable(r, "database unreachable");
        return;
    }
    runtime_registry_result out = {0};
    int rc = runtime_registry_store_ex(c, (const char *)r->body.data, r->body.len, &out, err,
                                       sizeof err);
    bool broken = PQstatus(c) != CONNECTION_OK;
    pg_pool_put(g->db, c); /* a broken one is closed there */
    if (rc == RUNTIME_REGISTRY_STORED) {
        r->status = out.created ? 201 : 200;
        buf_reset(&r->out);
        buf_append_str(&r->out, out.answer);
    } else if (rc == RUNTIME_REGISTRY_INVALID) {
        ingest_error(r, 400, out.missing_only ? "MISSING_REQUIRED_FIELD" : "VALIDATION_ERROR",
                     json_incref(out.details), "invalid capability declaration: %s", err);
    } else if (broken) {
        log_at(LOG_WARN, &ctx, "runtime registration: the connection broke: %s", err);
        register__unavailable(r, "database unreachable");
    } else {
        /* The database's own words stay in the log (they can name tables). */
        log_at(LOG_ERROR, &ctx, "runtime registration: %s", err);
        ingest_error(r, 500, "DATABASE_ERROR", NULL,
                     "the database could not store the declaration");
    }
    runtime_registry_result_free(&out);
}
