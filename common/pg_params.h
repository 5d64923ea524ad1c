/* pg_params.h - the parameters of one statement whose values are arrays
 * (`unnest($1::uuid[], $2::bigint[], ...)`), bound by name.
 *
 * A statement keeps a struct with one pg_array per column, named after it,
 * and a pg_params; pg_params_bind() lists those arrays once, in $n order,
 * so a column added to one statement cannot shift the parameters of
 * another (as slices of one shared array addressed by offsets would).
 * Scalar parameters follow the arrays (pg_params_value). The pg_params
 * points into the struct that holds the arrays: do not copy or move it
 * after binding. */
#ifndef RUTH_PG_PARAMS_H
#define RUTH_PG_PARAMS_H

#include "pg.h"
#include "pg_array.h"

#define PG_PARAMS_MAX 24

typedef struct pg_params {
    pg_array *arrays[PG_PARAMS_MAX]; /* borrowed, $1.. in order */
    int narrays;
    const char *values[PG_PARAMS_MAX];
    int nvalues;
} pg_params;

/* Bind `n` arrays (at most PG_PARAMS_MAX) as $1..$n and begin each. */
void pg_params_bind(pg_params *p, pg_array *const *arrays, int n);
/* The next parameter after the arrays, a scalar (borrowed until the
 * statement has run). */
void pg_params_value(pg_params *p, const char *v);
/* Close the arrays and return the step running `sql` with these
 * parameters (for pg_stmts_pipeline, or its fields for pg_stmts_exec);
 * valid while the arrays are. */
pg_step pg_params_step(pg_params *p, const char *sql);
/* Free the bound arrays; accepts a zeroed pg_params. */
void pg_params_free(pg_params *p);

#endif
