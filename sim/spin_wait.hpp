#pragma once
// How the simulator's threads wait for each other at the ends of windows of virtual time
// (the node engine's workers, workers.cpp, and the compact engine's, compact.cpp).

#include <algorithm>
#include <atomic>

namespace hearsay::sim {

// Waits until `a` no longer holds `old` and returns what it holds. First spinning with the
// processor's pause hint: windows follow each other within microseconds, and a sleep and a
// wake-up cost more than that on a virtual machine. Then asleep in the kernel until the value
// changes (the writer notifies). The spin is long while waits end within it (up to 65,536
// pauses, 1.6 ms here) and shortens (halving, down to 1,024 pauses) after each wait that had
// to sleep, as when there are more threads than processors free and the other thread is not
// running: there a long spin only keeps the other thread from its processor, and a short
// fixed one sleeps too often when both have one (bench/HISTORY.md).
struct spin_budget {
  unsigned pauses = max_pauses;
  static constexpr unsigned max_pauses = 1u << 16, min_pauses = 1u << 10;
};

template <typename T>
inline T wait_for_change(const std::atomic<T>& a, T old, spin_budget& budget) {
  for (unsigned spins = 0; spins < budget.pauses; ++spins) {
    const T v = a.load(std::memory_order_acquire);
    if (v != old) {
      budget.pauses = std::min(spin_budget::max_pauses, 2 * budget.pauses);
      return v;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  budget.pauses = std::max(spin_budget::min_pauses, budget.pauses / 2);
  while (true) {
    a.wait(old, std::memory_order_acquire);
    const T v = a.load(std::memory_order_acquire);
    if (v != old) return v;
  }
}

}  // namespace hearsay::sim
