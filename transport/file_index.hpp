#pragma once
// The shared folder on disk: which files a node serves. Files are indexed by SHA-256 and
// served by digest only; a path never comes from the network, it comes from this index.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "overlay/library.hpp"
#include "overlay/messages.hpp"
#include "overlay/result.hpp"

namespace hearsay::net {

struct indexed_file {
  file_info info;
  std::filesystem::path path;
  std::filesystem::file_time_type modified;
  // The file itself (after any symbolic link), as indexed: a file served must still be this
  // one, unchanged, or it is refused (transfers.cpp).
  std::uint64_t device = 0, inode = 0;
  std::int64_t modified_ns = 0;
};

class file_index {
 public:
  // Scans `dir` recursively (regular files only, hidden names skipped), hashing files that
  // are new or changed since the last scan. Files that cannot be read are skipped and
  // returned as problems, and so are symbolic links that lead outside `dir` unless
  // follow_symlinks (links to folders are never followed). files_max bounds how many are
  // indexed. Fails (the index unchanged) when `dir` itself cannot be read.
  result<std::vector<std::string>> scan(const std::filesystem::path& dir, bool follow_symlinks = false,
                                        std::size_t files_max = 100'000);

  const indexed_file* find(const sha256_digest& digest) const;
  // Every indexed file, by name (then path).
  std::vector<const indexed_file*> list() const;
  std::size_t size() const { return by_digest_.size(); }
  // Rebuilds a node library from the index.
  void fill(library& lib) const;
  std::uint64_t bytes() const;


 private:
  std::map<sha256_digest, indexed_file> by_digest_;
};

}  // namespace hearsay::net
