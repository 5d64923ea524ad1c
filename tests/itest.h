/* itest.h - helpers for integration tests against the real PostgreSQL and
 * Kafka that scripts/test starts (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS).
 *
 * Each test program gets its own database (migrated with ruth-migrate),
 * its own topic names (RUTH_TOPIC_* set in the environment, created with
 * `ruth-migrate topics`) and its own consumer group, so programs never see
 * each other's data. Processes under test are the real binaries from
 * RUTH_BIN_DIR, started with this environment. */
#ifndef RUTH_ITEST_H
#define RUTH_ITEST_H

#include "api_auth.h"
#include "clock.h"
#include "testlib.h"
#include "xmalloc.h"

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char itest_db_url[1024];
static char itest_db_name[64];
static char itest_admin_url[1024];

/* The tests' names for the shared clocks (clock.h). */
static inline double itest_now(void)
{
    return clock_mono_s();
}

static inline int64_t itest_wall_us(void)
{
    return clock_wall_us();
}

/* `base` with its database replaced by `db` (postgresql:// URL, with or
 * without a path or query, or libpq key=value form). */
static inline void itest_url_with_db(const char *base, const char *db, char *out, size_t n)
{
    const char *scheme = strstr(base, "://");
    if (!scheme) {
        snprintf(out, n, "%s dbname=%s", base, db);
        return;
    }
    const char *auth = scheme + 3;
    const char *q = strchr(auth, '?');
    const char *slash = strchr(auth, '/');
    if (slash && q && q < slash)
        slash = NULL;
    size_t head = slash ? (size_t)(slash - base) : q ? (size_t)(q - base) : strlen(base);
    snprintf(out, n, "%.*s/%s%s", (int)head, base, db, q ? q : "");
}

static inline bool itest_exec(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "itest: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok;
}

/* First column of the first row as an integer; -1 on error or no row. */
static inline long long itest_query(const char *sql)
{
    PGconn *c = PQconnectdb(itest_db_url);
    PGresult *r = PQexec(c, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = atoll(PQgetvalue(r, 0, 0));
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "itest: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return v;
}

/* Poll until the query returns `want` or the timeout passes; returns the last value. */
static inline long long itest_wait_query(const char *sql, long long want, double timeout_s)
{
    double end = itest_now() + timeout_s;
    long long v;
    while ((v = itest_query(sql)) != want && itest_now() < end)
        usleep(200 * 1000);
    return v;
}

static inline pid_t itest_spawn(const char *prog, const char *const *args, const char *log)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", testlib_env("RUTH_BIN_DIR"), prog);
    pid_t pid = fork();
    if (pid == 0) {
        /* Never outlive the test program, whatever way it ends. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (log) {
            FILE *f = freopen(log, "a", stdout);
            (void)f;
            dup2(1, 2);
        }
        char *argv[24] = {path};
        for (int i = 0; args && args[i] && i < 22; i++)
            argv[i + 1] = (char *)args[i];
        execv(path, argv);
        _exit(127);
    }
    return pid;
}

/* Exit status of pid, waiting at most timeout_s (then SIGKILL, returns -1). */
static inline int itest_wait_exit(pid_t pid, double timeout_s)
{
    double end = itest_now() + timeout_s;
    int st;
    while (itest_now() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* Wait for `what` (pid, already sent SIGTERM) to exit 0 within timeout_s;
 * otherwise a test failure, naming it and `log` (NULL: none). */
static inline bool itest_stopped(pid_t pid, double timeout_s, const char *what, const char *log)
{
    int st = itest_wait_exit(pid, timeout_s);
    if (st == 0)
        return true;
    fprintf(stderr, "%s did not stop cleanly on SIGTERM (status %d)%s%s\n", what, st,
            log ? ", log: " : "", log ? log : "");
    testlib_failures++;
    return false;
}

static inline int itest_run(const char *prog, const char *const *args)
{
    return itest_wait_exit(itest_spawn(prog, args, NULL), 120);
}

/* The integer after `key` (e.g. "\"metrics_port\":") in the first log line
 * that has it; -1 when none does (yet). Ports picked by the kernel
 * (RUTH_*_PORT=0) are found this way. */
static inline int itest_log_int(const char *log, const char *key)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return -1;
    char line[4096];
    int v = -1;
    while (v < 0 && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, key);
        if (p)
            v = atoi(p + strlen(key));
    }
    fclose(f);
    return v;
}

/* The settings every test's ruth-api starts with: tokens signed with
 * `secret`, no rate limit (one client sends many requests; a test of the
 * limit sets its own), any free port (read back with itest_api_port()). */
static inline void itest_api_env(const char *secret)
{
    setenv("JWT_SECRET_KEY", secret, 1);
    setenv("RUTH_API_RATE_LIMIT_RPS", "0", 1);
    setenv("RUTH_API_PORT", "0", 1);
}

/* A token for `sub` in `role` signed with `secret`, valid for an hour from
 * now, into out (what a test's clients send as their bearer). */
static inline void itest_token(char *out, size_t outsz, const char *secret, const char *sub,
                               api_role role)
{
    int64_t now = time(NULL);
    char *t = auth_mint(secret, sub, role, now, now + 3600);
    snprintf(out, outsz, "%s", t);
    free(t);
}

/* Wait for a spawned ruth-api (logging to `log`) to say its port; the port,
 * or -1 (reported) when it did not within 30 s. */
static inline int itest_api_port(const char *log)
{
    int port;
    double start = itest_now();
    while ((port = itest_log_int(log, "\"api_port\":")) < 0 && itest_now() - start < 30)
        usleep(100 * 1000);
    if (port < 0)
        fprintf(stderr, "ruth-api did not start; log: %s\n", log);
    return port;
}

/* Number of lines of `log` containing `needle` (-1: no such file). */
static inline int itest_log_count(const char *log, const char *needle)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* Own database and topics for this program: `tag` names them. */
static inline void itest_setup(const char *tag, int partitions)
{
    const char *base = testlib_env("DATABASE_URL");
    testlib_env("KAFKA_BOOTSTRAP_SERVERS");
    snprintf(itest_db_name, sizeof itest_db_name, "ruth_%s_%d_%ld", tag, (int)getpid(),
             (long)time(NULL) % 100000);
    snprintf(itest_admin_url, sizeof itest_admin_url, "%s", base);
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", itest_db_name);
    if (!itest_exec(base, sql))
        exit(1);
    itest_url_with_db(base, itest_db_name, itest_db_url, sizeof itest_db_url);
    setenv("DATABASE_URL", itest_db_url, 1);
    static const char *const topics[] = {"INFERENCE", "EVENTS", "VIOLATIONS", "EVIDENCE", "DLQ"};
    for (int i = 0; i < 5; i++) {
        char env[64], name[128], parts[64], num[16];
        snprintf(env, sizeof env, "RUTH_TOPIC_%s", topics[i]);
        snprintf(name, sizeof name, "t.%s.%s", itest_db_name, topics[i]);
        for (char *p = name; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        setenv(env, name, 1);
        snprintf(parts, sizeof parts, "RUTH_PARTITIONS_%s", topics[i]);
        snprintf(num, sizeof num, "%d", partitions);
        setenv(parts, num, 1);
    }
    char group[128];
    snprintf(group, sizeof group, "g.%s", itest_db_name);
    setenv("RUTH_WORKER_GROUP", group, 1);
    setenv("RUTH_METRICS_PORT", "0", 1);
    const char *up[] = {"up", NULL};
    const char *tp[] = {"topics", NULL};
    if (itest_run("ruth-migrate", up) != 0 || itest_run("ruth-migrate", tp) != 0) {
        fprintf(stderr, "itest: ruth-migrate failed\n");
        exit(1);
    }
}

static inline void itest_teardown(void)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", itest_db_name);
    itest_exec(itest_admin_url, sql);
}

static inline rd_kafka_t *itest_producer(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", getenv("KAFKA_BOOTSTRAP_SERVERS"), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
    return rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
}

static inline void itest_produce(rd_kafka_t *p, const char *topic, const char *key, const void *val,
                                 size_t len)
{
    while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                             RD_KAFKA_V_VALUE((void *)val, len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
}

/* Read every message of `topic` from the beginning until `idle_s` passes
 * without one; calls fn for each. Returns the count. */
static inline long itest_consume(const char *topic, double idle_s,
                                 void (*fn)(const rd_kafka_message_t *, void *), void *arg)
{
    char err[256], group[160];
    snprintf(group, sizeof group, "reader.%s.%d.%ld", topic, (int)getpid(), (long)itest_now());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", getenv("KAFKA_BOOTSTRAP_SERVERS"), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, t);
    rd_kafka_topic_partition_list_destroy(t);
    long n = 0;
    double last = itest_now();
    bool got_any = false;
    while (itest_now() - last < (got_any ? idle_s : idle_s + 10)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (!m->err) {
            n++;
            got_any = true;
            last = itest_now();
            if (fn)
                fn(m, arg);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return n;
}

#endif
