/* One worker process as the manager sees it: spawned with its settings,
 * watched over its channel and by its exit, told to drain, or killed. The
 * owner (the manager) hears of it becoming ready and of its exit through
 * callbacks, and decides everything else. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "linechan.h"
#include "listen.h"
#include "notify.h"
#include "scoreboard.h"

typedef enum ChildState {
        CHILD_STARTING, /* forked, not yet serving */
        CHILD_SERVING,
        CHILD_DRAINING, /* told to finish and exit */
} ChildState;

typedef struct Child Child;

typedef enum ChildKind {
        CHILD_BUILTIN, /* the built-in server, forked */
        CHILD_EXEC,    /* the user's program, exec'd */
} ChildKind;

typedef struct ChildEvents {
        void (*ready)(Child *c, void *userdata);
        /* the process is gone; the owner unlinks and frees c */
        void (*exited)(Child *c, const siginfo_t *si, void *userdata);
        /* an application worker wrote a line on its message channel */
        void (*message)(Child *c, const char *line, void *userdata);
} ChildEvents;

/* What only an application worker has. */
typedef struct ChildExec {
        int exec_fd; /* reads the errno of a failed execve; EOF: it ran */
        sd_event_source *exec_source;
        bool started; /* the program runs */
        int msg_fd;   /* the manager's end of CLUSTERD_IPC_FD */
        sd_event_source *msg_source;
        LineReader in;
        LineWriter out;
        uint64_t dropped_flood; /* lines dropped over the rate limit */
        uint64_t window_usec;   /* the second the rate limit counts in */
        unsigned window_lines;
        bool watchdog; /* it sent WATCHDOG=1: a silence is now a hang */
        char status[NOTIFY_STATUS_MAX];
} ChildExec;

struct Child {
        ChildKind kind;
        unsigned id;     /* its slot's worker id */
        uint64_t serial; /* spawn order, unique in the manager's life */
        pid_t pid;
        ChildState state;
        ConfigRef *settings; /* what it was started with, and is held to */
        int fd;              /* the manager's end of its channel */
        sd_event_source *io_source, *exit_source;
        uint64_t started_usec; /* CLOCK_MONOTONIC */
        uint64_t started_realtime_usec;
        uint64_t ready_usec;
        uint64_t last_seen_usec;
        uint64_t drain_started_usec;
        uint64_t rss_bytes; /* from its last heartbeat */
        unsigned score_index;
        int listen_fds[LISTEN_MAX_PER_WORKER];
        size_t n_listen_fds;
        unsigned reopens_sent;   /* the manager's reopen requests it was told of */
        const char *kill_reason; /* set when the manager killed it */
        bool start_timed_out;    /* killed for not getting ready in time */
        ChildExec *exec;         /* for CHILD_EXEC */
        const ChildEvents *events;
        void *userdata;
        Child *next; /* the manager's list */
};

/* What a new worker process gets. */
typedef struct ChildSpawn {
        unsigned id;
        uint64_t serial;
        ConfigRef *settings; /* the child takes a reference */
        const int *listen_fds;
        size_t n_listen_fds;
        Scoreboard *scoreboard;
        unsigned score_index;
        const char *const *listen_names; /* FileDescriptorName= of each fd: "https" is TLS */
        /* for an application worker */
        const char *notify_socket; /* the manager's, for NOTIFY_SOCKET */
        unsigned workers;          /* CLUSTERD_WORKERS */
} ChildSpawn;

/* Forks the worker and watches it. Logs nothing: the caller says what
 * failed. The scoreboard entry is the caller's until the child exists. */
int child_spawn(sd_event *e, const ChildSpawn *p, const ChildEvents *events, void *userdata,
                Child **ret);

/* Tells it to stop accepting, finish what it serves and exit, within its own
 * drain-timeout: the built-in server by a message, a program by SIGTERM. */
void child_drain(Child *c);

/* Whether it writes an access log file, which logrotate's SIGUSR1 should
 * make it reopen: a built-in worker whose config names one. */
bool child_logs_to_file(const Child *c);

/* Tells such a worker to reopen its access log file. 0 for any other
 * child, which is not told (an application worker's logs are its own
 * business); -EAGAIN while its channel is full. */
int child_reopen_log(Child *c);

/* The child serves now (its READY, however it came): tells the owner. */
void child_became_ready(Child *c);

/* An sd_notify message from the child's pid. */
void child_notify(Child *c, const NotifyMessage *msg);

/* Queues a line for an application worker's message channel. -EOPNOTSUPP
 * for the built-in server; see linechan_queue() for the rest. */
int child_send_message(Child *c, const char *text);

/* The worker's own STATUS= line, "" when it sent none. */
const char *child_status(const Child *c);

void child_kill(Child *c, const char *reason);

/* Why the child should be killed now, by the settings it was started with,
 * or NULL: silent for longer than its heartbeat-timeout (hung), or still
 * there well after its drain-timeout. */
const char *child_overdue(const Child *c, uint64_t now);

/* "exited with status 1", "killed by signal KILL"; *ret_status is the exit
 * status, or 128 + the signal. */
void child_describe_exit(const siginfo_t *si, char *buf, size_t size, int *ret_status);

Child *child_free(Child *c);

const char *child_state_name(ChildState s);
