#!/usr/bin/env python3
"""Every mount option the parser accepts is documented, in the option table of
docs/configuration.md and in tierfs(8), and every option documented there is
one the parser accepts, in the same form (flag, NAME=, or prefix*).

usage: options_doc_test.py TIERFS docs/configuration.md tierfs.8.scd

The parser's list comes from the parser's own table, through
`tierfs mount --list-options` (fusefs/core/config.cc, kMountOptions).
"""
import re
import subprocess
import sys


def canonical(token):
    """`cold_after=SECONDS` -> cold_after=, `x-*` -> x-*, `ro` -> ro."""
    token = token.strip()
    if "=" in token:
        return token[: token.index("=") + 1]
    return token


def section(path, heading, until):
    """The lines of PATH after the line HEADING, up to one matching UNTIL."""
    m = re.search("^%s\n(.*?)(?=%s)" % (re.escape(heading), until), open(path).read(),
                  re.S | re.M)
    if not m:
        sys.exit("options_doc_test: no '%s' section in %s" % (heading, path))
    return m.group(1).splitlines()


def table_options(path):
    out = []
    for line in section(path, "## Mount options", "^#"):
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| option"):
            continue
        first = re.split(r"(?<!\\)\|", line)[1]  # the first cell ("\|" is a literal bar)
        out += [canonical(t) for t in re.findall(r"`([^`]+)`", first)]
    return out


def man_options(path):
    out = []
    # A term is an unindented line starting with a bold span; each bold span
    # on it is one option ("*hot_high=*_PCT_, *hot_low=*_PCT_").
    for line in section(path, "# MOUNT OPTIONS", "^# "):
        if line.startswith("*"):
            for span in re.findall(r"\*((?:\\.|[^*\\])+)\*", line):
                out.append(canonical(re.sub(r"\\(.)", r"\1", span)))
    return out


def main():
    tierfs, table, man = sys.argv[1:4]
    parser = subprocess.run([tierfs, "mount", "--list-options"], check=True,
                            capture_output=True, text=True).stdout.split()
    if len(parser) < 10:
        sys.exit("options_doc_test: tierfs mount --list-options printed only %r" % parser)
    failed = False
    for name, documented in (("docs/configuration.md", table_options(table)),
                             ("tierfs(8)", man_options(man))):
        missing = [o for o in parser if o not in documented]
        unknown = [o for o in documented if o not in parser]
        twice = sorted({o for o in documented if documented.count(o) > 1})
        for what, items in (("accepted but not documented in", missing),
                            ("documented but not accepted (or in another form), in", unknown),
                            ("documented twice in", twice)):
            if items:
                print("options %s %s: %s" % (what, name, " ".join(items)), file=sys.stderr)
                failed = True
        print("%s: %d options documented" % (name, len(documented)))
    if failed:
        sys.exit(1)
    print("%d options, each in docs/configuration.md and tierfs(8)" % len(parser))


if __name__ == "__main__":
    main()
