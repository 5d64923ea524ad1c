/* Logger helpers: secrets are redacted; JSON escaping survives hostile bytes. */
#include "log.h"
#include "testlib.h"

static void redacts_url_password(void)
{
    char out[256];
    log_redact_url("postgresql://ruth:s3cret@127.0.0.1:5432/ruth", out, sizeof out);
    CHECK_EQ_STR(out, "postgresql://ruth:***@127.0.0.1:5432/ruth");
    log_redact_url("host=db password=s3cret user=x", out, sizeof out);
    CHECK_EQ_STR(out, "host=db password=*** user=x");
    log_redact_url("postgresql://h/db?user=a&password=pw&sslmode=on", out, sizeof out);
    CHECK_EQ_STR(out, "postgresql://h/db?user=a&password=***&sslmode=on");
    log_redact_url("postgresql://127.0.0.1:5432/ruth", out, sizeof out);
    CHECK_EQ_STR(out, "postgresql://127.0.0.1:5432/ruth");
    log_redact_url("postgresql://u:p@h", out, 8); /* truncation stays terminated */
    CHECK(strlen(out) == 7);
}

static void escapes_control_and_invalid_utf8(void)
{
    char buf[64];
    size_t len = 0;
    buf[0] = '\0';
    log_json_escape(buf, &len, sizeof buf, "a\"b\\c\n\x01\xff\xc3\xa9");
    CHECK_EQ_STR(buf, "a\\\"b\\\\c\\u000a\\u0001\xEF\xBF\xBD\xc3\xa9");
    len = 0;
    log_json_escape(buf, &len, 5, "abcdefgh"); /* bounded */
    CHECK_EQ_INT(len, 4);
}

static void level_parse(void)
{
    log_level l;
    CHECK(log_level_parse("warning", &l) && l == LOG_WARN);
    CHECK(!log_level_parse("loud", &l));
}

int main(void)
{
    TEST_RUN(redacts_url_password);
    TEST_RUN(escapes_control_and_invalid_utf8);
    TEST_RUN(level_parse);
    return TEST_EXIT();
}
