/*
 * The bulk-transfer load client: one TCP connection, as fast as the kernel's socket
 * calls allow, so that the client is never what limits a measurement (bench/bulk.ts).
 * A shell pipeline (nc | head | wc) tops out below the kernel's own TCP on a veth pair;
 * this reads and writes 1 MiB at a time with no copies beyond the syscalls.
 *
 *   bulk_client download HOST PORT BYTES       read BYTES (chargen sends forever), close
 *   bulk_client upload HOST PORT BYTES         write BYTES of zeros, shut down, wait for EOF
 *   bulk_client http HOST PORT PATH            GET PATH, read the headers and the body
 *
 * Prints one line: "<bytes> <seconds>" (the time from before connect to the last byte;
 * for an upload, to the server's EOF, i.e. after it has read everything).
 * Built by bench/bulk.ts at run time with `cc -O2`; IPv4 or IPv6 addresses.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)
static char buffer[CHUNK];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int connect_to(const char *host, const char *port) {
  struct addrinfo hints = {0}, *found;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  int status = getaddrinfo(host, port, &hints, &found);
  if (status != 0) {
    fprintf(stderr, "bad address %s port %s: %s\n", host, port, gai_strerror(status));
    exit(2);
  }
  int fd = socket(found->ai_family, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, found->ai_addr, found->ai_addrlen) < 0) {
    perror("connect");
    exit(1);
  }
  freeaddrinfo(found);
  return fd;
}

static long long read_up_to(int fd, long long limit) {
  long long total = 0;
  while (total < limit) {
    long long want = limit - total < CHUNK ? limit - total : CHUNK;
    ssize_t n = read(fd, buffer, want);
    if (n < 0) {
      perror("read");
      exit(1);
    }
    if (n == 0) break;
    total += n;
  }
  return total;
}

static long long upload(int fd, long long bytes) {
  long long sent = 0;
  memset(buffer, 0, CHUNK);
  while (sent < bytes) {
    long long want = bytes - sent < CHUNK ? bytes - sent : CHUNK;
    ssize_t n = write(fd, buffer, want);
    if (n < 0) {
      perror("write");
      exit(1);
    }
    sent += n;
  }
  shutdown(fd, SHUT_WR);
  read_up_to(fd, (long long)1 << 62); /* the server's FIN: it has read everything */
  return sent;
}

/* GET PATH; returns the body bytes read (Content-Length of them). */
static long long http_get(int fd, const char *host, const char *path) {
  char request[1024];
  int length = snprintf(request, sizeof request,
                        "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
  if (write(fd, request, length) != length) {
    perror("write");
    exit(1);
  }
  long long have = 0;
  char *end = NULL;
  while (end == NULL) {
    ssize_t n = read(fd, buffer + have, CHUNK - 1 - have);
    if (n <= 0) {
      fprintf(stderr, "connection closed before the end of the headers\n");
      exit(1);
    }
    have += n;
    buffer[have] = 0;
    end = strstr(buffer, "\r\n\r\n");
  }
  const char *field = strcasestr(buffer, "\r\ncontent-length:");
  if (field == NULL) {
    fprintf(stderr, "no Content-Length in the reply\n");
    exit(1);
  }
  long long body = atoll(field + strlen("\r\ncontent-length:"));
  long long already = have - (end + 4 - buffer);
  return already + read_up_to(fd, body - already);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s download|upload|http HOST PORT BYTES|PATH\n", argv[0]);
    return 2;
  }
  double started = now();
  int fd = connect_to(argv[2], argv[3]);
  long long moved;
  if (strcmp(argv[1], "download") == 0) moved = read_up_to(fd, atoll(argv[4]));
  else if (strcmp(argv[1], "upload") == 0) moved = upload(fd, atoll(argv[4]));
  else if (strcmp(argv[1], "http") == 0) moved = http_get(fd, argv[2], argv[4]);
  else {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }
  double seconds = now() - started;
  close(fd);
  printf("%lld %.6f\n", moved, seconds);
  return 0;
}
