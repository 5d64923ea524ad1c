/* shutdown.h - the run flag and SIGTERM/SIGINT handling.
 *
 * The run flag is one of the two globals a process has (with the config).
 * Loops poll with a short timeout and check shutdown_requested(); the signal
 * handler only flips the flag. */
#ifndef RUTH_SHUTDOWN_H
#define RUTH_SHUTDOWN_H

#include <signal.h>
#include <stdbool.h>

extern volatile sig_atomic_t g_run;

/* Install handlers for SIGTERM and SIGINT (and ignore SIGPIPE); sets g_run=1. */
void shutdown_install(void);
static inline bool shutdown_requested(void)
{
    return !g_run;
}
/* Ask the process to stop (same as receiving SIGTERM). */
void shutdown_request(void);

#endif
