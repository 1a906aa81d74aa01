#pragma once
// A download in progress on disk.
//
// Layout: DOWNLOADS/.hearsay-parts/<sha256 hex>.part holds the bytes stored so far (at their
// offsets; pieces from several holders arrive out of order), and <sha256 hex>.state what a
// later run needs to resume: the file's name and size, its holders and the byte ranges
// stored. Part files are named by the digest, never by the remote name, so one digest has
// one part file, any legal remote name can be downloaded, and a name can never steer a path.
// The part file is locked (flock) while a node downloads into it: a second node process
// sharing the download folder is refused instead of writing into the same file.
//
// A finished download is synced (fsync) and renamed into DOWNLOADS under a safe version of
// its remote name (transport/text.hpp), never replacing an existing file ("name (2)" ...);
// the folder entry is synced too. DOWNLOADS/.hearsay-parts/downloaded records what was
// downloaded (digest, size, modification time, name), so that fetching the same content
// again finds it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "overlay/messages.hpp"
#include "overlay/result.hpp"

namespace hearsay::net {

class part_file {
 public:
  part_file() = default;
  virtual ~part_file();
  part_file(part_file&& other) noexcept;
  part_file& operator=(part_file&& other) noexcept;
  part_file(const part_file&) = delete;
  part_file& operator=(const part_file&) = delete;

  // The folder of part files under a download folder.
  static std::filesystem::path folder(const std::filesystem::path& download_dir);

  // Opens (creating it, mode 0600) the part file of `digest`, and locks it. `fresh` empties
  // it. A failure keeps the system's error code; errc::device_or_resource_busy: another
  // process holds the lock.
  result<> open(const std::filesystem::path& download_dir, const sha256_digest& digest, bool fresh);
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

  // Exactly bytes.size() bytes at offset, or a failure with the system's error code (a full
  // disk: errc::no_space_on_device). Virtual for tests only, which stand in a disk that fills
  // up at a chosen byte.
  virtual result<> write(std::uint64_t offset, std::span<const std::uint8_t> bytes);
  // Exactly bytes.size() bytes from offset, or a failure (a file shorter than that included).
  result<> read(std::uint64_t offset, std::span<std::uint8_t> bytes) const;
  // The size of the part file as it is on disk.
  std::uint64_t size_on_disk() const;

  // Where a committed download went, and how long its fsync took.
  struct placed_file {
    std::filesystem::path path;
    std::chrono::microseconds sync_time{0};
  };
  // fsync, then a rename into `dir` under safe_file_name(remote_name) (or the first free
  // "name (N)"), never replacing a file, then the folder synced. The part file is closed
  // afterwards; its state file removed.
  result<placed_file> commit(const std::filesystem::path& dir, const std::string& remote_name);
  // Closes and deletes the part file and its state file (a download given up or cancelled).
  void remove();
  // Closes the part file, leaving it and its state for a later run.
  void close();

  // What a later run needs to resume a download.
  struct state {
    file_info file;
    std::vector<peer_addr> holders;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> stored;  // (offset, length)
  };
  // Written to a temporary file and renamed: a crash never leaves half a state.
  result<> save_state(const state& s) const;
  // The states of every part file in a download folder, oldest problems skipped.
  static std::vector<state> load_states(const std::filesystem::path& download_dir);

 private:
  int fd_ = -1;
  std::filesystem::path path_;   // the .part file
  std::filesystem::path state_;  // the .state file
};

// Makes the part files of a downloader: plain part files unless a test stands in its own.
using part_file_factory = std::function<std::unique_ptr<part_file>()>;

// Text form of a state file (also used by its tests): parse is strict, and fails on any line
// it does not understand.
std::string format_part_state(const part_file::state& s);
result<part_file::state> parse_part_state(std::string_view text);

// The record of finished downloads in a download folder: which content is already here.
class download_record {
 public:
  explicit download_record(std::filesystem::path download_dir = {});
  // Reads the record (a missing one is empty).
  void load();
  // The path of a downloaded file with this digest that is still there unchanged (same size
  // and modification time), if any.
  std::optional<std::filesystem::path> find(const sha256_digest& digest) const;
  // Adds a finished download; appended to the record file.
  result<> add(const sha256_digest& digest, const std::filesystem::path& placed);

 private:
  struct entry {
    std::uint64_t size = 0;
    std::int64_t modified_ns = 0;
    std::string name;  // within the download folder
  };
  std::filesystem::path dir_;
  std::map<sha256_digest, entry> entries_;
};

// Renames `from` into dir under `name` or the first free "name (N)", never replacing an
// existing file even if one appears concurrently. Returns the path used.
result<std::filesystem::path> move_into_place(const std::filesystem::path& from, const std::filesystem::path& dir,
                                              const std::string& name);

}  // namespace hearsay::net
