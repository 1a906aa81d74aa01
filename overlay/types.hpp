#pragma once
// Value types shared by the whole overlay: time, peer addresses, content digests.

#include <array>
#include <chrono>
#include <compare>
#include <cstring>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hearsay {

// All overlay time is integer microseconds on the driver's clock: virtual time in the
// simulator, a monotonic clock in the real node. Never double seconds.
using micros = std::chrono::microseconds;

// A query is named by a 64-bit id drawn from the origin's random stream.
using query_id = std::uint64_t;

// A peer's listen address: IPv6, with IPv4 stored IPv4-mapped (::ffff:a.b.c.d). This is the
// identity of a peer in views, in messages and in the transport. 18 bytes, no heap.
struct peer_addr {
  std::array<std::uint8_t, 16> ip{};
  std::uint16_t port = 0;

  static peer_addr from_ipv4(std::uint32_t ipv4_host_order, std::uint16_t port) {
    peer_addr a;
    a.ip[10] = 0xff;
    a.ip[11] = 0xff;
    a.ip[12] = static_cast<std::uint8_t>(ipv4_host_order >> 24);
    a.ip[13] = static_cast<std::uint8_t>(ipv4_host_order >> 16);
    a.ip[14] = static_cast<std::uint8_t>(ipv4_host_order >> 8);
    a.ip[15] = static_cast<std::uint8_t>(ipv4_host_order);
    a.port = port;
    return a;
  }
  // Parses "1.2.3.4:5", "[::1]:5"; a bare host takes default_port when it is nonzero. Port 0
  // ("any free port") is accepted only when port_zero_ok, as for a listen address.
  static std::optional<peer_addr> parse(std::string_view text, std::uint16_t default_port = 0,
                                        bool port_zero_ok = false);

  // Inline: the simulator maps addresses to peers on every message it passes.
  bool is_ipv4() const {
    std::uint64_t head;
    std::uint16_t mark;
    std::memcpy(&head, ip.data(), 8);
    std::memcpy(&mark, ip.data() + 10, 2);
    return head == 0 && ip[8] == 0 && ip[9] == 0 && mark == 0xffff;
  }
  std::uint32_t ipv4() const {  // host order; meaningful only when is_ipv4()
    return (std::uint32_t{ip[12]} << 24) | (std::uint32_t{ip[13]} << 16) | (std::uint32_t{ip[14]} << 8) |
           std::uint32_t{ip[15]};
  }
  bool is_unspecified() const {  // all-zero ip or port 0: not a usable address
    if (port == 0) return true;
    if (is_ipv4()) return ipv4() == 0;
    std::uint64_t a, b;
    std::memcpy(&a, ip.data(), 8);
    std::memcpy(&b, ip.data() + 8, 8);
    return (a | b) == 0;
  }
  std::string to_string() const;  // "1.2.3.4:5" or "[::1]:5"

  friend auto operator<=>(const peer_addr&, const peer_addr&) = default;
  // Views are scanned for membership on every message: compare as two words and a port
  // rather than through a byte-wise memcmp call (a profile's top entry before this).
  friend bool operator==(const peer_addr& a, const peer_addr& b) {
    std::uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a.ip.data(), 8);
    std::memcpy(&a1, a.ip.data() + 8, 8);
    std::memcpy(&b0, b.ip.data(), 8);
    std::memcpy(&b1, b.ip.data() + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0 && a.port == b.port;
  }
};

// The first of [first, last) equal to p, or last. Views are searched on every message: this
// compares the last eight bytes of the ip first, which tell peers apart (an IPv4-mapped
// address's first eight bytes are all zero), and the whole address only when they match.
inline const peer_addr* find_addr(const peer_addr* first, const peer_addr* last, const peer_addr& p) {
  std::uint64_t tail;
  std::memcpy(&tail, p.ip.data() + 8, 8);
  for (; first != last; ++first) {
    std::uint64_t t;
    std::memcpy(&t, first->ip.data() + 8, 8);
    if (t == tail && *first == p) return first;
  }
  return last;
}

// The network group of an address, for limits that one provider's block of addresses must
// not escape by using many addresses: an IPv4 /24 or an IPv6 /48, as a number (equal groups,
// equal numbers). After the bucketing of Bitcoin Core's address manager, at a finer grain.
std::uint64_t network_group(const peer_addr& a);
// Loopback, private (RFC 1918, unique-local), link-local and shared (RFC 6598) addresses:
// a test network on one host or one LAN lives there, and group limits leave them alone.
bool is_private(const peer_addr& a);

struct peer_addr_hash {
  std::size_t operator()(const peer_addr& a) const noexcept;
};

// A SHA-256 digest names a file by content.
struct sha256_digest {
  std::array<std::uint8_t, 32> bytes{};

  std::string to_hex() const;
  static std::optional<sha256_digest> from_hex(std::string_view hex);

  friend auto operator<=>(const sha256_digest&, const sha256_digest&) = default;
  friend bool operator==(const sha256_digest&, const sha256_digest&) = default;
};

}  // namespace hearsay

template <>
struct std::hash<hearsay::peer_addr> : hearsay::peer_addr_hash {};
