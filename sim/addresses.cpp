// Where simulated peers live (see addresses.hpp): the Sybils' layout.

#include "sim/addresses.hpp"

namespace hearsay::sim {

peer_addr address_plan::sybil_address(std::uint32_t i) const {
  HEARSAY_ASSERT(i >= first_sybil_ && i < peers_);
  const std::uint32_t k = i - first_sybil_;
  const std::uint32_t g = k % groups_, j = k / groups_;
  HEARSAY_ASSERT(j / 256 <= 65'535u - address_port);
  return peer_addr::from_ipv4(sybil_base | (g << 8) | (j & 0xFFu), static_cast<std::uint16_t>(address_port + j / 256));
}

bool address_plan::sybil_index_of(const peer_addr& a, std::uint32_t& index) const {
  if (!is_sybil_address(a) || a.port < address_port) return false;
  const std::uint32_t v = a.ipv4();
  const std::uint32_t g = (v >> 8) & 0xFFFFu;
  const std::uint64_t j = std::uint64_t{v & 0xFFu} | static_cast<std::uint64_t>(a.port - address_port) << 8;
  const std::uint64_t k = j * groups_ + g;
  if (g >= groups_ || k >= sybils()) return false;
  index = first_sybil_ + static_cast<std::uint32_t>(k);
  return true;
}

}  // namespace hearsay::sim
