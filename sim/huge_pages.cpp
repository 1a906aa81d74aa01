// Re-execution with glibc's huge-page tunable (see huge_pages.hpp).

#include "sim/huge_pages.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace hearsay::sim {

namespace {
constexpr const char* tunable = "glibc.malloc.hugetlb=1";

// "always [madvise] never": the bracketed word is the kernel's mode.
bool kernel_thp_on_request() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(in, line)) return false;
  return line.find("[madvise]") != std::string::npos;
}
}  // namespace

void reexec_with_huge_pages(char** argv) {
#if defined(__linux__) && defined(__GLIBC__)
  if (const char* off = std::getenv("HEARSAY_HUGE_PAGES"); off != nullptr && std::strcmp(off, "0") == 0) return;
  const char* current = std::getenv("GLIBC_TUNABLES");
  if (current != nullptr && std::strstr(current, "glibc.malloc.hugetlb") != nullptr) return;  // set already
  if (!kernel_thp_on_request()) return;  // "always" needs no request, "never" cannot be asked
  std::string value = current == nullptr || *current == '\0' ? std::string(tunable) : std::string(current) + ":" + tunable;
  if (setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // execv returned: it failed (no /proc, say). Carry on with ordinary pages; the variable
  // stays set so that child processes (a sweep's runs) do not try again.
#else
  static_cast<void>(argv);
#endif
}

}  // namespace hearsay::sim
