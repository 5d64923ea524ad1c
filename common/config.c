/* config.c - the configuration table and its loader; see config.h. */
#include "config.h"

#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

const ruth_config *g_cfg;

#define OFF(f) offsetof(ruth_config, f)
#define CONSUMERS_AND_API (CFG_WORKER | CFG_EVIDENCE | CFG_API)
#define KAFKA_USERS (CFG_MIGRATE | CFG_WORKER | CFG_EVIDENCE | CFG_API | CFG_INGEST | CFG_SIMULATE)
#define TOPIC_USERS KAFKA_USERS

/* clang-format off */
const config_row config_rows[] = {
    /* ruth-migrate needs PostgreSQL for all but `topics`, which checks the
     * other way round (below). */
    /* ruth-ingest stores runtime registrations with it but starts and
     * takes results without it (registration answers 503 then). */
    {"DATABASE_URL", CFG_T_STRING, NULL, 0, 0, NULL,
     CFG_MIGRATE | CONSUMERS_AND_API | CFG_INGEST, CONSUMERS_AND_API, true, OFF(database_url),
     "PostgreSQL connection URL (postgresql://user:password@host:port/db); ruth-ingest: for "
     "POST /v1/runtimes/register only, unset = that answers 503"},
    {"DATABASE_READ_URL", CFG_T_STRING, NULL, 0, 0, NULL, CFG_API, 0, true, OFF(database_read_url),
     "Optional read-replica URL for ruth-api queries; unset = DATABASE_URL"},
    /* ruth-migrate needs Kafka only for `topics`, which checks it itself. */
    {"KAFKA_BOOTSTRAP_SERVERS", CFG_T_STRING, NULL, 0, 0, NULL, KAFKA_USERS, KAFKA_USERS & ~CFG_MIGRATE, false,
     OFF(kafka_bootstrap_servers),
     "Kafka brokers, host:port[,host:port]; any other KAFKA_* variable passes a librdkafka "
     "property (KAFKA_SECURITY_PROTOCOL -> security.protocol)"},
    {"SCHEMA_REGISTRY_URL", CFG_T_STRING, NULL, 0, 0, NULL, KAFKA_USERS, 0, true,
     OFF(schema_registry_url),
     "Confluent-compatible Schema Registry; unset = bundled schemas only (Confluent-framed "
     "messages are then dead-lettered as UNKNOWN_SCHEMA_ID)"},
    {"SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", CFG_T_STRING, NULL, 0, 0, NULL, KAFKA_USERS, 0, true,
     OFF(schema_registry_user_info),
     "user:password for HTTP basic auth to the schema registry (Confluent's basic.auth.user.info; "
     "Confluent Cloud: API key:secret); unset = none"},
    {"SCHEMA_REGISTRY_SSL_CA_LOCATION", CFG_T_STRING, NULL, 0, 0, NULL, KAFKA_USERS, 0, false,
     OFF(schema_registry_ca_file),
     "PEM file of the CA certificates an https schema registry is verified against; unset = the "
     "system's CAs"},
    {"SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION", CFG_T_STRING, NULL, 0, 0, NULL, KAFKA_USERS, 0,
     false, OFF(schema_registry_cert_file),
     "PEM client certificate for a schema registry that asks for mutual TLS (with "
     "SCHEMA_REGISTRY_SSL_KEY_LOCATION)"},
    {"SCHEMA_REGISTRY_SSL_KEY_LOCATION", CFG_T_STRING, NULL, 0, 0, NULL, KAFKA_USERS, 0, false,
     OFF(schema_registry_key_file),
     "PEM private key (unencrypted) of SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION"},
    {"VAS_BASE_URL", CFG_T_STRING, NULL, 0, 0, NULL, CFG_EVIDENCE | CFG_API, CFG_EVIDENCE, false,
     OFF(vas_base_url), "Video Aggregation Service base URL (VAS-MS-V2)"},
    {"VAS_CLIENT_ID", CFG_T_STRING, NULL, 0, 0, NULL, CFG_EVIDENCE | CFG_API, CFG_EVIDENCE, false,
     OFF(vas_client_id), "VAS client id for POST /v2/auth/token"},
    {"VAS_CLIENT_SECRET", CFG_T_STRING, NULL, 0, 0, NULL, CFG_EVIDENCE | CFG_API, CFG_EVIDENCE, true,
     OFF(vas_client_secret), "VAS client secret"},
    {"VAS_TOKEN_REFRESH_MARGIN_SEC", CFG_T_INT, "0", 0, 86400, NULL, CFG_EVIDENCE | CFG_API, 0,
     false, OFF(vas_token_refresh_margin_sec),
     "Refresh the VAS token this many seconds before expiry; 0 = once 80 % of its lifetime "
     "has passed (the integration guide's rule)"},
    /* For strings, min is the least length in bytes: an HS256 key as long as
     * its hash (RFC 7518 §3.2). */
    {"JWT_SECRET_KEY", CFG_T_STRING, NULL, 32, 0, NULL, CFG_API | CFG_INGEST | CFG_SIMULATE, CFG_API, true,
     OFF(jwt_secret_key),
     "HS256 secret for API bearer tokens (ruth-ingest: of runtime-role tokens; it needs this "
     "or RUTH_INGEST_KEY; ruth-simulate --http mints its runtime tokens with it)"},
    {"JWT_ALGORITHM", CFG_T_ENUM, "HS256", 0, 0, "HS256", CFG_API | CFG_INGEST, 0, false,
     OFF(jwt_algorithm),
     "JWT algorithm; only HS256 is accepted"},
    {"RUTH_AI_LOG_LEVEL", CFG_T_ENUM, "info", 0, 0, "debug|info|warn|error", CFG_ALL, 0, false,
     OFF(log_level), "Minimum log level"},
    {"RUTH_AI_LOG_FORMAT", CFG_T_ENUM, "json", 0, 0, "json|text", CFG_ALL, 0, false,
     OFF(log_format), "json: one JSON object per line; text: for humans"},
    {"RUTH_API_PORT", CFG_T_INT, "8080", 0, 65535, NULL, CFG_API, 0, false, OFF(api_port),
     "ruth-api HTTP port (serves /health, /ready, /metrics too)"},
    {"RUTH_INGEST_PORT", CFG_T_INT, "8081", 0, 65535, NULL, CFG_INGEST, 0, false, OFF(ingest_port),
     "ruth-ingest HTTP port"},
    {"RUTH_METRICS_PORT", CFG_T_INT, "9100", 0, 65535, NULL, CFG_CONSUMERS, 0, false,
     OFF(metrics_port), "/health, /ready and /metrics port of workers and evidence processes; 0 "
     "picks a free port and logs it"},
    {"RUTH_TOPIC_INFERENCE", CFG_T_STRING, "ruth.inference.v1", 0, 0, NULL, TOPIC_USERS, 0, false,
     OFF(topic_inference), "Inference results topic"},
    {"RUTH_TOPIC_EVENTS", CFG_T_STRING, "ruth.events.v1", 0, 0, NULL, TOPIC_USERS, 0, false,
     OFF(topic_events), "Normalized events topic"},
    {"RUTH_TOPIC_VIOLATIONS", CFG_T_STRING, "ruth.violations.v1", 0, 0, NULL, TOPIC_USERS, 0, false,
     OFF(topic_violations), "Violation changes topic"},
    {"RUTH_TOPIC_EVIDENCE", CFG_T_STRING, "ruth.evidence.v1", 0, 0, NULL, TOPIC_USERS, 0, false,
     OFF(topic_evidence), "Evidence requests topic"},
    {"RUTH_TOPIC_DLQ", CFG_T_STRING, "ruth.dlq.v1", 0, 0, NULL, TOPIC_USERS, 0, false,
     OFF(topic_dlq), "Dead-letter topic"},
    {"RUTH_TOPIC_DEEPSTREAM", CFG_T_STRING, NULL, 0, 0, NULL, CFG_WORKER | CFG_MIGRATE, 0, false,
     OFF(topic_deepstream),
     "NVIDIA DeepStream nvmsgconv JSON topic (full or minimal schema) that ruth-worker consumes "
     "beside the inference topic; unset = off"},
    {"RUTH_PARTITIONS_INFERENCE", CFG_T_INT, "12", 1, 10000, NULL, CFG_MIGRATE, 0, false,
     OFF(partitions_inference), "Partitions created for the inference topic"},
    {"RUTH_PARTITIONS_EVENTS", CFG_T_INT, "12", 1, 10000, NULL, CFG_MIGRATE, 0, false,
     OFF(partitions_events), "Partitions created for the events topic"},
    {"RUTH_PARTITIONS_VIOLATIONS", CFG_T_INT, "6", 1, 10000, NULL, CFG_MIGRATE, 0, false,
     OFF(partitions_violations), "Partitions created for the violations topic"},
    {"RUTH_PARTITIONS_EVIDENCE", CFG_T_INT, "6", 1, 10000, NULL, CFG_MIGRATE, 0, false,
     OFF(partitions_evidence), "Partitions created for the evidence topic"},
    {"RUTH_PARTITIONS_DLQ", CFG_T_INT, "3", 1, 10000, NULL, CFG_MIGRATE, 0, false,
     OFF(partitions_dlq), "Partitions created for the dead-letter topic"},
    {"RUTH_TOPIC_REPLICATION", CFG_T_INT, "1", 1, 16, NULL, CFG_MIGRATE, 0, false,
     OFF(topic_replication), "Replication factor of created topics"},
    {"RUTH_WORKER_GROUP", CFG_T_STRING, "ruth-workers", 0, 0, NULL, CFG_WORKER, 0, false,
     OFF(worker_group), "Consumer group of ruth-worker"},
    {"RUTH_WORKER_BATCH_MAX", CFG_T_INT, "5000", 1, 100000, NULL, CFG_WORKER, 0, false,
     OFF(worker_batch_max), "Most messages in one database transaction"},
    {"RUTH_WORKER_BATCH_MS", CFG_T_INT, "50", 1, 60000, NULL, CFG_WORKER, 0, false,
     OFF(worker_batch_ms), "Longest a batch keeps collecting fetched messages"},
    {"RUTH_STALL_SEC", CFG_T_INT, "60", 1, 86400, NULL, CFG_CONSUMERS, 0, false, OFF(stall_sec),
     "A batch not made durable this long (retried, or hanging) turns /ready false"},
    {"RUTH_MAX_MESSAGE_BYTES", CFG_T_INT, "1048576", 256, 67108864, NULL, CFG_WORKER | CFG_INGEST,
     0, false, OFF(max_message_bytes), "Larger inference results are dead-lettered (TOO_LARGE)"},
    {"RUTH_MAX_CLOCK_SKEW_SEC", CFG_T_INT, "86400", 1, 315360000, NULL, CFG_WORKER | CFG_INGEST, 0,
     false, OFF(max_clock_skew_sec),
     "Results whose timestamp is further than this from now are dead-lettered"},
    {"RUTH_EVIDENCE_BEFORE_SEC", CFG_T_INT, "5", 0, 3600, NULL, CFG_WORKER | CFG_API, 0, false,
     OFF(evidence_before_sec), "Bookmark seconds before the violation's first event"},
    {"RUTH_EVIDENCE_AFTER_SEC", CFG_T_INT, "10", 0, 3600, NULL, CFG_WORKER | CFG_API, 0, false,
     OFF(evidence_after_sec), "Bookmark seconds after the violation's first event"},
    {"RUTH_EVENTS_RETENTION_DAYS", CFG_T_INT, "0", 0, 36500, NULL, CFG_WORKER, 0, false,
     OFF(events_retention_days), "Drop event partitions older than this; 0 keeps everything"},
    {"RUTH_OFFLINE_AFTER_SEC", CFG_T_INT, "0", 0, 604800, NULL, CFG_WORKER, 0, false,
     OFF(offline_after_sec), "A camera that sent results and then none for this long gets a camera_offline violation (cameras.offline_after_seconds overrides it per camera); 0 = off"},
    {"RUTH_OFFLINE_SEVERITY", CFG_T_ENUM, "high", 0, 0, "low|medium|high|critical", CFG_WORKER, 0, false,
     OFF(offline_severity), "Severity of camera_offline violations"},
    {"RUTH_EVIDENCE_GROUP", CFG_T_STRING, "ruth-evidence", 0, 0, NULL, CFG_EVIDENCE, 0, false,
     OFF(evidence_group), "Consumer group of ruth-evidence"},
    {"RUTH_EVIDENCE_WORKERS", CFG_T_INT, "4", 1, 64, NULL, CFG_EVIDENCE, 0, false,
     OFF(evidence_workers), "Threads of ruth-evidence that call VAS, each one step of one item at a time"},
    {"RUTH_EVIDENCE_LEASE_SEC", CFG_T_INT, "60", 5, 3600, NULL, CFG_EVIDENCE, 0, false,
     OFF(evidence_claim_lease_sec),
     "A claimed evidence item another replica may take over after this long (its owner died)"},
    {"RUTH_EVIDENCE_BREAKER_FAILURES", CFG_T_INT, "5", 1, 1000, NULL, CFG_EVIDENCE, 0, false,
     OFF(evidence_breaker_failures),
     "Consecutive VAS failures (5xx, network) that open the circuit breaker"},
    {"RUTH_EVIDENCE_BREAKER_OPEN_SEC", CFG_T_INT, "10", 1, 3600, NULL, CFG_EVIDENCE, 0, false,
     OFF(evidence_breaker_open_sec),
     "While open, no VAS call for this long; then one probe call decides"},
    {"RUTH_EVIDENCE_BOOKMARK_TIMEOUT_SEC", CFG_T_INT, "120", 5, 3600, NULL, CFG_EVIDENCE, 0, false,
     OFF(evidence_bookmark_timeout_sec),
     "A bookmark still processing on VAS after this long is failed (EXTRACTION_TIMEOUT)"},
    {"RUTH_CAMERA_SYNC_SEC", CFG_T_INT, "60", 0, 86400, NULL, CFG_EVIDENCE, 0, false,
     OFF(camera_sync_sec),
     "Copy VAS devices and streams into cameras at start and this often; 0 = never"},
    {"RUTH_API_THREADS", CFG_T_INT, "0", 0, 256, NULL, CFG_API, 0, false, OFF(api_threads),
     "HTTP worker threads; 0 = four per core"},
    {"RUTH_API_DB_POOL", CFG_T_INT, "8", 1, 256, NULL, CFG_API, 0, false, OFF(api_db_pool),
     "PostgreSQL connections held by ruth-api"},
    {"RUTH_API_MAX_CONNECTIONS", CFG_T_INT, "1024", 1, 100000, NULL, CFG_API, 0, false,
     OFF(api_max_connections), "Concurrent HTTP connections; more are refused"},
    {"RUTH_API_MAX_CONNECTIONS_PER_IP", CFG_T_INT, "64", 0, 100000, NULL, CFG_API, 0, false,
     OFF(api_max_connections_per_ip),
     "Concurrent HTTP connections from one client address; more are closed at once; 0 = no "
     "limit (behind a proxy every client has the proxy's address)"},
    {"RUTH_API_HEADER_TIMEOUT_SEC", CFG_T_INT, "10", 1, 3600, NULL, CFG_API, 0, false,
     OFF(api_header_timeout_sec),
     "A request's headers must be complete this many seconds after the connection opened "
     "(or the previous answer on it); trickled bytes do not extend it"},
    {"RUTH_API_IDLE_TIMEOUT_SEC", CFG_T_INT, "30", 1, 3600, NULL, CFG_API, 0, false,
     OFF(api_idle_timeout_sec),
     "A connection that sends or takes nothing for this long is closed (open streams excepted)"},
    {"RUTH_API_MAX_STREAMS", CFG_T_INT, "512", 1, 100000, NULL, CFG_API, 0, false,
     OFF(api_max_streams), "Open /violations/stream connections in all (503 beyond)"},
    {"RUTH_API_MAX_STREAMS_PER_SUBJECT", CFG_T_INT, "8", 1, 100000, NULL, CFG_API, 0, false,
     OFF(api_max_streams_per_subject),
     "Open /violations/stream connections of one token subject (429 beyond)"},
    {"RUTH_API_MAX_STREAMS_PER_IP", CFG_T_INT, "32", 1, 100000, NULL, CFG_API, 0, false,
     OFF(api_max_streams_per_ip),
     "Open /violations/stream connections from one client address (429 beyond)"},
    {"RUTH_API_MAX_BODY_BYTES", CFG_T_INT, "65536", 256, 16777216, NULL, CFG_API, 0,
     false, OFF(api_max_body_bytes), "Largest accepted request body (413 beyond)"},
    {"RUTH_API_RATE_LIMIT_RPS", CFG_T_INT, "100", 0, 1000000, NULL, CFG_API, 0, false,
     OFF(api_rate_limit_rps),
     "Requests per second per client address, bursts of twice that (429 beyond); 0 = off"},
    {"RUTH_API_CORS_ORIGINS", CFG_T_STRING, "", 0, 0, NULL, CFG_API, 0, false, OFF(api_cors_origins),
     "Comma-separated allowed CORS origins; * for any; empty = no CORS headers"},
    {"RUTH_API_STREAM_BUFFER", CFG_T_INT, "10000", 16, 1000000, NULL, CFG_API, 0, false,
     OFF(api_stream_buffer),
     "ViolationChanges kept for /violations/stream clients resuming with Last-Event-ID"},
    {"RUTH_API_CACHE_MS", CFG_T_INT, "1000", 0, 60000, NULL, CFG_API, 0, false,
     OFF(api_cache_ms),
     "Identical GET requests within this many ms share one answer (per process; writes "
     "through this process clear it); 0 = off"},
    {"RUTH_INGEST_THREADS", CFG_T_INT, "0", 0, 256, NULL, CFG_INGEST, 0, false,
     OFF(ingest_threads),
     "HTTP worker threads of ruth-ingest (they validate and produce; none waits for Kafka: a "
     "request is suspended until its acknowledgements); 0 = one per core"},
    {"RUTH_INGEST_MAX_CONNECTIONS", CFG_T_INT, "1024", 1, 100000, NULL, CFG_INGEST, 0, false,
     OFF(ingest_max_connections), "Concurrent HTTP connections of ruth-ingest; more are refused"},
    {"RUTH_INGEST_MAX_CONNECTIONS_PER_IP", CFG_T_INT, "64", 0, 100000, NULL, CFG_INGEST, 0, false,
     OFF(ingest_max_connections_per_ip),
     "Concurrent ruth-ingest connections from one client address; more are closed at once; 0 = "
     "no limit"},
    {"RUTH_INGEST_HEADER_TIMEOUT_SEC", CFG_T_INT, "10", 1, 3600, NULL, CFG_INGEST, 0, false,
     OFF(ingest_header_timeout_sec),
     "A request's headers must be complete this many seconds after the connection opened (or "
     "the previous answer on it); trickled bytes do not extend it"},
    {"RUTH_INGEST_IDLE_TIMEOUT_SEC", CFG_T_INT, "30", 1, 3600, NULL, CFG_INGEST, 0, false,
     OFF(ingest_idle_timeout_sec),
     "A ruth-ingest connection that sends or takes nothing for this long is closed"},
    {"RUTH_INGEST_MAX_BODY_BYTES", CFG_T_INT, "4194304", 256, 67108864, NULL, CFG_INGEST, 0, false,
     OFF(ingest_max_body_bytes), "Largest POST /v1/inference body (413 beyond)"},
    {"RUTH_INGEST_MAX_BATCH", CFG_T_INT, "1000", 1, 100000, NULL, CFG_INGEST, 0, false,
     OFF(ingest_max_batch), "Most results in one POST /v1/inference (413 beyond)"},
    {"RUTH_INGEST_ACK_TIMEOUT_MS", CFG_T_INT, "5000", 100, 300000, NULL, CFG_INGEST, 0, false,
     OFF(ingest_ack_timeout_ms),
     "A request waits this long for Kafka to acknowledge all its results, then answers 503 "
     "(also the producer's message.timeout.ms)"},
    {"RUTH_INGEST_RETRY_AFTER_SEC", CFG_T_INT, "1", 1, 3600, NULL, CFG_INGEST, 0, false,
     OFF(ingest_retry_after_sec), "Retry-After of ruth-ingest's 503 answers"},
    {"RUTH_INGEST_KEY", CFG_T_STRING, NULL, 32, 0, NULL, CFG_INGEST | CFG_SIMULATE, 0, true, OFF(ingest_key),
     "Shared key runtimes may send as \"Authorization: Bearer <key>\" or X-Ingest-Key instead of "
     "a runtime-role token; unset = tokens only (ruth-simulate --http sends it when set)"},
};
/* clang-format on */
const size_t config_nrows = sizeof config_rows / sizeof config_rows[0];

static char **config__str(ruth_config *cfg, const config_row *r)
{
    return (char **)((char *)cfg + r->offset);
}

static int *config__int(ruth_config *cfg, const config_row *r)
{
    return (int *)((char *)cfg + r->offset);
}

static bool config__choice_ok(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vl && strncmp(p, v, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

/* Largest secret file read for X_FILE; a key or URL is far smaller. */
#define CONFIG_FILE_MAX 65536

/* The contents of the file X_FILE names, without the trailing line ends an
 * editor or `echo` adds (a secret never ends in CR or LF). NULL with errstr
 * set when it cannot be read, is empty or is too large. Caller frees. */
static char *config__read_file(const char *var, const char *path, char *errstr, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errsz, "%s=%s cannot be read: %s", var, path, strerror(errno));
        return NULL;
    }
    char *buf = xmalloc(CONFIG_FILE_MAX + 1);
    size_t n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed || n > CONFIG_FILE_MAX) {
        if (failed)
            snprintf(errstr, errsz, "%s=%s cannot be read: %s", var, path, strerror(saved));
        else
            snprintf(errstr, errsz, "%s=%s is larger than %d bytes", var, path, CONFIG_FILE_MAX);
        free(buf);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (n == 0 || strlen(buf) != n) {
        snprintf(errstr, errsz, "%s=%s is %s", var, path,
                 n ? "not text (holds a NUL byte)" : "empty");
        free(buf);
        return NULL;
    }
    return buf;
}

/* A row's raw value: its variable, or for a secret row the file X_FILE names
 * (the Docker/Kubernetes secrets convention). Both set is an error, as one
 * would silently win. Returns 0 with *v (NULL = unset; *owned to free), or -1. */
static int config__raw(const config_row *r, const char **v, char **owned, char *errstr,
                       size_t errsz)
{
    *owned = NULL;
    *v = getenv(r->env);
    if (!r->secret)
        return 0;
    char var[128];
    snprintf(var, sizeof var, "%s_FILE", r->env);
    const char *path = getenv(var);
    if (!path || !*path)
        return 0;
    if (*v && **v) {
        snprintf(errstr, errsz, "%s and %s are both set; set only one", r->env, var);
        return -1;
    }
    *owned = config__read_file(var, path, errstr, errsz);
    *v = *owned;
    return *owned ? 0 : -1;
}

int config_load(unsigned proc, ruth_config *cfg, char *errstr, size_t errsz)
{
    memset(cfg, 0, sizeof *cfg);
    char *owned = NULL;
    for (size_t i = 0; i < config_nrows; i++) {
        const config_row *r = &config_rows[i];
        if (!(r->used_by & proc))
            continue;
        free(owned);
        const char *v;
        if (config__raw(r, &v, &owned, errstr, errsz) != 0)
            goto failed;
        if (v && !*v && r->dflt && *r->dflt)
            v = NULL; /* empty = unset, so the default applies */
        if (!v)
            v = r->dflt;
        if (!v || (!*v && (r->required & proc))) {
            if (r->required & proc) {
                /* "X is not set (...)", or "X is not set, nor X_FILE (...)" */
                snprintf(errstr, errsz, "%s is not set%s%s%s (%s); see README \"Configuration\"",
                         r->env, r->secret ? ", nor " : "", r->secret ? r->env : "",
                         r->secret ? "_FILE" : "", r->desc);
                goto failed;
            }
            continue;
        }
        switch (r->type) {
        case CFG_T_STRING:
            if (r->min > 0 && (long)strlen(v) < r->min) { /* the value itself may be secret */
                snprintf(errstr, errsz, "%s is %zu bytes long; at least %ld are needed", r->env,
                         strlen(v), r->min);
                goto failed;
            }
            *config__str(cfg, r) = xstrdup(v);
            break;
        case CFG_T_ENUM:
            if (!config__choice_ok(r->choices, v)) {
                snprintf(errstr, errsz, "%s=\"%s\" is not one of %s", r->env, v, r->choices);
                goto failed;
            }
            *config__str(cfg, r) = xstrdup(v);
            break;
        case CFG_T_INT: {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (errno || end == v || *end) {
                snprintf(errstr, errsz, "%s=\"%s\" is not an integer", r->env, v);
                goto failed;
            }
            if (n < r->min || n > r->max) {
                snprintf(errstr, errsz, "%s=%ld is out of range [%ld, %ld]", r->env, n, r->min,
                         r->max);
                goto failed;
            }
            *config__int(cfg, r) = (int)n;
            break;
        }
        }
    }
    free(owned);
    g_cfg = cfg;
    return 0;
failed:
    free(owned);
    config_free(cfg);
    return -1;
}

void config_free(ruth_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < config_nrows; i++) {
        const config_row *r = &config_rows[i];
        if (r->type != CFG_T_INT) {
            free(*config__str(cfg, r));
            *config__str(cfg, r) = NULL;
        }
    }
    if (g_cfg == cfg)
        g_cfg = NULL;
}

void config_print_help(FILE *out, unsigned proc, const char *usage)
{
    fprintf(out, "%s\n\nConfiguration (environment variables):\n", usage);
    for (size_t i = 0; i < config_nrows; i++) {
        const config_row *r = &config_rows[i];
        if (!(r->used_by & proc))
            continue;
        fprintf(out, "  %-30s %s", r->env, r->desc);
        if (r->type == CFG_T_INT)
            fprintf(out, " [integer %ld..%ld]", r->min, r->max);
        else if (r->type == CFG_T_STRING && r->min > 0)
            fprintf(out, " [at least %ld bytes]", r->min);
        else if (r->type == CFG_T_ENUM)
            fprintf(out, " [one of %s]", r->choices);
        if (r->secret)
            fprintf(out, " [or %s_FILE: a file holding it]", r->env);
        if (r->required & proc)
            fprintf(out, " [required]");
        else if (r->dflt && *r->dflt)
            fprintf(out, " [default: %s]", r->dflt);
        fputc('\n', out);
    }
}

static const struct {
    unsigned bit;
    const char *name;
} config__procs[] = {
    {CFG_MIGRATE, "migrate"}, {CFG_WORKER, "worker"}, {CFG_EVIDENCE, "evidence"},
    {CFG_API, "api"},         {CFG_INGEST, "ingest"}, {CFG_SIMULATE, "simulate"},
};

static void config__print_procs(FILE *out, unsigned mask)
{
    if (mask == CFG_ALL) {
        fputs("all", out);
        return;
    }
    bool first = true;
    for (size_t i = 0; i < sizeof config__procs / sizeof config__procs[0]; i++) {
        if (mask & config__procs[i].bit) {
            fprintf(out, "%s%s", first ? "" : ", ", config__procs[i].name);
            first = false;
        }
    }
    if (first)
        fputs("-", out);
}

/* Text inside a Markdown table cell: a bare '|' would end the cell. */
static void config__md_cell(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            fputc('\\', out);
        fputc(*p, out);
    }
}

void config_print_markdown(FILE *out)
{
    fputs("| variable | default | range / values | used by | required by | description |\n"
          "|---|---|---|---|---|---|\n",
          out);
    for (size_t i = 0; i < config_nrows; i++) {
        const config_row *r = &config_rows[i];
        fprintf(out, "| `%s` | %s%s%s | ", r->env, r->dflt && *r->dflt ? "`" : "",
                r->dflt && *r->dflt ? r->dflt : "", r->dflt && *r->dflt ? "`" : "");
        if (r->type == CFG_T_INT)
            fprintf(out, "%ld–%ld", r->min, r->max);
        else if (r->type == CFG_T_STRING && r->min > 0)
            fprintf(out, "≥ %ld bytes", r->min);
        else if (r->type == CFG_T_ENUM)
            config__md_cell(out, r->choices);
        fputs(" | ", out);
        config__print_procs(out, r->used_by);
        fputs(" | ", out);
        config__print_procs(out, r->required);
        fputs(" | ", out);
        config__md_cell(out, r->desc);
        if (r->secret)
            fprintf(out, " (secret, never logged; or `%s_FILE`, a file holding it)", r->env);
        fputs(" |\n", out);
    }
}

void config_log(unsigned proc, const ruth_config *cfg)
{
    for (size_t i = 0; i < config_nrows; i++) {
        const config_row *r = &config_rows[i];
        if (!(r->used_by & proc))
            continue;
        if (r->type == CFG_T_INT) {
            log_debug("config %s=%d", r->env, *(const int *)((const char *)cfg + r->offset));
            continue;
        }
        const char *v = *(char *const *)((const char *)cfg + r->offset);
        char shown[512];
        if (!v)
            snprintf(shown, sizeof shown, "(unset)");
        else if (r->secret && strstr(v, "://"))
            log_redact_url(v, shown, sizeof shown);
        else if (r->secret)
            snprintf(shown, sizeof shown, "***");
        else
            snprintf(shown, sizeof shown, "%s", v);
        log_debug("config %s=%s", r->env, shown);
    }
}

int config_startup(int argc, char **argv, unsigned proc, const char *service, const char *usage,
                   ruth_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            config_print_help(stdout, proc, usage);
            return 1;
        }
    }
    char err[512];
    if (config_load(proc, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s: configuration error: %s\n", service, err);
        return 2;
    }
    log_level lvl = LOG_INFO;
    log_level_parse(cfg->log_level ? cfg->log_level : "info", &lvl);
    log_init(service, lvl, !cfg->log_format || strcmp(cfg->log_format, "text") != 0);
    config_log(proc, cfg);
    return 0;
}
