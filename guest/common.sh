# shellcheck shell=sh
# Shared helpers for the vmrace guest scripts (sourced, busybox ash).
#
# vlog MSG...      log "[vmrace <uptime>] MSG" to the serial console (ttyS0)
# knob NAME        print the value of vmrace.NAME=VALUE from the kernel command line
# sched_point P    with vmrace.sched=1: announce "WAIT P" to the host over the
#                  control port and block until the host answers "GO P"

VMRACE_RUN=/run/vmrace

vlog() {
	read -r _vmrace_up _ </proc/uptime
	echo "[vmrace $_vmrace_up] $*" >/dev/console
}

knob() {
	for _vmrace_w in $(cat /proc/cmdline); do
		case "$_vmrace_w" in
		"vmrace.$1="*)
			echo "${_vmrace_w#*=}"
			return 0
			;;
		esac
	done
	return 1
}

sched_point() {
	[ "$(knob sched)" = 1 ] || return 0
	_vmrace_f="$VMRACE_RUN/sched/$1"
	[ -p "$_vmrace_f" ] || mkfifo "$_vmrace_f"
	vlog "sched: WAIT $1"
	echo "WAIT $1" >"$VMRACE_RUN/sched.req"
	read -r _vmrace_go <"$_vmrace_f"
	rm -f "$_vmrace_f"
	vlog "sched: $_vmrace_go $1"
}
