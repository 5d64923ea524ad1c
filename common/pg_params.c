/* pg_params.c - see pg_params.h. */
#include "pg_params.h"

#include <stdlib.h>

void pg_params_bind(pg_params *p, pg_array *const *arrays, int n)
{
    if (n > PG_PARAMS_MAX)
        abort(); /* a programming error: a statement with more columns */
    p->narrays = p->nvalues = n;
    for (int i = 0; i < n; i++) {
        p->arrays[i] = arrays[i];
        pg_array_begin(arrays[i]);
    }
}

void pg_params_value(pg_params *p, const char *v)
{
    if (p->nvalues >= PG_PARAMS_MAX)
        abort();
    p->values[p->nvalues++] = v;
}

pg_step pg_params_step(pg_params *p, const char *sql)
{
    for (int i = 0; i < p->narrays; i++)
        p->values[i] = pg_array_end(p->arrays[i]);
    return (pg_step){sql, p->nvalues, p->values};
}

void pg_params_free(pg_params *p)
{
    for (int i = 0; i < p->narrays; i++)
        pg_array_free(p->arrays[i]);
}
