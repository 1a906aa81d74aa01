// The simulator's event queue: a schedule/deliver loop at a steady number of pending events.

#include <benchmark/benchmark.h>

#include "overlay/rng.hpp"
#include "sim/event_queue.hpp"

namespace {

struct small_event {
  std::uint32_t node;
  std::uint32_t kind;
};

// Pops the earliest event and schedules one in its place 10-100 ms later, as a message
// delivery does: the queue holds `pending` events throughout.
void bm_event_loop(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  hearsay::sim::event_queue<small_event> q;
  hearsay::rng random(1);
  for (std::size_t i = 0; i < pending; ++i) {
    q.push(hearsay::micros{static_cast<std::int64_t>(random.below(100'000))}, {static_cast<std::uint32_t>(i), 0});
  }
  std::uint64_t processed = 0;
  for (auto _ : state) {
    auto e = q.pop();
    benchmark::DoNotOptimize(e.payload.node);
    q.push(e.at + hearsay::micros{10'000 + static_cast<std::int64_t>(random.below(90'000))}, e.payload);
    ++processed;
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(processed), benchmark::Counter::kIsRate);
  state.counters["pending"] = static_cast<double>(pending);
}
BENCHMARK(bm_event_loop)->Arg(1'000)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000);

}  // namespace
