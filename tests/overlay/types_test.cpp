// Peer addresses and digests: parsing, printing, and what is refused.

#include <catch2/catch.hpp>

#include <cctype>

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
                           "[1:2:3:4:5:6:7:8:9]:1", "[12345::]:1", "01.2.3.4x:5", " 1.2.3.4:5"}) {
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
}

TEST_CASE("address hashing is deterministic and spreads", "[types]") {
  hearsay::peer_addr_hash h;
  CHECK(h(peer_addr::from_ipv4(1, 2)) == h(peer_addr::from_ipv4(1, 2)));
  CHECK(h(peer_addr::from_ipv4(1, 2)) != h(peer_addr::from_ipv4(1, 3)));
  CHECK(h(peer_addr::from_ipv4(1, 2)) != h(peer_addr::from_ipv4(2, 2)));
}
