/* Logger helpers: secrets are redacted; JSON escaping survives hostile bytes. */
#include "log.h"
#include "testlib.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

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

/* One log_at() call with hostile text in the message and every field, in
 * the given format; returns what reached stdout (the caller frees it). */
static char *capture_line(bool json)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    fflush(stdout);
    int saved = dup(1);
    dup2(fds[1], 1);
    log_init("ruth-test", LOG_DEBUG, json);
    const char *evil = "GET\" x\n{\"level\":\"error\"} a=b \\ \r\t\x01";
    log_ctx ctx = LOG_CTX_INIT;
    ctx.request_id = evil;
    ctx.topic = evil;
    ctx.camera_id = evil;
    ctx.violation_id = evil;
    ctx.partition = 1;
    ctx.offset = 2;
    char method[96], extra[160];
    size_t mlen = 0;
    method[0] = '\0';
    log_json_escape(method, &mlen, sizeof method, evil);
    snprintf(extra, sizeof extra, "\"method\":\"%s\"", method);
    ctx.extra_json = extra;
    log_at(LOG_INFO, &ctx, "%s %s -> %u", evil, "/api/v1/x\n/y", 404);
    dup2(saved, 1);
    close(saved);
    close(fds[1]);
    char *out = calloc(1, 16384);
    size_t n = 0;
    ssize_t k;
    while (n < 16383 && (k = read(fds[0], out + n, 16383 - n)) > 0)
        n += (size_t)k;
    close(fds[0]);
    log_init("ruth", LOG_INFO, true);
    return out;
}

/* Issue 14 #9: no field of a line, in either format, can forge another. */
static void every_field_escaped(void)
{
    char *j = capture_line(true);
    CHECK(j != NULL && strchr(j, '\n') == j + strlen(j) - 1); /* one line */
    json_error_t err;
    json_t *o = json_loads(j, 0, &err);
    CHECK_MSG(json_is_object(o), "not JSON: %s (%s)", j, err.text);
    CHECK(json_is_string(json_object_get(o, "method")));
    CHECK(strstr(json_string_value(json_object_get(o, "message")), "\n{\"level\"") != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(o, "level")), "info");
    json_decref(o);
    free(j);
    char *t = capture_line(false);
    CHECK(t != NULL && strchr(t, '\n') == t + strlen(t) - 1);
    CHECK(strchr(t, '\r') == NULL && strchr(t, '\t') == NULL && strchr(t, '\x01') == NULL);
    CHECK_MSG(strstr(t, "request_id=\"GET\\\" x\\n") != NULL, "%s", t);
    CHECK_MSG(strstr(t, " topic=\"GET\\\" x\\n{\\\"level") != NULL, "%s", t);
    free(t);
    /* An escape that does not fit whole is left out, not cut. */
    char buf[8];
    size_t len = 0;
    buf[0] = '\0';
    log_json_escape(buf, &len, sizeof buf, "abcd\n");
    CHECK_EQ_STR(buf, "abcd");
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
    TEST_RUN(every_field_escaped);
    return TEST_EXIT();
}
