#!/usr/bin/env python3
"""Every relative link of the docs leads somewhere: the file or directory
exists, and an anchor names a heading of the page it points into (GitHub's
heading ids: lower case, punctuation dropped, spaces as hyphens).

usage: docs_links_test.py REPO_ROOT

The docs are README.md, docs/*.md, tests/README.md and the format documents
(compress/FORMAT.md, store/STORE.md, fusefs/meta/METADATA.md). Links inside
code blocks and code spans are not links; http(s) and mailto are not checked.
"""
import glob
import os
import re
import sys

FORMATS = ["compress/FORMAT.md", "store/STORE.md", "fusefs/meta/METADATA.md"]


def prose_lines(path):
    """(line number, text) of PATH outside fenced code, code spans removed."""
    fenced = False
    for number, line in enumerate(open(path), 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield number, re.sub(r"`[^`]*`", "", line)


def heading_id(text):
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def heading_ids(path):
    return {heading_id(m.group(1)) for _, line in prose_lines(path)
            for m in [re.match(r"#+ (.*)", line)] if m}


def main():
    root = sys.argv[1]
    os.chdir(root)
    pages = ["README.md", "tests/README.md"] + sorted(glob.glob("docs/*.md")) + FORMATS
    checked, broken = 0, []
    for page in pages:
        if not os.path.exists(page):
            broken.append("%s: the page itself is missing" % page)
            continue
        for number, line in prose_lines(page):
            for target in re.findall(r"\]\(([^)\s]+)\)", line):
                if re.match(r"[a-z]+:", target):
                    continue
                checked += 1
                path, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
                where = "%s:%d: (%s)" % (page, number, target)
                if not os.path.exists(dest):
                    broken.append("%s: no file %s" % (where, dest))
                elif anchor and dest.endswith(".md") and anchor not in heading_ids(dest):
                    broken.append("%s: no heading #%s in %s" % (where, anchor, dest))
    for line in broken:
        print(line, file=sys.stderr)
    print("%d pages, %d relative links, %d broken" % (len(pages), checked, len(broken)))
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
