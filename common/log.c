/* log.c - see log.h. */
#include "log.h"

#include "clock.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192

static const char *log__service = "ruth";
static log_level log__min = LOG_INFO;
static bool log__json = true;

static const char *const log__names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service, log_level min_level, bool json)
{
    log__service = service;
    log__min = min_level;
    log__json = json;
}

bool log_level_parse(const char *s, log_level *out)
{
    if (!strcmp(s, "debug"))
        *out = LOG_DEBUG;
    else if (!strcmp(s, "info"))
        *out = LOG_INFO;
    else if (!strcmp(s, "warn") || !strcmp(s, "warning"))
        *out = LOG_WARN;
    else if (!strcmp(s, "error"))
        *out = LOG_ERROR;
    else
        return false;
    return true;
}

bool log_enabled(log_level lvl)
{
    return lvl >= log__min;
}

static void log__put(char *buf, size_t *len, size_t cap, const char *s, size_t n)
{
    if (*len + 1 >= cap)
        return;
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

void log_json_escape(char *buf, size_t *len, size_t cap, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    /* Stop before an escape or character that would not fit whole: a cut
     * "\u00" or a lone '\' would make the line invalid JSON. */
    while (*p) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            if (*len + 2 >= cap)
                break;
            esc[0] = '\\';
            esc[1] = (char)*p;
            log__put(buf, len, cap, esc, 2);
            p++;
        } else if (*p < 0x20) {
            if (*len + 6 >= cap)
                break;
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            log__put(buf, len, cap, esc, 6);
            p++;
        } else {
            /* at most 4 bytes, never past the NUL */
            size_t n = text_utf8_seq_len((const char *)p, strnlen((const char *)p, 4));
            if (*len + (n ? n : 3) >= cap)
                break;
            if (n == 0) {
                log__put(buf, len, cap, "\xEF\xBF\xBD", 3);
                p++;
            } else {
                log__put(buf, len, cap, (const char *)p, n);
                p += n;
            }
        }
    }
}

void log_text_escape(char *buf, size_t *len, size_t cap, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '\\') {
            log__put(buf, len, cap, "\\\\", 2);
        } else if (*p == '\n') {
            log__put(buf, len, cap, "\\n", 2);
        } else if (*p == '\r') {
            log__put(buf, len, cap, "\\r", 2);
        } else if (*p == '\t') {
            log__put(buf, len, cap, "\\t", 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            log__put(buf, len, cap, esc, 4);
        } else {
            log__put(buf, len, cap, (const char *)p, 1);
        }
    }
}

/* A text-format field value: bare when it is plain, else in double quotes
 * with '"' escaped too, so a value can never look like a further key=value
 * or start a new line. */
static void log__text_value(char *buf, size_t *len, const char *val)
{
    bool plain = *val != '\0';
    for (const unsigned char *p = (const unsigned char *)val; *p && plain; p++)
        plain = *p > 0x20 && *p != 0x7f && *p != '"' && *p != '=' && *p != '\\';
    if (plain) {
        log__put(buf, len, LOG_LINE_MAX, val, strlen(val));
        return;
    }
    log__put(buf, len, LOG_LINE_MAX, "\"", 1);
    for (const char *p = val; *p; p++) {
        if (*p == '"') {
            log__put(buf, len, LOG_LINE_MAX, "\\\"", 2);
        } else {
            char one[2] = {*p, 0};
            log_text_escape(buf, len, LOG_LINE_MAX, one);
        }
    }
    log__put(buf, len, LOG_LINE_MAX, "\"", 1);
}

static void log__field_str(char *buf, size_t *len, const char *key, const char *val)
{
    if (!val)
        return;
    if (log__json) {
        log__put(buf, len, LOG_LINE_MAX, ",\"", 2);
        log__put(buf, len, LOG_LINE_MAX, key, strlen(key));
        log__put(buf, len, LOG_LINE_MAX, "\":\"", 3);
        log_json_escape(buf, len, LOG_LINE_MAX, val);
        log__put(buf, len, LOG_LINE_MAX, "\"", 1);
    } else {
        log__put(buf, len, LOG_LINE_MAX, " ", 1);
        log__put(buf, len, LOG_LINE_MAX, key, strlen(key));
        log__put(buf, len, LOG_LINE_MAX, "=", 1);
        log__text_value(buf, len, val);
    }
}

static void log__field_int(char *buf, size_t *len, const char *key, long long v)
{
    char tmp[64];
    int n = log__json ? snprintf(tmp, sizeof tmp, ",\"%s\":%lld", key, v)
                      : snprintf(tmp, sizeof tmp, " %s=%lld", key, v);
    log__put(buf, len, LOG_LINE_MAX, tmp, (size_t)n);
}

void log_at(log_level lvl, const log_ctx *ctx, const char *fmt, ...)
{
    if (lvl < log__min)
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char tsbuf[CLOCK_ISO8601_LEN];
    clock_format_iso8601_ms(clock_wall_us(), tsbuf, sizeof tsbuf);

    char buf[LOG_LINE_MAX];
    size_t len = 0;
    buf[0] = '\0';
    if (log__json) {
        char head[160];
        int n = snprintf(head, sizeof head, "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"", tsbuf,
                         log__names[lvl]);
        log__put(buf, &len, LOG_LINE_MAX, head, (size_t)n);
        log_json_escape(buf, &len, LOG_LINE_MAX, log__service);
        log__put(buf, &len, LOG_LINE_MAX, "\",\"message\":\"", 13);
        log_json_escape(buf, &len, LOG_LINE_MAX, msg);
        log__put(buf, &len, LOG_LINE_MAX, "\"", 1);
    } else {
        char head[160];
        int n = snprintf(head, sizeof head, "%s %-5s %s: ", tsbuf, log__names[lvl], log__service);
        log__put(buf, &len, LOG_LINE_MAX, head, (size_t)n);
        log_text_escape(buf, &len, LOG_LINE_MAX, msg);
    }
    if (ctx) {
        log__field_str(buf, &len, "request_id", ctx->request_id);
        log__field_str(buf, &len, "topic", ctx->topic);
        if (ctx->partition >= 0)
            log__field_int(buf, &len, "partition", ctx->partition);
        if (ctx->offset >= 0)
            log__field_int(buf, &len, "offset", ctx->offset);
        log__field_str(buf, &len, "camera_id", ctx->camera_id);
        log__field_str(buf, &len, "violation_id", ctx->violation_id);
        if (ctx->extra_json && *ctx->extra_json) {
            if (log__json)
                log__put(buf, &len, LOG_LINE_MAX, ",", 1);
            else
                log__put(buf, &len, LOG_LINE_MAX, " ", 1);
            log__put(buf, &len, LOG_LINE_MAX, ctx->extra_json, strlen(ctx->extra_json));
        }
    }
    /* Leave room for the closing brace and newline even on truncation. */
    if (len > LOG_LINE_MAX - 3)
        len = LOG_LINE_MAX - 3;
    if (log__json)
        buf[len++] = '}';
    buf[len++] = '\n';
    ssize_t w = write(1, buf, len);
    (void)w;
}

void log_redact_url(const char *url, char *out, size_t outsz)
{
    size_t len = 0;
    if (outsz == 0)
        return;
    out[0] = '\0';
    if (!url) {
        log__put(out, &len, outsz, "(unset)", 7);
        return;
    }
    const char *p = url;
    const char *scheme = strstr(url, "://");
    if (scheme) {
        const char *at = strchr(scheme + 3, '@');
        const char *colon = strchr(scheme + 3, ':');
        if (at && colon && colon < at) { /* user:secret@ -> user:***@ */
            log__put(out, &len, outsz, url, (size_t)(colon + 1 - url));
            log__put(out, &len, outsz, "***", 3);
            p = at;
        }
    }
    for (;;) { /* key=value form: password=secret -> password=*** */
        const char *pw = strstr(p, "password=");
        if (!pw) {
            log__put(out, &len, outsz, p, strlen(p));
            return;
        }
        log__put(out, &len, outsz, p, (size_t)(pw + 9 - p));
        log__put(out, &len, outsz, "***", 3);
        p = pw + 9;
        while (*p && *p != ' ' && *p != '&')
            p++;
    }
}
