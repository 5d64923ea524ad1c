/* test_api_slowloris.c - ruth-api under slow and greedy clients (issue 14,
 * item 2): clients on other loopback addresses (127.0.0.2 ...) trickle
 * request headers one byte a second, up to the per-address connection limit
 * and beyond, and reconnect whenever they are cut off, while a client on
 * 127.0.0.1 keeps getting /ready answered; then live streams are capped
 * per subject, per address and in all.
 *
 * Without the per-address limit the trickling sockets take every connection
 * slot; without the header deadline the held ones live as long as they keep
 * trickling (each byte restarts libmicrohttpd's idle timeout). */
#include "rawhttp.h"

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define ADDRS 12       /* 127.0.0.2 .. 127.0.0.13 */
#define PER_ADDR 8     /* sockets each address tries to hold */
#define PER_IP_LIMIT 4 /* RUTH_API_MAX_CONNECTIONS_PER_IP */
#define MAX_CONN 64    /* RUTH_API_MAX_CONNECTIONS: below ADDRS * PER_ADDR */
#define HEADER_SEC 3   /* RUTH_API_HEADER_TIMEOUT_SEC; the idle timeout stays 30 s */
#define RUN_SEC 11.0

static int port;

typedef struct slow {
    int fd;
    double opened;
    size_t sent;
} slow;

static void test_slowloris(void)
{
    /* An endless header: "GET /ready ..." then "X-Slow-N: a" lines. */
    char trickle[4096];
    size_t tl = (size_t)snprintf(trickle, sizeof trickle, "GET /health HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; tl + 32 < sizeof trickle; i++)
        tl += (size_t)snprintf(trickle + tl, sizeof trickle - tl, "X-Slow-%d: a\r\n", i);
    static slow s[ADDRS][PER_ADDR];
    double t0 = itest_now();
    for (int a = 0; a < ADDRS; a++)
        for (int i = 0; i < PER_ADDR; i++)
            s[a][i] = (slow){.fd = rawhttp_dial(port, a + 2), .opened = itest_now()};
    int health_ok = 0, health_bad = 0, refused_early = 0, deadline_cut = 0, cut_late = 0;
    double worst_health = 0, longest_held = 0;
    int most_held[ADDRS] = {0};
    double next_byte = t0;
    while (itest_now() - t0 < RUN_SEC) {
        double now = itest_now();
        for (int a = 0; a < ADDRS; a++) {
            int held = 0;
            for (int i = 0; i < PER_ADDR; i++) {
                slow *c = &s[a][i];
                if (c->fd >= 0 && rawhttp_closed(c->fd)) {
                    double life = now - c->opened;
                    if (c->sent <= 1 && life < 1.5)
                        refused_early++; /* over the per-address limit */
                    else if (life <= HEADER_SEC + 2.0)
                        deadline_cut++;
                    else
                        cut_late++;
                    close(c->fd);
                    c->fd = -1;
                }
                if (c->fd < 0) { /* an attacker reconnects at once */
                    *c = (slow){.fd = rawhttp_dial(port, a + 2), .opened = itest_now()};
                    continue;
                }
                if (c->sent > 1 && now - c->opened > longest_held)
                    longest_held = now - c->opened;
                held += c->sent > 1;
            }
            if (held > most_held[a])
                most_held[a] = held;
        }
        if (now >= next_byte) { /* one byte a second on every socket */
            next_byte += 1.0;
            for (int a = 0; a < ADDRS; a++)
                for (int i = 0; i < PER_ADDR; i++) {
                    slow *c = &s[a][i];
                    if (c->fd >= 0 && c->sent < tl &&
                        send(c->fd, trickle + c->sent, 1, MSG_NOSIGNAL) == 1)
                        c->sent++;
                }
        }
        /* The client on 127.0.0.1. */
        char out[2048];
        double h0 = itest_now();
        int st = rawhttp_ask(port, 1, "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                             "\r\n\r\n", out, sizeof out, NULL);
        double took = itest_now() - h0;
        if (took > worst_health)
            worst_health = took;
        if (st == 200 && took < 2.0)
            health_ok++;
        else
            health_bad++;
        usleep(200 * 1000);
    }
    for (int a = 0; a < ADDRS; a++)
        for (int i = 0; i < PER_ADDR; i++)
            if (s[a][i].fd >= 0)
                close(s[a][i].fd);
    fprintf(stderr,
            "slowloris: /health ok %d bad %d (slowest %.2f s); refused over the per-address limit "
            "%d, cut at the header deadline %d, later %d; longest held %.1f s\n",
            health_ok, health_bad, worst_health, refused_early, deadline_cut, cut_late,
            longest_held);
    CHECK_MSG(health_bad == 0 && health_ok >= 10, "/health ok %d bad %d", health_ok, health_bad);
    /* Every address got its limit and no more... */
    for (int a = 0; a < ADDRS; a++)
        CHECK_MSG(most_held[a] <= PER_IP_LIMIT && most_held[a] >= 1,
                  "127.0.0.%d held %d connections", a + 2, most_held[a]);
    CHECK(refused_early >= ADDRS * (PER_ADDR - PER_IP_LIMIT));
    /* ...and lost them at the header deadline although it kept sending. */
    CHECK(deadline_cut >= ADDRS * PER_IP_LIMIT);
    CHECK_MSG(cut_late == 0 && longest_held <= HEADER_SEC + 2.0, "late %d, longest %.1f s",
              cut_late, longest_held);
    static char out[1 << 17]; /* all of /metrics: read until the server closes */
    CHECK_EQ_INT(rawhttp_ask(port, 1,
                             "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                             "\x01", out, sizeof out, NULL),
                 200);
    const char *m = strstr(out, "\nruth_api_header_timeouts_total ");
    CHECK(m && atof(m + 32) >= ADDRS * PER_IP_LIMIT);
}

static void test_stream_caps(void)
{
    char out[4096];
    int fds[8], nfd = 0, fd;
    /* The stream starts once Kafka is followed. */
    int st = 0;
    for (double t = itest_now(); itest_now() - t < 30; usleep(300 * 1000))
        if ((st = rawhttp_stream_open(port, SECRET, "s1", 1, &fd, out, sizeof out)) != 503)
            break;
    CHECK_EQ_INT(st, 200);
    fds[nfd++] = fd;
    CHECK_EQ_INT(rawhttp_stream_open(port, SECRET, "s1", 1, &fd, out, sizeof out),
                 200); /* 2 of subject s1 */
    fds[nfd++] = fd;
    CHECK_EQ_INT(rawhttp_stream_open(port, SECRET, "s1", 3, &fd, out, sizeof out),
                 429); /* per subject */
    CHECK(strstr(out, "\"RATE_LIMITED\"") && strstr(out, "Retry-After"));
    CHECK_EQ_INT(rawhttp_stream_open(port, SECRET, "s2", 1, &fd, out, sizeof out),
                 200); /* 3 of 127.0.0.1 */
    fds[nfd++] = fd;
    CHECK_EQ_INT(rawhttp_stream_open(port, SECRET, "s3", 1, &fd, out, sizeof out),
                 429); /* per address */
    CHECK(strstr(out, "\"RATE_LIMITED\""));
    CHECK_EQ_INT(rawhttp_stream_open(port, SECRET, "s4", 2, &fd, out, sizeof out), 200);
    fds[nfd++] = fd;
    CHECK_EQ_INT(rawhttp_stream_open(port, SECRET, "s5", 2, &fd, out, sizeof out),
                 200); /* 5 in all */
    fds[nfd++] = fd;
    CHECK_EQ_INT(rawhttp_stream_open(port, SECRET, "s6", 3, &fd, out, sizeof out),
                 503); /* in all */
    CHECK(strstr(out, "\"INTERNAL_ERROR\"") && strstr(out, "Retry-After"));
    /* Other requests are still served. */
    CHECK_EQ_INT(rawhttp_ask(port, 3, "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                             "\r\n\r\n", out, sizeof out, NULL),
                 200);
    for (int i = 0; i < nfd; i++)
        close(fds[i]);
}

int main(void)
{
    itest_setup("slowloris", 1);
    itest_api_env(SECRET);
    setenv("RUTH_API_DB_POOL", "2", 1);
    setenv("RUTH_API_THREADS", "4", 1);
    setenv("RUTH_API_MAX_CONNECTIONS", "64", 1);
    setenv("RUTH_API_MAX_CONNECTIONS_PER_IP", "4", 1);
    setenv("RUTH_API_HEADER_TIMEOUT_SEC", "3", 1);
    setenv("RUTH_API_MAX_STREAMS", "5", 1);
    setenv("RUTH_API_MAX_STREAMS_PER_SUBJECT", "2", 1);
    setenv("RUTH_API_MAX_STREAMS_PER_IP", "3", 1);
    char log[256];
    snprintf(log, sizeof log, "/tmp/test_api_slowloris_%d.log", (int)getpid());
    unlink(log);
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    if ((port = itest_api_port(log)) < 0)
        return 1;
    TEST_RUN(test_slowloris);
    TEST_RUN(test_stream_caps);
    if (kill(pid, 0) != 0) {
        fprintf(stderr, "ruth-api is gone; log: %s\n", log);
        testlib_failures++;
    }
    kill(pid, SIGTERM);
    int st = itest_wait_exit(pid, 20);
    if (st != 0) {
        fprintf(stderr, "ruth-api exited with %d on SIGTERM; log: %s\n", st, log);
        testlib_failures++;
    }
    if (testlib_failures)
        fprintf(stderr, "ruth-api log: %s\n", log);
    itest_teardown();
    return TEST_EXIT();
}
