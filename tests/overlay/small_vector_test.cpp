// small_vector: inline storage, spilling to the heap, erase order, copies and moves.

#include <catch2/catch.hpp>

#include <vector>

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
