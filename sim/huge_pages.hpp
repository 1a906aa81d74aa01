#pragma once
// Page sizes for the simulator's memory: transparent huge pages where they pay, and heap
// growth in large steps.
//
// A large simulation touches hundreds of MiB to GiBs of peer state in random order, so with
// 4 KiB pages nearly every access also misses the TLB. Two parts:
//
// - The array of nodes (a tenth to a half of a run's memory, made once, built by all the
//   workers' threads at once) is mapped on its own and asked for huge pages (MADV_HUGEPAGE).
// - The malloc heap (duplicate caches, passive views, event payloads) is backed by huge pages
//   when the tunable glibc.malloc.hugetlb=1 is set, except on a host that takes free memory
//   back: a virtual machine whose balloon device reports free pages to its host (virtio
//   free page reporting) gets back free blocks of 2 MiB, exactly the blocks a huge page needs,
//   so that each fresh huge page is a fault on the host as well, and a run spends more in
//   faults, and in threads waiting for one another's faults, than it saves in TLB misses
//   (at 10^5 peers, 4 KiB heap pages took about a tenth less time there; bench/HISTORY.md).
//   The heap keeps 4 KiB pages on such a host.
//
// Either way glibc.malloc.top_pad=64 MiB makes every arena grow in large steps: a second
// event-loop thread allocates from its own arena, which glibc otherwise grows a few pages at a
// time, and that thread spent a third of its time in page faults. Tunables are read only at
// process start, so when they are not set yet this re-executes the program with them (same
// arguments, same environment otherwise). The output does not change.
//
// HEARSAY_HUGE_PAGES=0 turns all of this off (4 KiB pages, glibc's defaults);
// HEARSAY_HUGE_PAGES=1 backs the heap with huge pages whatever the host.

#include <cstddef>

namespace hearsay::sim {

// Returns only when no re-execution is wanted or it failed (the run goes on without).
void reexec_with_huge_pages(char** argv);

// Whether large arrays made once (the simulator's nodes) should be asked for huge pages: not
// when HEARSAY_HUGE_PAGES=0 or the kernel's THP mode is "never".
bool huge_pages_for_arrays();

// A large block of memory made once and kept (the node array): with huge_pages_for_arrays(),
// a mapping of its own on 2 MiB boundaries asked for huge pages (rounded up to whole huge
// pages; zero-filled), else from operator new (64-byte aligned). Throws std::bad_alloc when
// there is no memory.
class memory_block {
 public:
  memory_block() = default;
  explicit memory_block(std::size_t bytes);
  ~memory_block();
  memory_block(memory_block&& other) noexcept;
  memory_block& operator=(memory_block&& other) noexcept;

  void* data() const { return data_; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  void* mapping_ = nullptr;  // the mapping, when the block has one
  std::size_t mapped_ = 0;
};

// Whether this machine's balloon device reports free memory to its host (see above), as the
// virtio devices under `devices` (sysfs: /sys/bus/virtio/devices) tell: a device of type 5
// (memory balloon) that negotiated feature 5 (free page reporting).
bool host_reclaims_free_memory(const char* devices = "/sys/bus/virtio/devices");

// Storage for large arrays of plain values made once and read at random (a fixed graph's lists,
// the compact engine's peers): blocks of 4 MiB and more are mappings of their own on 2 MiB
// boundaries asked for huge pages (with huge_pages_for_arrays()), smaller ones come from the
// heap. Zero-filled or not, as operator new. Throws std::bad_alloc when there is no memory.
void* allocate_large(std::size_t bytes);
void release_large(void* p, std::size_t bytes);

// A standard allocator over allocate_large, for std::vector.
template <typename T>
struct large_allocator {
  using value_type = T;
  large_allocator() = default;
  template <typename U>
  large_allocator(const large_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_large(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { release_large(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const large_allocator<U>&) const noexcept {
    return true;
  }
};

// What this process was set up with, for the run's summary line (the page size changes how
// long a run takes, and nothing else): "huge pages", "huge pages for the nodes" (the heap in
// 4 KiB pages), or "4 KiB pages".
const char* page_size_in_use();

}  // namespace hearsay::sim
