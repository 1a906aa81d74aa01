#pragma once
// A fixed graph for the topology and structure tests: built from its spec, or the test fails.

#include <catch2/catch.hpp>

#include <cstdint>
#include <utility>

#include "overlay/rng.hpp"
#include "sim/topology.hpp"

namespace hearsay::sim::test {

inline graph make(const char* spec, std::uint32_t n, std::uint64_t seed = 1) {
  topology_spec t;
  REQUIRE(t.parse(spec).ok());
  rng random(seed);
  auto g = build_graph(t, n, random);
  REQUIRE(g.ok());
  return std::move(*g);
}

}  // namespace hearsay::sim::test
