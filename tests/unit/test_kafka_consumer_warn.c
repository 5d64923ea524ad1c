/* test_kafka_consumer_warn: the batch consumer's "offset commit failed"
 * warnings are rate-limited (issue 14 item 8): thousands of failed commits
 * in a few milliseconds (a rebalance, a stop) give one line, and the next
 * line after 10 s counts the rest. Drives the commit callback directly,
 * logs captured from fd 1. */
#include "kafka_consumer_internal.h"
#include "log.h"
#include "testlib.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Lines of fd 1's output during `n` failed commits containing `needle`. */
static int lines_during(kafka_consumer *kc, int n, const char *needle, char *last, size_t lastsz)
{
    char path[] = "/tmp/test_kcwarn_XXXXXX";
    int fd = mkstemp(path);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    for (int i = 0; i < n; i++)
        kafka_consumer__on_commit(NULL, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, NULL, kc);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(fd);
    FILE *f = fopen(path, "r");
    char line[4096];
    int count = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, needle)) {
            count++;
            snprintf(last, lastsz, "%s", line);
        }
    if (f)
        fclose(f);
    unlink(path);
    return count;
}

static void test_commit_failures_rate_limited(void)
{
    kafka_consumer *kc = xcalloc(1, sizeof *kc);
    char last[4096] = "";
    CHECK_EQ_INT(lines_during(kc, 2254, "offset commit failed", last, sizeof last), 1);
    CHECK(strstr(last, "retrying") != NULL);
    CHECK(atomic_load(&kc->commit_retry));
    /* 10 s later (moved back rather than waited for) the next line counts
     * the ones left out. */
    kc->commit_warned_us -= 11 * 1000000LL;
    CHECK_EQ_INT(lines_during(kc, 5, "offset commit failed", last, sizeof last), 1);
    CHECK(strstr(last, "2253 more since the last report") != NULL);
    free(kc);
}

int main(void)
{
    log_init("test_kafka_consumer_warn", LOG_INFO, true);
    TEST_RUN(test_commit_failures_rate_limited);
    return TEST_EXIT();
}
