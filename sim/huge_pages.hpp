#pragma once
// Malloc settings for the simulator's heap: transparent huge pages, and growth in large steps.
//
// A large simulation touches hundreds of MiB to GiBs of peer state in random order, so with
// 4 KiB pages nearly every access also misses the TLB. glibc's malloc backs its heap with
// transparent huge pages when the tunable glibc.malloc.hugetlb=1 is set (a 10^5-peer run
// takes about a fifth less time). And a second event-loop thread allocates from its own
// arena, which glibc grows a page range at a time: with glibc.malloc.top_pad=64 MiB it grows
// in large steps, and that thread stops spending a third of its time in page faults. Tunables
// are read only at process start, so when they are not set yet this re-executes the program
// with them (same arguments, same environment otherwise). The output does not change.
// HEARSAY_HUGE_PAGES=0 turns this off.

namespace hearsay::sim {

// Returns only when no re-execution is wanted or it failed (the run goes on without).
void reexec_with_huge_pages(char** argv);

// "huge pages" or "4 KiB pages": what this process's heap was set up with (for the run's
// summary line; the page size changes how long a run takes, and nothing else).
const char* page_size_in_use();

}  // namespace hearsay::sim
