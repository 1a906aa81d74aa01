// How many processors this process may use (see processors.hpp).

#include "sim/processors.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace hearsay::sim {

unsigned processors_of_quota(const std::string& quota, const std::string& period) {
  char* end = nullptr;
  const long long q = std::strtoll(quota.c_str(), &end, 10);
  if (end == quota.c_str() || (*end != '\0' && *end != '\n') || q <= 0) return 0;  // "max", -1: no limit
  const long long p = std::strtoll(period.c_str(), &end, 10);
  if (end == period.c_str() || p <= 0) return 0;
  return static_cast<unsigned>(std::max(1LL, (q + p - 1) / p));
}

namespace {
std::string first_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// The CPU quota of this process's cgroup, as processors (0: none found). /proc/self/cgroup
// names the group: "0::/path" (v2, where cpu.max holds "quota period" or "max period"), or
// "N:cpu,cpuacct:/path" (v1: cpu.cfs_quota_us, -1 for none, and cpu.cfs_period_us). Only the
// group's own limit is read (a container sees its group as the root).
unsigned quota_processors() {
  std::ifstream groups("/proc/self/cgroup");
  std::string line;
  while (std::getline(groups, line)) {
    const auto a = line.find(':');
    const auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (path == "/") path.clear();
    if (controllers.empty()) {
      const std::string max = first_line("/sys/fs/cgroup" + path + "/cpu.max");
      const auto space = max.find(' ');
      if (space != std::string::npos) {
        if (const unsigned n = processors_of_quota(max.substr(0, space), max.substr(space + 1)); n > 0) return n;
      }
      continue;
    }
    if (("," + controllers + ",").find(",cpu,") == std::string::npos) continue;
    for (const std::string& mount : {"/sys/fs/cgroup/" + controllers, std::string("/sys/fs/cgroup/cpu")}) {
      const std::string quota = first_line(mount + path + "/cpu.cfs_quota_us");
      if (quota.empty()) continue;
      return processors_of_quota(quota, first_line(mount + path + "/cpu.cfs_period_us"));
    }
  }
  return 0;
}
}  // namespace

unsigned usable_processors() {
  unsigned n = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = static_cast<unsigned>(CPU_COUNT(&set));
  if (n == 0) n = std::thread::hardware_concurrency();
  if (const unsigned q = quota_processors(); q > 0) n = std::min(n, q);
  return std::max(1u, n);
}

}  // namespace hearsay::sim
