/* violation_row.h - a violations row as the ViolationChange message carries it.
 *
 * Shared by every writer that publishes ViolationChanges (ruth-worker when
 * incidents open or grow, ruth-api when operators review them), so the
 * message is built from the database row the same way everywhere. */
#ifndef RUTH_VIOLATION_ROW_H
#define RUTH_VIOLATION_ROW_H

#include "codec.h"

#include <libpq-fe.h>

/* SELECT of the columns violation_row_msg() reads, for the violations whose
 * ids are in $1 (a uuid[] literal). Text results. */
extern const char *const violation_row_select;

/* The id of row `row` of a violation_row_select result (borrowed). */
const char *violation_row_id(const PGresult *res, int row);

/* Fill *v from row `row` of a violation_row_select result. Strings borrow
 * from `res`; *boxes receives an allocated array the caller free()s after
 * encoding (NULL when there are none). */
void violation_row_msg(const PGresult *res, int row, violation_msg *v, codec_bbox **boxes);

#endif
