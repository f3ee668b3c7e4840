#!/usr/bin/env python3
"""Runs a tierfs@.service instance the way systemd would, where PID 1 is not
systemd: the unit's (and its drop-ins') Environment=, ExecStartPre=,
ExecStart= as a Type=notify service (NOTIFY_SOCKET; started once READY=1
arrives), then CHECK..., then ExecStop=, and waits for the main process.

usage: unit_run.py UNIT_FILE INSTANCE [--dropin FILE]... -- CHECK...

Fails (exit 1, reason on stderr) when a key of the unit is not one this
runner knows how to honour, a command fails, READY=1 does not come within
30 s or comes before the mount point is mounted, CHECK fails, or the main
process does not exit 0 within the unit's TimeoutStopSec after ExecStop.
CHECK runs with UNIT_MAIN_PID set to the main process.
"""
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time

# [Service] keys and how each is honoured here. StateDirectory= only makes
# /var/lib/tierfs for the default store, which a test's drop-in replaces.
HONOURED = {"Type", "Environment", "ExecStartPre", "ExecStart", "ExecStop", "TimeoutStopSec"}
NOT_NEEDED = {"StateDirectory", "StateDirectoryMode"}


def die(msg):
    sys.exit("unit_run: " + msg)


def unescape(instance):
    """systemd-escape --unescape --path, from the real tool."""
    return subprocess.run(["systemd-escape", "--unescape", "--path", instance],
                          check=True, capture_output=True, text=True).stdout.strip()


def specifiers(text, instance):
    table = {"i": instance, "I": unescape(instance)[1:], "f": unescape(instance), "%": "%"}

    def sub(m):
        if m.group(1) not in table:
            die("specifier %%%s is not supported here" % m.group(1))
        return table[m.group(1)]
    return re.sub(r"%(.)", sub, text)


def load(files):
    """The [Service] assignments of the unit and its drop-ins, in order
    (systemd appends repeated keys, so no configparser)."""
    assignments = []
    for f in files:
        section = None
        for line in open(f):
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            if section == "Service":
                assignments.append((key.strip(), value.strip()))
    return assignments


def expand(cmdline, env):
    """systemd's command line: words, ${VAR} as one word, $VAR split."""
    argv = []
    for word in shlex.split(cmdline):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            argv += env.get(m.group(1), "").split()
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""),
                           word))
    return argv


def run(argv, env, what):
    ignore = argv[0].startswith("-")
    argv[0] = argv[0].lstrip("-")
    if argv[0][0] in "@+!:":
        die("%s: prefix %s is not supported here" % (what, argv[0][0]))
    rc = subprocess.run(argv, env=env, cwd="/", stdin=subprocess.DEVNULL).returncode
    if rc != 0 and not ignore:
        die("%s %s exited %d" % (what, shlex.join(argv), rc))


def main():
    args = sys.argv[1:]
    if "--" not in args or len(args) < 4:
        die(__doc__)
    split = args.index("--")
    check = args[split + 1:]
    unit, instance, rest = args[0], args[1], args[2:split]
    dropins = [rest[i + 1] for i in range(0, len(rest), 2) if rest[i] == "--dropin"]
    settings = {"Environment": [], "ExecStartPre": [], "ExecStart": [], "ExecStop": []}
    timeout_stop = 90.0
    for key, value in load([unit] + dropins):
        value = specifiers(value, instance)
        if key in NOT_NEEDED:
            continue
        if key not in HONOURED:
            die("[Service] %s= is not honoured by this runner" % key)
        if key == "Type":
            if value != "notify":
                die("Type=%s: this runner starts Type=notify units only" % value)
        elif key == "TimeoutStopSec":
            timeout_stop = float(value)
        elif value == "":
            settings[key] = []  # an empty assignment resets the list, as in systemd
        else:
            settings[key].append(value)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for assignment in settings["Environment"]:
        for item in shlex.split(assignment):
            name, _, value = item.partition("=")
            env[name] = value
    if len(settings["ExecStart"]) != 1:
        die("a Type=notify unit needs exactly one ExecStart=")
    for line in settings["ExecStartPre"]:
        run(expand(line, env), env, "ExecStartPre")

    mountpoint = unescape(instance)
    with tempfile.TemporaryDirectory() as sockdir:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(os.path.join(sockdir, "notify"))
        sock.settimeout(0.1)
        main_env = dict(env, NOTIFY_SOCKET=os.path.join(sockdir, "notify"))
        argv = expand(settings["ExecStart"][0], env)
        print("unit_run: ExecStart " + shlex.join(argv), file=sys.stderr)
        daemon = subprocess.Popen(argv, env=main_env, cwd="/", stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        ready = False
        while not ready:
            if time.monotonic() > deadline:
                daemon.kill()
                die("no READY=1 within 30 s")
            if daemon.poll() is not None:
                die("the main process exited %d before READY=1" % daemon.returncode)
            try:
                ready = "READY=1" in sock.recv(4096).decode().split("\n")
            except socket.timeout:
                continue
        if not os.path.ismount(mountpoint):
            daemon.kill()
            die("READY=1 came before %s was mounted" % mountpoint)
        print("unit_run: READY=1 with %s mounted" % mountpoint, file=sys.stderr)

    check_rc = subprocess.run(check, env=dict(os.environ, UNIT_MAIN_PID=str(daemon.pid))).returncode
    for line in settings["ExecStop"]:
        run(expand(line, env), env, "ExecStop")
    try:
        rc = daemon.wait(timeout=timeout_stop)
    except subprocess.TimeoutExpired:
        daemon.kill()
        die("the main process still runs %.0f s after ExecStop" % timeout_stop)
    if check_rc != 0:
        die("check %s exited %d" % (shlex.join(check), check_rc))
    if rc != 0:
        die("the main process exited %d" % rc)
    if os.path.ismount(mountpoint):
        die("%s is still mounted after ExecStop" % mountpoint)
    print("unit_run: stopped cleanly", file=sys.stderr)


if __name__ == "__main__":
    main()
