// small_vector: inline storage, spilling to the heap, erase order, copies and moves; peer_view
// (a list of peers with address tags) against a plain vector.

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
  // A pool of addresses that includes pairs with equal tags (found by search), IPv6 ones and
  // ones differing only in the port, so that a tag match is confirmed on the whole address.
  std::vector<peer_addr> pool;
  for (std::uint32_t i = 0; i < 40; ++i) pool.push_back(peer_addr::from_ipv4(0x0a000000u + i, 7000));
  pool.push_back(peer_addr::from_ipv4(0x0a000001u, 7001));
  peer_addr v6;
  v6.ip[0] = 0x20;
  v6.ip[15] = 1;
  v6.port = 7000;
  pool.push_back(v6);
  std::size_t collisions = 0;
  for (std::uint32_t i = 1000; collisions < 6 && i < 2'000'000; ++i) {
    const peer_addr a = peer_addr::from_ipv4(0x0b000000u + i, 9);
    for (std::size_t k = 0; k < 40; ++k) {
      if (peer_view::tag_of(a) == peer_view::tag_of(pool[k])) {
        pool.push_back(a);
        ++collisions;
        break;
      }
    }
  }
  REQUIRE(collisions == 6);

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
    largest = std::max(largest, model.size());
  }
  CHECK(largest > 32);  // the tags spilled past their inline 32
}
