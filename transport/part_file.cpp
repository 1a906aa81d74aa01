// Downloads on disk (see part_file.hpp).

#include "transport/part_file.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "transport/text.hpp"
#include "transport/last_error.hpp"

namespace hearsay::net {

namespace fs = std::filesystem;

namespace {

constexpr const char* parts_folder = ".hearsay-parts";
constexpr const char* state_magic = "hearsay-part 1";
constexpr std::size_t record_entries_max = 100'000;


// Makes a finished download durable under its name: the folder entry is synced too, so a
// crash right after the rename cannot lose the file. Some file systems cannot sync a
// folder; the data itself is already synced, so that is not an error.
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  static_cast<void>(::fsync(fd));
  ::close(fd);
}

std::string hex_of(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

result<std::string> bytes_of_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return failure("an odd number of hex digits");
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (ec != std::errc{} || end != hex.data() + i + 2) return failure("not hex digits");
    out += static_cast<char>(v);
  }
  return out;
}

template <typename T>
result<T> number(std::string_view text) {
  T out{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return failure("not a number");
  return out;
}

// Splits "key value..." at the first space.
std::pair<std::string_view, std::string_view> split_key(std::string_view line) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return {line, {}};
  return {line.substr(0, space), line.substr(space + 1)};
}

std::int64_t modified_ns(const struct stat& st) {
  return std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// "name (2).ext" for n = 2: the n-th candidate for a name in a folder.
std::string numbered(const std::string& name, int n) {
  if (n <= 1) return name;
  const auto dot = name.rfind('.');
  const bool has_ext = dot != std::string::npos && dot != 0;
  const std::string stem = has_ext ? name.substr(0, dot) : name;
  const std::string ext = has_ext ? name.substr(dot) : "";
  return stem + " (" + std::to_string(n) + ")" + ext;
}

}  // namespace

// ---- moving a finished file into place ---------------------------------------------------

result<fs::path> move_into_place(const fs::path& from, const fs::path& dir, const std::string& name) {
  const std::string context = "cannot move " + from.string() + " into " + dir.string();
  // A name is taken without replacing anything: when another process created a file of that
  // name, the next candidate is tried.
  for (int n = 1; n <= 10'000; ++n) {
    fs::path placed = dir / numbered(name, n);
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, placed.c_str(), RENAME_NOREPLACE) == 0) return placed;
    if (errno == EEXIST) continue;
    if (errno != EINVAL && errno != ENOSYS) return failure(last_error(), context);
    // A file system without RENAME_NOREPLACE: a hard link refuses to replace as well.
    if (::link(from.c_str(), placed.c_str()) == 0) {
      ::unlink(from.c_str());
      return placed;
    }
    if (errno == EEXIST) continue;
    // No hard links either (e.g. FAT): a plain rename to a name seen free.
    std::error_code ec;
    if (fs::exists(placed, ec)) continue;
    fs::rename(from, placed, ec);
    if (ec) return failure(ec, context);
    return placed;
  }
  return failure(std::make_error_code(std::errc::file_exists), context);
}

// ---- the part file ---------------------------------------------------------------------

part_file::~part_file() {
  if (fd_ >= 0) ::close(fd_);
}

part_file::part_file(part_file&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), state_(std::move(other.state_)) {}

part_file& part_file::operator=(part_file&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    state_ = std::move(other.state_);
  }
  return *this;
}

fs::path part_file::folder(const fs::path& download_dir) { return download_dir / parts_folder; }

result<> part_file::open(const fs::path& download_dir, const sha256_digest& digest, bool fresh) {
  close();
  const fs::path dir = folder(download_dir);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return failure(last_error(), "cannot create " + dir.string());
  path_ = dir / (digest.to_hex() + ".part");
  state_ = dir / (digest.to_hex() + ".state");
  const std::string context = "cannot open " + path_.string();
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return failure(last_error(), context);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const auto ec = errno == EWOULDBLOCK ? std::make_error_code(std::errc::device_or_resource_busy) : last_error();
    ::close(fd);
    return failure(ec, context);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return failure(std::make_error_code(std::errc::invalid_argument), context);
  }
  if (fresh && ::ftruncate(fd, 0) != 0) {
    const auto ec = last_error();
    ::close(fd);
    return failure(ec, context);
  }
  fd_ = fd;
  return {};
}

result<> part_file::write(std::uint64_t offset, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(last_error(), "cannot write " + path_.string());
    if (n == 0) return failure(std::make_error_code(std::errc::no_space_on_device), "cannot write " + path_.string());
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

result<> part_file::read(std::uint64_t offset, std::span<std::uint8_t> bytes) const {
  while (!bytes.empty()) {
    const ssize_t n = ::pread(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(last_error(), "cannot read " + path_.string());
    // Shorter than it should be.
    if (n == 0) return failure(std::make_error_code(std::errc::io_error), "cannot read " + path_.string());
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

std::uint64_t part_file::size_on_disk() const {
  struct stat st {};
  return fd_ >= 0 && ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

result<part_file::placed_file> part_file::commit(const fs::path& dir, const std::string& remote_name) {
  placed_file out;
  const auto t0 = std::chrono::steady_clock::now();
  if (::fsync(fd_) != 0) return failure(last_error(), "cannot sync " + path_.string());
  out.sync_time = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  auto placed = move_into_place(path_, dir, safe_file_name(remote_name));
  if (!placed) return placed.error();
  out.path = std::move(*placed);
  sync_directory(dir);
  ::close(fd_);  // the lock goes with it
  fd_ = -1;
  std::error_code ignored;
  fs::remove(state_, ignored);
  return out;
}

void part_file::remove() {
  if (path_.empty()) return;
  std::error_code ignored;
  fs::remove(path_, ignored);
  fs::remove(state_, ignored);
  close();
  ::rmdir(path_.parent_path().c_str());  // the folder too, when nothing else is in it
}

void part_file::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string format_part_state(const part_file::state& s) {
  std::string out = std::string(state_magic) + "\n";
  out += "sha256 " + s.file.sha256.to_hex() + "\n";
  out += "size " + std::to_string(s.file.size) + "\n";
  out += "name " + hex_of(s.file.name) + "\n";
  for (const auto& h : s.holders) out += "holder " + h.to_string() + "\n";
  for (const auto& [offset, length] : s.stored) {
    out += "stored " + std::to_string(offset) + " " + std::to_string(length) + "\n";
  }
  return out;
}

result<part_file::state> parse_part_state(std::string_view text) {
  part_file::state s;
  bool digest = false, size = false, name = false;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) return failure("the last line does not end in a newline");
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    const std::string where = "line " + std::to_string(++line_no) + ": ";
    if (line_no == 1) {
      if (line != state_magic) return failure(where + "not a part state");
      continue;
    }
    const auto [key, value] = split_key(line);
    if (key == "sha256") {
      auto d = sha256_digest::from_hex(value);
      if (!d) return failure(where + "bad sha256");
      s.file.sha256 = *d;
      digest = true;
    } else if (key == "size") {
      const auto n = number<std::uint64_t>(value);
      if (!n) return failure(where + "bad size");
      s.file.size = *n;
      size = true;
    } else if (key == "name") {
      auto bytes = bytes_of_hex(value);
      if (!bytes || bytes->size() > 4096) return failure(where + "bad name");
      s.file.name = std::move(*bytes);
      name = true;
    } else if (key == "holder") {
      auto a = peer_addr::parse(value);
      if (!a || s.holders.size() >= 255) return failure(where + "bad holder, or too many");
      s.holders.push_back(*a);
    } else if (key == "stored") {
      const auto [o, l] = split_key(value);
      const auto offset = number<std::uint64_t>(o);
      const auto length = number<std::uint64_t>(l);
      if (!offset || !length || s.stored.size() >= 1'000'000) return failure(where + "bad stored range, or too many");
      s.stored.emplace_back(*offset, *length);
    } else {
      return failure(where + "unknown key '" + std::string(key) + "'");
    }
  }
  if (line_no == 0 || !digest || !size || !name) return failure("sha256, size or name missing");
  return s;
}

result<> part_file::save_state(const state& s) const {
  const fs::path tmp = state_.string() + ".tmp";
  const std::string context = "cannot write " + tmp.string();
  const std::string text = format_part_state(s);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return failure(last_error(), context);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const auto ec = n < 0 ? last_error() : std::make_error_code(std::errc::no_space_on_device);
      ::close(fd);
      ::unlink(tmp.c_str());
      return failure(ec, context);
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), state_.c_str()) != 0) {
    const auto ec = last_error();
    ::unlink(tmp.c_str());
    return failure(ec, "cannot rename " + tmp.string() + " to " + state_.string());
  }
  return {};
}

std::vector<part_file::state> part_file::load_states(const fs::path& download_dir) {
  std::vector<state> out;
  std::error_code ec;
  for (fs::directory_iterator it(folder(download_dir), ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path p = it->path();
    if (p.extension() != ".state" || !it->is_regular_file(ec)) continue;
    std::ifstream in(p, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    // A state must belong to the part file it is named after.
    auto s = parse_part_state(text.str());
    if (s && s->file.sha256.to_hex() + ".state" == p.filename().string()) out.push_back(std::move(*s));
    if (out.size() >= 4096) break;
  }
  return out;
}

// ---- the record of finished downloads ----------------------------------------------------

download_record::download_record(fs::path download_dir) : dir_(std::move(download_dir)) {}

void download_record::load() {
  entries_.clear();
  if (dir_.empty()) return;
  std::ifstream in(part_file::folder(dir_) / "downloaded", std::ios::binary);
  std::string line;
  while (std::getline(in, line) && entries_.size() < record_entries_max) {
    // "<sha256 hex> <size> <mtime ns> <name hex>"
    std::string_view rest = line;
    const auto [hex, r1] = split_key(rest);
    const auto [size_text, r2] = split_key(r1);
    const auto [time_text, name_hex] = split_key(r2);
    const auto d = sha256_digest::from_hex(hex);
    const auto size = number<std::uint64_t>(size_text);
    const auto modified = number<std::int64_t>(time_text);
    auto name = bytes_of_hex(name_hex);
    if (!d || !size || !modified || !name) continue;
    entries_[*d] = entry{*size, *modified, std::move(*name)};
  }
}

std::optional<fs::path> download_record::find(const sha256_digest& digest) const {
  auto it = entries_.find(digest);
  if (it == entries_.end()) return std::nullopt;
  const fs::path p = dir_ / it->second.name;
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != it->second.size ||
      modified_ns(st) != it->second.modified_ns) {
    return std::nullopt;
  }
  return p;
}

result<> download_record::add(const sha256_digest& digest, const fs::path& placed) {
  struct stat st {};
  if (::stat(placed.c_str(), &st) != 0) return failure(last_error(), "cannot read " + placed.string());
  entry e{static_cast<std::uint64_t>(st.st_size), modified_ns(st), placed.filename().string()};
  const std::string line = digest.to_hex() + " " + std::to_string(e.size) + " " + std::to_string(e.modified_ns) + " " +
                           hex_of(e.name) + "\n";
  entries_[digest] = std::move(e);
  const fs::path file = part_file::folder(dir_) / "downloaded";
  std::FILE* f = std::fopen(file.c_str(), "ae");
  if (f == nullptr) return failure(last_error(), "cannot open " + file.string());
  const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return failure(std::make_error_code(std::errc::io_error), "cannot write " + file.string());
  return {};
}

}  // namespace hearsay::net
