#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine (localhost) for the lotluca SLURM integration test.
#
#   bash tests/slurm/setup_local_slurm.sh            install (Debian packages) + configure + start; waits for an idle node
#   bash tests/slurm/setup_local_slurm.sh teardown   stop the daemons this script started (packages stay installed)
#   bash tests/slurm/setup_local_slurm.sh status     print sinfo / scontrol ping
#
# Needs root and apt-get (Debian/Ubuntu). Idempotent: packages are installed once; the daemons are
# restarted only when they are not answering or when slurm.conf changed. Everything this script owns
# lives under $LOTLUCA_SLURM_DIR (default /var/lib/lotluca-slurm): state, spool, logs, pid files.
# No accounting (no slurmdbd): submitters must use `squeue` to follow jobs (snakemake:
# --slurm-status-command squeue); MinJobAge=300 keeps finished jobs visible to squeue for 5 minutes.
set -euo pipefail

ROOT_DIR="${LOTLUCA_SLURM_DIR:-/var/lib/lotluca-slurm}"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
PARTITION="${LOTLUCA_SLURM_PARTITION:-debug}"
WAIT_SECONDS="${LOTLUCA_SLURM_WAIT:-120}"

log() { echo "[setup_local_slurm] $*" >&2; }
die() { echo "[setup_local_slurm] ERROR: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it installs Debian packages and starts daemons)"; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pidfile() {  # stop the daemon whose pid is in $1 (only that pid), wait until it is gone
    local f="$1" pid i
    if pid_alive "$f"; then
        pid="$(cat "$f")"
        kill "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

teardown() {
    need_root
    stop_pidfile "$ROOT_DIR/run/slurmd.pid"
    stop_pidfile "$ROOT_DIR/run/slurmctld.pid"
    stop_pidfile "$ROOT_DIR/run/munged.pid"
    log "daemons stopped (packages and $CONF left in place)"
}

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
    command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
    command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
    command -v munged >/dev/null 2>&1 || missing+=(munge)
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install ${missing[*]} by hand"
    log "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # No init system starts the daemons here (containers); keep postinst scripts from trying.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1; fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ "$created_policy" = 1 ] && rm -f "$policy"
    return 0
}

write_config() {
    local host cpus sockets cores threads mem tmp
    host="$(hostname -s)"
    # The machine as slurmd sees it (CPUs, sockets, cores, threads, memory in MB).
    local hw; hw="$(slurmd -C | head -n1)"
    cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")"
    sockets="$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$hw")"
    cores="$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$hw")"
    threads="$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$hw")"
    mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")"
    [ -n "$cpus" ] && [ -n "$mem" ] || die "cannot read the machine's CPUs/memory from 'slurmd -C': $hw"
    mem=$((mem * 95 / 100))  # leave a margin: slurmd drains a node that reports less than RealMemory
    mkdir -p "$CONF_DIR"
    tmp="$(mktemp)"
    cat >"$tmp" <<CONF
# Written by lotluca tests/slurm/setup_local_slurm.sh: a one-node test cluster on localhost.
ClusterName=lotluca
SlurmctldHost=${host}(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=${ROOT_DIR}/state
SlurmdSpoolDir=${ROOT_DIR}/spool
SlurmctldPidFile=${ROOT_DIR}/run/slurmctld.pid
SlurmdPidFile=${ROOT_DIR}/run/slurmd.pid
SlurmctldLogFile=${ROOT_DIR}/log/slurmctld.log
SlurmdLogFile=${ROOT_DIR}/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# squeue keeps showing a finished job for MinJobAge seconds; snakemake's squeue status check needs >= 120.
MinJobAge=300
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1} RealMemory=${mem} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
    if [ -f "$CONF" ] && cmp -s "$tmp" "$CONF"; then
        rm -f "$tmp"; return 1  # unchanged
    fi
    mv "$tmp" "$CONF"; chmod 644 "$CONF"
    # slurm 22.05 warns without a cgroup.conf even when no cgroup plugin is used
    [ -f "$CONF_DIR/cgroup.conf" ] || echo "CgroupPlugin=autodetect" >"$CONF_DIR/cgroup.conf"
    log "wrote $CONF (${cpus} CPUs, ${mem} MB)"
    return 0
}

start_munge() {
    if pid_alive "$ROOT_DIR/run/munged.pid" && munge -n </dev/null | unmunge >/dev/null 2>&1; then return 0; fi
    stop_pidfile "$ROOT_DIR/run/munged.pid"
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating /etc/munge/munge.key"
        if command -v mungekey >/dev/null 2>&1; then mungekey --create --keyfile /etc/munge/munge.key --force
        else dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none; fi
    fi
    chown munge:munge /etc/munge/munge.key 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
    chmod 755 /run/munge
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    local user=munge
    id munge >/dev/null 2>&1 || user=root
    if [ "$user" = root ]; then munged --force; else runuser -u munge -- munged; fi
    local i
    for i in $(seq 1 50); do
        if munge -n </dev/null | unmunge >/dev/null 2>&1; then break; fi
        sleep 0.2
    done
    munge -n </dev/null | unmunge >/dev/null 2>&1 || die "munged does not answer (see /var/log/munge/munged.log)"
    # munged writes its own pid file once it has forked into the background
    for i in $(seq 1 25); do [ -s /run/munge/munged.pid ] && break; sleep 0.2; done
    cp /run/munge/munged.pid "$ROOT_DIR/run/munged.pid" 2>/dev/null || log "warning: no /run/munge/munged.pid"
}

start_slurm() {
    local restart="$1"
    if [ "$restart" = 1 ]; then
        stop_pidfile "$ROOT_DIR/run/slurmd.pid"
        stop_pidfile "$ROOT_DIR/run/slurmctld.pid"
    fi
    if ! pid_alive "$ROOT_DIR/run/slurmctld.pid" || ! scontrol ping >/dev/null 2>&1; then
        stop_pidfile "$ROOT_DIR/run/slurmctld.pid"
        log "starting slurmctld"
        slurmctld -i   # -i: ignore state files that do not match the current config
    fi
    local i
    for i in $(seq 1 50); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
    scontrol ping 2>/dev/null | grep -q UP || { tail -n 30 "$ROOT_DIR/log/slurmctld.log" >&2 || true; die "slurmctld does not answer"; }
    if ! pid_alive "$ROOT_DIR/run/slurmd.pid"; then
        rm -f "$ROOT_DIR/run/slurmd.pid"
        log "starting slurmd"
        slurmd
    fi
}

wait_idle() {
    local host deadline state
    host="$(hostname -s)"
    deadline=$((SECONDS + WAIT_SECONDS))
    while :; do
        state="$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null | head -n1 || true)"
        case "$state" in
            idle|mixed|allocated) log "node $host is $state"; return 0 ;;
            drained|draining|down*|drain*|fail*|invalid*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
        esac
        if [ "$SECONDS" -ge "$deadline" ]; then
            sinfo -N -l >&2 || true
            tail -n 30 "$ROOT_DIR/log/slurmd.log" >&2 || true
            die "node $host not idle after ${WAIT_SECONDS}s (state: ${state:-none})"
        fi
        sleep 1
    done
}

setup() {
    need_root
    install_packages
    mkdir -p "$ROOT_DIR"/{state,spool,run,log}
    local changed=0
    write_config && changed=1
    start_munge
    start_slurm "$changed"
    wait_idle
    sinfo
}

case "${1:-setup}" in
    setup|start) setup ;;
    teardown|stop) teardown ;;
    status) sinfo -N -l; scontrol ping ;;
    *) echo "usage: $0 [setup|teardown|status]" >&2; exit 64 ;;
esac
