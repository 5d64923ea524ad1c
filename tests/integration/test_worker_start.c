/* test_worker_start: ruth-worker started before its Kafka topics exist (a
 * broker still coming up, `ruth-migrate topics` not run yet) waits, says it
 * is not ready, and starts working once they are there; it used to exit 1
 * after 10 s. Real Kafka and PostgreSQL of the dev stack. */
#include "buf.h"
#include "itest.h"
#include "testlib.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>

static size_t keep(char *p, size_t sz, size_t n, void *arg)
{
    buf_append(arg, p, sz * n);
    return sz * n;
}

/* GET /ready on `port`: its status, the body in *body. */
static long ready(int port, buf *body)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ready", port);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static void waits_for_topics_then_works(void)
{
    /* Topics of names nobody has created yet. */
    static const char *const kinds[] = {"INFERENCE", "EVENTS", "VIOLATIONS", "EVIDENCE", "DLQ"};
    for (int i = 0; i < 5; i++) {
        char env[64], name[160];
        snprintf(env, sizeof env, "RUTH_TOPIC_%s", kinds[i]);
        snprintf(name, sizeof name, "%s.late", getenv(env));
        setenv(env, name, 1);
    }
    char log[256];
    snprintf(log, sizeof log, "/tmp/%s-worker.log", itest_db_name);
    pid_t w = itest_spawn("ruth-worker", NULL, log);
    int port = -1;
    for (double t = itest_now(); port < 0 && itest_now() - t < 20;) {
        usleep(100 * 1000);
        port = itest_log_int(log, "\"metrics_port\":");
    }
    CHECK(port > 0);
    sleep(12); /* past the 10 s after which it used to give up */
    int st;
    CHECK_MSG(waitpid(w, &st, WNOHANG) == 0, "ruth-worker exited while waiting for its topics");
    buf body = {0};
    long code = ready(port, &body);
    CHECK_EQ_INT(code, 503);
    buf_append_byte(&body, 0);
    CHECK_MSG(strstr((const char *)body.data, "topics") != NULL, "/ready said %s",
              (const char *)body.data);
    buf_free(&body);

    const char *tp[] = {"topics", NULL};
    CHECK_EQ_INT(itest_run("ruth-migrate", tp), 0);
    for (double t = itest_now(); code != 200 && itest_now() - t < 40; sleep(1)) {
        buf b = {0};
        code = ready(port, &b);
        buf_free(&b);
    }
    CHECK_EQ_INT(code, 200);
    const char *args[] = {"--count", "50", "--fps", "0", "--cameras", "5", "--quiet", NULL};
    CHECK_EQ_INT(itest_run("ruth-simulate", args), 0);
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM events", 50, 30), 50);
    kill(w, SIGTERM);
    CHECK_EQ_INT(itest_wait_exit(w, 20), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_setup("wstart", 3);
    TEST_RUN(waits_for_topics_then_works);
    if (!testlib_failures)
        itest_teardown();
    return TEST_EXIT();
}
