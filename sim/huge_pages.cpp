// Re-execution with glibc's malloc tunables (see huge_pages.hpp).

#include "sim/huge_pages.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace hearsay::sim {

namespace {
constexpr const char* tunables = "glibc.malloc.hugetlb=1:glibc.malloc.top_pad=67108864";
}  // namespace

void reexec_with_huge_pages(char** argv) {
#if defined(__linux__) && defined(__GLIBC__)
  if (const char* off = std::getenv("HEARSAY_HUGE_PAGES"); off != nullptr && std::strcmp(off, "0") == 0) return;
  const char* current = std::getenv("GLIBC_TUNABLES");
  if (current != nullptr && std::strstr(current, "glibc.malloc.hugetlb") != nullptr) return;  // set already
  // With the kernel's THP mode "always" the first one changes nothing, with "never" it is
  // ignored; either way the second one still helps.
  std::string value = current == nullptr || *current == '\0' ? std::string(tunables) : std::string(current) + ":" + tunables;
  if (setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // execv returned: it failed (no /proc, say). Carry on with ordinary pages; the variable
  // stays set so that child processes (a sweep's runs) do not try again.
#else
  static_cast<void>(argv);
#endif
}

const char* page_size_in_use() {
  const char* current = std::getenv("GLIBC_TUNABLES");
  if (current == nullptr || std::strstr(current, "glibc.malloc.hugetlb=1") == nullptr) return "4 KiB pages";
  // Asked for; the kernel gives none when its THP mode is "never".
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (std::getline(mode, line) && line.find("[never]") != std::string::npos) return "4 KiB pages";
  return "huge pages";
}

}  // namespace hearsay::sim
