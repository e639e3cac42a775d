#!/bin/bash
# stop.sh STATE_DIR: stop the Postfix and Dovecot instances that start.sh
# started in STATE_DIR. Signals only the pids named in their pid files, and
# only when /proc/PID/comm confirms the process; waits for them to exit
# (SIGKILL after 10 s). Idempotent: nothing running is not an error.
# STATE_DIR is left in place (logs, mailboxes); remove it yourself.
set -euo pipefail

[ $# -eq 1 ] || {
	echo "usage: $0 STATE_DIR" >&2
	exit 2
}
STATE=$1
[ -d "$STATE" ] || exit 0

gone() { # gone PID: the process has exited (or is a zombie awaiting its parent)
	local state
	[ -e "/proc/$1" ] || return 0
	state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
	[ -z "$state" ] || [ "$state" = Z ]
}

readpid() { # readpid PIDFILE COMM: print the pid when it is a live COMM process
	local pid
	[ -f "$1" ] || return 0
	pid=$(tr -d ' \n' <"$1")
	case $pid in '' | *[!0-9]*) return 0 ;; esac
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && ! gone "$pid"; then
		echo "$pid"
	fi
}

pids=""
for spec in "postfix/spool/pid/master.pid master" "dovecot/run/master.pid dovecot"; do
	read -r file comm <<<"$spec"
	pid=$(readpid "$STATE/$file" "$comm")
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		pids="$pids $pid"
	fi
done

deadline=$((SECONDS + 10))
for pid in $pids; do
	until gone "$pid"; do
		if [ $SECONDS -ge $deadline ]; then
			echo "stop.sh: pid $pid did not exit after SIGTERM; sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.05
	done
done
