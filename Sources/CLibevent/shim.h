#ifndef SPUTTER_CLIBEVENT_SHIM_H
#define SPUTTER_CLIBEVENT_SHIM_H

/* System headers FIRST: event2/event-config.h defines _GNU_SOURCE, and including it before
 * these gives this module a different fd_set than SwiftGlibc (clean builds then fail with
 * "fds_bits ... not present"). See ../shared/DESIGN.md. */
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>

/* Function-like macros are not imported into Swift: wrap them. */
static inline struct event *sputter_evtimer_new(struct event_base *b, event_callback_fn cb, void *arg) {
    return event_new(b, -1, 0, cb, arg);
}
static inline struct event *sputter_evsignal_new(struct event_base *b, int sig, event_callback_fn cb, void *arg) {
    return event_new(b, sig, EV_SIGNAL | EV_PERSIST, cb, arg);
}
static inline int sputter_event_add_usec(struct event *ev, long long usec) {
    struct timeval tv;
    tv.tv_sec = (time_t)(usec / 1000000);
    tv.tv_usec = (suseconds_t)(usec % 1000000);
    return event_add(ev, &tv);
}
static inline int sputter_socket_error(void) { return errno; }

/* TCP_NODELAY: libevent does not set it. */
static inline int sputter_set_nodelay(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
/* SO_LINGER {1, 0}: the next close() sends RST instead of FIN. */
static inline int sputter_set_linger_zero(int fd) {
    struct linger l;
    l.l_onoff = 1;
    l.l_linger = 0;
    return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}
static inline int sputter_shutdown_write(int fd) { return shutdown(fd, SHUT_WR); }

/* Pending bytes in the kernel send queue (for tests and diagnostics). */
static inline int sputter_so_error(int fd) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

/* Raise RLIMIT_NOFILE to the hard limit; returns the new soft limit, or -1. */
static inline long long sputter_raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    }
    return (long long)rl.rlim_cur;
}

#endif
