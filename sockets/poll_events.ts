/**
 * Readiness bits, with the values Linux uses in <poll.h> and <sys/epoll.h> (EPOLLIN
 * equals POLLIN, and so on), so a program ported from C keeps its constants.
 */
/** There is data to read (or a connection to accept, or end of stream). */
export const POLLIN = 0x1;
/** Urgent data: an out-of-band byte waits for recv(MSG_OOB) (stack/tcp/urgent.ts). */
export const POLLPRI = 0x2;
/** Writing will not block. */
export const POLLOUT = 0x4;
/** An error is pending (read it with getsockopt SO_ERROR, or the next call reports it). */
export const POLLERR = 0x8;
/** Hang-up: both directions are closed. */
export const POLLHUP = 0x10;
/** The descriptor is not open (poll only). */
export const POLLNVAL = 0x20;
/** The peer closed its sending side (its FIN arrived). */
export const POLLRDHUP = 0x2000;

export const EPOLLIN = POLLIN;
export const EPOLLPRI = POLLPRI;
export const EPOLLOUT = POLLOUT;
export const EPOLLERR = POLLERR;
export const EPOLLHUP = POLLHUP;
export const EPOLLRDHUP = POLLRDHUP;

/** POLLERR and POLLHUP are always reported, whether asked for or not (poll(2)). */
export const ALWAYS_REPORTED = POLLERR | POLLHUP;
