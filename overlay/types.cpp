// Peer addresses and digests: parsing and printing. Address text is the C library's
// (inet_pton, inet_ntop); ports and digests are read here.

#include "overlay/types.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace hearsay {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char hex_digits[] = "0123456789abcdef";

// inet_pton wants a NUL-terminated string: the host is copied into a buffer, and a host
// too long for any address, or holding a NUL of its own, is refused before it is asked.
template <int family, std::size_t bytes>
std::optional<std::array<std::uint8_t, bytes>> parse_ip(std::string_view host) {
  char text[INET6_ADDRSTRLEN];
  if (host.size() >= sizeof text || host.find('\0') != std::string_view::npos) return std::nullopt;
  host.copy(text, host.size());
  text[host.size()] = '\0';
  std::array<std::uint8_t, bytes> out{};
  if (::inet_pton(family, text, out.data()) != 1) return std::nullopt;
  return out;
}

std::optional<std::uint16_t> parse_port(std::string_view s, bool zero_ok) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || (value == 0 && !zero_ok) || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<peer_addr> peer_addr::parse(std::string_view text, std::uint16_t default_port, bool port_zero_ok) {
  std::string_view host = text;
  std::optional<std::uint16_t> port;
  const bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = parse_port(rest.substr(1), port_zero_ok);
      if (!port) return std::nullopt;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    port = parse_port(text.substr(colon + 1), port_zero_ok);
    if (!port) return std::nullopt;
  }
  if (!port) {
    if (default_port == 0) return std::nullopt;
    port = default_port;
  }
  peer_addr a;
  a.port = *port;
  // Brackets enclose IPv6 literals only (RFC 3986, section 3.2.2).
  if (auto v4 = bracketed ? std::nullopt : parse_ip<AF_INET, 4>(host)) {
    std::copy(v4->begin(), v4->end(), a.ip.begin() + 12);
    a.ip[10] = a.ip[11] = 0xff;
  } else if (auto v6 = parse_ip<AF_INET6, 16>(host); v6 && host.find(':') != std::string_view::npos) {
    a.ip = *v6;
  } else {
    return std::nullopt;
  }
  return a;
}

std::string peer_addr::to_string() const {
  char text[INET6_ADDRSTRLEN + 2] = "[";
  if (is_ipv4()) {
    static_cast<void>(::inet_ntop(AF_INET, ip.data() + 12, text, sizeof text));
  } else {
    // inet_ntop writes RFC 5952 text, but for the deprecated IPv4-compatible addresses
    // (::a.b.c.d, the first 96 bits zero), which it writes dotted: those are written here as
    // the two hexadecimal groups they are, as RFC 5952 has them ("::2:3").
    const bool compatible = std::all_of(ip.begin(), ip.begin() + 12, [](std::uint8_t b) { return b == 0; }) &&
                            (ip[12] | ip[13]) != 0;
    if (compatible) {
      std::snprintf(text + 1, sizeof text - 1, "::%x:%x", (unsigned{ip[12]} << 8) | ip[13], (unsigned{ip[14]} << 8) | ip[15]);
    } else {
      static_cast<void>(::inet_ntop(AF_INET6, ip.data(), text + 1, sizeof text - 1));
    }
    std::strcat(text, "]");
  }
  std::string out = text;
  out += ':';
  out += std::to_string(port);
  return out;
}

std::size_t peer_addr_hash::operator()(const peer_addr& a) const noexcept {
  // The address as two words and the port, folded and passed through the splitmix64 / murmur3
  // finaliser, so that every input bit reaches every output bit: IPv4-mapped addresses
  // differ only in their last four bytes and the port, and a table indexed by the low bits
  // must still spread them. The words are assembled in a fixed byte order, so the value is
  // the same on every platform.
  std::uint64_t hi = 0, lo = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    hi = (hi << 8) | a.ip[i];
    lo = (lo << 8) | a.ip[8 + i];
  }
  auto mix = [](std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  // One finaliser per input word, each a bijection: two addresses that differ in only one
  // of the three parts (the common case: same network prefix, or same host on another
  // port) never collide.
  const std::uint64_t h = mix(mix(mix(hi ^ 0x9e3779b97f4a7c15ULL) ^ lo) ^ a.port);
  return static_cast<std::size_t>(h);
}

std::string sha256_digest::to_hex() const {
  std::string out(64, '0');
  for (std::size_t i = 0; i < 32; ++i) {
    out[2 * i] = hex_digits[bytes[i] >> 4];
    out[2 * i + 1] = hex_digits[bytes[i] & 0xf];
  }
  return out;
}

std::optional<sha256_digest> sha256_digest::from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  sha256_digest d;
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return d;
}

}  // namespace hearsay

namespace hearsay {

std::uint64_t network_group(const peer_addr& a) {
  if (a.is_ipv4()) return (std::uint64_t{1} << 48) | (a.ipv4() >> 8);
  std::uint64_t g = 0;
  for (std::size_t i = 0; i < 6; ++i) g = (g << 8) | a.ip[i];
  return g;
}

bool is_private(const peer_addr& a) {
  if (a.is_ipv4()) {
    const std::uint32_t v = a.ipv4();
    return (v >> 24) == 127 || (v >> 24) == 10 || (v >> 20) == ((172u << 4) | 1u) || (v >> 16) == ((192u << 8) | 168u) ||
           (v >> 16) == ((169u << 8) | 254u) || (v >> 22) == ((100u << 2) | 1u) || v == 0;
  }
  std::uint64_t head = 0, tail = 0;
  for (std::size_t i = 0; i < 8; ++i) head = (head << 8) | a.ip[i];
  for (std::size_t i = 8; i < 16; ++i) tail = (tail << 8) | a.ip[i];
  if (head == 0 && tail <= 1) return true;                  // :: and ::1
  if ((a.ip[0] & 0xfe) == 0xfc) return true;                // fc00::/7, unique local
  return a.ip[0] == 0xfe && (a.ip[1] & 0xc0) == 0x80;       // fe80::/10, link local
}

}  // namespace hearsay
