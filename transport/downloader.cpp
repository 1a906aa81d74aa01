// The real node's downloads (see downloader.hpp).

#include "transport/downloader.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>

#include "overlay/assert.hpp"
#include "transport/file_index.hpp"
#include "transport/text.hpp"

namespace hearsay::net {

namespace fs = std::filesystem;

namespace {
// Ended downloads a listing still shows.
constexpr std::size_t recent_max = 16;
// Free space a download must leave in its folder, beyond what the running downloads need.
constexpr std::uint64_t free_margin_bytes = 64u << 20;
constexpr micros engine_tick{1'000'000};
constexpr micros state_interval{5'000'000};

std::string bytes_text(std::uint64_t n) {
  char buf[48];
  if (n >= (std::uint64_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(n) / static_cast<double>(1u << 30));
  } else if (n >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / static_cast<double>(1u << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(n));
  }
  return buf;
}

}  // namespace

downloader::downloader(const fetch_config& cfg, fs::path download_dir, const file_index& shared, transfer_links& links,
                       logger& log, std::function<micros()> clock, part_file_factory parts)
    : cfg_(cfg),
      dir_(std::move(download_dir)),
      shared_(shared),
      links_(links),
      log_(log),
      clock_(std::move(clock)),
      parts_(parts ? std::move(parts) : part_file_factory([] { return std::make_unique<part_file>(); })),
      engine_(cfg_, *this),
      record_(dir_) {}

downloader::~downloader() = default;

void downloader::start() {
  if (dir_.empty()) return;
  record_.load();
  for (auto& s : part_file::load_states(dir_)) {
    const auto id = begin(s.file, s.holders, true);
    const std::string name = printable(s.file.name);
    if (!id) {
      log_.warn("cannot resume the download of {}: {}", name, id.error().what());
    } else if (engine_.running(*id)) {
      log_.info("resuming the download of {} ({})", name, bytes_text(s.file.size));
    }
  }
}

result<> downloader::admit(const file_info& file, std::uint64_t stored) const {
  if (file.size > cfg_.file_bytes_max) {
    return failure("the file is announced at " + bytes_text(file.size) + ", over fetch.file_bytes_max (" +
                   bytes_text(cfg_.file_bytes_max) + ")");
  }
  struct statvfs fsinfo {};
  if (::statvfs(dir_.c_str(), &fsinfo) != 0) {
    return failure(std::error_code(errno, std::generic_category()),
                   "cannot read the free space of " + printable(dir_.string()));
  }
  const std::uint64_t available = std::uint64_t{fsinfo.f_bavail} * fsinfo.f_frsize;
  std::uint64_t pending = 0;
  for (const auto& p : engine_.list(clock_())) pending += p.file.size - std::min(p.file.size, p.bytes_stored);
  const std::uint64_t need = file.size - std::min(file.size, stored) + pending + free_margin_bytes;
  if (available < need) {
    return failure("not enough free space in " + printable(dir_.string()) + ": it needs " + bytes_text(need) +
                   " (the file, the downloads running and a margin of " + bytes_text(free_margin_bytes) + "), " +
                   bytes_text(available) + " are free");
  }
  return {};
}

result<job_id> downloader::begin(const file_info& file, std::span<const peer_addr> holders, bool resume) {
  // A new download is checked before anything is created on disk.
  if (!resume) {
    if (auto admitted = admit(file, 0); !admitted) return admitted.error();
  }
  auto part = parts_();
  if (auto opened = part->open(dir_, file.sha256, !resume); !opened) {
    const std::error_code ec = opened.error().code();
    if (ec == std::errc::device_or_resource_busy) {
      return failure("another process is downloading this file into " + printable(dir_.string()));
    }
    return failure(ec, "cannot create " + printable(part->path().string()));
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> stored;
  if (resume) {
    // Only what the part file really holds: a state can be newer than the data it names.
    const std::uint64_t on_disk = part->size_on_disk();
    std::uint64_t stored_bytes = 0;
    for (const auto& s : part_file::load_states(dir_)) {
      if (s.file.sha256 != file.sha256) continue;
      for (auto [offset, length] : s.stored) {
        if (offset >= on_disk) continue;
        length = std::min(length, on_disk - offset);
        stored.emplace_back(offset, length);
        stored_bytes += length;
      }
    }
    if (auto admitted = admit(file, stored_bytes); !admitted) {
      part->close();  // kept: the download may fit later
      return admitted.error();
    }
  }
  const job_id id = engine_.next_id();
  auto& f = files_[id];
  f.part = std::move(part);
  f.holders.assign(holders.begin(), holders.end());
  hasher_.open(id, f.part->fd());
  const auto started = engine_.start(clock_(), file, holders, stored);
  if (!started) {
    hasher_.close(id);
    if (resume) {
      files_[id].part->close();
    } else {
      files_[id].part->remove();
    }
    files_.erase(id);
    return started.error();
  }
  HEARSAY_ASSERT(started->id == id && !started->attached);
  if (auto it = files_.find(id); it != files_.end()) save_state(id, it->second);
  return id;
}

std::uint64_t downloader::fetch(const file_info& file, std::span<const peer_addr> holders, const fetch_options& opts,
                                watcher w) {
  fetch_status s;
  s.file = file;
  auto end_now = [&](fetch_status::state st, std::string error) {
    s.st = st;
    s.error = std::move(error);
    if (w) w(s);
    return std::uint64_t{0};
  };
  if (dir_.empty()) return end_now(fetch_status::state::failed, "no download folder configured");
  job_id id = engine_.find(file.sha256);
  if (id == 0 && !opts.again) {
    std::optional<fs::path> here;
    if (const indexed_file* f = shared_.find(file.sha256); f != nullptr && f->info.size == file.size) here = f->path;
    if (!here) here = record_.find(file.sha256);
    if (here) {
      s.path = *here;
      s.existing = true;
      s.bytes = file.size;
      return end_now(fetch_status::state::done, {});
    }
  }
  if (id != 0) {
    engine_.add_holders(clock_(), id, holders);
    if (auto it = files_.find(id); it != files_.end()) {
      for (const auto& h : holders) {
        if (std::find(it->second.holders.begin(), it->second.holders.end(), h) == it->second.holders.end()) {
          it->second.holders.push_back(h);
        }
      }
    }
  } else {
    const auto begun = begin(file, holders, false);
    if (!begun) return end_now(fetch_status::state::failed, begun.error().what());
    id = *begun;
  }
  if (!engine_.running(id)) {
    // It ended inside begin() (an empty file, say): its end is the newest in the list.
    for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
      if (it->id == id) {
        if (w) w(*it);
        return 0;
      }
    }
    return end_now(fetch_status::state::failed, "the download ended at once");
  }
  const std::uint64_t token = next_token_++;
  watches_[token] = watch{id, !opts.detach, std::move(w)};
  job_progress p;
  if (engine_.progress(clock_(), id, p) && watches_[token].w) watches_[token].w(status_of(p));
  return token;
}

void downloader::forget(std::uint64_t token) {
  auto it = watches_.find(token);
  if (it == watches_.end()) return;
  const job_id id = it->second.job;
  const bool foreground = it->second.foreground;
  watches_.erase(it);
  if (!foreground || !engine_.running(id)) return;
  const bool others = std::any_of(watches_.begin(), watches_.end(), [&](const auto& kv) {
    return kv.second.job == id && kv.second.foreground;
  });
  if (!others) {
    log_.info("download {} cancelled: its caller went away", id);
    engine_.cancel(clock_(), id);
  }
}

bool downloader::cancel(job_id id) { return engine_.cancel(clock_(), id); }

std::size_t downloader::cancel_all() {
  std::size_t n = 0;
  for (const auto& p : engine_.list(clock_())) if (engine_.cancel(clock_(), p.id)) ++n;
  return n;
}

std::vector<fetch_status> downloader::list() const {
  std::vector<fetch_status> out;
  for (const auto& p : engine_.list(clock_())) out.push_back(status_of(p));
  for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) out.push_back(*it);
  return out;
}

void downloader::tick() {
  const micros now = clock_();
  if (now - last_engine_tick_ >= engine_tick) {
    last_engine_tick_ = now;
    engine_.on_tick(now);
  }
  for (const auto& p : engine_.list(now)) {
    auto it = files_.find(p.id);
    if (it != files_.end() && now - it->second.saved_at >= state_interval && it->second.saved_stored != p.bytes_stored) {
      save_state(p.id, it->second);
    }
    notify(p.id, status_of(p));
  }
}

void downloader::stop() {
  for (auto& [id, f] : files_) {
    save_state(id, f);
    hasher_.close(id);
    f.part->close();
  }
  files_.clear();
  watches_.clear();
}

void downloader::on_data(job_id job, const peer_addr& holder, std::uint64_t offset, std::span<const std::uint8_t> bytes) {
  engine_.on_data(clock_(), job, holder, offset, bytes);
}

void downloader::on_holder_failed(job_id job, const peer_addr& holder, const std::string& reason, bool permanent) {
  engine_.on_holder_failed(clock_(), job, holder, reason, permanent);
}

fetch_status downloader::status_of(const job_progress& p) const {
  fetch_status s;
  switch (p.state) {
    case job_state::running: s.st = fetch_status::state::running; break;
    case job_state::done: s.st = fetch_status::state::done; break;
    case job_state::failed: s.st = fetch_status::state::failed; break;
    case job_state::cancelled: s.st = fetch_status::state::cancelled; break;
  }
  s.id = p.id;
  s.file = p.file;
  s.bytes = p.bytes_stored;
  s.rate_bytes_per_s = p.rate_bytes_per_s;
  s.eta_s = p.eta_s();
  s.holders_known = static_cast<std::uint32_t>(p.holders.size());
  std::uint64_t best = 0;
  for (const auto& h : p.holders) {
    if (h.st == holder_progress::state::busy) ++s.holders_busy;
    if (h.st == holder_progress::state::busy && (s.holder.is_unspecified() || h.rate_bytes_per_s >= best)) {
      s.holder = h.addr;
      best = h.rate_bytes_per_s;
    }
  }
  s.error = p.state == job_state::running ? std::string() : p.error;
  s.elapsed = (p.state == job_state::running ? clock_() : p.ended) - p.started;
  s.failovers = p.failovers;
  return s;
}

void downloader::notify(job_id id, const fetch_status& s) {
  // A watcher may forget itself from inside its call: walk a copy of the tokens.
  std::vector<std::uint64_t> tokens;
  for (const auto& [token, w] : watches_) {
    if (w.job == id) tokens.push_back(token);
  }
  for (const auto token : tokens) {
    auto it = watches_.find(token);
    if (it != watches_.end() && it->second.w) {
      auto w = it->second.w;  // may be erased during the call
      w(s);
    }
  }
}

void downloader::save_state(job_id id, job_files& f) {
  if (!f.part->is_open()) return;
  job_progress p;
  if (!engine_.progress(clock_(), id, p)) return;
  part_file::state st{p.file, f.holders, engine_.stored_ranges(id)};
  if (auto saved = f.part->save_state(st); !saved) {
    log_.warn("cannot save the state of the download of {}: {}", printable(p.file.name), saved.error().code().message());
  }
  f.saved_at = clock_();
  f.saved_stored = p.bytes_stored;
}

// ---- download_host -------------------------------------------------------------------------

void downloader::request(job_id id, const peer_addr& holder, const file_info& file, std::uint64_t offset,
                         std::uint32_t length) {
  links_.request_range(id, holder, msg_fetch_request{file.sha256, offset, length}, file.size);
}

void downloader::release(job_id id, const peer_addr& holder) { links_.close_transfer(id, holder); }

result<> downloader::write(job_id id, std::uint64_t offset, std::span<const std::uint8_t> bytes) {
  return files_.at(id).part->write(offset, bytes);
}

void downloader::hash_written(job_id id, std::span<const std::uint8_t> bytes) {
  // Hashed from the part file by the hash worker, as stored, right after the write.
  auto& f = files_.at(id);
  hasher_.add(id, f.hash_offset, bytes.size());
  f.hash_offset += bytes.size();
}

result<> downloader::hash_stored(job_id id, std::uint64_t offset, std::uint64_t length) {
  auto& f = files_.at(id);
  HEARSAY_ASSERT(offset == f.hash_offset);
  hasher_.add(id, offset, length);
  f.hash_offset = offset + length;
  return {};  // a read error is reported by hash_finish
}

result<sha256_digest> downloader::hash_finish(job_id id) {
  files_.at(id).hash_offset = 0;
  return hasher_.finish(id);
}

void downloader::hash_reset(job_id id) {
  files_.at(id).hash_offset = 0;
  hasher_.reset(id);
}

result<> downloader::commit(job_id id) {
  auto& f = files_.at(id);
  job_progress p;
  engine_.progress(clock_(), id, p);
  auto committed = f.part->commit(dir_, p.file.name);
  if (!committed) return committed.error();
  f.placed = committed->path;
  f.sync_time = committed->sync_time;
  if (auto recorded = record_.add(p.file.sha256, f.placed); !recorded) {
    log_.warn("cannot record the download in {}: {}", printable(part_file::folder(dir_).string()),
              recorded.error().code().message());
  }
  return {};
}

void downloader::on_job_end(job_id id, const job_progress& p) {
  fetch_status s = status_of(p);
  auto it = files_.find(id);
  if (it != files_.end()) {
    hasher_.close(id);
    s.path = it->second.placed;
    s.sync_time = it->second.sync_time;
    if (p.state != job_state::done) it->second.part->remove();
    files_.erase(it);
  }
  const std::string name = printable(p.file.name);
  if (p.state == job_state::done) {
    ++done_;
    s.bytes = p.file.size;
    log_.info("fetched {} ({}, sha256 verified) to {}", name, bytes_text(p.file.size), printable(s.path.string()));
  } else if (p.state == job_state::failed) {
    ++failed_;
    log_.warn("download of {} failed: {}", name, printable(p.error));
  } else {
    log_.info("download of {} cancelled", name);
  }
  recent_.push_back(s);
  if (recent_.size() > recent_max) recent_.erase(recent_.begin());
  notify(id, s);
  std::erase_if(watches_, [&](const auto& kv) { return kv.second.job == id; });
}

}  // namespace hearsay::net
