/* test_migrate: ruth-migrate and the schema against a real PostgreSQL.
 *
 * Runs in its own database (created from DATABASE_URL's server with a random
 * name, dropped at the end): up creates every table, index and seed; down to
 * zero leaves only schema_migrations; concurrent ups (processes and threads)
 * apply each migration once; an edited migration is refused; and the
 * schema's own guarantees hold (one ongoing violation per camera and type,
 * idempotent events, daily partitions with a default). */
#include "embedded.h"
#include "itest.h"
#include "log.h"
#include "migrate.h"
#include "pg.h"
#include "testlib.h"
#include "xmalloc.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const struct embedded_file ruth_migration_files[];
extern const size_t ruth_migration_files_count;
extern char **environ;

static char *g_url;    /* the test database */
static PGconn *g_conn; /* connection to it */
static migrate_set g_set;

/* ---- helpers ------------------------------------------------------------ */

/* Start `ruth-migrate <a1> [a2]` against the test database with its output
 * going to `outfile`; returns the child's pid. */
static pid_t migrate_spawn(const char *a1, const char *a2, const char *outfile)
{
    char *bin = xasprintf("%s/ruth-migrate", testlib_env("RUTH_BIN_DIR"));
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = xcalloc(n + 3, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "DATABASE_URL=", 13) &&
            strncmp(environ[i], "RUTH_AI_LOG_FORMAT=", 19))
            envp[k++] = environ[i];
    char *dbenv = xasprintf("DATABASE_URL=%s", g_url);
    envp[k++] = dbenv;
    envp[k++] = "RUTH_AI_LOG_FORMAT=text";
    char *argv[] = {bin, (char *)a1, (char *)a2, NULL};

    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execve(bin, argv, envp);
        _exit(127);
    }
    free(dbenv);
    free(envp);
    free(bin);
    return pid;
}

static int migrate_wait(pid_t pid)
{
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *slurp(const char *path)
{
    char *text = testlib_read_file(path, NULL);
    return text ? text : xstrdup("");
}

/* Run ruth-migrate synchronously and return its exit status, printing its
 * output when that is not `expect`; *out (may be NULL) gets the output. */
static int migrate_run(const char *a1, const char *a2, char **out, int expect)
{
    char path[] = "/tmp/ruth-test-migrate-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    int rc = migrate_wait(migrate_spawn(a1, a2, path));
    char *text = slurp(path);
    unlink(path);
    if (rc != expect)
        fprintf(stderr, "ruth-migrate %s%s%s exited %d:\n%s", a1, a2 ? " " : "", a2 ? a2 : "", rc,
                text);
    if (out)
        *out = text;
    else
        free(text);
    return rc;
}

/* First value of a one-row query, as a number (-1 on error). */
static long long query_num(const char *sql)
{
    char val[64], err[1024];
    bool isnull = false;
    if (!pg_query_value(g_conn, sql, 0, NULL, val, sizeof val, &isnull, err, sizeof err)) {
        fprintf(stderr, "query failed: %s: %s\n", sql, err);
        return -1;
    }
    return isnull ? -1 : atoll(val);
}

static bool exec_sql(const char *sql)
{
    char err[1024];
    if (!pg_exec_ok(g_conn, sql, err, sizeof err)) {
        fprintf(stderr, "SQL failed: %s: %s\n", sql, err);
        return false;
    }
    return true;
}

static long long user_relations(void)
{
    return query_num("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                     " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
                     "   AND c.relname NOT LIKE 'schema_migrations%'");
}

/* ---- cases -------------------------------------------------------------- */

static const char *const TABLES[] = {"cameras",
                                     "events",
                                     "events_default",
                                     "event_rollups",
                                     "event_rollups_hourly",
                                     "event_type_map",
                                     "rules",
                                     "rule_state",
                                     "violations",
                                     "evidence",
                                     "runtimes",
                                     "outbox",
                                     "schema_migrations",
                                     NULL};

static const char *const INDEXES[] = {"violations_ongoing_key",
                                      "violations_created_id_idx",
                                      "violations_status_created_idx",
                                      "violations_camera_created_idx",
                                      "violations_type_created_idx",
                                      "violations_confidence_idx",
                                      "events_idempotency_key",
                                      "events_camera_time_idx",
                                      "events_type_time_idx",
                                      "events_violation_idx",
                                      "events_time_idx",
                                      "rules_scope_key",
                                      "evidence_unfinished_idx",
                                      "evidence_violation_id_kind_key",
                                      "event_rollups_pkey",
                                      "event_rollups_hourly_pkey",
                                      "rule_state_pkey",
                                      NULL};

/* Columns other processes rely on, table.column. */
static const char *const COLUMNS[] = {"cameras.vas_device_id",
                                      "cameras.stream_id",
                                      "cameras.discovered",
                                      "cameras.inference_active",
                                      "cameras.inference_started_at",
                                      "events.id",
                                      "events.camera_id",
                                      "events.stream_id",
                                      "events.event_type",
                                      "events.type_detail",
                                      "events.confidence",
                                      "events.timestamp",
                                      "events.model_id",
                                      "events.model_version",
                                      "events.bounding_boxes",
                                      "events.frame_id",
                                      "events.inference_time_ms",
                                      "events.violation_id",
                                      "events.idempotency_key",
                                      "events.created_at",
                                      "event_rollups.minute",
                                      "event_rollups.count",
                                      "event_rollups.max_confidence",
                                      "event_type_map.raw_label",
                                      "event_type_map.event_type",
                                      "rules.min_confidence",
                                      "rules.min_hits",
                                      "rules.window_seconds",
                                      "rules.cooldown_seconds",
                                      "rules.severity",
                                      "rule_state.recent_hits",
                                      "rule_state.last_fired_at",
                                      "rule_state.ongoing_violation_id",
                                      "violations.type",
                                      "violations.status",
                                      "violations.confidence",
                                      "violations.max_confidence",
                                      "violations.event_count",
                                      "violations.first_event_at",
                                      "violations.last_event_at",
                                      "violations.ended_at",
                                      "violations.bounding_boxes",
                                      "violations.best_event_id",
                                      "violations.reviewed_by",
                                      "violations.reviewed_at",
                                      "violations.resolution_notes",
                                      "violations.version",
                                      "evidence.kind",
                                      "evidence.status",
                                      "evidence.vas_id",
                                      "evidence.url",
                                      "evidence.attempts",
                                      "evidence.last_error",
                                      "runtimes.capabilities",
                                      "runtimes.models",
                                      "runtimes.last_seen",
                                      "outbox.topic",
                                      "outbox.key",
                                      "outbox.payload",
                                      "outbox.headers",
                                      "schema_migrations.checksum",
                                      NULL};

static void test_up_creates_schema(void)
{
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);

    char err[1024], val[80];
    for (const char *const *t = TABLES; *t; t++) {
        const char *p[] = {*t};
        bool isnull = true;
        CHECK(pg_query_value(g_conn, "SELECT to_regclass($1)", 1, p, val, sizeof val, &isnull, err,
                             sizeof err));
        CHECK_MSG(!isnull, "table %s missing", *t);
    }
    for (const char *const *i = INDEXES; *i; i++) {
        const char *p[] = {*i};
        CHECK(pg_query_value(g_conn,
                             "SELECT count(*) FROM pg_class WHERE relname = $1 AND relkind IN "
                             "('i', 'I')",
                             1, p, val, sizeof val, NULL, err, sizeof err));
        CHECK_MSG(atoi(val) == 1, "index %s missing", *i);
    }
    for (const char *const *c = COLUMNS; *c; c++) {
        char table[64];
        const char *dot = strchr(*c, '.');
        snprintf(table, sizeof table, "%.*s", (int)(dot - *c), *c);
        const char *p[] = {table, dot + 1};
        CHECK(pg_query_value(g_conn,
                             "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1)"
                             " AND attname = $2 AND attnum > 0 AND NOT attisdropped",
                             2, p, val, sizeof val, NULL, err, sizeof err));
        CHECK_MSG(atoi(val) == 1, "column %s missing", *c);
    }
    /* The partial unique index is partial and unique. */
    CHECK_EQ_INT(query_num("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                           " WHERE c.relname = 'violations_ongoing_key' AND i.indisunique"
                           "   AND pg_get_expr(i.indpred, i.indrelid) = '(ended_at IS NULL)'"),
                 1);
    /* events is range-partitioned, has a default partition and today's. */
    CHECK_EQ_INT(query_num("SELECT count(*) FROM pg_partitioned_table p"
                           " WHERE p.partrelid = 'events'::regclass AND p.partstrat = 'r'"),
                 1);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM pg_partitioned_table"
                           " WHERE partrelid = 'events'::regclass"
                           "   AND partdefid = 'events_default'::regclass"),
                 1);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass"
                           " AND inhrelid = to_regclass('events_p' || to_char(now() AT TIME ZONE"
                           " 'UTC', 'YYYYMMDD'))"),
                 1);
    /* Seeds. */
    CHECK_EQ_INT(query_num("SELECT count(*) FROM event_type_map WHERE event_type = 'ppe_violation'"
                           " AND raw_label IN ('missing_hardhat', 'no_helmet', 'no_hardhat',"
                           " 'missing_helmet', 'missing_vest', 'no_vest', 'no_safety_vest',"
                           " 'missing_gloves', 'no_mask')"),
                 9);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM event_type_map WHERE event_type = 'fall_detected'"
                           " AND raw_label IN ('fall', 'fall_detected', 'person_fallen')"),
                 3);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM rules WHERE camera_id IS NULL AND model_id IS NULL"
                           " AND enabled AND min_confidence = 0.7 AND min_hits = 1"
                           " AND window_seconds = 10 AND cooldown_seconds = 60 AND"
                           " ((event_type = 'fall_detected' AND severity = 'high') OR"
                           "  (event_type = 'ppe_violation' AND severity = 'medium'))"),
                 2);
    /* Bookkeeping matches the embedded files. */
    CHECK_EQ_INT(query_num("SELECT count(*) FROM schema_migrations"), (long long)g_set.count);
    for (size_t i = 0; i < g_set.count; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", g_set.items[i].version);
        const char *p[] = {v};
        CHECK(pg_query_value(g_conn, "SELECT checksum FROM schema_migrations WHERE version = $1", 1,
                             p, val, sizeof val, NULL, err, sizeof err));
        CHECK_EQ_STR(val, g_set.items[i].checksum);
    }
    char *out = NULL;
    CHECK_EQ_INT(migrate_run("status", NULL, &out, 0), 0);
    bool listed = strstr(out, "0 pending") != NULL;
    free(out);
    CHECK(listed);
}

static void test_down_to_zero_and_up_again(void)
{
    char *count = xasprintf("%zu", g_set.count);
    int rc = migrate_run("down", count, NULL, 0);
    free(count);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(user_relations(), 0);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM pg_proc p JOIN pg_namespace n"
                           " ON n.oid = p.pronamespace WHERE n.nspname = 'public'"),
                 0);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM schema_migrations"), 0);
    CHECK(query_num("SELECT count(*) FROM pg_class WHERE relname = 'schema_migrations'") == 1);

    /* down with nothing applied is a no-op, not an error. */
    CHECK_EQ_INT(migrate_run("down", NULL, NULL, 0), 0);

    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM schema_migrations"), (long long)g_set.count);
    CHECK(user_relations() > 11);

    /* down 1 reverts only the newest. */
    CHECK_EQ_INT(migrate_run("down", NULL, NULL, 0), 0);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM schema_migrations"), (long long)g_set.count - 1);
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM schema_migrations"), (long long)g_set.count);
}

static void test_concurrent_up_processes(void)
{
    char *count = xasprintf("%zu", g_set.count);
    int rc = migrate_run("down", count, NULL, 0);
    free(count);
    CHECK_EQ_INT(rc, 0);

    enum { N = 4 };
    pid_t pids[N];
    char paths[N][64];
    for (int i = 0; i < N; i++) {
        snprintf(paths[i], sizeof paths[i], "/tmp/ruth-test-migrate-par-%d-%d", (int)getpid(), i);
        pids[i] = migrate_spawn("up", NULL, paths[i]);
    }
    int failed = 0;
    for (int i = 0; i < N; i++) {
        int st = migrate_wait(pids[i]);
        if (st != 0) {
            char *text = slurp(paths[i]);
            fprintf(stderr, "concurrent ruth-migrate up #%d exited %d:\n%s", i, st, text);
            free(text);
            failed++;
        }
        unlink(paths[i]);
    }
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM schema_migrations"), (long long)g_set.count);
    CHECK_EQ_INT(query_num("SELECT count(DISTINCT version) FROM schema_migrations"),
                 (long long)g_set.count);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM rules"), 2); /* seeds inserted once */
}

typedef struct up_thread {
    pthread_t tid;
    int rc;
    int applied;
    char err[1024];
} up_thread;

static void *up_thread_main(void *arg)
{
    up_thread *t = arg;
    PGconn *conn = pg_connect(g_url, "test_migrate", 10, t->err, sizeof t->err);
    if (!conn) {
        t->rc = -1;
        return NULL;
    }
    t->rc = migrate_up(conn, &g_set, &t->applied, t->err, sizeof t->err);
    pg_close(conn);
    return NULL;
}

static void test_concurrent_up_threads(void)
{
    char err[1024];
    int reverted = 0;
    CHECK_MSG(migrate_down(g_conn, &g_set, 1000, &reverted, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(reverted, (long long)g_set.count);

    enum { N = 3 };
    up_thread th[N];
    memset(th, 0, sizeof th);
    for (int i = 0; i < N; i++)
        CHECK(pthread_create(&th[i].tid, NULL, up_thread_main, &th[i]) == 0);
    int total = 0, failed = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i].tid, NULL);
        if (th[i].rc != 0) {
            fprintf(stderr, "thread %d: %s\n", i, th[i].err);
            failed++;
        }
        total += th[i].applied;
    }
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(total, (long long)g_set.count); /* each applied by exactly one thread */
    CHECK_EQ_INT(query_num("SELECT count(*) FROM schema_migrations"), (long long)g_set.count);
}

/* The down files are guarded too; a table from a build that did not record
 * their checksums gains the column and has them filled in. */
/* Set `column` of migration 1's bookkeeping row (a checksum) to `value`. */
static bool set_recorded(const char *column, const char *value)
{
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE schema_migrations SET %s = '%s' WHERE version = 1", column,
             value);
    return exec_sql(sql);
}

static void test_down_checksums(void)
{
    CHECK(exec_sql("ALTER TABLE schema_migrations DROP COLUMN down_checksum"));
    CHECK_EQ_INT(migrate_run("status", NULL, NULL, 0), 0); /* still readable */
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM schema_migrations WHERE version = 1 AND down_checksum = '%s'",
             g_set.items[0].down_checksum);
    CHECK_EQ_INT(query_num(sql), 1);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM schema_migrations WHERE down_checksum IS NULL"),
                 0);
    CHECK(set_recorded("down_checksum", "x"));
    char *out = NULL;
    int rc = migrate_run("up", NULL, &out, 1);
    bool named = strstr(out, "0001_core.down.sql") != NULL;
    free(out);
    int down = migrate_run("down", NULL, NULL, 1);
    long long still = query_num("SELECT count(*) FROM schema_migrations");
    CHECK(set_recorded("down_checksum", g_set.items[0].down_checksum));
    CHECK_EQ_INT(rc, 1);
    CHECK_MSG(named, "ruth-migrate up did not name the changed down file");
    CHECK_EQ_INT(down, 1);
    CHECK_EQ_INT(still, (long long)g_set.count);
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
}

static void test_tampered_checksum_refused(void)
{
    CHECK(set_recorded("checksum", "x"));
    char *out = NULL;
    int rc = migrate_run("up", NULL, &out, 1);
    bool named = strstr(out, "0001_core.up.sql") != NULL;
    free(out);
    /* status reports it, down refuses too, the library says the same. */
    int st = migrate_run("status", NULL, NULL, 1);
    int down = migrate_run("down", NULL, NULL, 1);
    char err[1024] = "";
    int lib = migrate_up(g_conn, &g_set, NULL, err, sizeof err);
    bool lib_named = strstr(err, "0001_core.up.sql") != NULL;
    long long still = query_num("SELECT count(*) FROM schema_migrations");

    /* restore before checking so later cases run on a sound database */
    CHECK(set_recorded("checksum", g_set.items[0].checksum));

    CHECK_EQ_INT(rc, 1);
    CHECK_MSG(named, "ruth-migrate up did not name the changed file");
    CHECK_EQ_INT(st, 1);
    CHECK_EQ_INT(down, 1);
    CHECK_EQ_INT(lib, -1);
    CHECK_MSG(lib_named, "errstr: %s", err);
    CHECK_EQ_INT(still, (long long)g_set.count);
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
}

static void test_out_of_order_refused(void)
{
    /* A database that has 0002 and 0003 but not 0001 (a renumbered file). */
    CHECK(exec_sql("DELETE FROM schema_migrations WHERE version = 1"));
    char err[1024] = "";
    int rc = migrate_up(g_conn, &g_set, NULL, err, sizeof err);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO schema_migrations (version, name, checksum) VALUES (1, '%s', '%s')",
             g_set.items[0].name, g_set.items[0].checksum);
    CHECK(exec_sql(sql));
    CHECK_EQ_INT(rc, -1);
    CHECK_MSG(strstr(err, "0001_core.up.sql") && strstr(err, "out of order"), "errstr: %s", err);
}

static void test_one_ongoing_violation(void)
{
    static const char INS[] =
        "INSERT INTO violations (type, camera_id, confidence, max_confidence, first_event_at,"
        " last_event_at) VALUES ($1, $2, 0.9, 0.9, now(), now()) RETURNING id";
    char id1[64], err[1024], state[6];
    const char *p[] = {"fall_detected", "cam-ongoing"};
    CHECK_MSG(pg_query_value(g_conn, INS, 2, p, id1, sizeof id1, NULL, err, sizeof err), "%s", err);
    PGresult *res = pg_exec_params(g_conn, INS, 2, p, state, err, sizeof err);
    PQclear(res);
    CHECK_MSG(res == NULL, "second ongoing violation for the same camera and type was accepted");
    CHECK_EQ_STR(state, PG_SQLSTATE_UNIQUE_VIOLATION);

    /* Another type or camera is another incident. */
    const char *p2[] = {"ppe_violation", "cam-ongoing"};
    CHECK(pg_exec_params_ok(g_conn, INS, 2, p2, NULL, err, sizeof err));
    const char *p3[] = {"fall_detected", "cam-other"};
    CHECK(pg_exec_params_ok(g_conn, INS, 2, p3, NULL, err, sizeof err));

    /* Ending the first allows the next; updates bump the version. */
    const char *pid[] = {id1};
    char version[16];
    CHECK(pg_query_value(g_conn,
                         "UPDATE violations SET ended_at = now() WHERE id = $1 RETURNING version",
                         1, pid, version, sizeof version, NULL, err, sizeof err));
    CHECK_EQ_STR(version, "2");
    CHECK_MSG(pg_exec_params_ok(g_conn, INS, 2, p, NULL, err, sizeof err), "%s", err);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM violations WHERE camera_id = 'cam-ongoing'"
                           " AND type = 'fall_detected'"),
                 2);

    /* CHECKs: status values and resolution_notes length. */
    CHECK(!pg_exec_params_ok(g_conn, "UPDATE violations SET status = 'closed' WHERE id = $1", 1,
                             pid, state, err, sizeof err));
    CHECK_EQ_STR(state, PG_SQLSTATE_CHECK_VIOLATION);
    CHECK(!pg_exec_params_ok(g_conn,
                             "UPDATE violations SET resolution_notes = repeat('x', 2001)"
                             " WHERE id = $1",
                             1, pid, state, err, sizeof err));
    CHECK_EQ_STR(state, PG_SQLSTATE_CHECK_VIOLATION);
    CHECK(pg_exec_params_ok(g_conn,
                            "UPDATE violations SET status = 'resolved',"
                            " resolution_notes = repeat('x', 2000) WHERE id = $1",
                            1, pid, NULL, err, sizeof err));
}

static void test_event_idempotency(void)
{
    static const char INS[] =
        "INSERT INTO events (camera_id, event_type, confidence, \"timestamp\", model_id,"
        " idempotency_key) VALUES ('cam-idem', 'fall_detected', 0.8, $1, 'fall-v1', $2)"
        " ON CONFLICT (idempotency_key, \"timestamp\") DO NOTHING RETURNING id";
    char err[1024], state[6];
    const char *p[] = {"2026-01-02T03:04:05.123456Z", "ruth.inference.v1/3/42"};
    /* Outside any pre-created day too: the key works in the default partition. */
    const char *old[] = {"2000-01-02T03:04:05Z", "result-0001"};
    for (int round = 0; round < 2; round++) {
        PGresult *res = pg_exec_params(g_conn, INS, 2, p, NULL, err, sizeof err);
        CHECK_MSG(res, "%s", err);
        int rows = PQntuples(res);
        PQclear(res);
        CHECK_EQ_INT(rows, round == 0 ? 1 : 0);
        res = pg_exec_params(g_conn, INS, 2, old, NULL, err, sizeof err);
        CHECK_MSG(res, "%s", err);
        rows = PQntuples(res);
        PQclear(res);
        CHECK_EQ_INT(rows, round == 0 ? 1 : 0);
    }
    CHECK_EQ_INT(query_num("SELECT count(*) FROM events WHERE camera_id = 'cam-idem'"), 2);
    /* Without ON CONFLICT the duplicate is an error, never a second row. */
    CHECK(!pg_exec_params_ok(g_conn,
                             "INSERT INTO events (camera_id, event_type, \"timestamp\", model_id,"
                             " idempotency_key) VALUES ('cam-idem', 'x', $1, 'm', $2)",
                             2, p, state, err, sizeof err));
    CHECK_EQ_STR(state, PG_SQLSTATE_UNIQUE_VIOLATION);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM events WHERE camera_id = 'cam-idem'"), 2);
    /* Out-of-range values are rejected by CHECKs. */
    CHECK(!pg_exec_params_ok(g_conn,
                             "INSERT INTO events (camera_id, event_type, confidence, \"timestamp\","
                             " model_id, idempotency_key) VALUES ('c', 'x', 1.5, $1, 'm', $2)",
                             2, (const char *const[]){"2026-01-01T00:00:00Z", "k-bad"}, state, err,
                             sizeof err));
    CHECK_EQ_STR(state, PG_SQLSTATE_CHECK_VIOLATION);
}

static void test_partitions(void)
{
    char err[1024], val[64];
    /* Far in the past: lands in the default partition, never rejected. */
    CHECK(exec_sql("INSERT INTO events (camera_id, event_type, \"timestamp\", model_id,"
                   " idempotency_key) VALUES ('cam-part', 'fall', '1999-06-01T00:00:00Z', 'm',"
                   " 'k-1999'), ('cam-part', 'fall', '2001-01-02T12:00:00Z', 'm', 'k-2001')"));
    CHECK(pg_query_value(g_conn,
                         "SELECT tableoid::regclass::text FROM events WHERE idempotency_key ="
                         " 'k-1999'",
                         0, NULL, val, sizeof val, NULL, err, sizeof err));
    CHECK_EQ_STR(val, "events_default");

    /* Creating a day moves its rows out of the default partition. */
    CHECK_EQ_INT(query_num("SELECT ruth_ensure_event_partitions('2001-01-01', 3)"), 3);
    CHECK_EQ_INT(query_num("SELECT ruth_ensure_event_partitions('2001-01-01', 3)"), 0);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass"
                           " AND inhrelid::regclass::text IN ('events_p20010101',"
                           " 'events_p20010102', 'events_p20010103')"),
                 3);
    CHECK(pg_query_value(g_conn,
                         "SELECT tableoid::regclass::text FROM events WHERE idempotency_key ="
                         " 'k-2001'",
                         0, NULL, val, sizeof val, NULL, err, sizeof err));
    CHECK_EQ_STR(val, "events_p20010102");
    /* A moved row keeps its idempotency. */
    CHECK(!pg_exec_params_ok(g_conn,
                             "INSERT INTO events (camera_id, event_type, \"timestamp\", model_id,"
                             " idempotency_key) VALUES ('cam-part', 'fall',"
                             " '2001-01-02T12:00:00Z', 'm', 'k-2001')",
                             0, NULL, NULL, err, sizeof err));
    /* Day boundaries are UTC. */
    CHECK(exec_sql("INSERT INTO events (camera_id, event_type, \"timestamp\", model_id,"
                   " idempotency_key) VALUES ('cam-part', 'fall', '2001-01-03T23:59:59.999999Z',"
                   " 'm', 'k-edge')"));
    CHECK(pg_query_value(g_conn,
                         "SELECT tableoid::regclass::text FROM events WHERE idempotency_key ="
                         " 'k-edge'",
                         0, NULL, val, sizeof val, NULL, err, sizeof err));
    CHECK_EQ_STR(val, "events_p20010103");

    /* Retention drops whole days before the cut and old default rows. */
    CHECK_EQ_INT(query_num("SELECT ruth_drop_event_partitions('2001-01-03')"), 2);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM events WHERE camera_id = 'cam-part'"), 1);
    CHECK(query_num("SELECT count(*) FROM pg_class WHERE relname = 'events_p20010103'") == 1);
    CHECK(query_num("SELECT count(*) FROM pg_class WHERE relname = 'events_p20010102'") == 0);
    /* Bad arguments are refused. */
    CHECK(!pg_exec_ok(g_conn, "SELECT ruth_ensure_event_partitions('2001-01-01', -1)", err,
                      sizeof err));
}

static void test_other_constraints(void)
{
    char err[1024], state[6];
    /* evidence: one per (violation, kind), kinds and statuses constrained. */
    CHECK(exec_sql("INSERT INTO violations (id, type, camera_id, confidence, max_confidence,"
                   " first_event_at, last_event_at, ended_at) VALUES"
                   " ('00000000-0000-0000-0000-00000000e001', 'fall_detected', 'cam-ev', 0.9,"
                   " 0.9, now(), now(), now())"));
    CHECK(exec_sql("INSERT INTO evidence (violation_id, kind, camera_id) VALUES"
                   " ('00000000-0000-0000-0000-00000000e001', 'snapshot', 'cam-ev'),"
                   " ('00000000-0000-0000-0000-00000000e001', 'bookmark', 'cam-ev')"));
    CHECK(!pg_exec_params_ok(g_conn,
                             "INSERT INTO evidence (violation_id, kind, camera_id) VALUES"
                             " ('00000000-0000-0000-0000-00000000e001', 'snapshot', 'cam-ev')",
                             0, NULL, state, err, sizeof err));
    CHECK_EQ_STR(state, PG_SQLSTATE_UNIQUE_VIOLATION);
    CHECK(!pg_exec_params_ok(g_conn, "UPDATE evidence SET status = 'done' WHERE kind = 'snapshot'",
                             0, NULL, state, err, sizeof err));
    CHECK_EQ_STR(state, PG_SQLSTATE_CHECK_VIOLATION);
    /* rules: one per scope, NULL meaning "any" counts as one scope. */
    CHECK(!pg_exec_params_ok(g_conn,
                             "INSERT INTO rules (event_type, min_confidence) VALUES"
                             " ('fall_detected', 0.5)",
                             0, NULL, state, err, sizeof err));
    CHECK_EQ_STR(state, PG_SQLSTATE_UNIQUE_VIOLATION);
    CHECK(exec_sql("INSERT INTO rules (camera_id, event_type, min_confidence) VALUES"
                   " ('cam-ev', 'fall_detected', 0.5)"));
    /* rollups: minutes only. */
    CHECK(!pg_exec_params_ok(g_conn,
                             "INSERT INTO event_rollups (minute, camera_id, event_type, count)"
                             " VALUES ('2026-01-01T00:00:30Z', 'c', 'x', 1)",
                             0, NULL, state, err, sizeof err));
    CHECK_EQ_STR(state, PG_SQLSTATE_CHECK_VIOLATION);
    /* outbox accepts bytes. */
    CHECK(exec_sql("INSERT INTO outbox (topic, key, payload) VALUES"
                   " ('ruth.violations.v1', 'cam-ev', '\\x00c301'::bytea)"));
}

/* 0005 builds the hourly rollups from the per-minute ones already there. */
static void test_hourly_rollups_backfilled(void)
{
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
    /* Back to before 0005, however many migrations sit on top of it. */
    size_t above = 0;
    for (size_t i = 0; i < g_set.count; i++)
        above += g_set.items[i].version >= 5;
    char steps[16];
    snprintf(steps, sizeof steps, "%zu", above);
    CHECK_EQ_INT(migrate_run("down", steps, NULL, 0), 0);
    CHECK(query_num("SELECT count(*) FROM pg_class WHERE relname = 'event_rollups_hourly'") == 0);
    CHECK(exec_sql("INSERT INTO event_rollups (minute, camera_id, event_type, count,"
                   " max_confidence) VALUES ('2026-03-01T10:00:00Z', 'cam-h', 'fall', 2, 0.5),"
                   " ('2026-03-01T10:59:00Z', 'cam-h', 'fall', 3, 0.9),"
                   " ('2026-03-01T11:00:00Z', 'cam-h', 'fall', 4, 0.7)"));
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
    CHECK_EQ_INT(query_num("SELECT count FROM event_rollups_hourly WHERE camera_id = 'cam-h'"
                           " AND hour = '2026-03-01T10:00:00Z'"),
                 5);
    CHECK_EQ_INT(query_num("SELECT (max_confidence * 10)::int FROM event_rollups_hourly"
                           " WHERE camera_id = 'cam-h' AND hour = '2026-03-01T10:00:00Z'"),
                 9);
    CHECK_EQ_INT(query_num("SELECT count FROM event_rollups_hourly WHERE camera_id = 'cam-h'"
                           " AND hour = '2026-03-01T11:00:00Z'"),
                 4);
    CHECK(exec_sql("DELETE FROM event_rollups WHERE camera_id = 'cam-h'"));
    CHECK(exec_sql("DELETE FROM event_rollups_hourly WHERE camera_id = 'cam-h'"));
}

/* 0008: a violation's confidence becomes the highest of its events, the
 * opening one is kept, and model_version comes from its best event; the
 * backfill is no review (version unchanged). */
static void test_confidence_backfilled(void)
{
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
    size_t above = 0;
    for (size_t i = 0; i < g_set.count; i++)
        above += g_set.items[i].version >= 8;
    char steps[16];
    snprintf(steps, sizeof steps, "%zu", above);
    CHECK_EQ_INT(migrate_run("down", steps, NULL, 0), 0);
    CHECK(exec_sql("INSERT INTO violations (id, type, camera_id, confidence, max_confidence,"
                   " first_event_at, last_event_at, best_event_id) VALUES"
                   " ('55555555-5555-4555-8555-000000000001', 'fall', 'cam-b8', 0.6, 0.9,"
                   "  '2026-03-01T10:00:00Z', '2026-03-01T10:00:05Z',"
                   "  '55555555-5555-4555-8555-0000000000e1')"));
    CHECK(exec_sql("INSERT INTO events (id, camera_id, event_type, confidence, \"timestamp\","
                   " model_id, model_version, violation_id, idempotency_key) VALUES"
                   " ('55555555-5555-4555-8555-0000000000e1', 'cam-b8', 'fall', 0.9,"
                   "  '2026-03-01T10:00:05Z', 'm', '2.1.0', '55555555-5555-4555-8555-000000000001',"
                   "  'b8')"));
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM violations WHERE camera_id = 'cam-b8'"
                           " AND confidence = 0.9 AND opening_confidence = 0.6"
                           " AND model_version = '2.1.0' AND version = 1"),
                 1);
    /* And back: confidence is the opening one again. */
    CHECK_EQ_INT(migrate_run("down", steps, NULL, 0), 0);
    CHECK_EQ_INT(query_num("SELECT count(*) FROM violations WHERE camera_id = 'cam-b8'"
                           " AND confidence = 0.6 AND version = 1"),
                 1);
    CHECK_EQ_INT(migrate_run("up", NULL, NULL, 0), 0);
    CHECK(exec_sql("DELETE FROM events WHERE camera_id = 'cam-b8'"));
    CHECK(exec_sql("DELETE FROM violations WHERE camera_id = 'cam-b8'"));
}

static void test_library_load_rejects_bad_sets(void)
{
    char err[512];
    migrate_set s;
    const struct embedded_file lone[] = {{"0001_a.up.sql", "SELECT 1", 8}};
    CHECK(migrate_load(lone, 1, &s, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "0001_a.down.sql") != NULL, "%s", err);
    const struct embedded_file badname[] = {{"init.sql", "SELECT 1", 8}};
    CHECK(migrate_load(badname, 1, &s, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "init.sql") != NULL, "%s", err);
    const struct embedded_file clash[] = {
        {"0001_a.up.sql", "", 0}, {"0001_a.down.sql", "", 0}, {"0001_b.up.sql", "", 0}};
    CHECK(migrate_load(clash, 3, &s, err, sizeof err) == -1);
    const struct embedded_file ok[] = {{"0002_b.up.sql", "", 0},
                                       {"0001_a.down.sql", "", 0},
                                       {"0002_b.down.sql", "", 0},
                                       {"0001_a.up.sql", "", 0}};
    CHECK(migrate_load(ok, 4, &s, err, sizeof err) == 0);
    bool sorted = s.count == 2 && s.items[0].version == 1 && s.items[1].version == 2;
    migrate_free(&s);
    CHECK(sorted);
    char sum[65];
    migrate_checksum("abc", 3, sum);
    CHECK_EQ_STR(sum, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const char *base = testlib_env("DATABASE_URL");
    testlib_env("KAFKA_BOOTSTRAP_SERVERS"); /* ruth-migrate's configuration requires it */
    testlib_env("RUTH_BIN_DIR");
    log_init("test_migrate", LOG_WARN, false);

    char err[1024];
    if (migrate_load(ruth_migration_files, ruth_migration_files_count, &g_set, err, sizeof err)) {
        fprintf(stderr, "embedded migrations: %s\n", err);
        return 1;
    }
    PGconn *admin = pg_connect(base, "test_migrate", 10, err, sizeof err);
    if (!admin) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char db[64];
    snprintf(db, sizeof db, "ruth_test_migrate_%d_%ld", (int)getpid(), (long)(ts.tv_nsec % 100000));
    char *create = xasprintf("CREATE DATABASE %s", db);
    if (!pg_exec_ok(admin, create, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", create, err);
        return 1;
    }
    free(create);
    char url[1024];
    itest_url_with_db(base, db, url, sizeof url);
    g_url = xstrdup(url);
    g_conn = pg_connect(g_url, "test_migrate", 10, err, sizeof err);
    if (!g_conn) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    TEST_RUN(test_library_load_rejects_bad_sets);
    TEST_RUN(test_up_creates_schema);
    TEST_RUN(test_down_to_zero_and_up_again);
    TEST_RUN(test_concurrent_up_processes);
    TEST_RUN(test_concurrent_up_threads);
    TEST_RUN(test_tampered_checksum_refused);
    TEST_RUN(test_down_checksums);
    TEST_RUN(test_out_of_order_refused);
    TEST_RUN(test_one_ongoing_violation);
    TEST_RUN(test_event_idempotency);
    TEST_RUN(test_partitions);
    TEST_RUN(test_other_constraints);
    TEST_RUN(test_hourly_rollups_backfilled);
    TEST_RUN(test_confidence_backfilled);

    pg_close(g_conn);
    char *drop = xasprintf("DROP DATABASE %s WITH (FORCE)", db);
    if (!pg_exec_ok(admin, drop, err, sizeof err))
        fprintf(stderr, "%s: %s\n", drop, err);
    free(drop);
    pg_close(admin);
    free(g_url);
    migrate_free(&g_set);
    return TEST_EXIT();
}
