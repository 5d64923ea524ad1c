/* fuzz_cursor.c - ruth-api's paging cursors (api/api_list.c) on arbitrary
 * text: a forged cursor must be refused, never reach SQL with a sort value
 * PostgreSQL cannot take (issue 14, item 14: bigint * interval overflow,
 * 1e-400). The first byte picks the sort column's kind ('i' microseconds,
 * 'f' confidence, else text), the rest is the cursor as sent. */
#include "fuzz.h"

#include "api_list.h"
#include "api_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char kind = data[0] == 'i' || data[0] == 'f' ? (char)data[0] : 's';
    char *cursor = malloc(size);
    memcpy(cursor, data + 1, size - 1);
    cursor[size - 1] = '\0';
    api_page pg;
    memset(&pg, 0, sizeof pg);
    if (list_cursor_parse(cursor, "created_at", kind, &pg)) {
        bool ok = api_is_uuid(pg.after_id) && pg.after_key[0];
        char *end;
        errno = 0;
        if (ok && kind == 'i') {
            long long v = strtoll(pg.after_key, &end, 10);
            ok = !*end && !errno && v >= 0 && v <= 253402300799000000LL;
        } else if (ok && kind == 'f') {
            double d = strtod(pg.after_key, &end);
            ok = !*end && !errno && d >= 0 && d <= 1;
        }
        if (!ok) {
            fprintf(stderr, "fuzz_cursor: accepted a cursor SQL cannot take: %s\n", pg.after_key);
            abort();
        }
    }
    free(cursor);
    return 0;
}
