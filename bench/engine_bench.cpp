// The simulator's event queue: a schedule/deliver loop at a steady number of pending events,
// for the calendar queue the simulator uses and, as the baseline it replaced, a 4-ary heap of
// the same records with the same payload slab.

#include <benchmark/benchmark.h>

#include <utility>
#include <vector>

#include "overlay/rng.hpp"
#include "sim/event_queue.hpp"
#include "sim/record_heap.hpp"

namespace {

struct small_event {
  std::uint32_t node;
  std::uint32_t kind;
};

// The heap-only queue: records in a 4-ary heap, payloads in a slab with a free list.
class heap_queue {
 public:
  struct popped {
    hearsay::micros at;
    small_event payload;
  };
  void push(hearsay::micros at, small_event e) {
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
      slab_[slot] = e;
    } else {
      slot = static_cast<std::uint32_t>(slab_.size());
      slab_.push_back(e);
    }
    heap_.push({at.count(), seq_++, slot});
  }
  popped pop() {
    const auto r = heap_.pop();
    free_.push_back(r.slot);
    return {hearsay::micros{r.at}, slab_[r.slot]};
  }

 private:
  hearsay::sim::record_heap heap_;
  std::vector<small_event> slab_;
  std::vector<std::uint32_t> free_;
  std::uint64_t seq_ = 0;
};

// Pops the earliest event and schedules one in its place 10-100 ms later, as a message
// delivery does: the queue holds `pending` events throughout.
template <typename Queue>
void event_loop(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  Queue q;
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

void bm_event_loop(benchmark::State& state) { event_loop<hearsay::sim::event_queue<small_event>>(state); }
void bm_event_loop_heap(benchmark::State& state) { event_loop<heap_queue>(state); }

BENCHMARK(bm_event_loop)->Arg(1'000)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000);
BENCHMARK(bm_event_loop_heap)->Arg(1'000)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000);

}  // namespace
