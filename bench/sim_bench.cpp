// Query latency in the simulator (virtual time) against fan-out and TTL, on one fixed
// scenario: 5,000 peers, uniform 10-100 ms links, 300 searches.

#include <benchmark/benchmark.h>

#include "sim/report.hpp"
#include "sim/simulator.hpp"

namespace {

void bm_simulated_query_latency(benchmark::State& state) {
  hearsay::sim::scenario s;
  s.peers = 5'000;
  s.stabilize = hearsay::micros{30'000'000};
  s.queries = 300;
  s.node.search.fanout = static_cast<std::uint32_t>(state.range(0));
  s.node.search.ttl = static_cast<std::uint8_t>(state.range(1));
  hearsay::sim::summary m;
  std::uint64_t events = 0;
  for (auto _ : state) {
    hearsay::sim::simulator sim(s);
    const auto r = sim.run();
    m = hearsay::sim::summarize(s, r);
    events += r.events;
  }
  state.counters["first_hit_p50_ms"] = static_cast<double>(m.first_hit_p50_us) / 1000.0;
  state.counters["first_hit_p99_ms"] = static_cast<double>(m.first_hit_p99_us) / 1000.0;
  state.counters["success"] = m.success_rate;
  state.counters["messages/query"] = m.query_messages_mean;
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(bm_simulated_query_latency)
    ->ArgsProduct({{2, 3, 4}, {3, 5, 7}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
