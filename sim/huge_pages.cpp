// Page sizes and malloc tunables (see huge_pages.hpp).

#include "sim/huge_pages.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <utility>

#include "overlay/assert.hpp"

#if defined(HEARSAY_ADDRESS_SANITIZER)
#include <sanitizer/lsan_interface.h>
#endif

namespace hearsay::sim {

namespace {
constexpr const char* top_pad = "glibc.malloc.top_pad=67108864";
constexpr const char* huge_heap = "glibc.malloc.hugetlb=1";

// HEARSAY_HUGE_PAGES: '0' off, '1' huge heap pages on any host, anything else automatic.
char setting() {
  const char* v = std::getenv("HEARSAY_HUGE_PAGES");
  if (v != nullptr && (std::strcmp(v, "0") == 0 || std::strcmp(v, "1") == 0)) return v[0];
  return 'a';
}

bool thp_never() {
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  return std::getline(mode, line) && line.find("[never]") != std::string::npos;
}

bool has_tunable(const char* name) {
  const char* current = std::getenv("GLIBC_TUNABLES");
  return current != nullptr && std::strstr(current, name) != nullptr;
}
}  // namespace

bool host_reclaims_free_memory(const char* devices) {
#if defined(__linux__)
  // A virtio device of type 5 (memory balloon) whose negotiated features, a string of '0' and
  // '1' by bit number, have bit 5 (VIRTIO_BALLOON_F_REPORTING) set.
  std::error_code ec;
  for (const auto& dev : std::filesystem::directory_iterator(devices, ec)) {
    std::ifstream type(dev.path() / "device");
    std::string id;
    if (!(type >> id) || std::strtoul(id.c_str(), nullptr, 16) != 5) continue;
    std::ifstream features(dev.path() / "features");
    std::string bits;
    if ((features >> bits) && bits.size() > 5 && bits[5] == '1') return true;
  }
#endif
  return false;
}

void reexec_with_huge_pages(char** argv) {
#if defined(__linux__) && defined(__GLIBC__)
  const char mode = setting();
  if (mode == '0') return;
  if (has_tunable("glibc.malloc.top_pad")) return;  // set already (by the first execution, or by hand)
  // With the kernel's THP mode "always" the huge-page tunable changes nothing, with "never" it
  // is ignored; either way top_pad still helps.
  std::string ours = top_pad;
  if (mode == '1' || !host_reclaims_free_memory()) ours = std::string(huge_heap) + ":" + ours;
  const char* current = std::getenv("GLIBC_TUNABLES");
  const std::string value = current == nullptr || *current == '\0' ? ours : std::string(current) + ":" + ours;
  if (setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // execv returned: it failed (no /proc, say). Carry on with glibc's defaults; the variable
  // stays set so that child processes (a sweep's runs) do not try again.
#else
  static_cast<void>(argv);
#endif
}

bool huge_pages_for_arrays() {
#if defined(__linux__)
  return setting() != '0' && !thp_never();
#else
  return false;
#endif
}

memory_block::memory_block(std::size_t bytes) {
#if defined(__linux__)
  if (huge_pages_for_arrays()) {
    // The start is moved up to a 2 MiB boundary: map one huge page more than needed.
    constexpr std::size_t huge_page = std::size_t{2} << 20;
    const std::size_t whole = (bytes + huge_page - 1) / huge_page * huge_page;
    void* p = ::mmap(nullptr, whole + huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    mapping_ = p;
    mapped_ = whole + huge_page;
    data_ = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(p) + huge_page - 1) / huge_page * huge_page);
    ::madvise(data_, whole, MADV_HUGEPAGE);  // a hint: without it, the same memory in 4 KiB pages
#if defined(HEARSAY_ADDRESS_SANITIZER)
    // The leak checker scans the heap, not mappings of one's own: what the block's objects
    // point to would look leaked.
    __lsan_register_root_region(mapping_, mapped_);
#endif
    return;
  }
#endif
  data_ = ::operator new(bytes, std::align_val_t{64});
}

memory_block::~memory_block() { release(); }

namespace {
constexpr std::size_t large_threshold = std::size_t{4} << 20;
constexpr std::size_t huge_page_size = std::size_t{2} << 20;
// Decided once: a block must be released the way it was made.
bool mapped_large(std::size_t bytes) {
  static const bool huge = huge_pages_for_arrays();
  return bytes >= large_threshold && huge;
}
}  // namespace

void* allocate_large(std::size_t bytes) {
#if defined(__linux__)
  if (mapped_large(bytes)) {
    // Mapped one huge page over, then trimmed to a 2 MiB boundary at both ends: the mapping is
    // then exactly the block, and release_large unmaps it by its address and size.
    const std::size_t whole = (bytes + huge_page_size - 1) / huge_page_size * huge_page_size;
    void* p = ::mmap(nullptr, whole + huge_page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t aligned = (start + huge_page_size - 1) / huge_page_size * huge_page_size;
    if (aligned > start) ::munmap(p, aligned - start);
    const std::uintptr_t end = start + whole + huge_page_size;
    if (end > aligned + whole) ::munmap(reinterpret_cast<void*>(aligned + whole), end - (aligned + whole));
    ::madvise(reinterpret_cast<void*>(aligned), whole, MADV_HUGEPAGE);
    return reinterpret_cast<void*>(aligned);
  }
#endif
  return ::operator new(bytes, std::align_val_t{64});
}

void release_large(void* p, std::size_t bytes) {
  if (p == nullptr) return;
#if defined(__linux__)
  if (mapped_large(bytes)) {
    ::munmap(p, (bytes + huge_page_size - 1) / huge_page_size * huge_page_size);
    return;
  }
#endif
  ::operator delete(p, std::align_val_t{64});
}

memory_block::memory_block(memory_block&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)) {}

memory_block& memory_block::operator=(memory_block&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

void memory_block::release() noexcept {
  if (data_ == nullptr) return;
  if (mapping_ != nullptr) {  // only ever set on Linux (see the constructor)
#if defined(__linux__)
#if defined(HEARSAY_ADDRESS_SANITIZER)
    __lsan_unregister_root_region(mapping_, mapped_);
#endif
    ::munmap(mapping_, mapped_);
#endif
  } else {
    ::operator delete(data_, std::align_val_t{64});
  }
  data_ = nullptr;
  mapping_ = nullptr;
  mapped_ = 0;
}

const char* page_size_in_use() {
  if (!huge_pages_for_arrays()) return "4 KiB pages";
  return has_tunable("glibc.malloc.hugetlb=1") ? "huge pages" : "huge pages for the nodes";
}

}  // namespace hearsay::sim
