/* config.h - every setting of every process, from one table.
 *
 * Each row names an environment variable, its type, default, bounds, which
 * processes read it and a description. The same table produces `--help`, the
 * README's configuration section (`ruth-migrate config-doc`) and the values in
 * the loaded ruth_config. A missing or malformed setting is reported by name;
 * main() then exits 2. */
#ifndef RUTH_CONFIG_H
#define RUTH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Processes, as a bit mask on each row. */
enum {
    CFG_MIGRATE = 1u << 0,
    CFG_WORKER = 1u << 1,
    CFG_EVIDENCE = 1u << 2,
    CFG_API = 1u << 3,
    CFG_INGEST = 1u << 4,
    CFG_SIMULATE = 1u << 5,
};
#define CFG_ALL 0x3fu
#define CFG_CONSUMERS (CFG_WORKER | CFG_EVIDENCE)

typedef struct ruth_config {
    /* connections */
    char *database_url;
    char *database_read_url;
    char *kafka_bootstrap_servers;
    char *schema_registry_url;
    char *schema_registry_user_info; /* basic auth "user:password" (secret) */
    char *schema_registry_ca_file;
    char *schema_registry_cert_file;
    char *schema_registry_key_file;
    /* VAS */
    char *vas_base_url;
    char *vas_client_id;
    char *vas_client_secret;
    int vas_token_refresh_margin_sec;
    /* API auth */
    char *jwt_secret_key;
    char *jwt_algorithm;
    /* logging and ports */
    char *log_level;
    char *log_format;
    int api_port;
    int ingest_port;
    int metrics_port;
    /* topics */
    char *topic_inference;
    char *topic_events;
    char *topic_violations;
    char *topic_evidence;
    char *topic_dlq;
    char *topic_deepstream; /* NULL = no DeepStream input */
    int partitions_inference;
    int partitions_events;
    int partitions_violations;
    int partitions_evidence;
    int partitions_dlq;
    int topic_replication;
    /* worker */
    char *worker_group;
    int worker_batch_max;
    int worker_batch_ms;
    int max_message_bytes;
    int stall_sec; /* a batch failing this long makes /ready false */
    int max_clock_skew_sec;
    int evidence_before_sec;
    int evidence_after_sec;
    int events_retention_days;
    int offline_after_sec; /* 0 = off (per camera: cameras.offline_after_seconds) */
    char *offline_severity;
    /* evidence */
    char *evidence_group;
    int evidence_workers;
    int evidence_claim_lease_sec;
    int evidence_breaker_failures;
    int evidence_breaker_open_sec;
    int evidence_bookmark_timeout_sec;
    int camera_sync_sec;
    /* api */
    int api_threads;
    int api_db_pool;
    int api_max_connections;
    int api_max_connections_per_ip;
    int api_header_timeout_sec;
    int api_idle_timeout_sec;
    int api_max_streams;
    int api_max_streams_per_subject;
    int api_max_streams_per_ip;
    int api_max_body_bytes;
    int api_rate_limit_rps;
    char *api_cors_origins;
    int api_stream_buffer;
    int api_cache_ms;
    /* ingest */
    int ingest_threads;
    int ingest_max_connections;
    int ingest_max_connections_per_ip;
    int ingest_header_timeout_sec;
    int ingest_idle_timeout_sec;
    int ingest_max_body_bytes;
    int ingest_max_batch;
    int ingest_ack_timeout_ms;
    int ingest_retry_after_sec;
    char *ingest_key;
} ruth_config;

typedef enum { CFG_T_STRING, CFG_T_INT, CFG_T_ENUM } config_type;

typedef struct config_row {
    const char *env; /* environment variable */
    config_type type;
    const char *dflt;    /* default as text; NULL = no default */
    long min, max;       /* bounds for CFG_T_INT */
    const char *choices; /* "a|b|c" for CFG_T_ENUM */
    unsigned used_by;    /* CFG_* mask of processes that read it */
    unsigned required;   /* CFG_* mask of processes that cannot start without it */
    bool secret;         /* never printed */
    size_t offset;       /* field in ruth_config */
    const char *desc;
} config_row;

extern const config_row config_rows[];
extern const size_t config_nrows;

/* The loaded configuration: one of the two globals a process has. Set by
 * config_load(); read-only afterwards. */
extern const ruth_config *g_cfg;

/* Read every row used by `proc` from the environment into *cfg (strings are
 * allocated; config_free() releases them) and point g_cfg at it.
 * Returns 0, or -1 with errstr naming the setting, e.g.
 *   "DATABASE_URL is not set (PostgreSQL connection URL); see README "Configuration"". */
int config_load(unsigned proc, ruth_config *cfg, char *errstr, size_t errsz);
void config_free(ruth_config *cfg);

/* --help text for one process: usage line given by the caller, then one line
 * per setting it reads with default and description. */
void config_print_help(FILE *out, unsigned proc, const char *usage);
/* Markdown table of every setting (the README's configuration section). */
void config_print_markdown(FILE *out);
/* Log the effective configuration at info level, secrets masked. */
void config_log(unsigned proc, const ruth_config *cfg);

/* Standard start-up for a process main(): handles --help/-h (prints help,
 * returns 1), loads config and initialises logging. Returns 0 to continue,
 * 1 when the caller should exit 0, 2 when it should exit 2 (message printed). */
int config_startup(int argc, char **argv, unsigned proc, const char *service, const char *usage,
                   ruth_config *cfg);

#endif
