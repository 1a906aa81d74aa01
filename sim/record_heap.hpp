#pragma once
// The compact record the event queue orders, and a 4-ary min-heap of such records.
//
// A record names an event by its virtual time, its sequence number (the order in which it was
// scheduled, which breaks ties between events at the same instant) and the slab slot that
// holds its payload. Records are 24 bytes, so ordering them never moves a message body.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "overlay/assert.hpp"

namespace hearsay::sim {

struct event_record {
  std::int64_t at;    // virtual time, microseconds
  std::uint64_t seq;  // the event's key: scheduling order, or the caller's (event_queue.hpp)
  std::uint32_t slot; // the payload: a slot in the queue's slab, or in a source's (event_queue.hpp)

  friend bool operator<(const event_record& a, const event_record& b) {
    return a.at != b.at ? a.at < b.at : a.seq < b.seq;
  }
};

// A 4-ary heap: half the depth of a binary heap, and a node's four children share a cache
// line, which matters once the heap outgrows the caches.
class record_heap {
 public:
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  const event_record& top() const {
    HEARSAY_ASSERT(!heap_.empty());
    return heap_.front();
  }

  void push(const event_record& r) {
    heap_.push_back(r);
    sift_up(heap_.size() - 1);
  }

  // Every record, in no particular order, and then none.
  template <typename F>
  void drain(F&& f) {
    for (const auto& r : heap_) f(r);
    heap_.clear();
  }

  event_record pop() {
    HEARSAY_ASSERT(!heap_.empty());
    const event_record out = heap_.front();
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0);
    return out;
  }

 private:
  void sift_up(std::size_t i) {
    const event_record r = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 4;
      if (!(r < heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = r;
  }

  void sift_down(std::size_t i) {
    const event_record r = heap_[i];
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

  std::vector<event_record> heap_;
};

}  // namespace hearsay::sim
