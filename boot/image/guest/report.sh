#!/bin/bash
# What the boot test reads from inside the guest once cloud-init is done.
# Output: sections headed "=== <name>". No secrets: no environment, no files under state/.
section() { echo "=== $1"; }
units="openclaw-gateway openclaw-token nginx clawstack-firewall clawchat"

section status
cloud-init status --long 2>&1
section result
cat /run/cloud-init/result.json 2>&1
section log-problems
grep -E 'WARNING|ERROR|CRITICAL|Traceback' /var/log/cloud-init.log | cut -c1-300 | head -40
section units
for unit in $units; do
  systemctl show "$unit.service" -p Id,LoadState,ActiveState,SubState,User,Group,MemoryMax,NoNewPrivileges,ProtectSystem,ProtectHome,PrivateTmp,CapabilityBoundingSet,NRestarts,ExecMainStatus 2>&1
  echo
done
section gateway-process
pid=$(systemctl show -p MainPID --value openclaw-gateway.service)
[ "${pid:-0}" != 0 ] && ps -o user=,rss=,args= -p "$pid" | cut -c1-200
section listening
ss -Hltnu
section security
for unit in $units; do
  if [ "$(systemctl show -p LoadState --value "$unit.service")" = loaded ]; then
    echo "$unit $(systemd-analyze security --no-pager "$unit.service" 2>/dev/null | tail -n 1)"
  fi
done
section state-mount
findmnt -n -o SOURCE,TARGET,FSTYPE,OPTIONS /var/lib/openclaw
section state-layout
stat -c '%n %U %a' /var/lib/openclaw /var/lib/openclaw/state /var/lib/openclaw/tls /var/lib/openclaw/state/openclaw.json /var/lib/openclaw/state/.env 2>&1
section fingerprint
cat /var/lib/openclaw/gateway-cert.sha256 2>&1
section times
systemd-analyze time 2>&1 | head -n 2
cloud-init analyze show 2>/dev/null | grep -E '^Finished stage|^Total Time|Starting stage' | head -n 20
grep -aE '^clawstack: ' /var/log/cloud-init-output.log | head -n 40
section memory
echo "peak-kib $(cat /run/clawstack-boot-mem-peak-kib 2>/dev/null || echo 0)"
echo "gateway-peak-bytes $(cat /sys/fs/cgroup/system.slice/openclaw-gateway.service/memory.peak 2>/dev/null || echo 0)"
section state-config
if grep -q '"boot-standin"' /var/lib/openclaw/state/openclaw.json 2>/dev/null; then echo "model-settings present"; else echo "model-settings absent"; fi
section clawchat-aead
journalctl -b -u clawchat -o cat --no-pager | grep -o '"event":"server_started".*' | grep -o '"aead":"[a-z-]*"' | tail -n 1
