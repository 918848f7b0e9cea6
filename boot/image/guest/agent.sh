#!/bin/bash
# Test-only agent of the boot test's image (a real host has no such channel):
# answers a fixed set of commands on the virtio serial port the harness opens.
# It never prints a secret: the gateway token is read by chat-check.mjs itself.
set -u
port=/dev/virtio-ports/clawstack.boot
lib=/usr/local/lib/clawstack-boot

# Guest memory in use (MemTotal - MemAvailable), highest value seen since boot.
(
  peak=0
  while :; do
    used=$(awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print t - a }' /proc/meminfo)
    if [ "$used" -gt "$peak" ]; then peak=$used; echo "$peak" >/run/clawstack-boot-mem-peak-kib; fi
    sleep 2
  done
) &

for _ in $(seq 1 120); do [ -e "$port" ] && break; sleep 1; done
# A read on the port ends (EOF) whenever the harness is not connected, so the
# port is opened again until the harness speaks: the first version read once,
# met EOF 31 s after power-on and exited, and no command was ever answered.
while :; do
  exec 3<>"$port"
  while IFS= read -r line <&3; do
    read -r command arg1 arg2 arg3 <<<"$line"
    case "$command" in
      report) "$lib/report.sh" >&3 2>&1 ;;
      # The ClawChat server's data port of this boot (random in the range, announced in the handshake and in
      # its server_started line): the harness forwards it with the same number on both sides of QEMU's NAT.
      clawchat-port) journalctl -b -u clawchat -o cat --no-pager | grep -o '"event":"server_started".*' | grep -o '"data_port":[0-9]*' | tail -n 1 >&3 2>&1 ;;
      chat) timeout 540 /usr/local/bin/node "$lib/chat-check.mjs" "$arg1" "$arg2" "$arg3" >&3 2>&1 ;;
      poweroff) echo "=== done poweroff" >&3; systemctl poweroff; continue ;;
      *) echo "unknown command" >&3 ;;
    esac
    echo "=== done $command" >&3
  done
  exec 3<&-
  sleep 1
done
