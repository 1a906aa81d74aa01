#pragma once
// Transparent huge pages for the simulator's heap.
//
// A large simulation touches hundreds of MiB to GiBs of peer state in random order, so with
// 4 KiB pages nearly every access also misses the TLB. glibc's malloc backs its heap with
// transparent huge pages when the tunable glibc.malloc.hugetlb=1 is set, but tunables are
// read only at process start. When the kernel offers THP on request ("madvise" mode) and the
// tunable is not set yet, this re-executes the program with it set (same arguments, same
// environment otherwise): a 10^5-peer run takes about a fifth less time. The output does not
// change. HEARSAY_HUGE_PAGES=0 turns this off.

namespace hearsay::sim {

// Returns only when no re-execution is wanted or it failed (the run goes on without).
void reexec_with_huge_pages(char** argv);

}  // namespace hearsay::sim
