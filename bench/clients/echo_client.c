/*
 * The native side of bench/unix_compare.ts: an echo client that measures, and an echo
 * server that is the kernel's own reference, for TCP and Unix-domain stream sockets.
 *
 *   echo_client rtt  tcp HOST PORT | unix PATH  SECONDS   one byte in flight, back and forth
 *   echo_client bulk tcp HOST PORT | unix PATH  BYTES     write BYTES while reading the echo
 *   echo_client serve tcp HOST PORT | unix PATH           echo, one thread per connection
 *
 * rtt prints "<round trips> <seconds>"; bulk prints "<bytes echoed> <seconds>". Built by
 * bench/unix_compare.ts at run time with `cc -O2 -pthread`.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what) {
  perror(what);
  exit(1);
}

/* The address of argv[0..]: "tcp HOST PORT" or "unix PATH"; returns how many words it used. */
static int address(char **argv, struct sockaddr_storage *out, socklen_t *length, int *family) {
  memset(out, 0, sizeof *out);
  if (strcmp(argv[0], "unix") == 0) {
    struct sockaddr_un *un = (struct sockaddr_un *)out;
    un->sun_family = AF_UNIX;
    strncpy(un->sun_path, argv[1], sizeof un->sun_path - 1);
    *length = sizeof *un;
    *family = AF_UNIX;
    return 2;
  }
  struct sockaddr_in *in = (struct sockaddr_in *)out;
  in->sin_family = AF_INET;
  in->sin_port = htons(atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &in->sin_addr) != 1) fail("inet_pton");
  *length = sizeof *in;
  *family = AF_INET;
  return 3;
}

static int connect_to(struct sockaddr_storage *to, socklen_t length, int family) {
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) fail("socket");
  if (connect(fd, (struct sockaddr *)to, length) < 0) fail("connect");
  int one = 1;
  if (family == AF_INET) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void rtt(int fd, double seconds) {
  char byte = 'x';
  long trips = 0;
  double start = now(), end = start + seconds, t = start;
  while (t < end) {
    for (int i = 0; i < 64; i++, trips++) {
      if (write(fd, &byte, 1) != 1) fail("write");
      if (read(fd, &byte, 1) != 1) fail("read");
    }
    t = now();
  }
  printf("%ld %.6f\n", trips, t - start);
}

struct writer {
  int fd;
  long bytes;
};

static void *write_all(void *argument) {
  struct writer *w = argument;
  static char out[CHUNK];
  for (long sent = 0; sent < w->bytes;) {
    long n = w->bytes - sent < CHUNK ? w->bytes - sent : CHUNK;
    ssize_t wrote = write(w->fd, out, n);
    if (wrote <= 0) fail("write");
    sent += wrote;
  }
  shutdown(w->fd, SHUT_WR);
  return NULL;
}

static void bulk(int fd, long bytes) {
  static char in[CHUNK];
  struct writer w = {fd, bytes};
  pthread_t thread;
  double start = now();
  pthread_create(&thread, NULL, write_all, &w);
  long got = 0;
  for (ssize_t n; (n = read(fd, in, CHUNK)) > 0;) got += n;
  pthread_join(thread, NULL);
  printf("%ld %.6f\n", got, now() - start);
}

static void *echo(void *argument) {
  int fd = (int)(long)argument;
  static __thread char data[CHUNK];
  for (ssize_t n; (n = read(fd, data, CHUNK)) > 0;) {
    for (ssize_t off = 0; off < n;) {
      ssize_t wrote = write(fd, data + off, n - off);
      if (wrote <= 0) goto done;
      off += wrote;
    }
  }
done:
  close(fd);
  return NULL;
}

static void serve(struct sockaddr_storage *at, socklen_t length, int family) {
  int fd = socket(family, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_UNIX) unlink(((struct sockaddr_un *)at)->sun_path);
  if (bind(fd, (struct sockaddr *)at, length) < 0) fail("bind");
  if (listen(fd, 64) < 0) fail("listen");
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int client = accept(fd, NULL, NULL);
    if (client < 0) continue;
    if (family == AF_INET) setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t thread;
    pthread_create(&thread, NULL, echo, (void *)(long)client);
    pthread_detach(thread);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: echo_client rtt|bulk|serve tcp HOST PORT|unix PATH [N]\n");
    return 2;
  }
  struct sockaddr_storage to;
  socklen_t length;
  int family;
  int used = address(argv + 2, &to, &length, &family);
  if (strcmp(argv[1], "serve") == 0) serve(&to, length, family);
  if (argc < 3 + used) return 2;
  int fd = connect_to(&to, length, family);
  if (strcmp(argv[1], "rtt") == 0) rtt(fd, atof(argv[2 + used]));
  else bulk(fd, atol(argv[2 + used]));
  close(fd);
  return 0;
}
