// Peer addresses and digests: parsing and printing, written without iostreams or regex.

#include "overlay/types.hpp"

#include <algorithm>
#include <charconv>

namespace hearsay {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char hex_digits[] = "0123456789abcdef";

// Dotted IPv4 "a.b.c.d", each part 0..255 without leading junk.
std::optional<std::uint32_t> parse_ipv4(std::string_view s) {
  std::uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (s.empty() || s.front() != '.') return std::nullopt;
      s.remove_prefix(1);
    }
    std::size_t digits = 0;
    unsigned octet = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') {
      octet = octet * 10 + static_cast<unsigned>(s[digits] - '0');
      if (++digits > 3 || octet > 255) return std::nullopt;
    }
    if (digits == 0) return std::nullopt;
    s.remove_prefix(digits);
    value = (value << 8) | octet;
  }
  if (!s.empty()) return std::nullopt;
  return value;
}

// IPv6 text (RFC 4291 section 2.2): eight groups, "::" once, optional trailing IPv4.
std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view s) {
  std::array<std::uint16_t, 8> groups{};
  int count = 0;
  int gap = -1;  // index where "::" stands
  if (s.substr(0, 2) == "::") {
    gap = 0;
    s.remove_prefix(2);
  } else if (!s.empty() && s.front() == ':') {
    return std::nullopt;
  }
  while (!s.empty()) {
    if (count == 8) return std::nullopt;
    // An embedded IPv4 takes the last two groups.
    const auto colon = s.find(':');
    const auto token = s.substr(0, colon);
    if (colon == std::string_view::npos && token.find('.') != std::string_view::npos) {
      if (count > 6) return std::nullopt;
      auto v4 = parse_ipv4(token);
      if (!v4) return std::nullopt;
      groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(*v4 >> 16);
      groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(*v4 & 0xffff);
      s = {};
      break;
    }
    if (token.empty() || token.size() > 4) return std::nullopt;
    unsigned g = 0;
    for (char c : token) {
      const int h = hex_value(c);
      if (h < 0) return std::nullopt;
      g = g * 16 + static_cast<unsigned>(h);
    }
    groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(g);
    if (colon == std::string_view::npos) {
      s = {};
      break;
    }
    s.remove_prefix(colon + 1);
    if (!s.empty() && s.front() == ':') {
      if (gap >= 0) return std::nullopt;
      gap = count;
      s.remove_prefix(1);
    } else if (s.empty()) {
      return std::nullopt;  // trailing single colon
    }
  }
  if (gap < 0 && count != 8) return std::nullopt;
  if (gap >= 0 && count > 7) return std::nullopt;
  std::array<std::uint16_t, 8> full{};
  if (gap < 0) {
    full = groups;
  } else {
    const int tail = count - gap;
    for (int i = 0; i < gap; ++i) full[static_cast<std::size_t>(i)] = groups[static_cast<std::size_t>(i)];
    for (int i = 0; i < tail; ++i) {
      full[static_cast<std::size_t>(8 - tail + i)] = groups[static_cast<std::size_t>(gap + i)];
    }
  }
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<std::uint8_t>(full[i] >> 8);
    out[2 * i + 1] = static_cast<std::uint8_t>(full[i] & 0xff);
  }
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
  // Brackets enclose IPv6 literals only (RFC 3986, section 3.2.2).
  if (auto v4 = bracketed ? std::nullopt : parse_ipv4(host)) {
    a = from_ipv4(*v4, *port);
  } else if (auto v6 = parse_ipv6(host); v6 && host.find(':') != std::string_view::npos) {
    a.ip = *v6;
    a.port = *port;
  } else {
    return std::nullopt;
  }
  return a;
}

std::string peer_addr::to_string() const {
  std::string out;
  if (is_ipv4()) {
    const auto v = ipv4();
    for (int shift = 24; shift >= 0; shift -= 8) {
      out += std::to_string((v >> shift) & 0xff);
      if (shift > 0) out += '.';
    }
  } else {
    // RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::".
    std::array<unsigned, 8> g{};
    for (std::size_t i = 0; i < 8; ++i) g[i] = (unsigned{ip[2 * i]} << 8) | ip[2 * i + 1];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
      if (g[static_cast<std::size_t>(i)] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && g[static_cast<std::size_t>(j)] == 0) ++j;
      if (j - i > best_len && j - i >= 2) {
        best = i;
        best_len = j - i;
      }
      i = j;
    }
    out += '[';
    for (int i = 0; i < 8; ++i) {
      if (i == best) {
        out += "::";
        i += best_len - 1;
        continue;
      }
      if (i > 0 && i != best + best_len) out += ':';
      char buf[8];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, g[static_cast<std::size_t>(i)], 16);
      static_cast<void>(ec);
      out.append(buf, end);
    }
    out += ']';
  }
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
