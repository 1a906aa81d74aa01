// Shared-folder index (see file_index.hpp).

#include "transport/file_index.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <tuple>

#include "transport/sha256.hpp"

namespace hearsay::net {

namespace fs = std::filesystem;

namespace {

// Whether `path` lies inside `root` (both canonical): compared element by element, so that
// "/srv/shared-other" is not inside "/srv/shared".
bool inside(const fs::path& root, const fs::path& path) {
  auto r = root.begin(), p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    if (p == path.end() || *r != *p) return false;
  }
  return true;
}

}  // namespace

result<std::vector<std::string>> file_index::scan(const fs::path& dir, bool follow_symlinks, std::size_t files_max) {
  const std::string context = "cannot index " + dir.string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return failure(ec ? ec : std::make_error_code(std::errc::not_a_directory), context);
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return failure(ec, context);
  std::vector<std::string> problems;
  // Reuse digests of files whose size and time did not change: a rescan stays cheap.
  std::map<fs::path, const indexed_file*> previous;
  for (const auto& [d, f] : by_digest_) previous[f.path] = &f;
  std::map<sha256_digest, indexed_file> next;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return failure(ec, context);
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
    if (entry.is_symlink(ec) && !follow_symlinks) {
      const fs::path target = fs::canonical(entry.path(), ec);
      if (ec || !inside(root, target)) {
        problems.push_back(entry.path().string() + ": a link to a file outside the shared folder, not shared "
                           "(share.follow_symlinks = true shares it)");
        ec.clear();
        continue;
      }
    }
    if (next.size() >= files_max) {
      problems.push_back("more than " + std::to_string(files_max) + " files; the rest are not shared");
      break;
    }
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0) {
      problems.push_back(entry.path().string() + ": cannot read");
      continue;
    }
    indexed_file f;
    f.path = entry.path();
    f.modified = entry.last_write_time(ec);
    f.device = st.st_dev;
    f.inode = st.st_ino;
    f.modified_ns = std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    auto old = previous.find(f.path);
    if (old != previous.end() && old->second->modified_ns == f.modified_ns && old->second->info.size == size &&
        old->second->inode == f.inode && old->second->device == f.device) {
      f.info = old->second->info;
    } else {
      const auto hashed = hash_file(f.path);
      if (!hashed) {
        problems.push_back(f.path.string() + ": cannot read (" + hashed.error().code().message() + ")");
        continue;
      }
      f.info.sha256 = hashed->digest;
      f.info.size = hashed->size;
    }
    f.info.name = name;
    next.emplace(f.info.sha256, std::move(f));
  }
  by_digest_ = std::move(next);
  return problems;
}

const indexed_file* file_index::find(const sha256_digest& digest) const {
  auto it = by_digest_.find(digest);
  return it == by_digest_.end() ? nullptr : &it->second;
}

std::vector<const indexed_file*> file_index::list() const {
  std::vector<const indexed_file*> out;
  out.reserve(by_digest_.size());
  for (const auto& [d, f] : by_digest_) out.push_back(&f);
  std::sort(out.begin(), out.end(), [](const indexed_file* a, const indexed_file* b) {
    return std::tie(a->info.name, a->path) < std::tie(b->info.name, b->path);
  });
  return out;
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
