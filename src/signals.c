/* Ignoring the signals nobody watches. */
#include "signals.h"

#include <signal.h>
#include <stdbool.h>

#include "macro.h"

void signals_reset(void) {
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
}

static bool is_watched(int sig, const int *watched, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (watched[i] == sig)
                        return true;
        return false;
}

void signals_ignore_stray(const int *watched, size_t n_watched) {
        static const int stray[] = {
                SIGHUP,    SIGINT,  SIGQUIT, SIGUSR1,   SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,
                SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO,   SIGPWR,
        };

        for (size_t i = 0; i < ELEMENTSOF(stray); i++)
                if (!is_watched(stray[i], watched, n_watched))
                        (void) signal(stray[i], SIG_IGN);
        /* the real-time signals end a process too; glibc keeps the first
         * two for itself, below SIGRTMIN */
        for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
                if (!is_watched(sig, watched, n_watched))
                        (void) signal(sig, SIG_IGN);
}
