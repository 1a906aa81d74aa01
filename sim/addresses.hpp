#pragma once
// Where simulated peers live on the (simulated) internet: a peer's index and its address
// convert both ways in a few integer operations, since the simulator asks on every message.
//
// The addresses are public, so that the overlay's network-group rules (overlay/types.hpp:
// network_group, is_private; membership_config::passive_per_group_max) apply in the
// simulator as they do between real peers. Peer i is 11.A.B.C:7000, with A.B = i mod 65,536
// and C = i / 65,536: consecutive peers are in different /24s, every peer has a /24 of its
// own up to 65,536 peers, and at the simulator's 16M peers, 256 peers share each.
//
// An attack's Sybils (scenario [attack]) are the highest indices and live apart, in a few
// /24s of 12.0.0.0/8: Sybil k (counted from the first) is in group g = k mod groups,
// 12.0.g.0/24 (12.G.G.0/24 beyond 256 groups), at host j mod 256 and port 7000 + j / 256,
// where j = k / groups. Many identities in few groups, as an attacker with a few address
// blocks has: many addresses per block and many ports per address.

#include <cstdint>

#include "overlay/assert.hpp"
#include "overlay/types.hpp"

namespace hearsay::sim {

inline constexpr std::uint32_t address_base = 0x0B000000u;  // 11.0.0.0/8
inline constexpr std::uint32_t sybil_base = 0x0C000000u;    // 12.0.0.0/8
inline constexpr std::uint16_t address_port = 7000;

// The address of peer i (< 2^24) when it is not a Sybil (any peer, in a run without an
// attack).
inline peer_addr address_of(std::uint32_t index) {
  return peer_addr::from_ipv4(address_base | ((index & 0xFFFFu) << 8) | (index >> 16), address_port);
}

// The inverse of address_of: false when a is not such an address.
inline bool honest_index_of(const peer_addr& a, std::uint32_t& index) {
  if (!a.is_ipv4() || a.port != address_port) return false;
  const std::uint32_t v = a.ipv4();
  if ((v & 0xFF000000u) != address_base) return false;
  index = ((v >> 8) & 0xFFFFu) | ((v & 0xFFu) << 16);
  return true;
}

// Every peer's address in one run: address_of below the first Sybil, the Sybil layout above.
class address_plan {
 public:
  address_plan() = default;
  // peers in all, of which the last `sybils` are Sybils in `groups` network groups.
  address_plan(std::uint32_t peers, std::uint32_t sybils, std::uint32_t groups)
      : peers_(peers), first_sybil_(peers - sybils), groups_(groups == 0 ? 1 : groups) {
    HEARSAY_ASSERT(sybils <= peers && groups_ <= 65'536);
  }

  std::uint32_t peers() const { return peers_; }
  std::uint32_t first_sybil() const { return first_sybil_; }
  std::uint32_t sybils() const { return peers_ - first_sybil_; }
  std::uint32_t groups() const { return groups_; }
  bool is_sybil(std::uint32_t i) const { return i >= first_sybil_; }
  // Whether a is a Sybil's address (of this layout or not: honest peers never live there).
  static bool is_sybil_address(const peer_addr& a) { return a.is_ipv4() && (a.ipv4() & 0xFF000000u) == sybil_base; }

  // (Every message asks both: the honest peers' case inline, the Sybils' out of line.)
  peer_addr address_of(std::uint32_t i) const {
    if (i < first_sybil_) [[likely]]
      return sim::address_of(i);
    return sybil_address(i);
  }

  // The index of the peer at a; false when no peer of this run lives there.
  bool index_of(const peer_addr& a, std::uint32_t& index) const {
    if (honest_index_of(a, index)) [[likely]]
      return index < first_sybil_;
    return sybil_index_of(a, index);
  }

 private:
  peer_addr sybil_address(std::uint32_t i) const;
  bool sybil_index_of(const peer_addr& a, std::uint32_t& index) const;

  std::uint32_t peers_ = 0;
  std::uint32_t first_sybil_ = 0;
  std::uint32_t groups_ = 1;
};

}  // namespace hearsay::sim
