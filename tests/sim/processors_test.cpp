// How many processors a run may use: the affinity mask and the cgroup CPU quota.

#include "sim/processors.hpp"

#include <sched.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>

#include "sim/simulator.hpp"

using namespace hearsay;
using namespace hearsay::sim;

TEST_CASE("a CPU quota is read as processors, rounded up", "[sim]") {
  CHECK(processors_of_quota("100000", "100000") == 1);
  CHECK(processors_of_quota("150000", "100000") == 2);
  CHECK(processors_of_quota("50000", "100000") == 1);
  CHECK(processors_of_quota("400000", "100000") == 4);
  // No limit: cgroup v2 writes "max", v1 writes -1.
  CHECK(processors_of_quota("max", "100000") == 0);
  CHECK(processors_of_quota("-1", "100000") == 0);
  // Not understood: no limit is assumed.
  CHECK(processors_of_quota("", "") == 0);
  CHECK(processors_of_quota("100000", "0") == 0);
  CHECK(processors_of_quota("12ab", "100000") == 0);
}

namespace {
// Runs f with the calling thread confined to its first allowed processor, then restores
// the mask.
template <typename F>
void on_one_processor(F f) {
  cpu_set_t all;
  CPU_ZERO(&all);
  REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
  std::size_t first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  f();
  REQUIRE(sched_setaffinity(0, sizeof all, &all) == 0);
}
}  // namespace

TEST_CASE("the processors a run may use follow its affinity mask", "[sim]") {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  REQUIRE(sched_getaffinity(0, sizeof mask, &mask) == 0);
  const auto allowed = static_cast<unsigned>(CPU_COUNT(&mask));
  const unsigned n = usable_processors();
  CHECK(n >= 1);
  CHECK(n <= allowed);
  on_one_processor([] { CHECK(usable_processors() == 1); });
  CHECK(usable_processors() == n);
}

TEST_CASE("by default a large run takes a thread per processor it may use", "[sim]") {
  scenario s;
  s.peers = 20'000;  // from here on the default is more than one thread
  s.threads = 0;
  {
    simulator sim(s);
    CHECK(sim.threads() == std::min(usable_processors(), 63u));
  }
  on_one_processor([&] {
    simulator sim(s);
    CHECK(sim.threads() == 1);
  });
}
