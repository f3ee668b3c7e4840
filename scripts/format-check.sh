#!/usr/bin/env bash
# Checks that every C/C++ source and header (.c .cc .h) under compress/
# store/ fusefs/ bench/ tests/ is formatted as the repository's
# .clang-format says, with Debian's clang-format (scripts/setup.sh installs
# it; another version may format differently). scripts/test.sh runs it
# first.
#
#   scripts/format-check.sh         list the files that differ; exit 1 if any
#   scripts/format-check.sh --fix   rewrite those files in place
#
# Exit status: 0 all formatted (or, with --fix, now formatted); 1 files
# differ; 2 usage, or no clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."

FIX=0
case "${1:-}" in
  "") ;;
  --fix) FIX=1 ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "format-check: unknown argument: $1 (--fix rewrites the files)" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { echo "format-check: one argument at most" >&2; exit 2; }
command -v clang-format >/dev/null ||
  { echo "format-check: clang-format not found: run scripts/setup.sh" >&2; exit 2; }

mapfile -d '' FILES < <(find compress store fusefs bench tests -type f \
  \( -name '*.c' -o -name '*.cc' -o -name '*.h' \) -print0 | sort -z)
# One dry run over all files (a process per file costs seconds): each
# difference is a "FILE:LINE:COL: error: ... [-Wclang-format-violations]".
rc=0
out=$(printf '%s\0' "${FILES[@]}" | xargs -0 clang-format --style=file --dry-run --Werror 2>&1) || rc=$?
mapfile -t DIFFER < <(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: .*\[-Wclang-format-violations\]$/\1/p' <<<"$out" |
  sort -u)
if ((rc != 0 && ${#DIFFER[@]} == 0)); then
  printf 'format-check: clang-format failed:\n%s\n' "$out" >&2
  exit 2
fi

if ((${#DIFFER[@]} == 0)); then
  echo "format-check: ${#FILES[@]} files match .clang-format"
  exit 0
fi
if ((FIX)); then
  clang-format --style=file -i "${DIFFER[@]}"
  printf 'format-check: reformatted %d of %d files:\n' "${#DIFFER[@]}" "${#FILES[@]}"
  printf '  %s\n' "${DIFFER[@]}"
  exit 0
fi
{
  printf 'format-check: %d of %d files differ from .clang-format (%s):\n' \
    "${#DIFFER[@]}" "${#FILES[@]}" "$(clang-format --version)"
  printf '  %s\n' "${DIFFER[@]}"
  echo "Fix: scripts/format-check.sh --fix (rewrites them in place with clang-format),"
  echo "then review and commit; 'clang-format --style=file FILE | diff FILE -' shows one."
} >&2
exit 1
