/* test_pg_copy: rows encoded with pg_copy (COPY .. FROM STDIN (FORMAT
 * binary)) read back equal from a real PostgreSQL: text with quotes and
 * unicode, NULLs, NaN and infinities in float8, timestamptz in a session
 * whose TimeZone is not UTC, uuid and jsonb.
 *
 * Needs only DATABASE_URL (the dev stack's server); everything happens in a
 * temporary table of this connection. */
#include "pg_copy.h"
#include "testlib.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PGconn *g_db;

typedef struct row {
    const char *k; /* key, never NULL */
    const char *t;
    double f;
    bool has_f;
    int64_t ts_us;
    const char *u;
    const char *j; /* JSON text */
} row;

static bool exec_ok(const char *sql)
{
    PGresult *r = PQexec(g_db, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(g_db));
    PQclear(r);
    return ok;
}

/* COPY `rows` into copy_t in one stream; true when the server took them. */
static bool copy_rows(const row *rows, size_t n)
{
    PGresult *r = PQexec(g_db, "COPY copy_t (k, t, f, ts, u, j) FROM STDIN (FORMAT binary)");
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!ok) {
        fprintf(stderr, "COPY: %s", PQerrorMessage(g_db));
        return false;
    }
    buf b = {0};
    pg_copy_header(&b);
    for (size_t i = 0; i < n; i++) {
        pg_copy_row(&b, 6);
        pg_copy_text(&b, rows[i].k);
        pg_copy_text(&b, rows[i].t);
        pg_copy_f8(&b, rows[i].f, rows[i].has_f);
        pg_copy_ts(&b, rows[i].ts_us);
        if (rows[i].u)
            pg_copy_uuid(&b, rows[i].u);
        else
            pg_copy_null(&b);
        if (rows[i].j)
            pg_copy_jsonb(&b, rows[i].j, strlen(rows[i].j));
        else
            pg_copy_null(&b);
    }
    pg_copy_trailer(&b);
    ok =
        PQputCopyData(g_db, (const char *)b.data, (int)b.len) == 1 && PQputCopyEnd(g_db, NULL) == 1;
    buf_free(&b);
    while ((r = PQgetResult(g_db))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "COPY: %s", PQresultErrorMessage(r));
            ok = false;
        }
        PQclear(r);
    }
    return ok;
}

/* The row with key k, columns: t, f::text, microseconds of ts, ts::text (in
 * the session's zone), u::text, j::text, j = $2::jsonb. */
static PGresult *read_row(const char *k, const char *json)
{
    const char *p[2] = {k, json};
    PGresult *r = PQexecParams(g_db,
                               "SELECT t, f::text, (extract(epoch FROM ts) * 1000000)::bigint,"
                               " ts::text, u::text, j::text, j = $2::jsonb"
                               " FROM copy_t WHERE k = $1",
                               2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "reading %s: %s", k, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static void setup_table(void)
{
    CHECK(exec_ok("DROP TABLE IF EXISTS copy_t"));
    CHECK(exec_ok("CREATE TEMP TABLE copy_t (k text PRIMARY KEY, t text, f float8,"
                  " ts timestamptz, u uuid, j jsonb)"));
}

static void text_with_quotes_and_unicode(void)
{
    setup_table();
    CHECK(!testlib_case_failed);
    row rows[] = {
        {"q", "she said \"hi\", it's \\ fine\ttab\nline", 0, true, 0, NULL, NULL},
        {"u", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\xb7", 0, true, 0, NULL, NULL},
        {"e", "", 0, true, 0, NULL, NULL},
        {"n", NULL, 0, false, 0, NULL, NULL},
    };
    CHECK(copy_rows(rows, 4));
    for (int i = 0; i < 4; i++) {
        PGresult *r = read_row(rows[i].k, "null");
        CHECK(r);
        if (rows[i].t) {
            bool same = !PQgetisnull(r, 0, 0) && !strcmp(PQgetvalue(r, 0, 0), rows[i].t);
            PQclear(r);
            CHECK_MSG(same, "row %s", rows[i].k);
        } else {
            bool null = PQgetisnull(r, 0, 0) && PQgetisnull(r, 0, 1) && PQgetisnull(r, 0, 4) &&
                        PQgetisnull(r, 0, 5);
            PQclear(r);
            CHECK_MSG(null, "NULLs of row %s", rows[i].k);
        }
    }
}

static void float8_special_values(void)
{
    setup_table();
    CHECK(!testlib_case_failed);
    row rows[] = {
        {"nan", "", NAN, true, 0, NULL, NULL},
        {"inf", "", INFINITY, true, 0, NULL, NULL},
        {"-inf", "", -INFINITY, true, 0, NULL, NULL},
        {"third", "", 1.0 / 3.0, true, 0, NULL, NULL},
        {"tiny", "", 4.9406564584124654e-324, true, 0, NULL, NULL},
        {"negzero", "", -0.0, true, 0, NULL, NULL},
        {"null", "", 0, false, 0, NULL, NULL},
    };
    const char *want[] = {"NaN", "Infinity", "-Infinity", NULL, NULL, "-0", NULL};
    CHECK(copy_rows(rows, 7));
    for (int i = 0; i < 7; i++) {
        PGresult *r = read_row(rows[i].k, "null");
        CHECK(r);
        char got[64];
        bool isnull = PQgetisnull(r, 0, 1);
        snprintf(got, sizeof got, "%s", PQgetvalue(r, 0, 1));
        PQclear(r);
        if (!rows[i].has_f) {
            CHECK_MSG(isnull, "row %s", rows[i].k);
            continue;
        }
        CHECK_MSG(!isnull, "row %s", rows[i].k);
        if (want[i])
            CHECK_EQ_STR(got, want[i]);
        else
            CHECK_MSG(strtod(got, NULL) == rows[i].f, "row %s: %s", rows[i].k, got);
    }
}

static void timestamptz_is_the_same_instant_in_any_zone(void)
{
    setup_table();
    CHECK(!testlib_case_failed);
    /* +05:45, no DST: the rendering below is stable. */
    CHECK(exec_ok("SET TimeZone = 'Asia/Kathmandu'"));
    row rows[] = {
        {"now", "", 0, true, 1700000000123456LL, NULL, NULL}, /* 2023-11-14 22:13:20.123456Z */
        {"unix0", "", 0, true, 0, NULL, NULL},                /* before PostgreSQL's 2000 epoch */
        {"before", "", 0, true, -1, NULL, NULL},
        {"pg0", "", 0, true, 946684800000000LL, NULL, NULL},
    };
    const char *want[] = {"2023-11-15 03:58:20.123456+05:45", "1970-01-01 05:30:00+05:30",
                          "1970-01-01 05:29:59.999999+05:30", "2000-01-01 05:45:00+05:45"};
    CHECK(copy_rows(rows, 4));
    for (int i = 0; i < 4; i++) {
        PGresult *r = read_row(rows[i].k, "null");
        CHECK(r);
        long long us = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        char text[64];
        snprintf(text, sizeof text, "%s", PQgetvalue(r, 0, 3));
        PQclear(r);
        CHECK_MSG(us == rows[i].ts_us, "row %s: %lld", rows[i].k, us);
        CHECK_EQ_STR(text, want[i]);
    }
    /* The same instant seen from UTC. */
    CHECK(exec_ok("SET TimeZone = 'UTC'"));
    PGresult *r = read_row("now", "null");
    CHECK(r);
    char text[64];
    snprintf(text, sizeof text, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);
    CHECK_EQ_STR(text, "2023-11-14 22:13:20.123456+00");
}

static void uuid_and_jsonb(void)
{
    setup_table();
    CHECK(!testlib_case_failed);
    const char *json = "{\"s\":\"q\\\"uote \xc3\xa9\",\"a\":[1,2.5,null,true],\"o\":{}}";
    row rows[] = {
        {"lower", "", 0, true, 0, "6b1f3c8e-520d-4f7a-9a61-2e44901b7c05", json},
        {"upper", "", 0, true, 0, "6B1F3C8E-520D-4F7A-9A61-2E44901B7C05", "[]"},
        {"bare", "", 0, true, 0, "00000000000000000000000000000000", "null"},
        {"ff", "", 0, true, 0, "ffffffff-ffff-ffff-ffff-ffffffffffff", "\"\""},
    };
    const char *want[] = {
        "6b1f3c8e-520d-4f7a-9a61-2e44901b7c05", "6b1f3c8e-520d-4f7a-9a61-2e44901b7c05",
        "" /* not the canonical form: written as NULL */, "ffffffff-ffff-ffff-ffff-ffffffffffff"};
    CHECK(copy_rows(rows, 4));
    for (int i = 0; i < 4; i++) {
        PGresult *r = read_row(rows[i].k, rows[i].j);
        CHECK(r);
        char u[64];
        snprintf(u, sizeof u, "%s", PQgetvalue(r, 0, 4));
        bool jsame = PQgetvalue(r, 0, 6)[0] == 't';
        PQclear(r);
        CHECK_EQ_STR(u, want[i]);
        CHECK_MSG(jsame, "jsonb of row %s", rows[i].k);
    }
    /* A value reached through jsonb operators, not only equality. */
    PGresult *r = PQexec(g_db, "SELECT j->>'s', j->'a'->>1 FROM copy_t WHERE k = 'lower'");
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
    bool s_ok = !strcmp(PQgetvalue(r, 0, 0), "q\"uote \xc3\xa9");
    bool a_ok = !strcmp(PQgetvalue(r, 0, 1), "2.5");
    PQclear(r);
    CHECK(s_ok && a_ok);
}

static void invalid_jsonb_is_refused(void)
{
    setup_table();
    CHECK(!testlib_case_failed);
    row bad = {"bad", "", 0, true, 0, NULL, "{not json"};
    CHECK(!copy_rows(&bad, 1)); /* the server checks what the encoder passes through */
}

int main(void)
{
    g_db = PQconnectdb(testlib_env("DATABASE_URL"));
    if (PQstatus(g_db) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect: %s", PQerrorMessage(g_db));
        return 1;
    }
    TEST_RUN(text_with_quotes_and_unicode);
    TEST_RUN(float8_special_values);
    TEST_RUN(timestamptz_is_the_same_instant_in_any_zone);
    TEST_RUN(uuid_and_jsonb);
    TEST_RUN(invalid_jsonb_is_refused);
    PQfinish(g_db);
    return TEST_EXIT();
}
