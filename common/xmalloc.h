/* xmalloc.h - allocation that never returns NULL.
 *
 * Out of memory is not a recoverable condition for these processes: the one
 * place that handles it logs and aborts, so callers need no NULL checks. */
#ifndef RUTH_XMALLOC_H
#define RUTH_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a freshly allocated string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
