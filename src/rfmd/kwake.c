/*
 * kwake — see kwake.h.
 */
#include "kwake.h"

#include <sys/socket.h>
#include <unistd.h>

void kwake_init(kwake *w) {
    w->fd[0] = w->fd[1] = -1;
}

int kwake_fd(kwake *w, rd_kafka_t *rk) {
    if (w->fd[0] >= 0)
        return w->fd[0];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
    if (!q) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    rd_kafka_queue_io_event_enable(q, sv[1], "w", 1);
    rd_kafka_queue_destroy(q);
    w->fd[0] = sv[0];
    w->fd[1] = sv[1];
    return sv[0];
}

void kwake_clear(const kwake *w) {
    char buf[64];
    while (w->fd[0] >= 0 && read(w->fd[0], buf, sizeof buf) > 0)
        ;
}

void kwake_close(kwake *w) {
    for (int i = 0; i < 2; i++)
        if (w->fd[i] >= 0)
            close(w->fd[i]);
    kwake_init(w);
}
