#!/usr/bin/env bash
# A one-node Ceph cluster on 127.0.0.1 for the tests and for trying tierfs out:
# one mon, one OSD (memstore by default), no mgr, no systemd, auth none
# (or cephx).
# Everything lives in DIR: the config clients use (DIR/ceph.conf), the mon
# store, the OSD data, the daemons' logs (DIR/log) and pid files (DIR/run).
#
#   ceph-dev.sh start DIR        create the cluster (or restart the one in DIR)
#                                and wait for a RADOS round trip; a no-op when
#                                it is already up
#   ceph-dev.sh stop DIR         stop both daemons and wait for them (memstore
#                                saves its data to DIR/osd on the way down)
#   ceph-dev.sh status DIR       exit 0 iff the mon answers, the OSD is up and a
#                                RADOS read works
#   ceph-dev.sh wipe DIR         stop, then remove what start created in DIR
#   ceph-dev.sh osd-stop DIR     stop only the OSD (clean stop: data is kept)
#   ceph-dev.sh osd-kill DIR     SIGKILL only the OSD (a crash; with memstore
#                                it loses what it wrote since it started, so
#                                it refuses unless CEPH_DEV_OBJECTSTORE=bluestore)
#   ceph-dev.sh osd-start DIR    start the OSD again and wait until it is up
#   ceph-dev.sh pool DIR NAME [PG_NUM]
#                                create a replicated pool (idempotent), tag it
#                                with the application "tierfs"; prints nothing
#   ceph-dev.sh quota DIR POOL BYTES
#                                set the pool's max_bytes quota (0 removes it);
#                                needs CEPH_DEV_MGR=1 (quotas are enforced from
#                                the mgr's pool statistics)
#   ceph-dev.sh full DIR on|off  make the OSD (and so every pool) full, or not:
#                                sets the OSD full ratio below what the OSD uses
#   ceph-dev.sh user DIR NAME [ENTITY CAPS]...
#                                cephx only: create client.NAME (or set its
#                                caps), default mon 'allow r' osd 'allow rw';
#                                prints its keyring, DIR/ceph.client.NAME.keyring,
#                                which clients of DIR/ceph.conf find by name
#   ceph-dev.sh env DIR          print "export CEPH_CONF=DIR/ceph.conf"
#
# Environment (read by start; later commands read what DIR/ceph.conf holds):
#   CEPH_DEV_PORT=13300          the mon's port (msgr2 only); the OSD binds
#                                ports PORT+1..PORT+99. start fails if taken.
#   CEPH_DEV_OBJECTSTORE=memstore  or bluestore (on the sparse file DIR/osd-block,
#                                which survives an OSD SIGKILL)
#   CEPH_DEV_MEMSTORE_BYTES=1073741824  memstore's (RAM) device size
#   CEPH_DEV_BLUESTORE_BYTES=10737418240  bluestore block file size (sparse)
#   CEPH_DEV_AUTH=none           or cephx: keys in DIR (client.admin's in
#                                DIR/ceph.client.admin.keyring)
#   CEPH_DEV_MGR=0               1 also starts a ceph-mgr (needs the ceph-mgr
#                                package); only pool quotas need it
#   CEPH_DEV_TIMEOUT=60          seconds start/osd-start wait before failing
#   CI=true                      Ceph not installed is an error (exit 1), not a
#                                skip (exit 77)
#
# Exit codes: 0 ok, 1 error, 2 usage, 77 Ceph is not installed and CI != true.
set -euo pipefail

PROG=$(basename "$0")
usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}
die() {
  echo "$PROG: $*" >&2
  exit 1
}
say() { echo "$PROG: $*" >&2; }

(($# >= 2)) || usage
CMD=$1
DIR=$2
shift 2
case "$DIR" in
  /*) ;;
  *) DIR="$(pwd)/$DIR" ;;
esac
DIR=${DIR%/}
CONF="$DIR/ceph.conf"
RUN="$DIR/run"
LOG="$DIR/log"
MON_ID=a
OSD_ID=0
PROBE_POOL=ceph-dev-probe

need_ceph() {
  local missing=() b
  local bins=(ceph-mon ceph-osd ceph rados monmaptool uuidgen)
  [ "${CEPH_DEV_MGR:-0}" = 1 ] && bins+=(ceph-mgr)
  [ "${CEPH_DEV_AUTH:-none}" = cephx ] && bins+=(ceph-authtool)
  for b in "${bins[@]}"; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  ((${#missing[@]} == 0)) && return 0
  if [ "${CI:-}" = "true" ]; then
    die "Ceph is not installed (missing: ${missing[*]}); CI=true, so this is a failure. Run scripts/setup.sh."
  fi
  echo "$PROG: SKIP: Ceph is not installed (missing: ${missing[*]}); run scripts/setup.sh to install it" >&2
  exit 77
}

# ceph/rados with a bounded wait: the CLI otherwise retries a dead mon forever.
C() { timeout 30 ceph -c "$CONF" --connect-timeout 10 "$@"; }
R() { timeout 30 rados -c "$CONF" --rados_mon_op_timeout 10 --rados_osd_op_timeout 10 "$@"; }

conf_port() { sed -n 's/^mon_host = \[v2:127\.0\.0\.1:\([0-9]*\)\]$/\1/p' "$CONF"; }
conf_value() { sed -n "s/^[[:space:]]*$1 = //p" "$CONF" | head -n1; }

# pid of daemon NAME (mon.a, osd.0, mgr.x) if it runs with this DIR's config.
daemon_pid() {
  local f="$RUN/$1.pid" pid
  [ -r "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$CONF" || return 1
  echo "$pid"
}

# Alive and not a zombie (where nothing reaps the daemons, a dead one stays
# a zombie).
alive() {
  local st
  st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

stop_daemon() { # NAME SIGNAL
  local pid i
  pid=$(daemon_pid "$1") || return 0
  kill "-$2" "$pid" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do # 60 s, then SIGKILL
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    say "$1 (pid $pid) did not stop in 60 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
  fi
  rm -f "$RUN/$1.pid"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

show_logs() {
  local f
  for f in "$LOG"/*.log "$LOG"/*.out; do
    [ -s "$f" ] || continue
    echo "----- last 40 lines of $f" >&2
    tail -n 40 "$f" >&2
  done
}

# Print the error and the daemons' logs, exit 1. During start, also stop
# what was started, so a failed start leaves no daemon behind.
STOP_ON_FAIL=0
fail() {
  say "$*"
  show_logs
  if ((STOP_ON_FAIL)); then
    say "stopping what was started; the logs are in $LOG"
    stop_daemon "osd.$OSD_ID" TERM
    stop_daemon mgr.x TERM
    stop_daemon "mon.$MON_ID" TERM
  else
    say "the logs are in $LOG"
  fi
  exit 1
}

deadline() { echo $(($(date +%s) + ${CEPH_DEV_TIMEOUT:-60})); }

wait_for() { # DEADLINE WHAT COMMAND...
  local end=$1 what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < end)) || fail "timed out after ${CEPH_DEV_TIMEOUT:-60} s waiting for $what"
    sleep 0.2
  done
}

osd_is_up() { [[ ",$(osd_state)," == *,up,* ]]; }

round_trip() {
  local tmp rc=0
  tmp=$(mktemp -d)
  echo "ceph-dev round trip $$ $RANDOM" >"$tmp/in"
  R -p "$PROBE_POOL" put probe "$tmp/in" &&
    R -p "$PROBE_POOL" get probe "$tmp/out" &&
    cmp -s "$tmp/in" "$tmp/out" || rc=1
  rm -rf "$tmp"
  return $rc
}

write_conf() {
  local fsid=$1 port=$2 store=$3 auth=$4
  local memb=${CEPH_DEV_MEMSTORE_BYTES:-1073741824}
  local blueb=${CEPH_DEV_BLUESTORE_BYTES:-10737418240}
  cat >"$CONF" <<EOF
# Written by scripts/ceph-dev.sh: a one-node test cluster, auth $auth.
# Clients: ceph -c $CONF ..., rados -c $CONF ..., or CEPH_CONF=$CONF.
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$port]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_msgr2 = true
ms_bind_port_min = $((port + 1))
ms_bind_port_max = $((port + 99))
auth_cluster_required = $auth
auth_service_required = $auth
auth_client_required = $auth
$([ "$auth" = cephx ] && echo "# client.NAME's key: $DIR/ceph.client.NAME.keyring ('$PROG user $DIR NAME')"
  [ "$auth" = cephx ] && echo "keyring = $DIR/ceph.\$name.keyring")
mon_warn_on_insecure_global_id_reclaim_allowed = false
run_dir = $RUN
admin_socket = $RUN/\$name.asok
pid_file = $RUN/\$name.pid
log_file = $LOG/\$name.log
mon_cluster_log_file = $LOG/cluster.log
crash_dir = $DIR/crash
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_delete = true
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
# The one OSD never goes "out" (there is nowhere to move its data), and a
# crashed OSD (no beacon for 20 s) is marked down.
mon_osd_down_out_interval = 0
mon_osd_report_timeout = 20
osd_beacon_report_interval = 5
# Map changes (pool create, OSD boot, full ratios) commit in ~0.1 s, not ~1 s.
paxos_propose_interval = 0.1
paxos_min_wait = 0.01
mon_warn_on_down_out_interval_zero = false
# Do not shut the mon down when the disk holding DIR is nearly full.
mon_data_avail_crit = 1
mon_data_avail_warn = 2

[client]
# Clients (ceph, rados, tierfs) open no admin socket: several run under the
# one name client.admin at a time.
admin_socket =

[mon]
mon_data = $DIR/mon
keyring = $DIR/mon/keyring

[mgr]
mgr_data = $DIR/mgr
keyring = $DIR/mgr/keyring

[osd]
osd_data = $DIR/osd
keyring = $DIR/osd/keyring
osd_objectstore = $store
# memstore keeps its objects in RAM, bounded by this size, and writes them
# to osd_data only on a clean stop (so no fast shutdown).
memstore_device_bytes = $memb
osd_fast_shutdown = false
# The OSD notices it is full (statfs vs the full ratio) on its heartbeat and
# tells the mon on its report tick: 1 s each instead of 6 s and 5 s.
osd_heartbeat_interval = 1
osd_mon_report_interval = 1
bluestore_block_path = $DIR/osd-block
bluestore_block_size = $blueb
bluestore_block_create = true
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
osd_memory_target = 939524096
EOF
}

start_osd() { # DEADLINE
  [ -d "$DIR/osd" ] && [ -e "$DIR/osd/ready" ] || fail "no OSD data in $DIR/osd (a start that failed half-way? run '$PROG wipe $DIR' and start again)"
  ceph-osd -c "$CONF" -i "$OSD_ID" </dev/null >>"$LOG/osd.$OSD_ID.out" 2>&1 ||
    fail "ceph-osd -i $OSD_ID failed to start"
  wait_for "$1" "osd.$OSD_ID to be up" osd_is_up
}

cmd_start() {
  need_ceph
  STOP_ON_FAIL=1
  if [ -e "$CONF" ] && cmd_status_quiet; then
    say "already up in $DIR (CEPH_CONF=$CONF)"
    return 0
  fi
  mkdir -p "$DIR" "$RUN" "$LOG"
  local t0 end port fsid store auth new=0
  t0=$(date +%s%N)
  end=$(deadline)
  # Leftovers from a half-running cluster in DIR (say, an OSD that died).
  stop_daemon "osd.$OSD_ID" TERM
  stop_daemon mgr.x TERM
  stop_daemon "mon.$MON_ID" TERM

  if [ -e "$DIR/mon/store.db" ] && [ -e "$CONF" ]; then
    port=$(conf_port)
    [ -n "$port" ] || die "$CONF has no mon_host this script wrote; remove $DIR or run '$PROG wipe $DIR'"
    if [ -n "${CEPH_DEV_PORT:-}" ] && [ "$CEPH_DEV_PORT" != "$port" ]; then
      die "the cluster in $DIR was created on port $port, not CEPH_DEV_PORT=$CEPH_DEV_PORT; run '$PROG wipe $DIR' first"
    fi
    store=$(conf_value osd_objectstore)
    auth=$(conf_value auth_cluster_required)
  else
    new=1
    port=${CEPH_DEV_PORT:-13300}
    store=${CEPH_DEV_OBJECTSTORE:-memstore}
    auth=${CEPH_DEV_AUTH:-none}
    [[ $port =~ ^[0-9]+$ ]] && ((port >= 1024 && port <= 65400)) ||
      die "CEPH_DEV_PORT=$port: want a port number in 1024..65400"
    case "$store" in memstore | bluestore) ;; *) die "CEPH_DEV_OBJECTSTORE=$store: want memstore or bluestore" ;; esac
    case "$auth" in none | cephx) ;; *) die "CEPH_DEV_AUTH=$auth: want none or cephx" ;; esac
    rm -rf "$DIR/mon" "$DIR/osd" "$DIR/osd-block" "$DIR/mgr" "$DIR/monmap" "$DIR"/ceph.*.keyring
  fi
  if port_in_use "$port"; then
    local who=""
    command -v ss >/dev/null 2>&1 && who=$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1)
    die "port 127.0.0.1:$port is already in use${who:+ by $who}; set CEPH_DEV_PORT to a free port (and '$PROG wipe $DIR' if it was created on this one)"
  fi

  if ((new)); then
    fsid=$(uuidgen)
    write_conf "$fsid" "$port" "$store" "$auth"
    monmaptool --create --fsid "$fsid" --addv "$MON_ID" "[v2:127.0.0.1:$port]" "$DIR/monmap" >"$LOG/mkfs.out" 2>&1 ||
      fail "monmaptool failed"
    local mkfs_key=()
    if [ "$auth" = cephx ]; then
      # The mon's key and client.admin's (all caps), which the mon starts with.
      local admin="$DIR/ceph.client.admin.keyring"
      ceph-authtool --create-keyring "$DIR/mon-bootstrap.keyring" --gen-key -n mon. --cap mon 'allow *' >>"$LOG/mkfs.out" 2>&1 &&
        ceph-authtool --create-keyring "$admin" --gen-key -n client.admin --cap mon 'allow *' \
          --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >>"$LOG/mkfs.out" 2>&1 &&
        ceph-authtool "$DIR/mon-bootstrap.keyring" --import-keyring "$admin" >>"$LOG/mkfs.out" 2>&1 ||
        fail "ceph-authtool failed"
      chmod 600 "$admin"
      mkfs_key=(--keyring "$DIR/mon-bootstrap.keyring")
    fi
    ceph-mon -c "$CONF" -i "$MON_ID" --mkfs --monmap "$DIR/monmap" "${mkfs_key[@]}" >>"$LOG/mkfs.out" 2>&1 ||
      fail "ceph-mon --mkfs failed"
    rm -f "$DIR/mon-bootstrap.keyring"
  fi

  ceph-mon -c "$CONF" -i "$MON_ID" </dev/null >>"$LOG/mon.$MON_ID.out" 2>&1 ||
    fail "ceph-mon failed to start"
  wait_for "$end" "the mon to answer on 127.0.0.1:$port" C mon stat

  if [ "${CEPH_DEV_MGR:-0}" = 1 ]; then
    mkdir -p "$DIR/mgr"
    if [ "$auth" = cephx ]; then
      C auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o "$DIR/mgr/keyring" \
        >>"$LOG/mkfs.out" 2>&1 || fail "could not create the key of mgr.x"
    fi
    ceph-mgr -c "$CONF" -i x </dev/null >>"$LOG/mgr.x.out" 2>&1 || fail "ceph-mgr failed to start"
  fi

  if ((new)); then
    local uuid id
    uuid=$(uuidgen)
    id=$(C osd new "$uuid" 2>>"$LOG/mkfs.out") || fail "'ceph osd new' failed"
    [ "$id" = "$OSD_ID" ] || fail "'ceph osd new' gave id $id, not $OSD_ID"
    mkdir -p "$DIR/osd"
    if [ "$auth" = cephx ]; then
      C auth get-or-create "osd.$OSD_ID" mon 'allow profile osd' mgr 'allow profile osd' osd 'allow *' \
        -o "$DIR/osd/keyring" >>"$LOG/mkfs.out" 2>&1 || fail "could not create the key of osd.$OSD_ID"
    fi
    ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$uuid" >>"$LOG/mkfs.out" 2>&1 ||
      fail "ceph-osd --mkfs failed"
  fi
  start_osd "$end"

  if ((new)); then
    C osd pool create "$PROBE_POOL" 1 >/dev/null 2>&1 || fail "could not create the pool $PROBE_POOL"
    C osd pool application enable "$PROBE_POOL" ceph-dev >/dev/null 2>&1 || true
  fi
  wait_for "$end" "a RADOS put/get round trip in pool $PROBE_POOL" round_trip
  local ms=$((($(date +%s%N) - t0) / 1000000))
  say "up in $((ms / 1000)).$((ms % 1000 / 100)) s: mon 127.0.0.1:$port, osd.$OSD_ID on $store, auth $auth; use -c $CONF or CEPH_CONF=$CONF"
}

cmd_status_quiet() {
  daemon_pid "mon.$MON_ID" >/dev/null || return 1
  daemon_pid "osd.$OSD_ID" >/dev/null || return 1
  osd_is_up || return 1
  R -p "$PROBE_POOL" stat probe >/dev/null 2>&1 || return 1
}

cmd_status() {
  [ -e "$CONF" ] || { echo "down: no cluster in $DIR"; return 1; }
  local mon osd
  mon=$(daemon_pid "mon.$MON_ID" || echo "not running")
  osd=$(daemon_pid "osd.$OSD_ID" || echo "not running")
  if cmd_status_quiet; then
    echo "up: mon.$MON_ID pid $mon on 127.0.0.1:$(conf_port), osd.$OSD_ID pid $osd ($(conf_value osd_objectstore)); CEPH_CONF=$CONF"
    return 0
  fi
  echo "down: mon.$MON_ID: $mon, osd.$OSD_ID: $osd (logs in $LOG)"
  return 1
}

cmd_stop() {
  stop_daemon "osd.$OSD_ID" TERM
  stop_daemon mgr.x TERM
  stop_daemon "mon.$MON_ID" TERM
  say "stopped the cluster in $DIR"
}

cmd_wipe() {
  cmd_stop
  rm -rf "$DIR/mon" "$DIR/osd" "$DIR/osd-block" "$DIR/mgr" "$DIR/run" "$DIR/log" "$DIR/crash" "$DIR/monmap" \
    "$DIR"/ceph.*.keyring "$DIR/mon-bootstrap.keyring" "$CONF"
  rmdir "$DIR" 2>/dev/null || true
}

need_conf() { [ -e "$CONF" ] || die "no cluster in $DIR (run '$PROG start $DIR')"; }
need_mon() {
  need_conf
  daemon_pid "mon.$MON_ID" >/dev/null || die "the mon of $DIR is not running (run '$PROG start $DIR')"
}

cmd_osd_stop() {
  need_conf
  daemon_pid "osd.$OSD_ID" >/dev/null || { say "osd.$OSD_ID is not running"; return 0; }
  stop_daemon "osd.$OSD_ID" TERM
}

cmd_osd_kill() {
  need_conf
  [ "$(conf_value osd_objectstore)" = bluestore ] ||
    die "osd-kill: the OSD in $DIR is on memstore, which loses its data on SIGKILL; start the cluster with CEPH_DEV_OBJECTSTORE=bluestore"
  stop_daemon "osd.$OSD_ID" KILL
}

cmd_osd_start() {
  need_mon
  if daemon_pid "osd.$OSD_ID" >/dev/null; then
    say "osd.$OSD_ID is already running"
  else
    start_osd "$(deadline)"
  fi
  wait_for "$(deadline)" "a RADOS put/get round trip in pool $PROBE_POOL" round_trip
}

cmd_pool() {
  (($# >= 1 && $# <= 2)) || usage
  need_mon
  local name=$1 pg=${2:-8}
  [[ $pg =~ ^[0-9]+$ ]] || die "PG_NUM=$pg is not a number"
  C osd pool create "$name" "$pg" "$pg" replicated >/dev/null 2>&1 ||
    die "could not create pool $name: $(C osd pool create "$name" "$pg" "$pg" replicated 2>&1 | tail -n1)"
  C osd pool application enable "$name" tierfs --yes-i-really-mean-it >/dev/null 2>&1 || true
}

cmd_quota() {
  (($# == 2)) || usage
  need_mon
  [[ $2 =~ ^[0-9]+$ ]] || die "BYTES=$2 is not a number"
  [ -n "$(daemon_pid mgr.x || true)" ] ||
    say "warning: no mgr runs in $DIR, so the mon has no pool statistics and will not enforce this quota (start with CEPH_DEV_MGR=1)"
  C osd pool set-quota "$1" max_bytes "$2" >/dev/null 2>&1 ||
    die "could not set the quota on pool $1: $(C osd pool set-quota "$1" max_bytes "$2" 2>&1 | tail -n1)"
}

osd_state() { C osd dump 2>/dev/null | awk -v o="osd.$OSD_ID" '$1 == o { print $(NF - 1) }'; }
osd_full() { [[ ",$(osd_state)," == *,full,* ]]; }
osd_not_full() {
  local st
  st=$(osd_state)
  [ -n "$st" ] && [[ ",$st," != *full,* ]]
}

cmd_user() {
  (($# >= 1)) || usage
  need_mon
  [ "$(conf_value auth_cluster_required)" = cephx ] ||
    die "the cluster in $DIR runs with auth none: every client name works without a key (start it with CEPH_DEV_AUTH=cephx)"
  local name=$1 key
  shift
  [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad client name '$name'"
  (($# % 2 == 0)) || die "caps come in pairs: mon 'allow r' osd 'allow rw pool=P'"
  (($#)) || set -- mon 'allow r' osd 'allow rw'
  key="$DIR/ceph.client.$name.keyring"
  if C auth get "client.$name" >/dev/null 2>&1; then
    C auth caps "client.$name" "$@" >/dev/null 2>&1 || die "could not set the caps of client.$name"
  fi
  C auth get-or-create "client.$name" "$@" -o "$key" >/dev/null 2>&1 ||
    die "could not create client.$name: $(C auth get-or-create "client.$name" "$@" 2>&1 | tail -n1)"
  C auth get "client.$name" -o "$key" >/dev/null 2>&1 || die "could not export the key of client.$name"
  chmod 600 "$key"
  echo "$key"
}

cmd_full() {
  (($# == 1)) || usage
  need_mon
  local end
  end=$(deadline)
  case "$1" in
    on)
      # Ratios below what the OSD already uses: the OSD reports itself full to
      # the mon, which then flags every pool full (no mgr needed).
      C osd set-nearfull-ratio 0.000001 >/dev/null 2>&1 &&
        C osd set-backfillfull-ratio 0.000002 >/dev/null 2>&1 &&
        C osd set-full-ratio 0.000003 >/dev/null 2>&1 || die "could not set the full ratios"
      wait_for "$end" "osd.$OSD_ID to report itself full" osd_full
      ;;
    off)
      C osd set-full-ratio 0.95 >/dev/null 2>&1 &&
        C osd set-backfillfull-ratio 0.90 >/dev/null 2>&1 &&
        C osd set-nearfull-ratio 0.85 >/dev/null 2>&1 || die "could not set the full ratios"
      wait_for "$end" "osd.$OSD_ID to report itself not full" osd_not_full
      ;;
    *) usage ;;
  esac
}

case "$CMD" in
  start) (($# == 0)) || usage; cmd_start ;;
  stop) (($# == 0)) || usage; cmd_stop ;;
  status) (($# == 0)) || usage; cmd_status ;;
  wipe) (($# == 0)) || usage; cmd_wipe ;;
  osd-stop) (($# == 0)) || usage; cmd_osd_stop ;;
  osd-kill) (($# == 0)) || usage; cmd_osd_kill ;;
  osd-start) (($# == 0)) || usage; cmd_osd_start ;;
  pool) cmd_pool "$@" ;;
  quota) cmd_quota "$@" ;;
  full) cmd_full "$@" ;;
  user) cmd_user "$@" ;;
  env) (($# == 0)) || usage; need_conf; echo "export CEPH_CONF=$CONF" ;;
  -h | --help | help) usage ;;
  *) echo "$PROG: unknown command '$CMD'" >&2; usage ;;
esac
