#pragma once
// How many processors this process may use: the default number of event-loop threads, and of
// parallel runs in a sweep.
//
// std::thread::hardware_concurrency() counts the machine's processors, not the ones this
// process may run on. A run confined to fewer (taskset, a container's cpuset or CPU quota, a
// batch system's allocation) that starts a thread per machine processor has two threads
// taking turns on one processor, and threads that wait for each other then wait for the
// scheduler as well: on one processor, 3x10^4 peers took 22 s on two threads against 4.2 s on
// one (bench/HISTORY.md).

#include <string>

namespace hearsay::sim {

// The processors in the calling thread's affinity mask, capped by its cgroup's CPU quota
// (rounded up) when there is one; at least 1.
unsigned usable_processors();

// A CPU quota as processors, rounded up: the quota and the period, as cgroup files write them
// (v2 cpu.max "150000 100000"; v1 cpu.cfs_quota_us and cpu.cfs_period_us). 0 when there is
// no limit ("max", -1) or the figures are not understood.
unsigned processors_of_quota(const std::string& quota, const std::string& period);

}  // namespace hearsay::sim
