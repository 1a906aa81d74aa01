# Shared by netns-net.sh and calibrate.sh (sourced, not run): a network of hosts in Linux network
# namespaces. Host N is namespace PREFIX-hN with address SUBNET.N/24 on eth0; all hosts hang off one
# bridge that lives in a namespace of its own (PREFIX-sw), so nothing touches the machine's own
# interfaces, and the teardown removes only PREFIX- namespaces.

# netns_require PREFIX
# Exits the script with 77 (skipped) and the reason when namespaces cannot be made here (not root,
# no iproute2, not allowed); otherwise deletes PREFIX- namespaces an interrupted earlier run left.
netns_require() {
  local prefix=$1 ns
  if [ "$(id -u)" -ne 0 ] || ! command -v ip > /dev/null; then
    echo "skipped: network namespaces need root and iproute2"
    exit 77
  fi
  for ns in $(ip netns list 2> /dev/null | awk '{print $1}' | grep "^$prefix-" || true); do
    ip netns del "$ns" 2> /dev/null || true
  done
  if ! ip netns add "$prefix-probe" 2> /dev/null; then
    echo "skipped: this machine does not allow network namespaces"
    exit 77
  fi
  ip netns del "$prefix-probe"
}

# netns_build PREFIX SUBNET HOSTS DELAY_MS
# Adds DELAY_MS of one-way delay to every host's eth0 with tc netem when the kernel has it. Sets
# `netem` (yes or no) and `delay_args`: empty with netem, otherwise the node settings that make
# each node hold its frames for DELAY_MS instead (emulation.send_delay_ms), so that either way
# every link has the delay.
netns_build() {
  local prefix=$1 subnet=$2 hosts=$3 delay_ms=$4
  local sw=$prefix-sw i j ns
  ip netns add "$sw"
  ip -n "$sw" link add "$prefix-br" type bridge
  ip -n "$sw" link set "$prefix-br" up
  netem=yes
  delay_args=()
  for i in $(seq 1 "$hosts"); do
    ns=$prefix-h$i
    ip netns add "$ns"
    ip link add "${prefix}v$i" netns "$ns" type veth peer name "${prefix}p$i" netns "$sw"
    ip -n "$ns" link set "${prefix}v$i" name eth0
    ip -n "$ns" addr add "$subnet.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$sw" link set "${prefix}p$i" master "$prefix-br"
    ip -n "$sw" link set "${prefix}p$i" up
    if [ "$netem" = yes ] && ! ip netns exec "$ns" tc qdisc add dev eth0 root netem delay "${delay_ms}ms" 2> /dev/null; then
      netem=no
      delay_args=(--set "emulation.send_delay_ms=$delay_ms")
      # Hosts given netem before the kernel refused it on this one lose it again: one kind of
      # delay for all.
      for j in $(seq 1 $((i - 1))); do ip netns exec "$prefix-h$j" tc qdisc del dev eth0 root 2> /dev/null || true; done
    fi
  done
}

# netns_remove PREFIX HOSTS: deletes the hosts' namespaces and the bridge's (missing ones are fine).
netns_remove() {
  local prefix=$1 hosts=$2 i
  for i in $(seq 1 "$hosts"); do ip netns del "$prefix-h$i" 2> /dev/null || true; done
  ip netns del "$prefix-sw" 2> /dev/null || true
}
