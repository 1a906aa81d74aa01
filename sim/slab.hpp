#pragma once
// A slab of event payloads: slots of raw storage in fixed chunks, with a free list. A slot
// never moves, so a payload is built in place and lent out in place.
//
// One thread allocates and builds; another may read slots while it does. The simulator's
// workers each keep a slab per other worker, for the messages they send its peers: the
// receiver reads a payload where the sender built it, and hands the slot back between windows
// (sim/simulator.hpp). So the table of chunks never moves: it is one fixed array of chunk
// pointers (128 KiB, zeroed when the slab is made), and adding a chunk writes a new entry
// only, nothing a reader may be looking at. A slot is then found with
// one load, which every event does several times (the event loop's look-ahead, then the run).

#include <array>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "overlay/assert.hpp"
#include "sim/write_prefetch.hpp"

namespace hearsay::sim {

template <typename T>
class slab {
 public:
  // Slot numbers fit in slot_bits bits (the event queue keeps the bits above for the slab's
  // number): 64 M slots, far more than the events pending in any run that fits in memory.
  static constexpr unsigned slot_bits = 26;
  static constexpr std::uint32_t slots_max = std::uint32_t{1} << slot_bits;

  slab() = default;
  slab(const slab&) = delete;
  slab& operator=(const slab&) = delete;

  // A free slot, raw: construct() a payload in it before any other use.
  std::uint32_t allocate() {
    if (!free_.empty()) {
      const std::uint32_t slot = free_.back();
      free_.pop_back();
      // The next slot to go out will be written soon. In a slab for another worker's peers
      // its lines were last written by that worker's core (destroying the payload it ran), so
      // a write without warning would wait for them to cross between cores; asked for now,
      // they arrive while other events run (12-17 % less time at 100,000 peers on 2 threads).
      if (!free_.empty()) {
        const cell& next = chunk_of(free_.back())[free_.back() & chunk_mask];
        if constexpr (alignof(cell) >= 64) {
          prefetch_aligned_for_write<sizeof(T)>(next.bytes);
        } else {
          prefetch_line_for_write(next.bytes);
        }
      }
      return slot;
    }
    HEARSAY_ASSERT(made_ < slots_max);
    if ((made_ & chunk_mask) == 0) chunks_[made_ >> chunk_log2] = std::make_unique<cell[]>(chunk_size);
    return made_++;
  }
  // Gives back a slot whose payload was destroyed (see destroy()).
  void release(std::uint32_t slot) {
    HEARSAY_ASSERT(slot < made_);
    free_.push_back(slot);
  }

  // Slots hold raw storage: a payload is constructed into a slot when it is allocated and
  // destroyed when it is done with, while its lines are still in the cache. (Destroying it
  // only when the slot is reused would read a cold line before every write to it.) The slab
  // does not track which slots hold a payload: its user destroys them all before the slab.
  template <typename... Args>
  T& construct(std::uint32_t slot, Args&&... args) {
    return *::new (static_cast<void*>(chunk_of(slot)[slot & chunk_mask].bytes)) T(std::forward<Args>(args)...);
  }
  void destroy(std::uint32_t slot) { (*this)[slot].~T(); }

  T& operator[](std::uint32_t slot) { return *std::launder(reinterpret_cast<T*>(chunk_of(slot)[slot & chunk_mask].bytes)); }
  const T& operator[](std::uint32_t slot) const {
    return *std::launder(reinterpret_cast<const T*>(chunk_of(slot)[slot & chunk_mask].bytes));
  }

  std::uint32_t slots_made() const { return made_; }

 private:
  static constexpr unsigned chunk_log2 = 12;
  static constexpr std::uint32_t chunk_size = std::uint32_t{1} << chunk_log2;
  static constexpr std::uint32_t chunk_mask = chunk_size - 1;
  // A payload of a cache line or more takes as few lines as it can: one of 65-96 bytes (the
  // simulator's 88-byte event) sits in a 96-byte slot on a 32-byte boundary, which always
  // spans two lines, as a 128-byte slot on a line would, in three quarters of the memory;
  // a larger one starts on a line. Packed slots would straddle a third line half the time.
  static constexpr std::size_t cell_align =
      sizeof(T) > 96 || sizeof(T) == 64 ? 64 : (sizeof(T) > 64 ? 32 : alignof(T));
  struct alignas(cell_align) cell {
    alignas(T) unsigned char bytes[sizeof(T)];
  };

  cell* chunk_of(std::uint32_t slot) const { return chunks_[slot >> chunk_log2].get(); }

  std::array<std::unique_ptr<cell[]>, (slots_max >> chunk_log2)> chunks_;
  std::uint32_t made_ = 0;                          // slots made so far
  std::vector<std::uint32_t> free_;
};

}  // namespace hearsay::sim
