#pragma once
// The simulator's event queue: events ordered by (time, key), so that a run is reproducible.
// The key is the scheduling order (a sequence number the queue counts, with push(at, p)) or
// one the caller gives (push(at, key, p)): the simulator keys each event by the peer that
// scheduled it and that peer's own count, an order that does not depend on how the peers
// are spread over threads. Keys must be unique; use one kind of key per queue.
//
// A binary or 4-ary heap costs O(log n) cache misses per event once it holds millions of
// pending events (0.5-1.3 us per event at 10^6-10^7 on the test machine, bench/HISTORY.md).
// Almost every event here is scheduled a bounded time ahead (a link latency, a protocol
// timer), so the queue is a
// calendar in the manner of a timing wheel (Varghese & Lauck 1987; Brown's calendar queue,
// 1988): time is cut into buckets of 2^bucket_width_log2 microseconds, and a ring of
// 2^buckets_log2 buckets covers the near future. Pushing into a bucket is an append. When
// the clock reaches a bucket, its records are sorted by (time, sequence) and popped in that
// order. Events beyond the ring's horizon wait in a 4-ary heap and move into the current
// bucket when the clock reaches theirs. Records pushed into the bucket being drained (a
// timer for "now", a latency shorter than a bucket) go to a small heap beside it. The order
// popped is exactly the (time, sequence) order a single heap would give.
//
// Payloads live in a slab with a free list (sim/slab.hpp), so ordering moves only 24-byte
// records and a steady-state run allocates nothing per event. A payload never moves:
// emplace() builds it in its slot, and take() lends it to the caller in place until
// release(), while further events are pushed. Events may also name a slot in a slab another
// thread fills (push_from): the simulator's workers pass messages to each other that way.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "overlay/assert.hpp"
#include "overlay/types.hpp"
#include "sim/record_heap.hpp"
#include "sim/slab.hpp"

namespace hearsay::sim {

template <typename Payload>
class event_queue {
 public:
  struct popped {
    micros at;
    Payload payload;
  };
  // The earliest event, lent in place (see take()).
  struct taken {
    micros at;
    std::uint64_t key;
    Payload& payload;
    std::uint32_t slot;
  };

  // The defaults (1.024 ms buckets, 16,384 of them: a 16.8 s horizon) cover the link
  // latencies and protocol timers of the shipped scenarios, so the far heap stays small.
  explicit event_queue(unsigned bucket_width_log2 = 10, unsigned buckets_log2 = 14)
      : width_log2_(bucket_width_log2),
        bucket_mask_((std::uint64_t{1} << buckets_log2) - 1),
        buckets_(std::size_t{1} << buckets_log2) {
    HEARSAY_ASSERT(bucket_width_log2 < 40);
    HEARSAY_ASSERT(buckets_log2 >= 1 && buckets_log2 <= 24);
  }
  ~event_queue() { clear(); }
  event_queue(const event_queue&) = delete;
  event_queue& operator=(const event_queue&) = delete;

  // Destroys every pending event. The slabs of sources (add_source) must still exist.
  void clear() {
    auto drop = [&](const event_record& r) { release(r.slot); };
    for (std::size_t i = head_; i < current_.size(); ++i) drop(current_[i]);
    current_.clear();
    head_ = 0;
    for (auto& bucket : buckets_) {
      for (const auto& r : bucket) drop(r);
      bucket.clear();
    }
    late_.drain(drop);
    far_.drain(drop);
    in_ring_ = 0;
    size_ = 0;
    next_ready_ = false;
  }

  // Events must not be scheduled before time zero; an event may be scheduled earlier than
  // events already queued, though never before the last one popped (the simulator's clock
  // never runs backwards).
  void push(micros at, Payload payload) { push(at, next_seq_++, std::move(payload)); }
  void push(micros at, std::uint64_t key, Payload payload) {
    HEARSAY_ASSERT(at.count() >= 0);
    const std::uint32_t slot = own_.allocate();
    own_.construct(slot, std::move(payload));
    link(at, key, slot);
  }

  // Builds the payload's alternative T in its slot from args (no temporary payload).
  template <typename T, typename... Args>
  void emplace(micros at, std::uint64_t key, Args&&... args) {
    HEARSAY_ASSERT(at.count() >= 0);
    const std::uint32_t slot = own_.allocate();
    own_.construct(slot, std::in_place_type<T>, std::forward<Args>(args)...);
    link(at, key, slot);
  }

  // Payloads built elsewhere: another thread's slab (see slab.hpp) whose slots this queue may
  // read. add_source names it (1, 2, ...); push_from(at, key, source, slot) queues the event
  // in that slot. When such an event is released its slot is not reused here: it waits in
  // returned(source) until the slab's owner takes it back, at a time when neither side runs.
  unsigned add_source(slab<Payload>* source) {
    HEARSAY_ASSERT(sources_.size() < (std::size_t{1} << (32 - slab_type::slot_bits)));
    sources_.push_back(source);
    returned_.emplace_back();
    return static_cast<unsigned>(sources_.size() - 1);
  }
  void push_from(micros at, std::uint64_t key, unsigned source, std::uint32_t slot) {
    HEARSAY_ASSERT(at.count() >= 0);
    HEARSAY_ASSERT(source >= 1 && source < sources_.size() && slot < slab_type::slots_max);
    link(at, key, static_cast<std::uint32_t>(source) << slab_type::slot_bits | slot);
  }
  std::vector<std::uint32_t>& returned(unsigned source) { return returned_[source]; }

 private:
  Payload& at_slot(std::uint32_t handle) {
    return handle < slab_type::slots_max ? own_[handle] : (*sources_[handle >> slab_type::slot_bits])[handle & slot_mask];
  }
  const Payload& at_slot(std::uint32_t handle) const {
    return handle < slab_type::slots_max ? own_[handle] : (*sources_[handle >> slab_type::slot_bits])[handle & slot_mask];
  }

  void link(micros at, std::uint64_t key, std::uint32_t slot) {
    HEARSAY_ASSERT(next_seq_ < (std::uint64_t{1} << 62));
    ++pushed_;
    const event_record r{at.count(), key, slot};
    const std::int64_t b = bucket_of(r.at);
    if (b <= current_bucket_) {
      late_.push(r);
    } else if (static_cast<std::uint64_t>(b - current_bucket_) <= bucket_mask_) {
      if (b == current_bucket_ + 1) next_ready_ = false;  // prepared (prepare_next) no longer
      auto& bucket = ring_bucket(b);
      // Spares go to buckets of the near future only: those fill up with message deliveries.
      // Far buckets hold timers; a spare there would sit mostly empty for long. A bucket that
      // got its first records as a far one takes a spare too once it comes near (when the
      // spare is at least twice its size), those records moved over, rather than doubling
      // from their size: at 100,000 peers buckets reallocated 140,000 times, copying 600 MB,
      // most of them timer buckets of 64 to 128 records growing to a delivery bucket's size.
      if (b - current_bucket_ <= spare_reach && !spares_.empty() && 2 * bucket.capacity() <= spares_.back().capacity()) {
        auto& spare = spares_.back();
        spare.assign(bucket.begin(), bucket.end());
        bucket.swap(spare);
        spares_.pop_back();
      } else if (bucket.capacity() == 0) {
        bucket.reserve(far_bucket_start);  // not 1, 2, 4, 8 ...
      }
      // Written field by field into the bucket: a copy of r would be built on the stack and
      // read back whole, and that read cannot be served from the separate stores that built
      // it, so it waits for them (and every store before them) to reach the cache.
      event_record& e = bucket.emplace_back();
      e.at = r.at;
      e.seq = r.seq;
      e.slot = r.slot;
      ++in_ring_;
    } else {
      far_.push(r);
    }
    ++size_;
  }

 public:

  // The payload of the event `ahead` places behind the next one in the current bucket, or
  // nullptr. A hint for prefetching only: an event pushed since (into the late heap) may run
  // first, so this is not always the event that will be popped then.
  const Payload* peek(std::size_t ahead) const {
    const std::size_t i = head_ + ahead;
    if (i < current_.size()) return &at_slot(current_[i].slot);
    if (!next_ready_) return nullptr;
    const auto& next = ring_bucket(current_bucket_ + 1);
    const std::size_t j = i - current_.size();
    return j < next.size() ? &at_slot(next[j].slot) : nullptr;
  }

  // Sorts the bucket after the current one ahead of time, so that peek() sees past the end
  // of the current bucket into it: an event loop that warms events some way ahead otherwise
  // runs the first few dozen events of every bucket unwarmed. Call it when peek() comes up
  // short; it does nothing when that bucket is ready or empty. A record pushed into it
  // afterwards undoes it (the bucket is sorted again when the clock reaches it). The order
  // popped does not change.
  void prepare_next() {
    if (next_ready_ || in_ring_ == 0) return;
    const std::int64_t b = current_bucket_ + 1;
    auto& next = ring_bucket(b);
    if (next.empty()) return;
    // Its records still in the far heap join it now (fill_current would move them then).
    while (!far_.empty() && bucket_of(far_.top().at) == b) {
      next.push_back(far_.pop());
      ++in_ring_;
    }
    sort_bucket(next, b);
    next_ready_ = true;
  }

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::uint64_t scheduled() const { return pushed_; }

  // The time of the earliest event. Not const: it may advance the calendar to that event's
  // bucket, which changes nothing a caller can observe.
  micros next_time() {
    HEARSAY_ASSERT(size_ > 0);
    fill_current();
    return micros{front_is_current() ? current_[head_].at : late_.top().at};
  }

  popped pop() {
    const taken t = take();
    popped out{t.at, std::move(t.payload)};
    release(t.slot);
    return out;
  }

  // Removes the earliest event from the order and lends its payload in place: it stays valid
  // while events are pushed, until release(slot) gives the slot back.
  taken take() {
    HEARSAY_ASSERT(size_ > 0);
    fill_current();
    event_record r;
    if (front_is_current()) {
      r = current_[head_++];
    } else {
      r = late_.pop();
    }
    --size_;
    return taken{micros{r.at}, r.seq, at_slot(r.slot), r.slot};
  }
  // Destroys the payload and frees its slot.
  void release(std::uint32_t handle) {
    at_slot(handle).~Payload();
    if (handle < slab_type::slots_max) {
      own_.release(handle);
    } else {
      returned_[handle >> slab_type::slot_bits].push_back(handle & slot_mask);
    }
  }

 private:
  std::int64_t bucket_of(std::int64_t at) const { return at >> width_log2_; }

  // True when the earliest event is the head of the sorted current bucket rather than the
  // top of the late heap. Requires at least one of them to be non-empty.
  bool front_is_current() const {
    if (head_ == current_.size()) return false;
    return late_.empty() || current_[head_] < late_.top();
  }

  // Advances the calendar until the current bucket or the late heap holds an event.
  void fill_current() {
    while (head_ == current_.size() && late_.empty()) {
      HEARSAY_ASSERT(size_ > 0);
      // A prepared bucket is the next one, so the ring is not empty: no jump.
      const bool ready = next_ready_;
      next_ready_ = false;
      // Nothing in the ring: jump straight to the far heap's earliest bucket.
      current_bucket_ = in_ring_ == 0 ? bucket_of(far_.top().at) : current_bucket_ + 1;
      head_ = 0;
      auto& bucket = ring_bucket(current_bucket_);
      // The bucket's buffer becomes the current one and the ring slot starts empty: buffers
      // are not passed around the ring, where every slot would end up holding one as large as
      // the busiest bucket ever seen (tens of MiB idle at 10,000 peers).
      in_ring_ -= bucket.size();
      // The drained buffer waits among a few spares for the next bucket that starts filling,
      // so that buckets do not regrow from nothing (copying as they double) every time.
      if (current_.capacity() > 0 && spares_.size() < spares_max) {
        current_.clear();
        spares_.push_back(std::move(current_));
      }
      current_ = std::move(bucket);
      bucket = std::vector<event_record>{};
      if (ready) continue;  // sorted, with its far records, and nothing pushed into it since
      while (!far_.empty() && bucket_of(far_.top().at) == current_bucket_) current_.push_back(far_.pop());
      sort_bucket(current_, current_bucket_);
    }
  }

  std::vector<event_record>& ring_bucket(std::int64_t b) {
    return buckets_[static_cast<std::size_t>(static_cast<std::uint64_t>(b) & bucket_mask_)];
  }
  const std::vector<event_record>& ring_bucket(std::int64_t b) const {
    return buckets_[static_cast<std::size_t>(static_cast<std::uint64_t>(b) & bucket_mask_)];
  }

  // Sorts the records v of bucket b by (time, key). All their times fall in one bucket's width, so a
  // bucket of more than a few records is first laid out by its times' offsets in the bucket
  // in one stable counting pass, on the top bits of the offset with about as many digits as
  // records (at 100,000 peers some 700 records a worker in a 4,096 us bucket: 512 digits of
  // 8 us); then each digit's records, one or two as a rule, are put in (time, key) order by
  // insertion (a group of more than 16 by std::sort). That costs a few steps per record, where
  // a comparison sort costs about log2(n) comparisons, and two passes on 6-bit digits followed
  // by ordering the ties cost twice as many.
  void sort_bucket(std::vector<event_record>& v, std::int64_t b) {
    const std::size_t n = v.size();
    if (n < 64 || width_log2_ == 0) {
      std::sort(v.begin(), v.end());
      return;
    }
    const std::int64_t base = b << width_log2_;
    const unsigned digit_bits = std::min<unsigned>(width_log2_, static_cast<unsigned>(std::bit_width(n)) - 1);
    const unsigned shift = width_log2_ - digit_bits;  // the digit: the top bits of the offset
    const std::size_t digits = std::size_t{1} << digit_bits;
    auto digit = [&](const event_record& r) { return static_cast<std::size_t>(static_cast<std::uint64_t>(r.at - base) >> shift); };
    counts_.assign(digits, 0);
    for (const auto& r : v) ++counts_[digit(r)];
    std::uint32_t start = 0;
    for (auto& c : counts_) {
      const std::uint32_t here = c;
      c = start;
      start += here;
    }
    sorted_.resize(n);
    for (const auto& r : v) sorted_[counts_[digit(r)]++] = r;
    v.swap(sorted_);
    // counts_[d] is now where digit d's records end.
    event_record* const d = v.data();
    std::size_t begin = 0;
    for (const std::uint32_t end : counts_) {
      if (end - begin > 16) {
        std::sort(d + begin, d + end);
      } else {
        for (std::size_t i = begin + 1; i < end; ++i) {
          const event_record r = d[i];
          std::size_t j = i;
          for (; j > begin && r < d[j - 1]; --j) d[j] = d[j - 1];
          d[j] = r;
        }
      }
      begin = end;
    }
  }

  unsigned width_log2_;
  std::uint64_t bucket_mask_;
  std::vector<std::vector<event_record>> buckets_;  // the ring; bucket b lives at b & mask
  std::int64_t current_bucket_ = 0;
  std::vector<event_record> current_;  // the current bucket, sorted; popped from head_
  std::vector<event_record> sorted_;   // scratch of sort_bucket
  static constexpr std::size_t spares_max = 16;
  static constexpr std::int64_t spare_reach = 128;  // buckets ahead of the current one
  // Records a bucket without a spare starts with: a far bucket collects the protocol timers
  // of its 4 ms (about 50 a worker at 100,000 peers), so it starts with room for them.
  static constexpr std::size_t far_bucket_start = 64;
  std::vector<std::vector<event_record>> spares_;  // emptied bucket buffers, for reuse
  std::vector<std::uint32_t> counts_;  // scratch of sort_bucket
  std::size_t head_ = 0;
  bool next_ready_ = false;  // the bucket after the current one is sorted (prepare_next)
  record_heap late_;  // pushed into the current bucket (or earlier) after it was sorted
  record_heap far_;   // beyond the ring's horizon when pushed
  std::size_t in_ring_ = 0;
  std::size_t size_ = 0;
  using slab_type = slab<Payload>;
  static constexpr std::uint32_t slot_mask = slab_type::slots_max - 1;
  // Payload slots: this queue's own (handles below slots_max), and other slabs' (the handle's
  // high bits name the source; source 0 stands for own_).
  slab_type own_;
  std::vector<slab_type*> sources_{nullptr};
  std::vector<std::vector<std::uint32_t>> returned_{1};  // per source: slots to hand back
  std::uint64_t next_seq_ = 0;  // the key of push(at, payload)
  std::uint64_t pushed_ = 0;
};

}  // namespace hearsay::sim
