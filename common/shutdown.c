/* shutdown.c - see shutdown.h. */
#include "shutdown.h"

#include <string.h>

volatile sig_atomic_t g_run = 1;

static void shutdown__handler(int sig)
{
    (void)sig;
    g_run = 0;
}

void shutdown_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = shutdown__handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_run = 1;
}

void shutdown_request(void)
{
    g_run = 0;
}
