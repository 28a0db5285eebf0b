/*
 * A TCP socket on 127.0.0.1 with a port the kernel picks, for the tests'
 * own small servers. Include after cmocka.h: failures are test failures.
 */
#ifndef LLMB_TEST_LOOPBACK_H
#define LLMB_TEST_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* Bound, and listening with `backlog` unless it is 0 (then nothing will
 * ever answer on the port while the socket stays open). Sets *port. */
static inline int loopback_socket(int backlog, unsigned *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (backlog > 0)
        assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

#endif /* LLMB_TEST_LOOPBACK_H */
