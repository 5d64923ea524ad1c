/* Configuration table: missing, malformed and out-of-range settings name
 * themselves; defaults apply; help and markdown list every row. */
#include "config.h"
#include "testlib.h"

#include <stdlib.h>

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
    TEST_RUN(help_lists_only_own_rows);
    TEST_RUN(readme_configuration_matches_table);
    return TEST_EXIT();
}
