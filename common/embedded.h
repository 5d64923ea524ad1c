/* embedded.h - files compiled into binaries (schemas, migrations).
 *
 * Tables are generated at build time by cmake/embed.cmake; each entry's data is
 * NUL-terminated so text files can be used as C strings. */
#ifndef RUTH_EMBEDDED_H
#define RUTH_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
    const char *name; /* base file name, e.g. "0001_init.up.sql" */
    const char *data; /* file bytes followed by a NUL */
    size_t len;       /* length without the NUL */
};

#endif
