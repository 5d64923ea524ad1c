/* rawhttp.h - HTTP/1.1 over plain sockets from a chosen loopback address,
 * for the tests that play hostile or greedy clients (test_api_slowloris,
 * test_api_abuse): libcurl cannot trickle a request or bind 127.0.0.<n>.
 * Every function talks to the ruth-api on 127.0.0.1:`port`. */
#ifndef RUTH_TESTS_RAWHTTP_H
#define RUTH_TESTS_RAWHTTP_H

#include "itest.h"

#include "api_auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

/* A TCP connection to the API from 127.0.0.<host>; -1 on failure. */
static inline int rawhttp_dial(int port, int host)
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
static inline int rawhttp_ask(int port, int host, const char *request, const char *until, char *out,
                              size_t outsz, int *keep_fd)
{
    out[0] = 0;
    int fd = rawhttp_dial(port, host);
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
static inline bool rawhttp_closed(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return false;
    char c;
    ssize_t k = recv(fd, &c, 1, MSG_DONTWAIT);
    return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Open /violations/stream for a viewer token of `sub` (signed with
 * `secret`) from 127.0.0.<host>; the status, the socket kept open in *fd
 * when it is 200 (else *fd = -1 and out holds the error answer). */
static inline int rawhttp_stream_open(int port, const char *secret, const char *sub, int host,
                                      int *fd, char *out, size_t outsz)
{
    int64_t now = time(NULL);
    char *tok = auth_mint(secret, sub, ROLE_VIEWER, now, now + 3600);
    char request[2048];
    snprintf(request, sizeof request,
             "GET /api/v1/violations/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
             "%s\r\n\r\n",
             tok);
    free(tok);
    *fd = -1;
    int keep = -1;
    int st = rawhttp_ask(port, host, request, "\r\n\r\n", out, outsz, &keep);
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

#endif
