#ifndef SPUTTER_CLIBEVENT_SHIM_H
#define SPUTTER_CLIBEVENT_SHIM_H

/* System headers FIRST: event2/event-config.h defines _GNU_SOURCE, and including it before
 * these gives this module a different fd_set than SwiftGlibc (clean builds then fail with
 * "fds_bits ... not present"). See docs/ARCHITECTURE.md, "libevent facts that matter". */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <ifaddrs.h>

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>

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

/* The loop's timer queue: one CLOCK_MONOTONIC timerfd, armed at absolute deadlines (ns). */
static inline int sputter_timerfd_create(void) {
    return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}
static inline int sputter_timerfd_arm(int fd, unsigned long long deadline_ns) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    /* 0 would disarm: a deadline already past is made 1 ns, which fires at once. */
    if (deadline_ns == 0) deadline_ns = 1;
    spec.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ULL);
    spec.it_value.tv_nsec = (long)(deadline_ns % 1000000000ULL);
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL);
}
static inline void sputter_timerfd_clear(int fd) {
    unsigned long long expirations;
    ssize_t n = read(fd, &expirations, sizeof expirations);
    (void)n;
}

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

/* TLS to upstreams (libevent's OpenSSL bufferevents). */

/* A client context: verification on unless `verify` is 0; trust `ca_file` when given, else the
 * system's default paths. Returns NULL on failure. */
static inline SSL_CTX *sputter_tls_client_context(int verify, const char *ca_file) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) { SSL_CTX_free(ctx); return NULL; }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

/* One connection's SSL: SNI, and (when verifying) the host name or IP the certificate must match. */
static inline SSL *sputter_tls_new(SSL_CTX *ctx, const char *host, int verify, int host_is_ip) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl) return NULL;
    if (!host_is_ip) SSL_set_tlsext_host_name(ssl, host);
    if (verify) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        if (host_is_ip) X509_VERIFY_PARAM_set1_ip_asc(param, host);
        else X509_VERIFY_PARAM_set1_host(param, host, 0);
    }
    return ssl;
}

static inline struct bufferevent *sputter_tls_bufferevent(struct event_base *base, SSL *ssl) {
    struct bufferevent *bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    /* Many servers close without close_notify: treat their FIN as the end of the stream. */
    if (bev) bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/* Why a TLS connection failed, as text: the certificate verdict, else OpenSSL's error queue. */
static inline void sputter_tls_error(struct bufferevent *bev, char *out, size_t len) {
    out[0] = 0;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl) {
        long verdict = SSL_get_verify_result(ssl);
        if (verdict != X509_V_OK) {
            snprintf(out, len, "certificate verification failed: %s", X509_verify_cert_error_string(verdict));
            return;
        }
    }
    unsigned long err = bufferevent_get_openssl_error(bev);
    if (err) ERR_error_string_n(err, out, len);
}

/* Asynchronous name resolution (evdns): flags and error codes that are macros. */
static inline struct evdns_base *sputter_evdns_base_new(struct event_base *b, int system_config) {
    return evdns_base_new(b, (system_config ? EVDNS_BASE_INITIALIZE_NAMESERVERS : 0) | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
}
static inline int sputter_eai_cancel(void) { return EVUTIL_EAI_CANCEL; }

/* Reads up to `howmuch` bytes from `fd` straight into the end of `buf`, with one readv into space
 * reserved in the buffer (no copy). libevent 2.1's own reads ask the kernel how much is readable
 * (ioctl FIONREAD) and then take at most 4 KiB (EVBUFFER_MAX_READ). Returns the bytes read, 0 at end of
 * stream, or -1 with errno set (EAGAIN when nothing is readable).
 * A socket bufferevent keeps the end of its input frozen (only its own reads add there): it is thawed for
 * this read and frozen again, as libevent does around its reads. */
static inline long sputter_evbuffer_read_socket_(struct evbuffer *buf, int fd, size_t howmuch) {
    struct evbuffer_iovec space[2];
    int n = evbuffer_reserve_space(buf, (ev_ssize_t)howmuch, space, 2);
    if (n <= 0) { errno = ENOMEM; return -1; }
    struct iovec vecs[2];
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t len = space[i].iov_len;
        if (len > howmuch - total) len = howmuch - total;
        vecs[i].iov_base = space[i].iov_base;
        vecs[i].iov_len = len;
        total += len;
    }
    ssize_t got = readv(fd, vecs, n);
    if (got <= 0) {
        int saved = errno;
        evbuffer_commit_space(buf, space, 0);
        errno = saved;
        return (long)got;
    }
    size_t left = (size_t)got;
    int used = 0;
    for (int i = 0; i < n && left > 0; i++) {
        size_t take = left < vecs[i].iov_len ? left : vecs[i].iov_len;
        space[i].iov_len = take;
        left -= take;
        used = i + 1;
    }
    evbuffer_commit_space(buf, space, used);
    return (long)got;
}
static inline long sputter_evbuffer_read_socket(struct evbuffer *buf, int fd, size_t howmuch) {
    evbuffer_unfreeze(buf, 0);
    long got = sputter_evbuffer_read_socket_(buf, fd, howmuch);
    int saved = errno;
    evbuffer_freeze(buf, 0);
    errno = saved;
    return got;
}

#endif
