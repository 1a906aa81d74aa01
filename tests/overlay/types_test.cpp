// Peer addresses and digests: parsing, printing, and what is refused; token buckets.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "overlay/token_bucket.hpp"
#include "overlay/types.hpp"

using hearsay::peer_addr;
using hearsay::sha256_digest;

TEST_CASE("IPv4 and IPv6 addresses parse and print", "[types]") {
  auto a = peer_addr::parse("1.2.3.4:5");
  REQUIRE(a);
  CHECK(a->is_ipv4());
  CHECK(a->ipv4() == 0x01020304u);
  CHECK(a->port == 5);
  CHECK(a->to_string() == "1.2.3.4:5");

  auto b = peer_addr::parse("[::1]:7000");
  REQUIRE(b);
  CHECK_FALSE(b->is_ipv4());
  CHECK(b->to_string() == "[::1]:7000");

  auto c = peer_addr::parse("[2001:db8:0:0:1:0:0:1]:80");
  REQUIRE(c);
  CHECK(c->to_string() == "[2001:db8::1:0:0:1]:80");  // RFC 5952: the first longest zero run

  auto d = peer_addr::parse("[::ffff:10.0.0.1]:9");
  REQUIRE(d);
  CHECK(d->is_ipv4());
  CHECK(d->to_string() == "10.0.0.1:9");

  auto e = peer_addr::parse("10.0.0.7", 7000);
  REQUIRE(e);
  CHECK(e->port == 7000);
  CHECK(*e == peer_addr::from_ipv4(0x0A000007, 7000));

  // Round trips.
  for (const char* text : {"0.0.0.1:1", "255.255.255.255:65535", "[fe80::1:2]:3", "[1:2:3:4:5:6:7:8]:9"}) {
    auto p = peer_addr::parse(text);
    REQUIRE(p);
    CHECK(p->to_string() == text);
  }
}

TEST_CASE("malformed addresses are refused", "[types]") {
  for (const char* text : {"", "1.2.3.4", "1.2.3:4", "1.2.3.4.5:6", "256.1.1.1:1", "1.2.3.4:0", "1.2.3.4:65536",
                           "1.2.3.4:x", "host.example:80", "[::1", "[::1]x", "::1:80", "[1::2::3]:4",
                           "[1:2:3:4:5:6:7:8:9]:1", "[12345::]:1", "01.2.3.4x:5", " 1.2.3.4:5",
                           // inet_pton's IPv4: four decimal parts, none with a leading zero
                           "01.2.3.4:5", "1.2.3.004:5", "1.2.3:5", "0x1.2.3.4:5"}) {
    INFO(text);
    CHECK_FALSE(peer_addr::parse(text));
  }
  // Port 0 is "any port": only for listen addresses.
  auto any = peer_addr::parse("0.0.0.0:0", 0, true);
  REQUIRE(any);
  CHECK(any->port == 0);
  CHECK(peer_addr{}.is_unspecified());
  CHECK(peer_addr::from_ipv4(0, 7000).is_unspecified());
  CHECK(peer_addr::from_ipv4(1, 0).is_unspecified());
}

TEST_CASE("digests print as hex and parse back", "[types]") {
  sha256_digest d;
  for (std::size_t i = 0; i < 32; ++i) d.bytes[i] = static_cast<std::uint8_t>(i * 9);
  const auto hex = d.to_hex();
  CHECK(hex.size() == 64);
  CHECK(hex.substr(0, 6) == "000912");
  auto back = sha256_digest::from_hex(hex);
  REQUIRE(back);
  CHECK(*back == d);
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(sha256_digest::from_hex(upper) == d);
  CHECK_FALSE(sha256_digest::from_hex(hex.substr(1)));
  CHECK_FALSE(sha256_digest::from_hex(std::string(63, '0') + "g"));
  CHECK_FALSE(sha256_digest::from_hex(hex + "0"));
  CHECK_FALSE(sha256_digest::from_hex(""));
  CHECK_FALSE(sha256_digest::from_hex(hex.substr(0, 30) + " " + hex.substr(31)));
  CHECK_FALSE(sha256_digest::from_hex("0x" + hex.substr(2)));
  auto mixed = sha256_digest::from_hex("AbCdEf" + std::string(58, '0'));
  REQUIRE(mixed);
  CHECK(mixed->bytes[0] == 0xab);
  CHECK(mixed->bytes[2] == 0xef);
  CHECK(mixed->to_hex() == "abcdef" + std::string(58, '0'));
  CHECK(sha256_digest{}.to_hex() == std::string(64, '0'));
}

TEST_CASE("address hashing is deterministic and spreads", "[types]") {
  hearsay::peer_addr_hash h;
  CHECK(h(peer_addr::from_ipv4(1, 2)) == h(peer_addr::from_ipv4(1, 2)));
  CHECK(h(peer_addr::from_ipv4(1, 2)) != h(peer_addr::from_ipv4(1, 3)));
  CHECK(h(peer_addr::from_ipv4(1, 2)) != h(peer_addr::from_ipv4(2, 2)));
  CHECK(std::hash<peer_addr>{}(peer_addr::from_ipv4(7, 8)) == h(peer_addr::from_ipv4(7, 8)));

  // Addresses of one subnet, and one host on many ports, spread evenly over a table indexed
  // by the low bits and over one indexed by the high bits: 64 per bucket on average, and a
  // poor mix would pile hundreds into a few.
  constexpr std::size_t buckets = 1024;
  auto worst = [&](auto&& make, int shift) {
    std::vector<int> load(buckets);
    for (std::uint32_t i = 0; i < 65536; ++i) {
      const std::size_t v = h(make(i));
      ++load[(shift == 0 ? v : v >> shift) % buckets];
    }
    return *std::max_element(load.begin(), load.end());
  };
  auto subnet = [](std::uint32_t i) { return peer_addr::from_ipv4(0x0a000000 | i, 7000); };
  auto ports = [](std::uint32_t i) { return peer_addr::from_ipv4(0x0a000001, static_cast<std::uint16_t>(i)); };
  for (int shift : {0, 54}) {
    INFO("shift " << shift);
    CHECK(worst(subnet, shift) < 128);
    CHECK(worst(ports, shift) < 128);
  }
}

TEST_CASE("IPv6 text forms: compression, embedded IPv4, canonical output", "[types]") {
  const std::pair<const char*, const char*> cases[] = {
      {"[::]:1", "[::]:1"},
      {"[1::]:1", "[1::]:1"},
      {"[::2:3]:1", "[::2:3]:1"},
      {"[::1:0]:1", "[::1:0]:1"},  // IPv4-compatible addresses keep their hex groups
      {"[::1.2.3.4]:1", "[::102:304]:1"},
      {"[::2]:1", "[::2]:1"},
      {"[1:0:0:2:0:0:0:3]:1", "[1:0:0:2::3]:1"},       // the longest run, not the first
      {"[1:0:2:3:4:5:6:7]:1", "[1:0:2:3:4:5:6:7]:1"},  // a single zero group stays
      {"[0001:0DB8:00:0::ABCD]:443", "[1:db8::abcd]:443"},
      {"[1:2:3:4:5:6:7::]:1", "[1:2:3:4:5:6:7:0]:1"},
      {"[1:2:3:4:5:6:1.2.3.4]:1", "[1:2:3:4:5:6:102:304]:1"},
      {"[::ffff:192.168.0.1]:8", "192.168.0.1:8"},
  };
  for (const auto& [text, printed] : cases) {
    INFO(text);
    auto a = peer_addr::parse(text);
    REQUIRE(a);
    CHECK(a->to_string() == printed);
    CHECK(peer_addr::parse(a->to_string()) == a);
  }
  // Without brackets there is no port: a bare IPv6 host takes the default port.
  auto bare = peer_addr::parse("::1", 7000);
  REQUIRE(bare);
  CHECK(bare->to_string() == "[::1]:7000");
  auto mapped = peer_addr::parse("::ffff:10.1.2.3", 7000);
  REQUIRE(mapped);
  CHECK(*mapped == peer_addr::from_ipv4(0x0a010203, 7000));
  CHECK_FALSE(peer_addr::parse("::1"));
  CHECK_FALSE(peer_addr::parse("[::1]"));
  auto explicit_port = peer_addr::parse("[::1]:5", 7000);
  REQUIRE(explicit_port);
  CHECK(explicit_port->port == 5);

  for (const char* text : {"[1.2.3.4]:5", "[:1]:1", "[1:]:1", "[:::]:1", "[1:2:3:4:5:6:7:8::]:1",
                           "[::1:2:3:4:5:6:7:8]:1", "[1:2:3:4:5:6:7:1.2.3.4]:1", "[::ffff:1.2.3]:1",
                           "[::1.2.3.4.5]:1", "[1.2.3.4::]:1", "[g::1]:1", "[]:1", "[::1]:", "[::1]:-1",
                           "[::1]:65536", "[::1]:0", "[fe80::1%eth0]:1", "localhost:80", "1.2.3.4:5 "}) {
    INFO(text);
    CHECK_FALSE(peer_addr::parse(text, 7000));
  }
  CHECK_FALSE(peer_addr::parse(std::string_view("[::1\0]:1", 9)));
  CHECK_FALSE(peer_addr::parse(std::string_view("1.2.3.4\0:1", 9)));
  CHECK_FALSE(peer_addr::parse("[" + std::string(60, '0') + "1]:1"));  // longer than any address text
  auto any6 = peer_addr::parse("[::]:0", 0, true);
  REQUIRE(any6);
  CHECK(any6->is_unspecified());
  CHECK_FALSE(any6->is_ipv4());
}

TEST_CASE("IPv4 addresses map into IPv6 and back", "[types]") {
  const auto a = peer_addr::from_ipv4(0xc0a80102, 65535);
  CHECK(a.is_ipv4());
  CHECK(a.ipv4() == 0xc0a80102u);
  const std::array<std::uint8_t, 16> mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 2};
  CHECK(a.ip == mapped);
  CHECK(a.to_string() == "192.168.1.2:65535");
  CHECK_FALSE(a.is_unspecified());
  // ::1 and ::ffff:0:0/95 neighbours are not IPv4.
  CHECK_FALSE(peer_addr::parse("[::1]:1")->is_ipv4());
  CHECK_FALSE(peer_addr::parse("[::fffe:1.2.3.4]:1")->is_ipv4());
  CHECK_FALSE(peer_addr::parse("[1::ffff:1.2.3.4]:1")->is_ipv4());
  // Ordering and equality look at every byte and the port.
  CHECK(peer_addr::from_ipv4(1, 2) < peer_addr::from_ipv4(1, 3));
  CHECK(peer_addr::from_ipv4(1, 9) < peer_addr::from_ipv4(2, 1));
  CHECK(peer_addr::from_ipv4(1, 2) != peer_addr::from_ipv4(1, 3));
}

TEST_CASE("find_addr finds exactly what std::find finds", "[types]") {
  // Addresses that share the ip's last eight bytes but differ before them or in the port,
  // so that the tail match alone never decides.
  std::vector<peer_addr> pool;
  for (std::uint8_t head = 0; head < 3; ++head) {
    for (std::uint16_t port = 1; port <= 2; ++port) {
      for (std::uint32_t v4 = 1; v4 <= 3; ++v4) {
        peer_addr a = peer_addr::from_ipv4(0x0a000000u + v4, port);
        a.ip[0] = head;  // head 0: IPv4-mapped; others: IPv6 with the same tail
        pool.push_back(a);
      }
    }
  }
  for (std::size_t n = 0; n <= pool.size(); ++n) {
    const std::vector<peer_addr> view(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(n));
    for (const peer_addr& p : pool) {
      const peer_addr* found = hearsay::find_addr(view.data(), view.data() + view.size(), p);
      const auto expected = std::find(view.begin(), view.end(), p);
      REQUIRE(found - view.data() == expected - view.begin());
    }
  }
}

TEST_CASE("token buckets start full, refill at their rate and never hold more than the burst", "[types]") {
  using hearsay::micros;
  hearsay::token_state level;
  // 4 tokens a second, a burst of 3: a fresh level has all 3.
  int taken = 0;
  while (level.take(micros{1'000'000}, 4, 3)) ++taken;
  CHECK(taken == 3);
  // 250 ms later: one more, not two.
  CHECK(level.take(micros{1'250'000}, 4, 3));
  CHECK_FALSE(level.take(micros{1'250'000}, 4, 3));
  // An hour later the bucket is full again, and no fuller than the burst.
  taken = 0;
  while (level.take(micros{3'601'250'000}, 4, 3)) ++taken;
  CHECK(taken == 3);
  // A time before the last take refills nothing.
  CHECK_FALSE(level.take(micros{0}, 4, 3));
  // Rate 0 is no limit; a burst of 0 counts as 1.
  hearsay::token_state unlimited;
  for (int k = 0; k < 1000; ++k) REQUIRE(unlimited.take(micros{5}, 0, 1));
  hearsay::token_bucket one(1, 0);
  CHECK(one.take(micros{0}));
  CHECK_FALSE(one.take(micros{0}));
  CHECK(one.take(micros{1'000'000}));
}
