/* ruth-migrate: database schema and Kafka topics set-up.
 *
 *   ruth-migrate up | down [N] | status | topics | config-doc
 *
 * The SQL files of this folder are compiled in (ruth_migration_files), so the
 * binary needs no install path. Exit status: 0 success, 1 failure,
 * 2 configuration or usage error. */
#include "config.h"
#include "embedded.h"
#include "kafka_admin.h"
#include "log.h"
#include "migrate.h"
#include "pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct embedded_file ruth_migration_files[];
extern const size_t ruth_migration_files_count;

#define CONNECT_TIMEOUT_SEC 10
#define KAFKA_TIMEOUT_MS 30000
/* Event partitions kept ready by every `up`: yesterday and two weeks ahead. */
#define PARTITIONS_BACK_DAYS 1
#define PARTITIONS_DAYS 16

static const char USAGE[] =
    "usage: ruth-migrate up | down [N] | status | topics | config-doc\n"
    "\n"
    "  up          apply pending migrations in order, each in its own transaction, and\n"
    "              create upcoming daily event partitions; holds an advisory lock, so\n"
    "              every replica may run it at start-up\n"
    "  down [N]    revert the last N applied migrations (default 1)\n"
    "  status      list applied and pending migrations (exit 1 if an applied file changed)\n"
    "  topics      create the five Kafka topics with the configured partitions and\n"
    "              replication factor (existing ones are left alone), then verify them\n"
    "  config-doc  print every setting as a Markdown table (the README's section)\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 configuration or usage error.";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ruth-migrate: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s\n", USAGE);
    return 2;
}

/* Keep upcoming daily partitions of `events` ready, once the function that
 * creates them exists (it comes with 0002_events). */
static int ensure_partitions(PGconn *conn)
{
    char err[1024], exists[8], created[16];
    if (!pg_query_value(conn,
                        "SELECT to_regprocedure('ruth_ensure_event_partitions(date,integer)')"
                        " IS NOT NULL",
                        0, NULL, exists, sizeof exists, NULL, err, sizeof err))
        goto failed;
    if (exists[0] != 't')
        return 0;
    char back[16], days[16];
    snprintf(back, sizeof back, "%d", PARTITIONS_BACK_DAYS);
    snprintf(days, sizeof days, "%d", PARTITIONS_DAYS);
    const char *params[] = {back, days};
    if (!pg_query_value(conn,
                        "SELECT ruth_ensure_event_partitions("
                        "(now() AT TIME ZONE 'UTC')::date - $1::integer, $2::integer)",
                        2, params, created, sizeof created, NULL, err, sizeof err))
        goto failed;
    if (atoi(created) > 0)
        log_info("created %s daily event partitions", created);
    return 0;
failed:
    log_error("creating upcoming event partitions: %s", err);
    return -1;
}

static int cmd_database(const ruth_config *cfg, const char *cmd, int n)
{
    char err[2048];
    int rc = 1;
    migrate_set set = {0};
    PGconn *conn = NULL;

    /* Not required by the config table: `topics` runs without it. */
    if (!cfg->database_url || !*cfg->database_url) {
        fprintf(stderr,
                "ruth-migrate: configuration error: DATABASE_URL is not set "
                "(PostgreSQL connection URL); `%s` needs it; see README "
                "\"Configuration\"\n",
                cmd);
        return 2;
    }
    if (migrate_load(ruth_migration_files, ruth_migration_files_count, &set, err, sizeof err)) {
        log_error("%s", err);
        goto done;
    }
    conn = pg_connect(cfg->database_url, "ruth-migrate", CONNECT_TIMEOUT_SEC, err, sizeof err);
    if (!conn) {
        log_error("%s; check DATABASE_URL", err);
        goto done;
    }

    if (!strcmp(cmd, "up")) {
        int applied = 0;
        if (migrate_up(conn, &set, &applied, err, sizeof err)) {
            log_error("%s", err);
            if (applied)
                log_error("%d migration(s) were applied before the failure", applied);
            goto done;
        }
        if (ensure_partitions(conn))
            goto done;
        log_info("schema is up to date at version %04d (%d migration(s) applied now)",
                 set.count ? set.items[set.count - 1].version : 0, applied);
        rc = 0;
    } else if (!strcmp(cmd, "down")) {
        int reverted = 0;
        if (migrate_down(conn, &set, n, &reverted, err, sizeof err)) {
            log_error("%s", err);
            if (reverted)
                log_error("%d migration(s) were reverted before the failure", reverted);
            goto done;
        }
        log_info("reverted %d migration(s)%s", reverted,
                 reverted < n ? " (no more were applied)" : "");
        rc = 0;
    } else { /* status */
        int st = migrate_status(conn, &set, stdout, err, sizeof err);
        if (st < 0)
            log_error("%s", err);
        rc = st == 0 ? 0 : 1;
    }

done:
    pg_close(conn);
    migrate_free(&set);
    return rc;
}

static int cmd_topics(const ruth_config *cfg)
{
    char err[1024];
    /* Not required by the config table: only this command needs Kafka. */
    if (!cfg->kafka_bootstrap_servers || !*cfg->kafka_bootstrap_servers) {
        fprintf(stderr, "ruth-migrate: configuration error: KAFKA_BOOTSTRAP_SERVERS is not set "
                        "(Kafka brokers, host:port[,host:port]); `topics` needs it; see README "
                        "\"Configuration\"\n");
        return 2;
    }
    kafka_topic_spec specs[KAFKA_ADMIN_MAXTOPICS];
    size_t n = kafka_admin_topics_from_config(cfg, specs);
    rd_kafka_t *rk = kafka_admin_new(cfg->kafka_bootstrap_servers, "ruth-migrate", err, sizeof err);
    if (!rk) {
        log_error("%s", err);
        return 1;
    }
    int created = 0, rc = 1;
    if (kafka_admin_create_topics(rk, specs, n, KAFKA_TIMEOUT_MS, &created, err, sizeof err) ||
        kafka_admin_check_topics(rk, specs, n, KAFKA_TIMEOUT_MS, err, sizeof err)) {
        log_error("%s; check KAFKA_BOOTSTRAP_SERVERS and RUTH_TOPIC_REPLICATION", err);
        goto done;
    }
    log_info("Kafka topics ready: %d created, %zu already existed", created, n - (size_t)created);
    rc = 0;
done:
    rd_kafka_destroy(rk);
    return rc;
}

int main(int argc, char **argv)
{
    /* config-doc documents the settings and needs none of them. */
    if (argc == 2 && !strcmp(argv[1], "config-doc")) {
        config_print_markdown(stdout);
        return 0;
    }

    const char *cmd = NULL;
    int n = 1;
    bool help = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            help = true;
    if (!help) {
        if (argc < 2)
            return usage_error("%s", "a command is required");
        cmd = argv[1];
        if (!strcmp(cmd, "down") && argc == 3) {
            char *end;
            errno = 0;
            long v = strtol(argv[2], &end, 10);
            if (errno || *end || end == argv[2] || v < 1 || v > 100000)
                return usage_error("down N: N must be a positive number, not \"%s\"", argv[2]);
            n = (int)v;
        } else if (strcmp(cmd, "up") && strcmp(cmd, "down") && strcmp(cmd, "status") &&
                   strcmp(cmd, "topics")) {
            return usage_error("unknown command \"%s\"", cmd);
        } else if (argc > 2) {
            return usage_error("unexpected argument \"%s\"", argv[2]);
        }
    }

    ruth_config cfg = {0};
    int st = config_startup(argc, argv, CFG_MIGRATE, "ruth-migrate", USAGE, &cfg);
    if (st == 1)
        return 0;
    if (st == 2)
        return 2;

    int rc = !strcmp(cmd, "topics") ? cmd_topics(&cfg) : cmd_database(&cfg, cmd, n);
    config_free(&cfg);
    return rc;
}
