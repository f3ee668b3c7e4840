// odirect_race FILE [WRITES]: buffered reads must never see bytes older than
// the last completed O_DIRECT write.
//
// A writer thread rewrites a few 4 KiB blocks of FILE with asynchronous
// O_DIRECT writes (Linux AIO through the raw syscalls, as libaio does), each
// block stamped with an increasing sequence number; after each completion it
// publishes the number. A reader thread reads the same blocks through a
// second, buffered descriptor and checks that every read returns a stamp at
// least as new as the one published before the read began. A FUSE daemon
// that leaves stale pages in the kernel's cache next to direct writes fails
// this. Exit 0 when every read was fresh, 1 on a stale read, 2 on errors.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { kBlock = 4096, kBlocks = 4 };

static const char* path;
static long writes = 4000;
static _Atomic uint64_t published[kBlocks];
static atomic_int done;
static atomic_long stale;

static void die(const char* what) {
  fprintf(stderr, "odirect_race: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void* writer(void* arg) {
  (void)arg;
  int fd = open(path, O_WRONLY | O_DIRECT);
  if (fd < 0) die("open O_DIRECT");
  aio_context_t ctx = 0;
  if (syscall(SYS_io_setup, 1, &ctx) != 0) die("io_setup");
  uint64_t* buf;
  if (posix_memalign((void**)&buf, kBlock, kBlock) != 0) die("posix_memalign");
  for (long seq = 1; seq <= writes; ++seq) {
    const int b = (int)(seq % kBlocks);
    for (size_t i = 0; i < kBlock / sizeof(uint64_t); ++i) buf[i] = (uint64_t)seq;
    struct iocb cb;
    memset(&cb, 0, sizeof(cb));
    cb.aio_fildes = (uint32_t)fd;
    cb.aio_lio_opcode = IOCB_CMD_PWRITE;
    cb.aio_buf = (uint64_t)(uintptr_t)buf;
    cb.aio_nbytes = kBlock;
    cb.aio_offset = (int64_t)b * kBlock;
    struct iocb* list[1] = {&cb};
    if (syscall(SYS_io_submit, ctx, 1, list) != 1) die("io_submit");
    struct io_event ev;
    if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) != 1) die("io_getevents");
    if (ev.res != kBlock) {
      fprintf(stderr, "odirect_race: direct write returned %lld\n", (long long)ev.res);
      exit(2);
    }
    atomic_store(&published[b], (uint64_t)seq);
  }
  syscall(SYS_io_destroy, ctx);
  close(fd);
  atomic_store(&done, 1);
  return NULL;
}

static void* reader(void* arg) {
  (void)arg;
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("open");
  uint64_t buf[kBlock / sizeof(uint64_t)];
  for (long n = 0; !atomic_load(&done); ++n) {
    const int b = (int)(n % kBlocks);
    const uint64_t expect = atomic_load(&published[b]);
    if (pread(fd, buf, kBlock, (off_t)b * kBlock) != kBlock) die("pread");
    if (buf[0] < expect) {
      if (atomic_fetch_add(&stale, 1) < 5) {
        fprintf(stderr,
                "odirect_race: block %d: buffered read saw write %llu after write %llu "
                "had completed\n",
                b, (unsigned long long)buf[0], (unsigned long long)expect);
      }
    }
  }
  close(fd);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: odirect_race FILE [WRITES]\n");
    return 2;
  }
  path = argv[1];
  if (argc == 3) writes = atol(argv[2]);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("create");
  static char zeros[kBlock * kBlocks];
  if (write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros)) die("write");
  close(fd);
  pthread_t w, r;
  pthread_create(&r, NULL, reader, NULL);
  pthread_create(&w, NULL, writer, NULL);
  pthread_join(w, NULL);
  pthread_join(r, NULL);
  long bad = atomic_load(&stale);
  printf("odirect_race: %ld direct writes, %ld stale buffered reads\n", writes, bad);
  return bad ? 1 : 0;
}
