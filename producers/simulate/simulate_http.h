/* simulate_http.h - ruth-simulate's --http sink (simulate_http.c): results
 * posted to ruth-ingest's POST /v1/inference as JSON arrays, the way an AI
 * runtime that speaks REST sends them.
 *
 * A batch goes out when it holds `batch` results or its oldest waited
 * SIM_HTTP_MAX_WAIT_MS. Its results count as acknowledged when the answer is
 * 202 (ruth-ingest answers that only once Kafka acknowledged all of them);
 * a 503 or a transport error is retried after Retry-After (at most
 * SIM_HTTP_RETRY_FOR_S in all), anything else counts the batch as failed.
 * Posts are synchronous, on the caller's thread. */
#ifndef RUTH_SIMULATE_HTTP_H
#define RUTH_SIMULATE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_HTTP_MAX_WAIT_MS 250
#define SIM_HTTP_RETRY_FOR_S 30

typedef struct sim_http sim_http;

/* A sink posting to `url` (copied). Credentials: `ingest_key` as the bearer
 * when set, else runtime-role tokens minted (and renewed hourly) with
 * `jwt_secret`; both borrowed for the sink's lifetime. NULL with err filled
 * when neither is set. */
sim_http *sim_http_new(const char *url, int batch, const char *ingest_key, const char *jwt_secret,
                       char *err, size_t errsz);
void sim_http_free(sim_http *h); /* accepts NULL; does not flush */

/* Add one JSON result (copied); posts a full batch. */
void sim_http_add(sim_http *h, const void *json, size_t len);
/* Post the pending batch if its oldest result waited long enough. */
void sim_http_tick(sim_http *h);
/* Post whatever is pending. */
void sim_http_flush(sim_http *h);

typedef struct sim_http_stats {
    uint64_t acked, failed, pending, posts, retries;
} sim_http_stats;
sim_http_stats sim_http_stats_get(const sim_http *h);

#endif
