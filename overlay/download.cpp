// The download engine (see download.hpp).

#include "overlay/download.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "overlay/assert.hpp"

namespace hearsay {

namespace {

// Why a store operation failed, as a job's error says it: the system's message when the
// failure carries an error code (the store's own context stays in its log), else its text.
std::string reason(const failure& f) { return f.code() ? f.code().message() : f.what(); }

constexpr std::uint8_t no_owner = 0xff;
constexpr micros one_second{1'000'000};
// Seconds over which listings and the end game judge a holder's speed.
constexpr std::int64_t recent_s = 4;

// Bytes per whole second of the driver's clock, for the last 64 seconds.
class rate_meter {
 public:
  void add(micros now, std::uint64_t n) {
    advance(now);
    buckets_[static_cast<std::size_t>(second_) % buckets_.size()] += n;
  }
  // Bytes in the `seconds` whole seconds before the current one (at most 63).
  std::uint64_t sum(micros now, std::int64_t seconds) {
    advance(now);
    std::uint64_t total = 0;
    for (std::int64_t s = second_ - seconds; s < second_; ++s) {
      if (s >= 0) total += buckets_[static_cast<std::size_t>(s) % buckets_.size()];
    }
    return total;
  }
  static constexpr std::int64_t seconds_max = 63;

 private:
  void advance(micros now) {
    const std::int64_t s = now.count() / one_second.count();
    if (s <= second_) return;
    const std::int64_t clear_from = std::max(second_ + 1, s - static_cast<std::int64_t>(buckets_.size()) + 1);
    for (std::int64_t k = clear_from; k <= s; ++k) buckets_[static_cast<std::size_t>(k) % buckets_.size()] = 0;
    second_ = s;
  }
  std::array<std::uint64_t, 64> buckets_{};
  std::int64_t second_ = 0;
};

std::string size_text(std::uint64_t bytes) { return std::to_string(bytes) + " bytes"; }

}  // namespace

const char* describe(job_state s) {
  switch (s) {
    case job_state::running: return "running";
    case job_state::done: return "done";
    case job_state::failed: return "failed";
    case job_state::cancelled: return "cancelled";
  }
  return "?";
}

const char* describe(holder_progress::state s) {
  switch (s) {
    case holder_progress::state::waiting: return "waiting";
    case holder_progress::state::busy: return "busy";
    case holder_progress::state::idle: return "idle";
    case holder_progress::state::resting: return "resting";
    case holder_progress::state::dropped: return "dropped";
  }
  return "?";
}

double job_progress::eta_s() const {
  if (state != job_state::running || rate_bytes_per_s == 0 || bytes_stored > file.size) return -1;
  return static_cast<double>(file.size - bytes_stored) / static_cast<double>(rate_bytes_per_s);
}

struct downloads::job {
  struct holder {
    peer_addr addr;
    holder_progress::state st = holder_progress::state::waiting;
    std::deque<std::uint32_t> queue;  // pieces asked for, in the order asked
    std::uint64_t bytes = 0;
    std::uint32_t failures = 0;
    micros rest_until{0};
    micros busy_since{0};
    std::uint64_t busy_rate = 0;  // bytes/s over its last few busy seconds (end game)
    bool contributed = false;     // wrote bytes in the current attempt
    std::string last_error;
    rate_meter meter;
  };

  job_id id = 0;
  file_info file;
  micros started{0};
  std::uint32_t piece_bytes = 0;
  std::uint32_t pieces = 0;
  std::vector<std::uint32_t> have;   // per piece: bytes stored from its start
  std::vector<std::uint8_t> owner;   // per piece: the holder asked for it, or no_owner
  std::uint32_t complete = 0;        // pieces with every byte stored
  std::uint32_t cursor = 0;          // no piece below it is both incomplete and unowned
  std::uint64_t stored = 0, hashed = 0, received = 0;
  std::vector<holder> holders;
  bool resumed = false;  // part of the current attempt came from an earlier part file
  bool single = false;   // one holder at a time, after a mismatch among several
  bool ended = false;
  std::uint32_t attempts = 1, failovers = 0;
  std::string last_error;
  rate_meter meter;

  std::uint64_t start_of(std::uint32_t p) const { return std::uint64_t{p} * piece_bytes; }
  std::uint32_t length_of(std::uint32_t p) const {
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(piece_bytes, file.size - start_of(p)));
  }
  // The first piece that is incomplete and asked of no one, or `pieces`.
  std::uint32_t next_unowned() {
    while (cursor < pieces && (have[cursor] == length_of(cursor) || owner[cursor] != no_owner)) {
      // Owned pieces are skipped too; losing an owner moves the cursor back (release_pieces).
      ++cursor;
    }
    return cursor;
  }
  void release_pieces(holder& h) {
    for (auto p : h.queue) {
      owner[p] = no_owner;
      cursor = std::min(cursor, p);
    }
    h.queue.clear();
  }
  std::size_t index_of(const peer_addr& a) const {
    for (std::size_t k = 0; k < holders.size(); ++k) {
      if (holders[k].addr == a) return k;
    }
    return holders.size();
  }
};

downloads::downloads(const fetch_config& cfg, download_host& host) : cfg_(cfg), host_(host) {}

downloads::~downloads() = default;

// Every public entry point holds one: jobs that ended are destroyed when the outermost call
// begins, never while a call that may still read them is on the stack (a host callback that
// starts another download, say).
struct downloads::entry {
  explicit entry(downloads& d) : d_(d) {
    if (d_.depth_++ == 0) d_.ended_.clear();
  }
  ~entry() { --d_.depth_; }
  entry(const entry&) = delete;
  entry& operator=(const entry&) = delete;

 private:
  downloads& d_;
};

downloads::job* downloads::find_job(job_id id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

job_id downloads::find(const sha256_digest& digest) const {
  for (const auto& [id, j] : jobs_) {
    if (j->file.sha256 == digest) return id;
  }
  return 0;
}

result<downloads::started> downloads::start(micros now, const file_info& file, std::span<const peer_addr> holders,
                                               std::span<const std::pair<std::uint64_t, std::uint64_t>> stored) {
  entry guard(*this);
  if (const job_id existing = find(file.sha256); existing != 0) {
    add_holders(now, existing, holders);
    return started{existing, true};
  }
  if (file.size > cfg_.file_bytes_max) {
    return failure("the file is announced at " + size_text(file.size) + ", over fetch.file_bytes_max (" +
                   size_text(cfg_.file_bytes_max) + ")");
  }
  if (jobs_.size() >= cfg_.jobs_max) {
    return failure(std::to_string(jobs_.size()) + " downloads are running already (fetch.jobs_max)");
  }
  auto owned = std::make_unique<job>();
  job& j = *owned;
  j.id = next_id_++;
  j.file = file;
  j.started = now;
  j.piece_bytes = std::max<std::uint32_t>(1, cfg_.piece_bytes);
  const std::uint64_t pieces = (file.size + j.piece_bytes - 1) / j.piece_bytes;
  HEARSAY_ASSERT(pieces <= std::numeric_limits<std::uint32_t>::max());
  j.pieces = static_cast<std::uint32_t>(pieces);
  j.have.assign(j.pieces, 0);
  j.owner.assign(j.pieces, no_owner);
  // What an earlier run stored: per piece, the bytes stored contiguously from its start.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges(stored.begin(), stored.end());
  std::sort(ranges.begin(), ranges.end());
  for (const auto& [offset, length] : ranges) {
    if (offset >= file.size || length == 0) continue;
    const std::uint64_t end_at = std::min(file.size, offset + std::min(length, file.size));
    for (auto p = static_cast<std::uint32_t>(offset / j.piece_bytes); p < j.pieces && j.start_of(p) < end_at; ++p) {
      const std::uint64_t from = j.start_of(p) + j.have[p];
      if (from < offset || from >= end_at) continue;  // not contiguous with what the piece has
      j.have[p] = static_cast<std::uint32_t>(std::min<std::uint64_t>(j.length_of(p), end_at - j.start_of(p)));
    }
  }
  for (std::uint32_t p = 0; p < j.pieces; ++p) {
    j.stored += j.have[p];
    if (j.have[p] == j.length_of(p)) ++j.complete;
  }
  j.resumed = j.stored > 0;
  add_holders_to(j, holders);
  if (j.holders.empty() && j.complete < j.pieces) return failure("no holder to fetch it from");
  const job_id id = j.id;
  jobs_.emplace(id, std::move(owned));
  advance_hash(now, j);
  if (!j.ended) pump(now, j);
  return started{id, false};
}

void downloads::add_holders(micros now, job_id id, std::span<const peer_addr> holders) {
  entry guard(*this);
  job* j = find_job(id);
  if (j == nullptr) return;
  add_holders_to(*j, holders);
  pump(now, *j);
}

void downloads::add_holders_to(job& j, std::span<const peer_addr> holders) {
  for (const auto& a : holders) {
    if (a.is_unspecified() || j.holders.size() >= std::min<std::uint32_t>(cfg_.holders_max, no_owner)) continue;
    if (j.index_of(a) != j.holders.size()) continue;
    j.holders.emplace_back();
    j.holders.back().addr = a;
  }
}

void downloads::on_data(micros now, job_id id, const peer_addr& from, std::uint64_t offset,
                        std::span<const std::uint8_t> bytes) {
  entry guard(*this);
  job* jp = find_job(id);
  if (jp == nullptr || bytes.empty()) return;
  job& j = *jp;
  const std::size_t h = j.index_of(from);
  if (h == j.holders.size()) return;  // not one of ours (a stale transfer)
  auto& x = j.holders[h];
  if (x.queue.empty()) {
    if (x.st == holder_progress::state::busy || x.st == holder_progress::state::idle) {
      host_.release(id, x.addr);
      holder_lost(now, j, h, "sent bytes nobody asked for", true, true);
      pump(now, j);
    }
    return;  // released or dropped: whatever was still on its way is ignored
  }
  const std::uint32_t p = x.queue.front();
  const std::uint64_t expected = j.start_of(p) + j.have[p];
  if (offset != expected || bytes.size() > j.length_of(p) - j.have[p]) {
    host_.release(id, x.addr);
    holder_lost(now, j, h, "sent bytes out of order", true, true);
    pump(now, j);
    return;
  }
  if (auto written = host_.write(id, offset, bytes); !written) {
    fail(now, j, "cannot write the download: " + reason(written.error()));
    return;
  }
  const auto n = static_cast<std::uint32_t>(bytes.size());
  j.have[p] += n;
  j.stored += n;
  j.received += n;
  j.meter.add(now, n);
  x.bytes += n;
  x.meter.add(now, n);
  x.contributed = true;
  if (offset == j.hashed) {
    host_.hash_written(id, bytes);
    j.hashed += n;
  }
  if (j.have[p] == j.length_of(p)) {
    x.queue.pop_front();
    ++j.complete;
    if (x.queue.empty()) x.st = holder_progress::state::idle;
  }
  advance_hash(now, j);
  if (!j.ended) pump(now, j);
}

void downloads::on_holder_failed(micros now, job_id id, const peer_addr& from, std::string_view reason, bool permanent) {
  entry guard(*this);
  job* jp = find_job(id);
  if (jp == nullptr) return;
  job& j = *jp;
  const std::size_t h = j.index_of(from);
  if (h == j.holders.size()) return;
  auto& x = j.holders[h];
  if (x.st == holder_progress::state::dropped || x.st == holder_progress::state::resting) return;
  if (x.queue.empty() && !permanent) {
    // An idle holder's transfer closed (or a stale report): nothing was lost. It may be
    // asked again later.
    if (x.st == holder_progress::state::idle) x.st = holder_progress::state::waiting;
    return;
  }
  holder_lost(now, j, h, reason, permanent, true);
  pump(now, j);
}

void downloads::holder_lost(micros now, job& j, std::size_t h, std::string_view reason, bool permanent, bool count) {
  auto& x = j.holders[h];
  if (!x.queue.empty()) ++j.failovers;
  j.release_pieces(x);
  if (count) ++x.failures;
  x.last_error = std::string(reason);
  j.last_error = x.addr.to_string() + ": " + x.last_error;
  if (permanent || x.failures >= cfg_.holder_failures_max) {
    x.st = holder_progress::state::dropped;
  } else {
    x.st = holder_progress::state::resting;
    const std::uint32_t doublings = std::min<std::uint32_t>(x.failures == 0 ? 0 : x.failures - 1, 10);
    x.rest_until = now + cfg_.retry_delay * (std::int64_t{1} << doublings);
  }
}

void downloads::pump(micros now, job& j) {
  if (j.ended) return;
  if (j.complete == j.pieces) {
    if (j.hashed == j.file.size) verify(now, j);
    return;
  }
  using st = holder_progress::state;
  const std::uint32_t limit = j.single ? 1 : std::max<std::uint32_t>(1, cfg_.holders_at_once);
  const std::uint32_t per = std::max<std::uint32_t>(1, cfg_.pieces_per_holder);
  auto fill = [&](std::size_t h) {
    auto& x = j.holders[h];
    while (x.queue.size() < per) {
      const std::uint32_t p = j.next_unowned();
      if (p == j.pieces) break;
      if (x.queue.empty()) x.busy_since = now;
      j.owner[p] = static_cast<std::uint8_t>(h);
      x.queue.push_back(p);
      x.st = st::busy;
      host_.request(j.id, x.addr, j.file, j.start_of(p) + j.have[p], j.length_of(p) - j.have[p]);
    }
  };
  std::uint32_t busy = 0;
  for (std::size_t h = 0; h < j.holders.size(); ++h) {
    if (j.holders[h].st == st::busy) {
      fill(h);
      ++busy;
    }
  }
  // Bring in more holders: those that served well before, then new ones, then rested ones.
  for (const st kind : {st::idle, st::waiting, st::resting}) {
    for (std::size_t h = 0; h < j.holders.size() && busy < limit; ++h) {
      auto& x = j.holders[h];
      if (x.st != kind || (kind == st::resting && x.rest_until > now)) continue;
      if (j.next_unowned() == j.pieces) break;
      fill(h);
      if (x.st == st::busy) ++busy;
    }
  }
  if (busy > 0) return;
  const bool resting = std::any_of(j.holders.begin(), j.holders.end(), [](const job::holder& x) {
    return x.st == st::resting;
  });
  if (!resting) {
    fail(now, j, j.last_error.empty() ? "no holder could serve it" : "no holder left; last error: " + j.last_error);
  }
}

void downloads::advance_hash(micros now, job& j) {
  while (j.hashed < j.file.size) {
    const auto p = static_cast<std::uint32_t>(j.hashed / j.piece_bytes);
    const std::uint64_t within = j.hashed - j.start_of(p);
    if (j.have[p] <= within) break;
    const std::uint64_t length = j.have[p] - within;
    if (auto read = host_.hash_stored(j.id, j.hashed, length); !read) {
      fail(now, j, "cannot read the download back: " + reason(read.error()));
      return;
    }
    j.hashed += length;
  }
}

void downloads::verify(micros now, job& j) {
  HEARSAY_ASSERT(j.complete == j.pieces && j.hashed == j.file.size);
  const auto digest = host_.hash_finish(j.id);
  if (!digest) {
    fail(now, j, "cannot read the download back: " + reason(digest.error()));
    return;
  }
  if (*digest == j.file.sha256) {
    if (auto committed = host_.commit(j.id); !committed) {
      fail(now, j, "cannot save the download: " + reason(committed.error()));
      return;
    }
    end(now, j, job_state::done);
    return;
  }
  // The bytes stored do not hash to the file's name.
  std::vector<std::size_t> contributors;
  for (std::size_t h = 0; h < j.holders.size(); ++h) {
    if (j.holders[h].contributed) contributors.push_back(h);
  }
  if (contributors.size() == 1 && !j.resumed) {
    auto& x = j.holders[contributors.front()];
    host_.release(j.id, x.addr);
    x.st = holder_progress::state::dropped;
    x.last_error = "sent bytes that do not match the file's digest";
    j.last_error = x.addr.to_string() + ": " + x.last_error;
  } else {
    // Several holders, or a part file from an earlier run: nobody can be blamed yet.
    j.last_error = "the bytes did not match the file's digest; starting over";
    if (contributors.size() > 1) j.single = true;
  }
  ++j.failovers;
  if (++j.attempts > j.holders.size() + 2) {
    fail(now, j, "no holder sent the file's bytes (every attempt failed the digest check)");
    return;
  }
  restart_from_zero(now, j);
  pump(now, j);
}

void downloads::restart_from_zero(micros now, job& j) {
  static_cast<void>(now);
  std::fill(j.have.begin(), j.have.end(), 0);
  std::fill(j.owner.begin(), j.owner.end(), no_owner);
  j.complete = 0;
  j.cursor = 0;
  j.stored = 0;
  j.hashed = 0;
  j.resumed = false;
  for (auto& x : j.holders) {
    if (!x.queue.empty()) host_.release(j.id, x.addr);
    x.queue.clear();
    x.contributed = false;
    if (x.st == holder_progress::state::busy) x.st = holder_progress::state::idle;
  }
  host_.hash_reset(j.id);
  if (j.pieces == 0) {
    // Nothing to fetch again: an empty file whose digest did not match cannot be fetched.
    fail(now, j, "the file's digest does not match an empty file");
  }
}

void downloads::on_tick(micros now) {
  entry guard(*this);
  using st = holder_progress::state;
  const std::int64_t window_s =
      std::clamp<std::int64_t>(cfg_.rate_window.count() / one_second.count(), 1, rate_meter::seconds_max);
  std::vector<job_id> ids;
  for (const auto& [id, j] : jobs_) ids.push_back(id);
  for (const job_id id : ids) {
    job* jp = find_job(id);
    if (jp == nullptr) continue;
    job& j = *jp;
    for (std::size_t h = 0; h < j.holders.size() && !j.ended; ++h) {
      auto& x = j.holders[h];
      if (x.st != st::busy) continue;
      const std::int64_t busy_s = (now - x.busy_since).count() / one_second.count();
      if (busy_s >= recent_s) x.busy_rate = x.meter.sum(now, recent_s) / recent_s;
      if (now - x.busy_since < cfg_.rate_window) continue;
      const std::uint64_t got = x.meter.sum(now, window_s);
      if (got < std::uint64_t{cfg_.rate_min_bytes_per_s} * static_cast<std::uint64_t>(window_s)) {
        host_.release(j.id, x.addr);
        holder_lost(now, j, h,
                    "slower than " + std::to_string(cfg_.rate_min_bytes_per_s) + " bytes/s over " +
                        std::to_string(window_s) + " s",
                    true, true);
      }
    }
    if (j.ended) continue;
    // End game: nothing left to ask for, and an idle holder far faster than a busy one.
    if (!j.single && j.next_unowned() == j.pieces) {
      std::size_t fast = j.holders.size(), slow = j.holders.size();
      for (std::size_t h = 0; h < j.holders.size(); ++h) {
        const auto& x = j.holders[h];
        if (x.st == st::idle && (fast == j.holders.size() || x.busy_rate > j.holders[fast].busy_rate)) fast = h;
        if (x.st == st::busy && (now - x.busy_since).count() / one_second.count() >= recent_s &&
            (slow == j.holders.size() || x.busy_rate < j.holders[slow].busy_rate)) {
          slow = h;
        }
      }
      if (fast != j.holders.size() && slow != j.holders.size() &&
          j.holders[fast].busy_rate > 2 * j.holders[slow].busy_rate) {
        host_.release(j.id, j.holders[slow].addr);
        holder_lost(now, j, slow, "slower than another holder at the end", false, false);
      }
    }
    pump(now, j);
  }
}

bool downloads::cancel(micros now, job_id id) {
  entry guard(*this);
  job* j = find_job(id);
  if (j == nullptr) return false;
  end(now, *j, job_state::cancelled, "cancelled");
  return true;
}

void downloads::fail(micros now, job& j, std::string error) { end(now, j, job_state::failed, std::move(error)); }

void downloads::end(micros now, job& j, job_state state, std::string error) {
  if (j.ended) return;
  j.ended = true;
  for (auto& x : j.holders) {
    if (x.st == holder_progress::state::busy || x.st == holder_progress::state::idle) host_.release(j.id, x.addr);
  }
  job_progress p;
  progress(now, j.id, p);
  p.state = state;
  p.error = std::move(error);
  p.ended = now;
  auto it = jobs_.find(j.id);
  HEARSAY_ASSERT(it != jobs_.end());
  ended_.push_back(std::move(it->second));  // destroyed at the next call, not under our feet
  jobs_.erase(it);
  host_.on_job_end(p.id, p);
}

bool downloads::progress(micros now, job_id id, job_progress& out) const {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  job& j = *it->second;  // the meters advance their clock when read
  out = job_progress{};
  out.id = j.id;
  out.file = j.file;
  out.state = job_state::running;
  out.bytes_stored = j.stored;
  out.bytes_verified = j.hashed;
  out.bytes_received = j.received;
  out.rate_bytes_per_s = j.meter.sum(now, recent_s) / recent_s;
  out.started = j.started;
  out.attempts = j.attempts;
  out.failovers = j.failovers;
  out.single_source = j.single;
  out.error = j.last_error;
  for (auto& x : j.holders) {
    holder_progress h;
    h.addr = x.addr;
    h.st = x.st;
    h.bytes = x.bytes;
    h.rate_bytes_per_s = x.meter.sum(now, recent_s) / recent_s;
    h.in_flight = static_cast<std::uint32_t>(x.queue.size());
    h.failures = x.failures;
    h.last_error = x.last_error;
    out.holders.push_back(std::move(h));
  }
  return true;
}

std::vector<job_progress> downloads::list(micros now) const {
  std::vector<job_progress> out;
  for (const auto& [id, j] : jobs_) {
    out.emplace_back();
    progress(now, id, out.back());
  }
  return out;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> downloads::stored_ranges(job_id id) const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return out;
  const job& j = *it->second;
  for (std::uint32_t p = 0; p < j.pieces; ++p) {
    if (j.have[p] == 0) continue;
    const std::uint64_t from = j.start_of(p);
    if (!out.empty() && out.back().first + out.back().second == from) {
      out.back().second += j.have[p];
    } else {
      out.emplace_back(from, j.have[p]);
    }
  }
  return out;
}

}  // namespace hearsay
