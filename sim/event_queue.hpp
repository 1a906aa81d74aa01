#pragma once
// The simulator's event queue: events ordered by (time, sequence number), so that events at
// the same virtual instant run in the order they were scheduled and a run is reproducible.
//
// The heap holds compact records (time, sequence, payload slot); payloads live in a
// slab with a free list, so sifting moves no message bodies and a steady-state run allocates
// nothing per event.

#include <cstdint>
#include <vector>

#include "overlay/assert.hpp"
#include "overlay/types.hpp"

namespace hearsay::sim {

template <typename Payload>
class event_queue {
 public:
  struct popped {
    micros at;
    Payload payload;
  };

  void push(micros at, Payload payload) {
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
      slab_[slot] = std::move(payload);
    } else {
      slot = static_cast<std::uint32_t>(slab_.size());
      slab_.push_back(std::move(payload));
    }
    HEARSAY_ASSERT(next_seq_ < (std::uint64_t{1} << 40));
    heap_.push_back(record{at.count(), next_seq_++, slot});
    sift_up(heap_.size() - 1);
  }

  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  micros next_time() const { return micros{heap_.front().at}; }
  std::uint64_t scheduled() const { return next_seq_; }

  popped pop() {
    HEARSAY_ASSERT(!heap_.empty());
    const record top = heap_.front();
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0);
    popped out{micros{top.at}, std::move(slab_[top.slot])};
    free_.push_back(top.slot);
    return out;
  }

 private:
  struct record {
    std::int64_t at;
    std::uint64_t seq;
    std::uint32_t slot;
    bool operator<(const record& o) const { return at != o.at ? at < o.at : seq < o.seq; }
  };

  // A 4-ary heap: half the depth of a binary heap, and a node's children share a cache line.
  void sift_up(std::size_t i) {
    const record r = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 4;
      if (!(r < heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = r;
  }
  void sift_down(std::size_t i) {
    const record r = heap_[i];
    const std::size_t n = heap_.size();
    while (true) {
      const std::size_t first = 4 * i + 1;
      if (first >= n) break;
      std::size_t best = first;
      const std::size_t last = first + 4 < n ? first + 4 : n;
      for (std::size_t c = first + 1; c < last; ++c) {
        if (heap_[c] < heap_[best]) best = c;
      }
      if (!(heap_[best] < r)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = r;
  }

  std::vector<record> heap_;
  std::vector<Payload> slab_;
  std::vector<std::uint32_t> free_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace hearsay::sim
