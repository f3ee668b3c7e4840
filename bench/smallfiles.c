// smallfiles: the small-file workload of scripts/bench-mount.sh, as a tiny C
// program so that the driver's own cost stays far below a FUSE round trip.
//
// usage: smallfiles PHASE DIR NFILES [PER_DIR [SIZE]]
//   PHASE   create | stat | read | unlink
//   DIR     the tree's root (created by `create`, removed by `unlink`)
//   NFILES  number of files; they live in DIR/dNNNN/fNNNNNN, PER_DIR
//           (default 100) per directory
//   SIZE    bytes per file (default 4096; 0 = empty files: the create is
//           open(O_CREAT) and close, nothing written). stat and read check it.
//
//   create  mkdir the directories, then for each file open(O_CREAT|O_TRUNC),
//           write SIZE bytes (one write for up to 8 KiB), close
//   stat    stat() every file
//   read    open, read until EOF (SIZE bytes and an empty read), close
//   unlink  unlink every file, then rmdir the directories and DIR
//
// Prints one line: `PHASE NFILES SECONDS OPS_PER_SECOND` (ops = files; the
// directories' mkdir/rmdir are timed but not counted). Exits non-zero on the
// first error, naming the path.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { kDefaultSize = 4096 };

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void Die(const char* what, const char* path) {
  fprintf(stderr, "smallfiles: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static void DirPath(char* out, size_t n, const char* root, long d) {
  snprintf(out, n, "%s/d%04ld", root, d);
}

static void FilePath(char* out, size_t n, const char* root, long i, long per_dir) {
  snprintf(out, n, "%s/d%04ld/f%06ld", root, i / per_dir, i);
}

int main(int argc, char** argv) {
  if (argc < 4 || argc > 6) {
    fprintf(stderr, "usage: smallfiles create|stat|read|unlink DIR NFILES [PER_DIR [SIZE]]\n");
    return 2;
  }
  const char* phase = argv[1];
  const char* root = argv[2];
  const long nfiles = strtol(argv[3], NULL, 10);
  const long per_dir = argc >= 5 ? strtol(argv[4], NULL, 10) : 100;
  const long size = argc >= 6 ? strtol(argv[5], NULL, 10) : kDefaultSize;
  if (nfiles <= 0 || per_dir <= 0) {
    fprintf(stderr, "smallfiles: NFILES and PER_DIR must be > 0\n");
    return 2;
  }
  if (size < 0) {
    fprintf(stderr, "smallfiles: SIZE must be >= 0\n");
    return 2;
  }
  const long ndirs = (nfiles + per_dir - 1) / per_dir;
  static char buf[kDefaultSize * 2];
  for (size_t i = 0; i < sizeof buf; ++i) buf[i] = (char)(i * 131 + 7);
  char path[4096];

  const double t0 = Now();
  if (strcmp(phase, "create") == 0) {
    if (mkdir(root, 0755) != 0 && errno != EEXIST) Die("mkdir", root);
    for (long d = 0; d < ndirs; ++d) {
      DirPath(path, sizeof path, root, d);
      if (mkdir(path, 0755) != 0) Die("mkdir", path);
    }
    for (long i = 0; i < nfiles; ++i) {
      FilePath(path, sizeof path, root, i, per_dir);
      int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) Die("create", path);
      for (long left = size; left > 0;) {
        const size_t n = left < (long)sizeof buf ? (size_t)left : sizeof buf;
        if (write(fd, buf, n) != (ssize_t)n) Die("write", path);
        left -= (long)n;
      }
      if (close(fd) != 0) Die("close", path);
    }
  } else if (strcmp(phase, "stat") == 0) {
    struct stat st;
    for (long i = 0; i < nfiles; ++i) {
      FilePath(path, sizeof path, root, i, per_dir);
      if (stat(path, &st) != 0) Die("stat", path);
      if (st.st_size != size) {
        errno = EIO;
        Die("unexpected size of", path);
      }
    }
  } else if (strcmp(phase, "read") == 0) {
    for (long i = 0; i < nfiles; ++i) {
      FilePath(path, sizeof path, root, i, per_dir);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) Die("open", path);
      ssize_t got = 0, r;
      while ((r = read(fd, buf, sizeof buf)) > 0) got += r;
      if (r < 0) Die("read", path);
      if (got != size) {
        errno = EIO;
        Die("short read of", path);
      }
      if (close(fd) != 0) Die("close", path);
    }
  } else if (strcmp(phase, "unlink") == 0) {
    for (long i = 0; i < nfiles; ++i) {
      FilePath(path, sizeof path, root, i, per_dir);
      if (unlink(path) != 0) Die("unlink", path);
    }
    for (long d = 0; d < ndirs; ++d) {
      DirPath(path, sizeof path, root, d);
      if (rmdir(path) != 0) Die("rmdir", path);
    }
    if (rmdir(root) != 0) Die("rmdir", root);
  } else {
    fprintf(stderr, "smallfiles: unknown phase %s\n", phase);
    return 2;
  }
  const double secs = Now() - t0;
  printf("%s %ld %.6f %.1f\n", phase, nfiles, secs, (double)nfiles / secs);
  return 0;
}
