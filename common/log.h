/* log.h - one JSON object per line on stdout.
 *
 *   {"ts":"2026-11-22T10:00:00.123Z","level":"warn","service":"ruth-worker",
 *    "message":"...","topic":"ruth.inference.v1","partition":3,"offset":42}
 *
 * Context fields travel in a log_ctx; unset fields are omitted. Thread-safe:
 * each line is written with a single write(2). RUTH_AI_LOG_FORMAT=text gives a
 * human-readable line instead. Never pass secrets: use log_redact_url() for
 * connection strings. */
#ifndef RUTH_LOG_H
#define RUTH_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 } log_level;

/* Optional context. Strings are borrowed for the call; partition/offset < 0
 * mean "absent". Zero-initialise with LOG_CTX_INIT and set what you have. */
typedef struct log_ctx {
    const char *request_id;
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *camera_id;
    const char *violation_id;
    const char *extra_json; /* pre-rendered `"k":v,...` members, no braces */
} log_ctx;
#define LOG_CTX_INIT                                                                               \
    {                                                                                              \
        NULL, NULL, -1, -1, NULL, NULL, NULL                                                       \
    }

/* Call once in main() before any thread starts. `service` is borrowed for the
 * process lifetime. */
void log_init(const char *service, log_level min_level, bool json);
/* Parse "debug|info|warn|warning|error"; false if unknown. */
bool log_level_parse(const char *s, log_level *out);
bool log_enabled(log_level lvl);

void log_at(log_level lvl, const log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_at(LOG_DEBUG, NULL, __VA_ARGS__);                                                  \
    } while (0)
#define log_info(...) log_at(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_at(LOG_ERROR, NULL, __VA_ARGS__)

/* Copy `url` into `out` with any password replaced by "***" (handles
 * postgresql://user:pw@host/db and libpq "password=..." key/value strings). */
void log_redact_url(const char *url, char *out, size_t outsz);

/* Append `s` JSON-escaped (without quotes) to buf at *len, never past cap-1;
 * invalid UTF-8 bytes become U+FFFD. Shared by everything that hand-builds JSON. */
void log_json_escape(char *buf, size_t *len, size_t cap, const char *s);
/* The text format's escaping: '\\', newline, CR, tab and other control bytes
 * become \\, \n, \r, \t, \xNN, so one call is one line whatever it
 * carries. Same bounds as log_json_escape(). */
void log_text_escape(char *buf, size_t *len, size_t cap, const char *s);

#endif
