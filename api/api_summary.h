/* api_summary.h - the figures of GET /analytics/summary, summed in C from
 * the rows api_analytics.c reads (api_summary.c), and its JSON. */
#ifndef RUTH_API_SUMMARY_H
#define RUTH_API_SUMMARY_H

#include "buf.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strings point into the PGresult of the rows, which must outlive the
 * aggregate. */
typedef struct api_summary_cam {
    const char *id; /* NULL: free slot */
    int64_t events, le_us, vtotal, vopen;
    double mc;
    const char *mc_txt; /* mc as PostgreSQL wrote it (float8out: the answer's digits) */
    bool seen;          /* has rollup rows (counts as active) */
    const char *name;
} api_summary_cam;

typedef struct api_summary_type {
    const char *name;
    int64_t n;
} api_summary_type;

typedef struct api_summary {
    int64_t b0_s, width_s, to_us;
    size_t nbuckets;
    int64_t *bev, *bvio;  /* per bucket: events, violations */
    api_summary_cam *cam; /* open addressing, ncap slots (a power of 2) */
    size_t ncap, ncam;
    api_summary_type *type; /* in order of first appearance */
    size_t ntype, captype;
    int64_t events, vtotal, vstatus[4], active;
} api_summary;

/* An empty aggregate of the buckets [b0_s, to) of width_s seconds (to in
 * epoch microseconds); api_summary_free releases it. */
void api_summary_init(api_summary *s, int64_t b0_s, int64_t width_s, int64_t to_us);
void api_summary_free(api_summary *s);

/* Add the rows of `res` (columns: kind, bucket start in epoch seconds,
 * camera, type or status, count, max confidence, last event in epoch
 * milliseconds): kind 0 one rollup row of a camera and type, 2 a camera's
 * figures over the range (its name in the type column), 3 the events of a type in a bucket, 1
 * violations of a bucket (bucket set) or of a camera in a status (bucket null), 4 the violations
 * of a camera per status (open in the count column, reviewed, dismissed, resolved in three int8
 * columns after the last event's). Borrows res until
 * api_summary_free. */
void api_summary_rows(api_summary *s, const PGresult *res);

/* The answer into b: range = from, to and generated_at in the contract's
 * format; names = rows (camera id, name) of the cameras seen whose rows
 * carried no name (NULL: none). */
void api_summary_write(api_summary *s, buf *b, const char *const range[3], const char *gran,
                       const char *camera, const PGresult *names);

#endif
