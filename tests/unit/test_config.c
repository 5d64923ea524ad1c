/* Configuration table: missing, malformed and out-of-range settings name
 * themselves; defaults apply; help and markdown list every row. */
#include "config.h"
#include "testlib.h"

#include <stdlib.h>
#include <unistd.h>

static char err[512];

static void clear_env(void)
{
    for (size_t i = 0; i < config_nrows; i++)
        unsetenv(config_rows[i].env);
}

/* Only the two settings every process here requires. */
static void base_env(void)
{
    clear_env();
    setenv("KAFKA_BOOTSTRAP_SERVERS", "k:1", 1);
    setenv("DATABASE_URL", "x", 1);
}

static void missing_required_names_itself(void)
{
    clear_env();
    ruth_config cfg;
    setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", 1);
    CHECK(config_load(CFG_WORKER, &cfg, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "DATABASE_URL is not set") != NULL, "%s", err);
}

static void defaults_apply(void)
{
    clear_env();
    ruth_config cfg;
    setenv("KAFKA_BOOTSTRAP_SERVERS", "k:1", 1);
    setenv("DATABASE_URL", "postgresql://a:b@h/d", 1);
    CHECK(config_load(CFG_WORKER, &cfg, err, sizeof err) == 0);
    CHECK_EQ_STR(cfg.topic_inference, "ruth.inference.v1");
    CHECK_EQ_STR(cfg.worker_group, "ruth-workers");
    CHECK_EQ_INT(cfg.metrics_port, 9100);
    CHECK_EQ_STR(cfg.log_format, "json");
    CHECK(g_cfg == &cfg);
    /* not used by the worker: stays unset */
    CHECK(cfg.jwt_secret_key == NULL);
    config_free(&cfg);
    CHECK(g_cfg == NULL);
}

static void malformed_int_rejected(void)
{
    ruth_config cfg;
    base_env();
    setenv("RUTH_METRICS_PORT", "90a", 1);
    CHECK(config_load(CFG_WORKER, &cfg, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "RUTH_METRICS_PORT=\"90a\" is not an integer") != NULL, "%s", err);
    setenv("RUTH_METRICS_PORT", "70000", 1);
    CHECK(config_load(CFG_WORKER, &cfg, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "RUTH_METRICS_PORT=70000 is out of range") != NULL, "%s", err);
}

static void enum_rejected(void)
{
    ruth_config cfg;
    base_env();
    setenv("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef", 1);
    setenv("JWT_ALGORITHM", "none", 1);
    CHECK(config_load(CFG_API, &cfg, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "JWT_ALGORITHM=\"none\" is not one of HS256") != NULL, "%s", err);
}

static void short_secret_rejected_without_printing_it(void)
{
    ruth_config cfg;
    base_env();
    setenv("JWT_SECRET_KEY", "hunter2", 1);
    CHECK(config_load(CFG_API, &cfg, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "JWT_SECRET_KEY is 7 bytes long; at least 32") != NULL, "%s", err);
    CHECK(strstr(err, "hunter2") == NULL);
}

/* Writes `content` to a file of this test process in /tmp; returns its path
 * in buf (the test unlinks it). */
static const char *secret_file(char *buf, size_t size, const char *name, const char *content)
{
    snprintf(buf, size, "/tmp/ruth-test-config-%d-%s", (int)getpid(), name);
    FILE *f = fopen(buf, "w");
    if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
        perror(buf);
        exit(1);
    }
    return buf;
}

static void secret_read_from_file(void)
{
    ruth_config cfg;
    char db[128], jwt[128], vas[128], shortkey[128];
    base_env();
    unsetenv("DATABASE_URL");
    setenv("DATABASE_URL_FILE", secret_file(db, sizeof db, "db", "postgresql://u:p@h/d\n"), 1);
    setenv("JWT_SECRET_KEY_FILE",
           secret_file(jwt, sizeof jwt, "jwt", "0123456789abcdef0123456789abcdef\r\n"), 1);
    setenv("VAS_CLIENT_SECRET_FILE", secret_file(vas, sizeof vas, "vas", "s3cr3t"), 1);
    secret_file(shortkey, sizeof shortkey, "short", "hunter2\n");
    int rc = config_load(CFG_API, &cfg, err, sizeof err);
    unlink(db);
    unlink(vas);
    unlink(jwt);
    CHECK_MSG(rc == 0, "%s", err);
    /* The trailing line end (LF or CRLF) an editor adds is not part of it. */
    CHECK_EQ_STR(cfg.database_url, "postgresql://u:p@h/d");
    CHECK_EQ_STR(cfg.jwt_secret_key, "0123456789abcdef0123456789abcdef");
    CHECK_EQ_STR(cfg.vas_client_secret, "s3cr3t");
    config_free(&cfg);
    /* A file's value is checked like the variable's: too short a key. */
    /* db and vas are gone now: put them back as values. */
    unsetenv("DATABASE_URL_FILE");
    unsetenv("VAS_CLIENT_SECRET_FILE");
    setenv("DATABASE_URL", "x", 1);
    setenv("JWT_SECRET_KEY_FILE", shortkey, 1);
    rc = config_load(CFG_API, &cfg, err, sizeof err);
    unlink(shortkey);
    CHECK(rc == -1);
    CHECK_MSG(strstr(err, "JWT_SECRET_KEY is 7 bytes long") != NULL, "%s", err);
    CHECK(strstr(err, "hunter2") == NULL);
    unsetenv("DATABASE_URL_FILE");
    unsetenv("JWT_SECRET_KEY_FILE");
    unsetenv("VAS_CLIENT_SECRET_FILE");
}

static void secret_and_file_both_set_is_an_error(void)
{
    ruth_config cfg;
    char db[128];
    base_env();
    setenv("DATABASE_URL_FILE", secret_file(db, sizeof db, "db2", "postgresql://u:p@h/d"), 1);
    int rc = config_load(CFG_WORKER, &cfg, err, sizeof err);
    unlink(db);
    CHECK(rc == -1);
    CHECK_MSG(strstr(err, "DATABASE_URL and DATABASE_URL_FILE are both set") != NULL, "%s", err);
    unsetenv("DATABASE_URL_FILE");
}

static void unreadable_secret_file_names_itself(void)
{
    ruth_config cfg;
    char empty[128];
    base_env();
    unsetenv("DATABASE_URL");
    setenv("DATABASE_URL_FILE", "/nonexistent/ruth/db-url", 1);
    CHECK(config_load(CFG_WORKER, &cfg, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "DATABASE_URL_FILE=/nonexistent/ruth/db-url cannot be read: No such "
                          "file") != NULL,
              "%s", err);
    setenv("DATABASE_URL_FILE", secret_file(empty, sizeof empty, "empty", "\n"), 1);
    int rc = config_load(CFG_WORKER, &cfg, err, sizeof err);
    unlink(empty);
    CHECK(rc == -1);
    CHECK_MSG(strstr(err, "DATABASE_URL_FILE=") != NULL && strstr(err, "is empty") != NULL, "%s",
              err);
    /* Neither set: the message offers both. */
    unsetenv("DATABASE_URL_FILE");
    CHECK(config_load(CFG_WORKER, &cfg, err, sizeof err) == -1);
    CHECK_MSG(strstr(err, "DATABASE_URL is not set, nor DATABASE_URL_FILE") != NULL, "%s", err);
    /* Only secrets have a _FILE form: a plain setting ignores one. */
    base_env();
    setenv("RUTH_WORKER_GROUP_FILE", "/nonexistent", 1);
    CHECK_MSG(config_load(CFG_WORKER, &cfg, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_STR(cfg.worker_group, "ruth-workers");
    config_free(&cfg);
    unsetenv("RUTH_WORKER_GROUP_FILE");
}

static void help_lists_only_own_rows(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print_help(f, CFG_WORKER, "usage: ruth-worker");
    fclose(f);
    CHECK(strstr(text, "DATABASE_URL") != NULL);
    CHECK(strstr(text, "RUTH_WORKER_BATCH_MAX") != NULL);
    CHECK(strstr(text, "JWT_SECRET_KEY") == NULL);
    /* Types and bounds come from the table too. */
    CHECK(strstr(text, "[integer 1..") != NULL);
    CHECK(strstr(text, "[one of debug|info|warn|error]") != NULL);
    free(text);
}

static void markdown_rows_have_six_cells(void)
{
    /* Enum choices ("debug|info|...") must not split a row into more cells. */
    char *table = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&table, &len);
    config_print_markdown(f);
    fclose(f);
    int rows = 0;
    for (char *line = strtok(table, "\n"); line; line = strtok(NULL, "\n")) {
        int bars = 0;
        for (char *p = line; *p; p++)
            bars += *p == '|' && (p == line || p[-1] != '\\');
        CHECK_MSG(bars == 7, "%d cell borders in: %s", bars, line);
        rows++;
    }
    CHECK(rows > 20);
    free(table);
}

static void readme_configuration_matches_table(void)
{
    /* The README's configuration section is generated from the table; it
     * must not drift. */
    const char *src = getenv("RUTH_SOURCE_DIR");
    CHECK(src != NULL);
    char path[1024];
    snprintf(path, sizeof path, "%s/README.md", src);
    FILE *rf = fopen(path, "r");
    CHECK_MSG(rf != NULL, "cannot open %s", path);
    char *readme = calloc(1, 1 << 20);
    size_t n = fread(readme, 1, (1 << 20) - 1, rf);
    fclose(rf);
    readme[n] = '\0';
    char *table = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&table, &len);
    config_print_markdown(f);
    fclose(f);
    int found = strstr(readme, table) != NULL;
    free(readme);
    free(table);
    CHECK_MSG(found, "README.md configuration table differs from `ruth-migrate config-doc`; "
                     "regenerate it with scripts/update-readme-config");
}

int main(void)
{
    TEST_RUN(missing_required_names_itself);
    TEST_RUN(short_secret_rejected_without_printing_it);
    TEST_RUN(markdown_rows_have_six_cells);
    TEST_RUN(defaults_apply);
    TEST_RUN(malformed_int_rejected);
    TEST_RUN(enum_rejected);
    TEST_RUN(secret_read_from_file);
    TEST_RUN(secret_and_file_both_set_is_an_error);
    TEST_RUN(unreadable_secret_file_names_itself);
    TEST_RUN(help_lists_only_own_rows);
    TEST_RUN(readme_configuration_matches_table);
    return TEST_EXIT();
}
