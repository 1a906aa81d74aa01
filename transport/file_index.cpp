// Shared-folder index (see file_index.hpp).

#include "transport/file_index.hpp"

#include <cstdio>

#include "overlay/sha256.hpp"

namespace hearsay::net {

namespace fs = std::filesystem;

bool file_index::hash_file(const fs::path& path, sha256_digest& out, std::uint64_t& size) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  sha256 h;
  std::vector<std::uint8_t> buf(1 << 16);
  size = 0;
  while (true) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), f);
    if (n > 0) {
      h.update(std::span(buf.data(), n));
      size += n;
    }
    if (n < buf.size()) break;
  }
  const bool ok = std::ferror(f) == 0;
  std::fclose(f);
  if (ok) out = h.finish();
  return ok;
}

std::error_code file_index::scan(const fs::path& dir, std::vector<std::string>& problems, std::size_t files_max) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return ec ? ec : std::make_error_code(std::errc::not_a_directory);
  // Reuse digests of files whose size and time did not change: a rescan stays cheap.
  std::map<fs::path, const indexed_file*> previous;
  for (const auto& [d, f] : by_digest_) previous[f.path] = &f;
  std::map<sha256_digest, indexed_file> next;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return ec;
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      problems.push_back(dir.string() + ": " + ec.message());
      ec.clear();
      break;
    }
    const auto& entry = *it;
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (entry.is_directory()) it.disable_recursion_pending();
      continue;  // hidden files, and our own partial downloads
    }
    if (!entry.is_regular_file(ec)) continue;
    if (next.size() >= files_max) {
      problems.push_back("more than " + std::to_string(files_max) + " files; the rest are not shared");
      break;
    }
    indexed_file f;
    f.path = entry.path();
    f.modified = entry.last_write_time(ec);
    const auto size = entry.file_size(ec);
    auto old = previous.find(f.path);
    if (old != previous.end() && old->second->modified == f.modified && old->second->info.size == size) {
      f.info = old->second->info;
    } else {
      std::uint64_t hashed_size = 0;
      if (!hash_file(f.path, f.info.sha256, hashed_size)) {
        problems.push_back(f.path.string() + ": cannot read");
        continue;
      }
      f.info.size = hashed_size;
    }
    f.info.name = name;
    next.emplace(f.info.sha256, std::move(f));
  }
  by_digest_ = std::move(next);
  return {};
}

const indexed_file* file_index::find(const sha256_digest& digest) const {
  auto it = by_digest_.find(digest);
  return it == by_digest_.end() ? nullptr : &it->second;
}

void file_index::fill(library& lib) const {
  lib.clear();
  for (const auto& [d, f] : by_digest_) lib.add(f.info);
}

std::uint64_t file_index::bytes() const {
  std::uint64_t total = 0;
  for (const auto& [d, f] : by_digest_) total += f.info.size;
  return total;
}

}  // namespace hearsay::net
