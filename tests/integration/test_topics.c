/* test_topics: topic creation against the real Kafka of the dev stack.
 *
 * Uses topic names of its own (ruth-test-<pid>-<n>.*) and deletes them at the
 * end, so it never touches the pipeline's topics. Creation runs twice, in
 * process and through `ruth-migrate topics`: the second run must succeed and
 * change nothing, and metadata must show the configured partition counts. */
#include "kafka_admin.h"
#include "log.h"
#include "testlib.h"
#include "xmalloc.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 30000

extern char **environ;

static rd_kafka_t *g_rk;
static char g_prefix[64];

/* Delete `names` (best effort; missing topics are fine). */
static void delete_topics(char *const *names, size_t n)
{
    rd_kafka_DeleteTopic_t **dt = xcalloc(n, sizeof *dt);
    for (size_t i = 0; i < n; i++)
        dt[i] = rd_kafka_DeleteTopic_new(names[i]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(g_rk);
    rd_kafka_DeleteTopics(g_rk, dt, n, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS);
    if (!ev)
        fprintf(stderr, "DeleteTopics: no answer\n");
    else
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy_array(dt, n);
    free(dt);
}

static void test_create_twice_in_process(void)
{
    char names[KAFKA_ADMIN_NTOPICS][128];
    static const char *const kinds[KAFKA_ADMIN_NTOPICS] = {"inference", "events", "violations",
                                                           "evidence", "dlq"};
    static const int parts[KAFKA_ADMIN_NTOPICS] = {4, 3, 2, 2, 1};
    kafka_topic_spec specs[KAFKA_ADMIN_NTOPICS];
    for (int i = 0; i < KAFKA_ADMIN_NTOPICS; i++) {
        snprintf(names[i], sizeof names[i], "%s-lib.%s.v1", g_prefix, kinds[i]);
        /* The DLQ takes the largest dead letter (RUTH_MAX_MESSAGE_BYTES + room). */
        specs[i] = (kafka_topic_spec){names[i], parts[i], 1, i == 4 ? 1114112 : 0};
    }
    char err[1024] = "";
    int created = -1;
    int rc = kafka_admin_create_topics(g_rk, specs, KAFKA_ADMIN_NTOPICS, TIMEOUT_MS, &created, err,
                                       sizeof err);
    char *del[KAFKA_ADMIN_NTOPICS];
    for (int i = 0; i < KAFKA_ADMIN_NTOPICS; i++)
        del[i] = names[i];

    bool ok = rc == 0 && created == KAFKA_ADMIN_NTOPICS;
    if (ok) {
        /* Again: TOPIC_ALREADY_EXISTS is success, nothing new. */
        rc = kafka_admin_create_topics(g_rk, specs, KAFKA_ADMIN_NTOPICS, TIMEOUT_MS, &created, err,
                                       sizeof err);
        ok = rc == 0 && created == 0;
    }
    if (!ok)
        fprintf(stderr, "create: rc=%d created=%d err=%s\n", rc, created, err);
    int got[KAFKA_ADMIN_NTOPICS];
    for (int i = 0; i < KAFKA_ADMIN_NTOPICS; i++)
        got[i] = kafka_admin_topic_partitions(g_rk, names[i], TIMEOUT_MS, err, sizeof err);
    int check =
        kafka_admin_check_topics(g_rk, specs, KAFKA_ADMIN_NTOPICS, TIMEOUT_MS, err, sizeof err);
    char dlq_limit[32] = "", inference_limit[32] = "", cerr[512] = "";
    int crc = kafka_admin_topic_config(g_rk, names[4], "max.message.bytes", dlq_limit,
                                       sizeof dlq_limit, TIMEOUT_MS, cerr, sizeof cerr);
    crc |= kafka_admin_topic_config(g_rk, names[0], "max.message.bytes", inference_limit,
                                    sizeof inference_limit, TIMEOUT_MS, cerr, sizeof cerr);
    delete_topics(del, KAFKA_ADMIN_NTOPICS);

    CHECK(ok);
    for (int i = 0; i < KAFKA_ADMIN_NTOPICS; i++)
        CHECK_MSG(got[i] == parts[i], "%s has %d partitions, expected %d", names[i], got[i],
                  parts[i]);
    CHECK_MSG(check == 0, "%s", err);
    CHECK_MSG(crc == 0, "%s", cerr);
    CHECK_EQ_STR(dlq_limit, "1114112");
    CHECK_MSG(strcmp(inference_limit, "1114112") != 0, "inference topic got the DLQ's limit");
}

static void test_missing_topic_reported(void)
{
    char name[128], err[1024] = "";
    snprintf(name, sizeof name, "%s-missing.v1", g_prefix);
    CHECK_EQ_INT(kafka_admin_topic_partitions(g_rk, name, TIMEOUT_MS, err, sizeof err), 0);
    kafka_topic_spec spec = {name, 0, 1, 0};
    CHECK_EQ_INT(kafka_admin_check_topics(g_rk, &spec, 1, TIMEOUT_MS, err, sizeof err), -1);
    CHECK_MSG(strstr(err, name) && strstr(err, "ruth-migrate topics"), "%s", err);
    /* The check must not have created it (no broker-side auto-creation). */
    CHECK_EQ_INT(kafka_admin_topic_partitions(g_rk, name, TIMEOUT_MS, err, sizeof err), 0);
}

static void test_invalid_replication_fails(void)
{
    char name[128], err[1024] = "";
    snprintf(name, sizeof name, "%s-repl.v1", g_prefix);
    kafka_topic_spec spec = {name, 1, 16, 0}; /* more replicas than the dev stack's brokers */
    int rc = kafka_admin_create_topics(g_rk, &spec, 1, TIMEOUT_MS, NULL, err, sizeof err);
    char *del[] = {name};
    if (rc == 0)
        delete_topics(del, 1);
    CHECK_EQ_INT(rc, -1);
    CHECK_MSG(strstr(err, name) != NULL, "%s", err);
}

/* `ruth-migrate topics` with RUTH_TOPIC_* pointing at test names. */
static int run_migrate_topics(char names[KAFKA_ADMIN_NTOPICS][128])
{
    static const char *const vars[KAFKA_ADMIN_NTOPICS] = {
        "RUTH_TOPIC_INFERENCE", "RUTH_TOPIC_EVENTS", "RUTH_TOPIC_VIOLATIONS", "RUTH_TOPIC_EVIDENCE",
        "RUTH_TOPIC_DLQ"};
    char *bin = xasprintf("%s/ruth-migrate", testlib_env("RUTH_BIN_DIR"));
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = xcalloc(n + 16, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "RUTH_TOPIC_", 11) && strncmp(environ[i], "RUTH_PARTITIONS_", 16))
            envp[k++] = environ[i];
    char *own[16];
    size_t nown = 0;
    for (int i = 0; i < KAFKA_ADMIN_NTOPICS; i++)
        own[nown++] = xasprintf("%s=%s", vars[i], names[i]);
    own[nown++] = xstrdup("RUTH_PARTITIONS_INFERENCE=5");
    own[nown++] = xstrdup("RUTH_PARTITIONS_EVENTS=4");
    own[nown++] = xstrdup("RUTH_PARTITIONS_VIOLATIONS=3");
    own[nown++] = xstrdup("RUTH_PARTITIONS_EVIDENCE=2");
    own[nown++] = xstrdup("RUTH_PARTITIONS_DLQ=1");
    own[nown++] = xstrdup("RUTH_TOPIC_REPLICATION=1");
    for (size_t i = 0; i < nown; i++)
        envp[k++] = own[i];
    char *argv[] = {bin, "topics", NULL};

    char path[] = "/tmp/ruth-test-topics-XXXXXX";
    int fd = mkstemp(path);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execve(bin, argv, envp);
        _exit(127);
    }
    close(fd);
    int st = 0, rc = -1;
    if (pid > 0 && waitpid(pid, &st, 0) == pid)
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (rc != 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "cat %s >&2", path);
        fprintf(stderr, "ruth-migrate topics exited %d:\n", rc);
        fflush(stderr);
        if (system(cmd) != 0)
            fprintf(stderr, "(output unavailable)\n");
    }
    unlink(path);
    for (size_t i = 0; i < nown; i++)
        free(own[i]);
    free(envp);
    free(bin);
    return rc;
}

static void test_ruth_migrate_topics_twice(void)
{
    char names[KAFKA_ADMIN_NTOPICS][128];
    static const char *const kinds[KAFKA_ADMIN_NTOPICS] = {"inference", "events", "violations",
                                                           "evidence", "dlq"};
    /* As configured by run_migrate_topics(). */
    static const int parts[KAFKA_ADMIN_NTOPICS] = {5, 4, 3, 2, 1};
    char *del[KAFKA_ADMIN_NTOPICS];
    for (int i = 0; i < KAFKA_ADMIN_NTOPICS; i++) {
        snprintf(names[i], sizeof names[i], "%s-cli.%s.v1", g_prefix, kinds[i]);
        del[i] = names[i];
    }
    int first = run_migrate_topics(names);
    int second = run_migrate_topics(names);
    char err[1024] = "";
    int got[KAFKA_ADMIN_NTOPICS];
    for (int i = 0; i < KAFKA_ADMIN_NTOPICS; i++)
        got[i] = kafka_admin_topic_partitions(g_rk, names[i], TIMEOUT_MS, err, sizeof err);
    delete_topics(del, KAFKA_ADMIN_NTOPICS);

    CHECK_EQ_INT(first, 0);
    CHECK_EQ_INT(second, 0);
    for (int i = 0; i < KAFKA_ADMIN_NTOPICS; i++)
        CHECK_MSG(got[i] == parts[i], "%s has %d partitions, expected %d", names[i], got[i],
                  parts[i]);
}

int main(void)
{
    const char *bootstrap = testlib_env("KAFKA_BOOTSTRAP_SERVERS");
    testlib_env("DATABASE_URL"); /* ruth-migrate's configuration requires it */
    testlib_env("RUTH_BIN_DIR");
    log_init("test_topics", LOG_WARN, false);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(g_prefix, sizeof g_prefix, "ruth-test-%d-%ld", (int)getpid(),
             (long)(ts.tv_nsec % 1000000));
    char err[512];
    g_rk = kafka_admin_new(bootstrap, "test_topics", err, sizeof err);
    if (!g_rk) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    TEST_RUN(test_create_twice_in_process);
    TEST_RUN(test_missing_topic_reported);
    TEST_RUN(test_invalid_replication_fails);
    TEST_RUN(test_ruth_migrate_topics_twice);

    rd_kafka_destroy(g_rk);
    return TEST_EXIT();
}
