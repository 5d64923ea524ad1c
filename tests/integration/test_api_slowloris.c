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
#include "itest.h"

#include "api_auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define ADDRS 12       /* 127.0.0.2 .. 127.0.0.13 */
#define PER_ADDR 8     /* sockets each address tries to hold */
#define PER_IP_LIMIT 4 /* RUTH_API_MAX_CONNECTIONS_PER_IP */
#define MAX_CONN 64    /* RUTH_API_MAX_CONNECTIONS: below ADDRS * PER_ADDR */
#define HEADER_SEC 3   /* RUTH_API_HEADER_TIMEOUT_SEC; the idle timeout stays 30 s */
#define RUN_SEC 11.0

static int port;

/* A TCP connection to the API from 127.0.0.<host>; -1 on failure. */
static int dial(int host)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)host);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send `request` from 127.0.0.<host> and read the answer until `until`
 * appears or 3 s pass; the HTTP status, or 0. The text read is in out. */
static int ask(int host, const char *request, const char *until, char *out, size_t outsz,
               int *keep_fd)
{
    out[0] = 0;
    int fd = dial(host);
    if (fd < 0)
        return 0;
    if (send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
        close(fd);
        return 0;
    }
    size_t n = 0;
    double end = itest_now() + 3;
    while (n + 1 < outsz && !strstr(out, until) && itest_now() < end) {
        ssize_t k = recv(fd, out + n, outsz - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
        out[n] = 0;
    }
    int status = 0;
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    if (keep_fd)
        *keep_fd = fd;
    else
        close(fd);
    return status;
}

/* Closed by the server (end of input or reset)? */
static bool closed_by_server(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return false;
    char c;
    ssize_t k = recv(fd, &c, 1, MSG_DONTWAIT);
    return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

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
            s[a][i] = (slow){.fd = dial(a + 2), .opened = itest_now()};
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
                if (c->fd >= 0 && closed_by_server(c->fd)) {
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
                    *c = (slow){.fd = dial(a + 2), .opened = itest_now()};
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
        int st = ask(1, "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "\r\n\r\n",
                     out, sizeof out, NULL);
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
    CHECK_EQ_INT(ask(1, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "\x01",
                     out, sizeof out, NULL),
                 200);
    const char *m = strstr(out, "\nruth_api_header_timeouts_total ");
    CHECK(m && atof(m + 32) >= ADDRS * PER_IP_LIMIT);
}

/* Open a stream for `sub` from 127.0.0.<host>; the status, the socket kept
 * open in *fd when it is 200. */
static int stream_open(const char *sub, int host, int *fd, char *out, size_t outsz)
{
    int64_t now = time(NULL);
    char *tok = auth_mint(SECRET, sub, ROLE_VIEWER, now, now + 3600);
    char request[2048];
    snprintf(request, sizeof request,
             "GET /api/v1/violations/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
             "%s\r\n\r\n",
             tok);
    free(tok);
    *fd = -1;
    int keep = -1;
    int st = ask(host, request, "\r\n\r\n", out, outsz, &keep);
    if (st != 200) {
        /* an error: read on until its body is there */
        double end = itest_now() + 2;
        size_t n = strlen(out);
        while (!strstr(out, "\"}") && itest_now() < end && n + 1 < outsz) {
            ssize_t k = recv(keep, out + n, outsz - 1 - n, 0);
            if (k <= 0)
                break;
            n += (size_t)k;
            out[n] = 0;
        }
        close(keep);
    } else {
        *fd = keep;
    }
    return st;
}

static void test_stream_caps(void)
{
    char out[4096];
    int fds[8], nfd = 0, fd;
    /* The stream starts once Kafka is followed. */
    int st = 0;
    for (double t = itest_now(); itest_now() - t < 30; usleep(300 * 1000))
        if ((st = stream_open("s1", 1, &fd, out, sizeof out)) != 503)
            break;
    CHECK_EQ_INT(st, 200);
    fds[nfd++] = fd;
    CHECK_EQ_INT(stream_open("s1", 1, &fd, out, sizeof out), 200); /* 2 of subject s1 */
    fds[nfd++] = fd;
    CHECK_EQ_INT(stream_open("s1", 3, &fd, out, sizeof out), 429); /* per subject */
    CHECK(strstr(out, "\"RATE_LIMITED\"") && strstr(out, "Retry-After"));
    CHECK_EQ_INT(stream_open("s2", 1, &fd, out, sizeof out), 200); /* 3 of 127.0.0.1 */
    fds[nfd++] = fd;
    CHECK_EQ_INT(stream_open("s3", 1, &fd, out, sizeof out), 429); /* per address */
    CHECK(strstr(out, "\"RATE_LIMITED\""));
    CHECK_EQ_INT(stream_open("s4", 2, &fd, out, sizeof out), 200);
    fds[nfd++] = fd;
    CHECK_EQ_INT(stream_open("s5", 2, &fd, out, sizeof out), 200); /* 5 in all */
    fds[nfd++] = fd;
    CHECK_EQ_INT(stream_open("s6", 3, &fd, out, sizeof out), 503); /* in all */
    CHECK(strstr(out, "\"INTERNAL_ERROR\"") && strstr(out, "Retry-After"));
    /* Other requests are still served. */
    CHECK_EQ_INT(ask(3, "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "\r\n\r\n",
                     out, sizeof out, NULL),
                 200);
    for (int i = 0; i < nfd; i++)
        close(fds[i]);
}

int main(void)
{
    itest_setup("slowloris", 1);
    setenv("JWT_SECRET_KEY", SECRET, 1);
    setenv("RUTH_API_PORT", "0", 1);
    setenv("RUTH_API_DB_POOL", "2", 1);
    setenv("RUTH_API_THREADS", "4", 1);
    setenv("RUTH_API_RATE_LIMIT_RPS", "0", 1);
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
    double start = itest_now();
    while ((port = itest_log_int(log, "\"api_port\":")) < 0 && itest_now() - start < 30)
        usleep(100 * 1000);
    if (port < 0) {
        fprintf(stderr, "ruth-api did not start; log: %s\n", log);
        return 1;
    }
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
