/*
 * A small HTTP/1.1 server on a loopback port for the unit tests of the outbound HTTP code
 * (test_curlm.c, test_sendsms.c include this file): a thread accepts, a thread per
 * connection reads one request and answers by its path (the query is ignored), always
 * closing the connection:
 *
 *   /ok            200 "hello world"          /503         503 "down"
 *   /hang          reads the request and never answers (until the client gives up)
 *   /slow          200 "slow" after 300 ms    /redirect    302 to /ok
 *   /big           a 2000-byte body with its Content-Length
 *   /exact         a 1000-byte body           /stream      4000 bytes, no length, close
 *   /echo          200 with the whole request (head and body) as the body
 *   /status/NNN    status NNN, body "0: Accepted for delivery" (2xx) or "Error"
 *   /json/NNN/...  status NNN, body {"sid": "CAfake01", "Call": {"Sid": "exofake01"}} (a
 *                  voice provider's answer to a new call: Twilio's and Exotel's id in one)
 *   /text/NNN/...  status NNN, body "not json"
 *   anything else  404
 *
 * fake_http_last() gives the last request's head, fake_http_last_body() its body.
 * fake_http_closed_port is a port bound and never listening: connections to it are refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_REQ_MAX 65536

static int fake_http_port;
static int fake_http_closed_port;
static int fake_listen_fd = -1, fake_closed_fd = -1;
static pthread_t fake_acceptor;
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static char fake_last[FAKE_REQ_MAX];
static char fake_last_body[FAKE_REQ_MAX];

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    ssize_t w;

    while (n > 0) {
        w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the client went away (over the cap, timed out) */
        c += w;
        n -= (size_t)w;
    }
}

static void answer(int fd, const char *status, const char *extra, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                     len, extra);

    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

/* Read one request into buf (NUL-terminated); returns its length, or -1. */
static long read_request(int fd, char *buf, size_t cap)
{
    size_t got = 0, need = 0;
    char *end, *cl;
    ssize_t r;

    for (;;) {
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL && need == 0) {
            long n = 0;

            cl = strcasestr(buf, "\r\nContent-Length:");
            if (cl != NULL && cl < end)
                n = strtol(cl + 17, NULL, 10);
            need = (size_t)(end + 4 - buf) + (size_t)(n > 0 ? n : 0);
        }
        if (need > 0 && got >= need)
            return (long)got;
        if (got + 1 >= cap)
            return -1;
        r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
}

static void *serve_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *req = malloc(FAKE_REQ_MAX), *big = NULL, path[4096] = "", *q, *end;
    long n = read_request(fd, req, FAKE_REQ_MAX);

    if (n < 0 || sscanf(req, "%*s %4095s", path) != 1)
        goto out;
    pthread_mutex_lock(&fake_lock);
    end = strstr(req, "\r\n\r\n");
    snprintf(fake_last, sizeof(fake_last), "%.*s", (int)(end - req), req);
    snprintf(fake_last_body, sizeof(fake_last_body), "%s", end + 4);
    pthread_mutex_unlock(&fake_lock);
    q = strchr(path, '?');
    if (q != NULL)
        *q = '\0';
    if (strcmp(path, "/ok") == 0) {
        answer(fd, "200 OK", "", "hello world", 11);
    } else if (strcmp(path, "/503") == 0) {
        answer(fd, "503 Service Unavailable", "", "down", 4);
    } else if (strcmp(path, "/hang") == 0) {
        char c;
        while (recv(fd, &c, 1, 0) > 0) /* until the client gives up */
            ;
    } else if (strcmp(path, "/slow") == 0) {
        usleep(300 * 1000);
        answer(fd, "200 OK", "", "slow", 4);
    } else if (strcmp(path, "/big") == 0 || strcmp(path, "/exact") == 0) {
        size_t len = strcmp(path, "/big") == 0 ? 2000 : 1000;
        big = malloc(len);
        memset(big, 'b', len);
        answer(fd, "200 OK", "", big, len);
    } else if (strcmp(path, "/stream") == 0) {
        static const char head[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
        big = malloc(4000);
        memset(big, 's', 4000);
        send_all(fd, head, sizeof(head) - 1);
        send_all(fd, big, 4000);
    } else if (strcmp(path, "/redirect") == 0) {
        answer(fd, "302 Found", "Location: /ok\r\n", "", 0);
    } else if (strcmp(path, "/echo") == 0) {
        answer(fd, "200 OK", "", req, (size_t)n);
    } else if (strncmp(path, "/status/", 8) == 0) {
        char status[32];
        long code = strtol(path + 8, NULL, 10);
        const char *body = code >= 200 && code < 300 ? "0: Accepted for delivery" : "Error";
        snprintf(status, sizeof(status), "%ld X", code);
        answer(fd, status, "", body, strlen(body));
    } else if (strncmp(path, "/json/", 6) == 0 || strncmp(path, "/text/", 6) == 0) {
        static const char json[] = "{\"sid\": \"CAfake01\", \"Call\": {\"Sid\": \"exofake01\"}}";
        char status[32];
        long code = strtol(path + 6, NULL, 10);
        const char *body = path[1] == 'j' ? json : "not json";
        snprintf(status, sizeof(status), "%ld X", code);
        answer(fd, status, "", body, strlen(body));
    } else {
        answer(fd, "404 Not Found", "", "", 0);
    }
out:
    free(big);
    free(req);
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    pthread_attr_t attr;
    pthread_t t;
    int c;

    (void)arg;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        c = accept(fake_listen_fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break; /* shut down */
        }
        if (pthread_create(&t, &attr, serve_one, (void *)(intptr_t)c) != 0)
            close(c);
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

static int bound_socket(int *p)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    *p = ntohs(a.sin_port);
    return fd;
}

/* Start the server; 0 or -1. */
__attribute__((unused)) static int fake_http_start(void)
{
    fake_listen_fd = bound_socket(&fake_http_port);
    fake_closed_fd = bound_socket(&fake_http_closed_port);
    if (fake_listen_fd < 0 || fake_closed_fd < 0 || listen(fake_listen_fd, 256) != 0 ||
        pthread_create(&fake_acceptor, NULL, accept_loop, NULL) != 0)
        return -1;
    return 0;
}

__attribute__((unused)) static void fake_http_stop(void)
{
    shutdown(fake_listen_fd, SHUT_RDWR);
    pthread_join(fake_acceptor, NULL);
    close(fake_listen_fd);
    close(fake_closed_fd);
}

/* The body of the last request into buf. */
__attribute__((unused)) static void fake_http_last_body(char *buf, size_t len)
{
    pthread_mutex_lock(&fake_lock);
    snprintf(buf, len, "%s", fake_last_body);
    pthread_mutex_unlock(&fake_lock);
}

/* The head of the last request (request line and headers) into buf. */
__attribute__((unused)) static void fake_http_last(char *buf, size_t len)
{
    pthread_mutex_lock(&fake_lock);
    snprintf(buf, len, "%s", fake_last);
    pthread_mutex_unlock(&fake_lock);
}
