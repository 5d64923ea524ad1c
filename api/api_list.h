/* api_list.h - pagination shared by every list endpoint (api_list.c):
 * limit/offset and keyset cursors, capped counts, and WHERE clauses built
 * from fixed fragments. */
#ifndef RUTH_API_LIST_H
#define RUTH_API_LIST_H

#include "api_context.h"
#include "buf.h"

#include <libpq-fe.h>

#include <stdbool.h>
#include <stddef.h>

/* The count cache (api.counts): made in api_main.c, freed at stop. */
list_counts *list_counts_new(void);
void list_counts_free(list_counts *lc); /* accepts NULL */

typedef struct api_page {
    long limit, offset;
    const char *cursor; /* raw parameter */
    bool keyset;        /* a valid cursor was given */
    char after_key[64]; /* the cursor's sort value */
    char after_id[40];  /* the cursor's row id */
} api_page;

/* Read limit/offset/cursor (limit default/max per endpoint). The cursor must
 * have been issued for the same `sort_tag`, and its sort value must be of
 * `key_kind`: 'i' (integer >= 0), 'f' (number 0..1) or 's' (text). false
 * after recording errors. */
bool list_page(api_req *r, long dflt_limit, long max_limit, const char *sort_tag, char key_kind,
               api_page *pg);

/* The cursor part of list_page(), on its own (no request): true when
 * `cursor` is base64url("<sort_tag>|<sort value of key_kind>|<row uuid>"),
 * with pg->after_key and pg->after_id filled. */
bool list_cursor_parse(const char *cursor, const char *sort_tag, char key_kind, api_page *pg);

/* A count of the rows `from_where` selects (with `params`), exact up to
 * LIST_COUNT_EXACT_MAX, else PostgreSQL's estimate (*exact = false). Cached
 * for a second per query text and parameters in r->a->counts (no cache when
 * that is NULL). -1 after an error response. */
#define LIST_COUNT_EXACT_MAX 10000
long long list_count(api_req *r, const char *from_where, int nparams, const char *const *params,
                     bool *exact);

/* A WHERE clause built from fixed fragments, every value a parameter. */
#define SQLW_MAX_PARAMS 16
typedef struct sqlw {
    buf where; /* " WHERE a AND b" (empty when no condition) */
    const char *params[SQLW_MAX_PARAMS];
    int n;
} sqlw;

/* Add `cond`, in which "$?" stands for the next parameter (bound to
 * `value`, borrowed until the query ran); `value` NULL skips the condition. */
void sqlw_add(sqlw *w, const char *cond, const char *value);
/* Add a condition with two parameters ("$?" twice), e.g. keyset bounds. */
void sqlw_add2(sqlw *w, const char *cond, const char *v1, const char *v2);
/* Append a bound parameter that is not a condition (LIMIT/OFFSET); returns
 * its $-number. */
int sqlw_param(sqlw *w, const char *value);
/* NUL-terminated WHERE text. */
const char *sqlw_sql(sqlw *w);
void sqlw_free(sqlw *w);

/* `fw` = "FROM <from>" plus the conditions of `w`, and list_count() of it.
 * -1 after an error response, with `w` freed. */
long long list_total(api_req *r, const char *from, sqlw *w, char *fw, size_t fwsz, bool *exact);

/* Run `select` (a SELECT over the conditions of `w`, ending in its ORDER
 * BY) for one page, LIMIT and OFFSET bound as the next parameters of `w`,
 * and emit {"<items>": [rows...], "pagination": {...}}. Each row has the
 * item JSON in column 0, its cursor sort value in column 1 and its id in
 * column 2. `sort_tag` NULL: offset paging only, next_cursor is always
 * null. Frees `w`. */
void list_fetch(api_req *r, const char *items, sqlw *w, const api_page *pg, const char *sort_tag,
                long long total, bool exact, const char *select);

/* How list_fetch_rows() writes each row: item() appends the row's JSON;
 * the cursor's sort value is column key_col and the row id column id_col.
 *
 * literal_limit: a page without offset (the first page, every keyset page)
 * puts its LIMIT into the query text instead of a parameter. Why: with
 * LIMIT $n (or OFFSET $m) PostgreSQL costs the prepared statement's generic
 * plan for 10 % of the rows, so it never prefers it and plans the statement
 * anew on every execution (measured: planning was 43 % of PostgreSQL's time
 * on the violations page). With the limit known the generic plan costs what
 * the custom one does and is kept after the fifth run. One prepared
 * statement per limit value (a handful in practice). Not for a list whose
 * generic plan is worse than its custom ones (the events list: partition
 * pruning and the camera/time filters favour per-value plans).
 *
 * binary: the rows come in binary format (api_query_binary); item() and
 * the cursor decode them (api_rowjson.h). */
typedef struct list_writer {
    void (*item)(buf *o, const PGresult *res, int row);
    int key_col, id_col;
    bool literal_limit, binary;
} list_writer;

/* list_fetch() with the items written by `lw` from plain columns instead of
 * ready JSON in column 0. Frees `w`. */
void list_fetch_rows(api_req *r, const char *items, sqlw *w, const api_page *pg,
                     const char *sort_tag, long long total, bool exact, const char *select,
                     const list_writer *lw);

#endif
