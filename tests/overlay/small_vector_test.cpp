// small_vector: inline storage, spilling to the heap, erase order, copies and moves; peer_view
// (a list of peers packed into 64-bit keys) against a plain vector.

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "overlay/peer_view.hpp"
#include "overlay/rng.hpp"
#include "overlay/small_vector.hpp"
#include "overlay/types.hpp"

using namespace hearsay;

TEST_CASE("small_vector keeps order through growth past its inline size, erase, copy and move", "[types]") {
  small_vector<peer_addr, 2> v;
  std::vector<peer_addr> model;
  CHECK(v.empty());
  for (std::uint16_t i = 1; i <= 5; ++i) {
    v.push_back(peer_addr::from_ipv4(0x0a000000u + i, i));
    model.push_back(peer_addr::from_ipv4(0x0a000000u + i, i));
  }
  CHECK(v.capacity() >= 5);
  REQUIRE(v.size() == 5);
  CHECK(std::vector<peer_addr>(v.begin(), v.end()) == model);
  v.erase(v.begin() + 1);
  model.erase(model.begin() + 1);
  CHECK(std::vector<peer_addr>(v.begin(), v.end()) == model);
  v.push_back(v[0]);  // an element of the vector itself, while it may have to grow
  model.push_back(model[0]);
  CHECK(std::vector<peer_addr>(v.begin(), v.end()) == model);

  small_vector<peer_addr, 2> copy = v;
  CHECK(std::vector<peer_addr>(copy.begin(), copy.end()) == model);
  copy[0] = peer_addr::from_ipv4(1, 1);
  CHECK(v[0] == model[0]);  // a deep copy

  small_vector<peer_addr, 2> moved = std::move(v);
  CHECK(std::vector<peer_addr>(moved.begin(), moved.end()) == model);
  CHECK(v.empty());
  v.push_back(model[1]);  // a moved-from vector is usable again, inline
  CHECK(v.size() == 1);
  CHECK(v[0] == model[1]);

  small_vector<peer_addr, 4> small;
  small.push_back(model[2]);
  small_vector<peer_addr, 4> small_moved = std::move(small);  // inline contents are copied over
  REQUIRE(small_moved.size() == 1);
  CHECK(small_moved[0] == model[2]);
  std::span<const peer_addr> view = small_moved;
  CHECK(view.size() == 1);
  small_moved.push_back(model[0]);
  small_moved.push_back(model[2]);
  small_moved.push_back(model[3]);
  CHECK(small_moved.erase_if([&](const peer_addr& p) { return p == model[2]; }) == 2);
  REQUIRE(small_moved.size() == 2);
  CHECK(small_moved[0] == model[0]);
  CHECK(small_moved[1] == model[3]);
  small_moved.clear();
  CHECK(small_moved.empty());
}

TEST_CASE("small_vector assign(n, v) fills in place or on the heap, replacing what was there", "[types]") {
  small_vector<std::uint16_t, 4> v;
  v.push_back(9);
  v.assign(3, 7);
  REQUIRE(v.size() == 3);
  CHECK(v.capacity() == 4);  // still inline
  CHECK(std::all_of(v.begin(), v.end(), [](std::uint16_t x) { return x == 7; }));
  v.assign(10, 0xffff);
  REQUIRE(v.size() == 10);
  CHECK(v.capacity() >= 10);  // spilled to the heap
  CHECK(std::all_of(v.begin(), v.end(), [](std::uint16_t x) { return x == 0xffff; }));
  v[4] = 1;
  v.assign(2, 5);
  REQUIRE(v.size() == 2);
  CHECK(v[0] == 5);
  CHECK(v[1] == 5);
  v.assign(0, 1);
  CHECK(v.empty());
}

TEST_CASE("peer_view finds, erases and keeps order exactly as a plain vector does", "[types]") {
  // A pool of IPv4 addresses, some differing only in the port or in the last byte, and IPv6
  // ones (kept whole beside the packed keys), among them one whose last bytes equal an IPv4
  // member's and the IPv4-compatible ::a00:1, so that no packed key is confused with them.
  std::vector<peer_addr> pool;
  for (std::uint32_t i = 0; i < 40; ++i) pool.push_back(peer_addr::from_ipv4(0x0a000000u + i * 61, 7000));  // several /24s
  pool.push_back(peer_addr::from_ipv4(0x0a000001u, 7001));
  pool.push_back(peer_addr::from_ipv4(0x0a000001u, 0));
  for (std::uint8_t i = 0; i < 8; ++i) {
    peer_addr v6;
    v6.ip[0] = 0x20;
    v6.ip[1] = 0x01;
    v6.ip[15] = i;
    v6.port = 7000;
    pool.push_back(v6);
  }
  peer_addr mapped_like = peer_addr::from_ipv4(0x0a000002u, 7000);
  mapped_like.ip[0] = 0x20;
  pool.push_back(mapped_like);
  peer_addr compatible;
  compatible.ip[12] = 10;
  compatible.ip[15] = 1;
  compatible.port = 7000;
  pool.push_back(compatible);

  peer_view view;
  std::vector<peer_addr> model;
  hearsay::rng random(5);
  std::size_t largest = 0;
  auto index_in_model = [&](const peer_addr& p) {
    const auto it = std::find(model.begin(), model.end(), p);
    return it == model.end() ? peer_view::npos : static_cast<std::size_t>(it - model.begin());
  };
  for (int step = 0; step < 20'000; ++step) {
    const peer_addr& p = pool[random.below(pool.size())];
    const auto what = random.below(6);  // more pushes than erases: the view fills past 32
    if (what >= 3 && index_in_model(p) == peer_view::npos) {
      view.push_back(p);
      model.push_back(p);
    } else if (what == 1 && !model.empty()) {
      const auto i = static_cast<std::size_t>(random.below(model.size()));
      view.erase_at(i);
      model.erase(model.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (what == 2) {
      const bool there = index_in_model(p) != peer_view::npos;
      REQUIRE(view.erase(p) == there);
      if (there) model.erase(model.begin() + static_cast<std::ptrdiff_t>(index_in_model(p)));
    }
    REQUIRE(view.find(p) == index_in_model(p));
    REQUIRE(view.contains(p) == (index_in_model(p) != peer_view::npos));
    REQUIRE(view.size() == model.size());
    REQUIRE(std::equal(view.begin(), view.end(), model.begin(), model.end()));
    for (std::size_t i = 0; i < model.size(); ++i) REQUIRE(view[i] == model[i]);
    // The /24 count over the packed keys, against one over whole addresses.
    if (p.is_ipv4()) {
      const auto same_group = [&](const peer_addr& q) { return q.is_ipv4() && network_group(q) == network_group(p); };
      const auto expected = static_cast<std::uint32_t>(std::count_if(model.begin(), model.end(), same_group));
      REQUIRE(view.count_ipv4_prefix(p, 24, 1000) == expected);
      REQUIRE(view.count_ipv4_prefix(p, 24, 2) == std::min<std::uint32_t>(expected, 2));
    }
    largest = std::max(largest, model.size());
  }
  CHECK(largest > 32);
  CHECK(view.has_ipv6() == std::any_of(model.begin(), model.end(), [](const peer_addr& q) { return !q.is_ipv4(); }));

  // Copies and moves keep the members (IPv6 ones too) and their order; a moved-from view is
  // empty and usable.
  for (const peer_addr& p : pool) {
    if (index_in_model(p) == peer_view::npos) {
      view.push_back(p);
      model.push_back(p);
    }
  }
  REQUIRE(view.has_ipv6());
  peer_view copy = view;
  CHECK(std::equal(copy.begin(), copy.end(), model.begin(), model.end()));
  copy.erase_at(0);
  CHECK(std::equal(view.begin(), view.end(), model.begin(), model.end()));  // the original is apart
  peer_view moved = std::move(view);
  CHECK(std::equal(moved.begin(), moved.end(), model.begin(), model.end()));
  CHECK(view.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  view.push_back(pool[0]);
  CHECK((view.size() == 1 && view[0] == pool[0] && view.find(pool[0]) == 0));
  copy = moved;
  CHECK(std::equal(copy.begin(), copy.end(), model.begin(), model.end()));
}
