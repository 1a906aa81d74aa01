// The download engine (overlay/download.hpp) driven by hand, with explicit time: a recording
// host that keeps an in-memory part file per job and computes a real SHA-256, and a holder
// simulator that answers the requests the engine made, in the order made, whole or in parts,
// honest or lying, or breaks off. Ends with a randomized run on fixed seeds that checks the
// engine's guarantees after every step.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "overlay/download.hpp"
#include "transport/sha256.hpp"  // test fixtures only: the engine itself never hashes

using namespace hearsay;

namespace {

// ---- The one place this file names a SHA-256 implementation: swap it here. ----
class digest_stream {
 public:
  void update(std::span<const std::uint8_t> bytes) { h_.update(bytes); }
  // The digest of everything updated so far; the stream starts over.
  sha256_digest finish() { return h_.finish(); }

 private:
  net::sha256_stream h_;
};

sha256_digest digest_of(std::span<const std::uint8_t> bytes) {
  digest_stream s;
  s.update(bytes);
  return s.finish();
}
// ---------------------------------------------------------------------------------

using bytes_t = std::vector<std::uint8_t>;
constexpr std::uint64_t all_bytes = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kib = 1024;

// A byte range [offset, offset + length).
struct range {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t end() const { return offset + length; }
  friend bool operator==(const range&, const range&) = default;
  friend bool operator<(const range& a, const range& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.length < b.length;
  }
  friend std::ostream& operator<<(std::ostream& os, const range& r) {
    return os << "[" << r.offset << ", +" << r.length << ")";
  }
};

bool overlaps(const range& a, const range& b) { return a.offset < b.end() && b.offset < a.end(); }

// Sorted, with touching or overlapping ranges joined.
std::vector<range> merged(std::vector<range> v) {
  std::sort(v.begin(), v.end());
  std::vector<range> out;
  for (const auto& r : v) {
    if (!out.empty() && r.offset <= out.back().end()) {
      out.back().length = std::max(out.back().end(), r.end()) - out.back().offset;
    } else {
      out.push_back(r);
    }
  }
  return out;
}

peer_addr holder_addr(std::uint32_t i) { return peer_addr::from_ipv4(0x0A000100u + i, 7000); }

bytes_t make_content(std::uint64_t size, std::uint64_t seed) {
  bytes_t out(static_cast<std::size_t>(size));
  std::mt19937_64 rng(seed);
  std::uint64_t word = 0;
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (k % 8 == 0) word = rng();
    out[k] = static_cast<std::uint8_t>(word >> (8 * (k % 8)));
  }
  return out;
}

bytes_t slice(const bytes_t& b, std::uint64_t offset, std::uint64_t length) {
  const auto from = b.begin() + static_cast<std::ptrdiff_t>(offset);
  return bytes_t(from, from + static_cast<std::ptrdiff_t>(length));
}

file_info file_of(const bytes_t& content, std::string name = "file.bin") {
  file_info f;
  f.name = std::move(name);
  f.size = content.size();
  f.sha256 = digest_of(content);
  return f;
}

// Small pieces so that a few kilobytes make a many-piece file.
fetch_config small_config() {
  fetch_config c;
  c.piece_bytes = kib;
  c.holders_at_once = 4;
  c.pieces_per_holder = 4;
  return c;
}

// Records everything the engine asks of its driver, keeps a part file per job in memory, and
// checks the host-side guarantees the header promises (no overlapping requests, no offset
// written twice within an attempt, a digest fed in file order, nothing after on_job_end).
// Violations are collected in `problems` rather than asserted inside a callback.
class recording_download_host final : public download_host {
 public:
  struct request_record {
    job_id id = 0;
    peer_addr holder;
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
  };
  struct write_record {
    job_id id = 0;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::uint32_t attempt = 0;
  };
  struct commit_record {
    job_id id = 0;
    sha256_digest digest;  // of the part file as committed
    bytes_t content;
  };
  struct part_file {
    bytes_t bytes;
    std::vector<std::uint8_t> writes_at;  // per byte: writes in the current attempt
    digest_stream digest;
    std::uint64_t digest_at = 0;  // the offset the digest has reached
    std::uint32_t attempt = 1;    // 1 + hash_reset calls
    std::vector<range> read_back;  // hash_stored calls, in order
    std::uint64_t hashed_as_written = 0;
    std::uint32_t finishes = 0;
  };

  // Faults to inject.
  std::optional<std::uint64_t> disk_bytes_max;  // a write reaching past it fails with ENOSPC
  std::error_code read_error;                   // returned by hash_stored
  std::error_code finish_error;                 // returned once by hash_finish
  std::error_code commit_error;                 // returned by commit
  // The part file the next job the host hears of finds (an earlier run's, for a resume).
  // The engine reads a resumed part file back inside start(), before the driver knows the
  // job's id, so a driver has to bind it this way.
  std::optional<bytes_t> next_part;

  std::vector<request_record> requests;
  std::vector<std::pair<job_id, peer_addr>> releases;
  std::vector<write_record> writes;
  std::vector<commit_record> commits;
  std::map<job_id, part_file> parts;
  std::map<job_id, job_progress> ended;
  std::map<job_id, int> end_calls;
  // The driver's view of what each holder still has to send, front first.
  std::map<std::pair<job_id, peer_addr>, std::deque<range>> outstanding;
  std::vector<std::string> problems;

  void request(job_id id, const peer_addr& holder, const file_info& file, std::uint64_t offset,
               std::uint32_t length) override {
    note_call(id, "request");
    const range r{offset, length};
    if (length == 0) problem("an empty request at " + std::to_string(offset));
    if (r.end() > file.size) problem("a request past the end of the file at " + std::to_string(offset));
    for (const auto& [key, queue] : outstanding) {
      if (key.first != id) continue;
      for (const auto& o : queue) {
        if (overlaps(o, r)) {
          problem("request [" + std::to_string(offset) + ", +" + std::to_string(length) + ") to " +
                  holder.to_string() + " overlaps one outstanding at " + key.second.to_string());
        }
      }
    }
    requests.push_back({id, holder, offset, length});
    outstanding[{id, holder}].push_back(r);
  }

  void release(job_id id, const peer_addr& holder) override {
    note_call(id, "release");
    releases.emplace_back(id, holder);
    outstanding.erase({id, holder});
  }

  result<> write(job_id id, std::uint64_t offset, std::span<const std::uint8_t> bytes) override {
    note_call(id, "write");
    part_file& p = part(id);
    std::uint64_t n = bytes.size();
    std::error_code ec;
    if (disk_bytes_max && offset + n > *disk_bytes_max) {
      n = offset < *disk_bytes_max ? *disk_bytes_max - offset : 0;
      ec = std::make_error_code(std::errc::no_space_on_device);
    }
    if (p.bytes.size() < offset + n) {
      p.bytes.resize(static_cast<std::size_t>(offset + n));
      p.writes_at.resize(p.bytes.size());
    }
    bool twice = false;
    for (std::uint64_t k = 0; k < n; ++k) {
      const auto at = static_cast<std::size_t>(offset + k);
      p.bytes[at] = bytes[static_cast<std::size_t>(k)];
      if (++p.writes_at[at] > 1) twice = true;
    }
    if (twice) {
      problem("bytes at " + std::to_string(offset) + " written twice in attempt " + std::to_string(p.attempt));
    }
    writes.push_back({id, offset, bytes.size(), p.attempt});
    return check(ec);
  }

  void hash_written(job_id id, std::span<const std::uint8_t> bytes) override {
    note_call(id, "hash_written");
    part_file& p = part(id);
    const auto at = static_cast<std::ptrdiff_t>(p.digest_at);
    if (p.digest_at + bytes.size() > p.bytes.size() || !std::equal(bytes.begin(), bytes.end(), p.bytes.begin() + at)) {
      problem("hash_written at " + std::to_string(p.digest_at) + " is not what was just stored there");
    }
    p.digest.update(bytes);
    p.digest_at += bytes.size();
    p.hashed_as_written += bytes.size();
  }

  result<> hash_stored(job_id id, std::uint64_t offset, std::uint64_t length) override {
    note_call(id, "hash_stored");
    part_file& p = part(id);
    if (read_error) return failure(read_error);
    if (offset != p.digest_at) {
      problem("hash_stored at " + std::to_string(offset) + " while the digest is at " + std::to_string(p.digest_at));
    }
    if (offset + length > p.bytes.size()) {
      problem("hash_stored [" + std::to_string(offset) + ", +" + std::to_string(length) +
              ") past the end of the part file (" + std::to_string(p.bytes.size()) + " bytes)");
      return failure(std::make_error_code(std::errc::io_error));
    }
    p.read_back.push_back({offset, length});
    p.digest.update(std::span<const std::uint8_t>(p.bytes).subspan(static_cast<std::size_t>(offset),
                                                                    static_cast<std::size_t>(length)));
    p.digest_at = offset + length;
    return {};
  }

  result<sha256_digest> hash_finish(job_id id) override {
    note_call(id, "hash_finish");
    part_file& p = part(id);
    ++p.finishes;
    p.digest_at = 0;
    const sha256_digest out = p.digest.finish();
    if (finish_error) return failure(std::exchange(finish_error, {}));
    return out;
  }

  void hash_reset(job_id id) override {
    note_call(id, "hash_reset");
    part_file& p = part(id);
    p.digest = digest_stream{};
    p.digest_at = 0;
    ++p.attempt;
    std::fill(p.writes_at.begin(), p.writes_at.end(), std::uint8_t{0});
  }

  result<> commit(job_id id) override {
    note_call(id, "commit");
    part_file& p = part(id);
    commits.push_back({id, digest_of(p.bytes), p.bytes});
    return check(commit_error);
  }

  void on_job_end(job_id id, const job_progress& p) override {
    if (++end_calls[id] > 1) problem("on_job_end called twice for job " + std::to_string(id));
    if (p.state == job_state::running) problem("on_job_end with state running");
    if (p.id != id) problem("on_job_end with a progress of another job");
    ended[id] = p;
    if (on_end) on_end(id);
  }

  // Called from on_job_end, for a driver that starts the next download there.
  std::function<void(job_id)> on_end;

  part_file& part(job_id id) {
    auto it = parts.find(id);
    if (it == parts.end()) {
      it = parts.emplace(id, part_file{}).first;
      if (next_part) {
        it->second.bytes = std::move(*next_part);
        it->second.writes_at.assign(it->second.bytes.size(), 0);
        next_part.reset();
      }
    }
    return it->second;
  }

  std::string problems_text() const {
    std::string out;
    for (const auto& p : problems) out += p + "\n";
    return out;
  }

 private:
  void note_call(job_id id, const char* what) {
    if (ended.count(id) != 0) problem(std::string(what) + " for job " + std::to_string(id) + " after it ended");
  }
  void problem(std::string text) {
    if (problems.size() < 20) problems.push_back(std::move(text));
  }
};

// An engine, its host and the holders' side: the file content each job's honest holders
// serve, and the explicit clock.
struct rig {
  explicit rig(const fetch_config& c = small_config()) : cfg(c), engine(cfg, host) {}

  fetch_config cfg;  // the engine keeps a reference: changes apply to it at once
  recording_download_host host;
  downloads engine;
  micros now{0};
  std::map<job_id, bytes_t> contents;

  // What start() said: the job (0 when refused) and why it was refused.
  struct outcome {
    job_id id = 0;
    bool attached = false;
    std::string error;
  };
  outcome start(const file_info& f, const bytes_t& content, const std::vector<std::uint32_t>& holders,
                const std::vector<std::pair<std::uint64_t, std::uint64_t>>& stored = {}) {
    std::vector<peer_addr> addrs;
    for (const auto h : holders) addrs.push_back(holder_addr(h));
    auto s = engine.start(now, f, addrs, stored);
    if (!s) return {0, false, s.error().what()};
    contents[s->id] = content;
    host.part(s->id);  // binds a pending part file the engine did not touch inside start()
    return {s->id, s->attached, {}};
  }
  outcome start(const bytes_t& content, const std::vector<std::uint32_t>& holders,
                           const std::vector<std::pair<std::uint64_t, std::uint64_t>>& stored = {}) {
    return start(file_of(content), content, holders, stored);
  }

  std::deque<range> outstanding(job_id id, std::uint32_t h) const {
    auto it = host.outstanding.find({id, holder_addr(h)});
    return it == host.outstanding.end() ? std::deque<range>{} : it->second;
  }
  // Holders with requests outstanding in a job.
  std::size_t holders_asked(job_id id) const {
    std::size_t n = 0;
    for (const auto& [key, queue] : host.outstanding) {
      if (key.first == id && !queue.empty()) ++n;
    }
    return n;
  }

  // Holder h sends up to max_bytes of its first outstanding request, exactly as asked, or
  // with its first byte flipped (a liar). Returns the bytes sent; 0 when it has nothing to send.
  std::uint64_t send(job_id id, std::uint32_t h, std::uint64_t max_bytes = all_bytes, bool corrupt = false) {
    auto it = host.outstanding.find({id, holder_addr(h)});
    if (it == host.outstanding.end() || it->second.empty() || max_bytes == 0) return 0;
    range& r = it->second.front();
    const std::uint64_t n = std::min(max_bytes, r.length);
    const std::uint64_t offset = r.offset;
    r.offset += n;
    r.length -= n;
    if (r.length == 0) it->second.pop_front();
    bytes_t bytes = slice(contents.at(id), offset, n);
    if (corrupt) bytes[0] ^= 0x5a;
    engine.on_data(now, id, holder_addr(h), offset, bytes);  // may release or request: `it` is stale now
    return n;
  }
  // Holder h sends n bytes across its outstanding requests (fewer if it runs out).
  std::uint64_t send_n(job_id id, std::uint32_t h, std::uint64_t n, bool corrupt = false) {
    std::uint64_t sent = 0;
    while (sent < n && engine.running(id)) {
      const std::uint64_t k = send(id, h, n - sent, corrupt);
      if (k == 0) break;
      sent += k;
    }
    return sent;
  }
  // Holder h sends everything it is asked for, in parts of part_bytes, including what it is
  // asked for while it sends, until it has nothing left or the job ends.
  std::uint64_t send_all(job_id id, std::uint32_t h, std::uint64_t part_bytes = 300, bool corrupt = false) {
    std::uint64_t sent = 0;
    for (int guard = 0; guard < 1'000'000 && engine.running(id); ++guard) {
      const std::uint64_t k = send(id, h, part_bytes, corrupt);
      if (k == 0) break;
      sent += k;
    }
    return sent;
  }
  // Bytes at any offset, as a broken holder would send them.
  void send_raw(job_id id, std::uint32_t h, std::uint64_t offset, std::uint64_t length) {
    engine.on_data(now, id, holder_addr(h), offset, slice(contents.at(id), offset, length));
  }
  // Holder h breaks off: the driver closes its transfer and tells the engine.
  void fail(job_id id, std::uint32_t h, std::string_view reason, bool permanent = false) {
    host.outstanding.erase({id, holder_addr(h)});
    engine.on_holder_failed(now, id, holder_addr(h), reason, permanent);
  }
  void tick() {
    now += micros{1'000'000};
    engine.on_tick(now);
  }

  job_progress progress(job_id id) {
    job_progress p;
    REQUIRE(engine.progress(now, id, p));
    return p;
  }
  std::vector<range> requests_to(std::uint32_t h) const {
    std::vector<range> out;
    for (const auto& r : host.requests) {
      if (r.holder == holder_addr(h)) out.push_back({r.offset, r.length});
    }
    return out;
  }
  std::size_t releases_of(std::uint32_t h) const {
    return static_cast<std::size_t>(std::count_if(host.releases.begin(), host.releases.end(),
                                                  [&](const auto& r) { return r.second == holder_addr(h); }));
  }
  // Writes of one attempt tile [0, size) exactly, apart from `skip` (ranges already stored).
  bool written_once(job_id id, std::uint32_t attempt, std::uint64_t size, std::vector<range> skip = {}) const {
    std::vector<range> w = std::move(skip);
    for (const auto& x : host.writes) {
      if (x.id == id && x.attempt == attempt) w.push_back({x.offset, x.length});
    }
    std::sort(w.begin(), w.end());
    std::uint64_t at = 0;
    for (const auto& r : w) {
      if (r.offset != at) return false;
      at = r.end();
    }
    return at == size;
  }
  void check_clean() const {
    INFO(host.problems_text());
    CHECK(host.problems.empty());
  }
};

const holder_progress& holder_in(const job_progress& p, std::uint32_t h) {
  const auto it = std::find_if(p.holders.begin(), p.holders.end(),
                               [&](const holder_progress& x) { return x.addr == holder_addr(h); });
  REQUIRE(it != p.holders.end());
  return *it;
}

using hstate = holder_progress::state;

}  // namespace

// ---- 1. One holder ----------------------------------------------------------------

TEST_CASE("a download from one holder: the file arrives in parts; it is verified and committed once", "[download]") {
  rig r;
  const bytes_t content = make_content(10 * kib + 300, 1);  // 11 pieces, the last one short
  const auto s = r.start(content, {1});
  REQUIRE(s.id != 0);
  CHECK_FALSE(s.attached);
  CHECK(s.error.empty());
  // pieces_per_holder pieces are asked for at once, each a whole piece.
  CHECK(r.requests_to(1) == std::vector<range>{{0, kib}, {kib, kib}, {2 * kib, kib}, {3 * kib, kib}});
  auto p = r.progress(s.id);
  CHECK(holder_in(p, 1).st == hstate::busy);
  CHECK(holder_in(p, 1).in_flight == 4);

  CHECK(r.send(s.id, 1, 400) == 400);
  p = r.progress(s.id);
  CHECK(p.bytes_stored == 400);
  CHECK(p.bytes_verified == 400);
  CHECK(r.host.requests.size() == 4);  // the first piece is not complete yet
  CHECK(r.send(s.id, 1, 624) == 624);
  // The first piece is complete: the next one is asked for, keeping four in flight.
  REQUIRE(r.host.requests.size() == 5);
  CHECK(range{r.host.requests[4].offset, r.host.requests[4].length} == range{4 * kib, kib});
  CHECK(r.progress(s.id).bytes_verified == kib);
  CHECK(r.host.commits.empty());

  r.send_all(s.id, 1, 300);
  REQUIRE_FALSE(r.engine.running(s.id));
  CHECK(r.host.requests.size() == 11);
  CHECK(range{r.host.requests.back().offset, r.host.requests.back().length} == range{10 * kib, 300});
  REQUIRE(r.host.commits.size() == 1);
  CHECK(r.host.commits[0].digest == file_of(content).sha256);
  CHECK(r.host.commits[0].content == content);
  REQUIRE(r.host.ended.count(s.id) == 1);
  const auto& end = r.host.ended.at(s.id);
  CHECK(end.state == job_state::done);
  CHECK(end.error.empty());
  CHECK(end.bytes_verified == content.size());
  CHECK(end.bytes_stored == content.size());
  CHECK(end.bytes_received == content.size());
  CHECK(end.attempts == 1);
  CHECK(end.failovers == 0);
  CHECK(end.started == micros{0});
  CHECK(end.ended == r.now);
  CHECK(end.eta_s() < 0);  // not running
  CHECK(std::string(describe(end.state)) == "done");
  CHECK(holder_in(end, 1).bytes == content.size());
  CHECK(r.host.end_calls.at(s.id) == 1);
  CHECK(r.written_once(s.id, 1, content.size()));
  CHECK(r.host.parts.at(s.id).read_back.empty());  // every byte came in order: hashed as written
  CHECK(r.host.parts.at(s.id).hashed_as_written == content.size());
  CHECK(r.releases_of(1) == 1);  // its transfer is closed at the end
  CHECK(r.engine.size() == 0);
  r.check_clean();
}

TEST_CASE("an empty file is done at once with the digest of nothing, and fails with another", "[download]") {
  rig r;
  const bytes_t empty;
  auto f = file_of(empty);
  REQUIRE(f.sha256.to_hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  SECTION("the right digest") {
    const auto s = r.start(f, empty, {1});
    REQUIRE(s.id != 0);
    CHECK_FALSE(r.engine.running(s.id));
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
    CHECK(r.host.ended.at(s.id).bytes_verified == 0);
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].digest == f.sha256);
    CHECK(r.host.requests.empty());
  }
  SECTION("the right digest needs no holder") {
    const auto s = r.start(f, empty, {});
    REQUIRE(s.id != 0);
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
    CHECK(r.host.commits.size() == 1);
  }
  SECTION("a wrong digest") {
    f.sha256.bytes[0] ^= 1;
    const auto s = r.start(f, empty, {1});
    REQUIRE(s.id != 0);
    CHECK_FALSE(r.engine.running(s.id));
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::failed);
    CHECK(r.host.ended.at(s.id).error == "the file's digest does not match an empty file");
    CHECK(r.host.commits.empty());
    CHECK(r.host.requests.empty());
  }
  r.check_clean();
}

// ---- 2. Several holders at once ---------------------------------------------------

TEST_CASE("pieces are spread over holders_at_once holders, never overlapping, each byte written once", "[download]") {
  auto c = small_config();
  c.holders_at_once = 4;
  c.pieces_per_holder = 2;
  rig r(c);
  const bytes_t content = make_content(40 * kib - 17, 2);  // 40 pieces
  const auto s = r.start(content, {1, 2, 3, 4, 5});
  REQUIRE(s.id != 0);
  REQUIRE(r.host.requests.size() == 8);
  for (std::uint32_t h = 1; h <= 4; ++h) CHECK(r.requests_to(h).size() == 2);
  CHECK(r.requests_to(5).empty());
  CHECK(holder_in(r.progress(s.id), 5).st == hstate::waiting);
  CHECK(r.holders_asked(s.id) == 4);

  // Round robin, in uneven parts.
  std::uint64_t step = 0;
  for (int guard = 0; guard < 100'000 && r.engine.running(s.id); ++guard) {
    bool any = false;
    for (std::uint32_t h = 1; h <= 5; ++h) {
      if (r.send(s.id, h, 100 + (37 * step++) % 900) > 0) any = true;
      REQUIRE(r.holders_asked(s.id) <= 4);
    }
    REQUIRE(any);
  }
  REQUIRE_FALSE(r.engine.running(s.id));
  const auto& end = r.host.ended.at(s.id);
  CHECK(end.state == job_state::done);
  CHECK(end.bytes_verified == content.size());
  for (std::uint32_t h = 1; h <= 4; ++h) CHECK(holder_in(end, h).bytes > 0);
  CHECK(r.requests_to(5).empty());  // four holders were enough
  CHECK(r.written_once(s.id, 1, content.size()));
  REQUIRE(r.host.commits.size() == 1);
  CHECK(r.host.commits[0].content == content);
  r.check_clean();  // includes: no request overlapped one outstanding, no offset written twice
}

// ---- 3. Out-of-order storage --------------------------------------------------------

TEST_CASE("bytes stored ahead of the hashed prefix are read back from the part file", "[download]") {
  auto c = small_config();
  c.holders_at_once = 2;
  c.pieces_per_holder = 1;
  rig r(c);
  const bytes_t content = make_content(2 * kib, 3);
  const auto s = r.start(content, {1, 2});
  REQUIRE(s.id != 0);
  CHECK(r.requests_to(1) == std::vector<range>{{0, kib}});
  CHECK(r.requests_to(2) == std::vector<range>{{kib, kib}});

  // B's later piece arrives first: stored, not hashed.
  CHECK(r.send(s.id, 2) == kib);
  auto p = r.progress(s.id);
  CHECK(p.bytes_stored == kib);
  CHECK(p.bytes_verified == 0);
  CHECK(r.host.parts.at(s.id).read_back.empty());
  // Half of A's piece: hashed as written.
  CHECK(r.send(s.id, 1, 512) == 512);
  CHECK(r.progress(s.id).bytes_verified == 512);
  CHECK(r.host.parts.at(s.id).read_back.empty());

  SECTION("the prefix reaches B's piece: it is read back and the digest matches") {
    CHECK(r.send(s.id, 1) == 512);
    CHECK(r.host.parts.at(s.id).read_back == std::vector<range>{{kib, kib}});
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  SECTION("what is hashed is what was stored: a byte changed on disk fails the digest") {
    r.host.parts.at(s.id).bytes[1500] ^= 0xff;
    CHECK(r.send(s.id, 1) == 512);
    CHECK(r.host.parts.at(s.id).read_back == std::vector<range>{{kib, kib}});
    CHECK(r.host.commits.empty());
    REQUIRE(r.engine.running(s.id));
    p = r.progress(s.id);
    CHECK(p.attempts == 2);
    CHECK(p.single_source);  // two holders wrote: nobody can be blamed
    CHECK(p.error == "the bytes did not match the file's digest; starting over");
    CHECK(holder_in(p, 1).st != hstate::dropped);
    CHECK(holder_in(p, 2).st != hstate::dropped);
    // Starting over from zero, one holder at a time.
    const auto before = r.host.requests.size();
    REQUIRE(r.host.requests.size() > 2);
    CHECK(r.host.requests[2].offset == 0);
    for (int guard = 0; guard < 100 && r.engine.running(s.id); ++guard) {
      REQUIRE(r.holders_asked(s.id) <= 1);
      r.send(s.id, 1);
      r.send(s.id, 2);
    }
    CHECK(r.host.requests.size() - before == 1);  // the second piece of attempt 2
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
    CHECK(r.written_once(s.id, 2, content.size()));
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  r.check_clean();
}

// ---- 4. Failover keeps stored bytes -------------------------------------------------

TEST_CASE("a holder that fails mid-piece hands the rest of it to the next, from the stored offset", "[download]") {
  auto c = small_config();
  c.holders_at_once = 1;
  c.pieces_per_holder = 2;
  rig r(c);
  const bytes_t content = make_content(4 * kib, 4);
  const auto s = r.start(content, {1, 2});
  REQUIRE(s.id != 0);
  CHECK(r.requests_to(1) == std::vector<range>{{0, kib}, {kib, kib}});
  CHECK(r.requests_to(2).empty());

  SECTION("after half a piece") {
    CHECK(r.send(s.id, 1, 512) == 512);
    r.fail(s.id, 1, "connection reset");
    auto p = r.progress(s.id);
    CHECK(p.failovers == 1);
    CHECK(holder_in(p, 1).st == hstate::resting);
    CHECK(holder_in(p, 1).failures == 1);
    CHECK(holder_in(p, 1).last_error == "connection reset");
    CHECK(p.bytes_stored == 512);
    // B is asked for the rest of the first piece, not for all of it.
    CHECK(r.requests_to(2) == std::vector<range>{{512, 512}, {kib, kib}});
    r.send_all(s.id, 2);
    REQUIRE(r.host.ended.count(s.id) == 1);
    const auto& end = r.host.ended.at(s.id);
    CHECK(end.state == job_state::done);
    CHECK(end.failovers == 1);
    CHECK(end.attempts == 1);
    CHECK(holder_in(end, 1).bytes == 512);
    CHECK(holder_in(end, 2).bytes == content.size() - 512);
    CHECK(r.written_once(s.id, 1, content.size()));
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  SECTION("before any byte") {
    r.fail(s.id, 1, "connection refused");
    CHECK(r.progress(s.id).failovers == 1);
    CHECK(r.requests_to(2) == std::vector<range>{{0, kib}, {kib, kib}});
    r.send_all(s.id, 2);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
  }
  r.check_clean();
}

// ---- 5. Broken holders ----------------------------------------------------------------

TEST_CASE("a holder that sends what was not asked is dropped and its pieces go to another", "[download]") {
  auto c = small_config();
  c.holders_at_once = 1;
  c.pieces_per_holder = 2;
  rig r(c);
  const bytes_t content = make_content(4 * kib, 5);
  const auto s = r.start(content, {1, 2});
  REQUIRE(s.id != 0);
  std::vector<range> expect_b = {{0, kib}, {kib, kib}};
  std::string expect_error = "sent bytes out of order";

  SECTION("bytes at another offset (its second request before its first)") {
    r.send_raw(s.id, 1, kib, 100);
  }
  SECTION("more bytes than asked") {
    r.send_raw(s.id, 1, 0, kib + 1);
  }
  SECTION("a gap after a good part") {
    CHECK(r.send(s.id, 1, 100) == 100);
    r.send_raw(s.id, 1, 200, 100);
    expect_b = {{100, kib - 100}, {kib, kib}};
  }
  SECTION("bytes after all it was asked for") {
    r.cfg.holders_at_once = 2;
    r.cfg.pieces_per_holder = 2;
    r.engine.add_holders(r.now, s.id, {});  // B is brought in for pieces 2 and 3
    REQUIRE(r.requests_to(2) == std::vector<range>{{2 * kib, kib}, {3 * kib, kib}});
    CHECK(r.send(s.id, 1) == kib);
    CHECK(r.send(s.id, 1) == kib);
    REQUIRE(holder_in(r.progress(s.id), 1).st == hstate::idle);
    r.send_raw(s.id, 1, 0, 10);
    expect_b.clear();
    expect_error = "sent bytes nobody asked for";
  }
  const auto written = r.host.writes.size();
  auto p = r.progress(s.id);
  CHECK(holder_in(p, 1).st == hstate::dropped);
  CHECK(holder_in(p, 1).last_error == expect_error);
  CHECK(r.releases_of(1) == 1);
  CHECK(r.outstanding(s.id, 1).empty());
  if (!expect_b.empty()) CHECK(r.requests_to(2) == expect_b);
  r.send_all(s.id, 2);
  REQUIRE(r.host.ended.count(s.id) == 1);
  CHECK(r.host.ended.at(s.id).state == job_state::done);
  CHECK(holder_in(r.host.ended.at(s.id), 1).st == hstate::dropped);
  CHECK(r.host.writes.size() > written);
  REQUIRE(r.host.commits.size() == 1);
  CHECK(r.host.commits[0].content == content);
  r.check_clean();
}

TEST_CASE("bytes from a stranger or for an unknown job change nothing", "[download]") {
  rig r;
  const bytes_t content = make_content(4 * kib, 6);
  const auto s = r.start(content, {1});
  REQUIRE(s.id != 0);
  const bytes_t some = slice(content, 0, 100);
  r.engine.on_data(r.now, s.id, holder_addr(9), 0, some);
  r.engine.on_data(r.now, s.id + 100, holder_addr(1), 0, some);
  r.engine.on_holder_failed(r.now, s.id, holder_addr(9), "whatever", true);
  r.engine.on_holder_failed(r.now, s.id + 100, holder_addr(1), "whatever", true);
  CHECK(r.host.writes.empty());
  CHECK(r.host.releases.empty());
  const auto p = r.progress(s.id);
  CHECK(p.holders.size() == 1);
  CHECK(holder_in(p, 1).st == hstate::busy);
  r.send_all(s.id, 1);
  CHECK(r.host.ended.at(s.id).state == job_state::done);
  r.check_clean();
}

// ---- 6. A lying single holder -------------------------------------------------------

TEST_CASE("a single source whose bytes fail the digest is dropped, and the job starts over", "[download]") {
  auto c = small_config();
  c.holders_at_once = 1;  // one holder at a time: a mismatch names its source
  rig r(c);
  const bytes_t content = make_content(5000, 7);

  SECTION("a liar, then an honest holder") {
    const auto s = r.start(content, {1, 2});
    r.send_all(s.id, 1, 300, true);
    REQUIRE(r.engine.running(s.id));
    auto p = r.progress(s.id);
    CHECK(p.attempts == 2);
    CHECK_FALSE(p.single_source);
    CHECK(holder_in(p, 1).st == hstate::dropped);
    CHECK(holder_in(p, 1).last_error == "sent bytes that do not match the file's digest");
    CHECK(r.releases_of(1) == 1);
    CHECK(r.host.parts.at(s.id).attempt == 2);  // the digest was started over
    CHECK(r.host.commits.empty());
    // From zero, from the other holder.
    REQUIRE_FALSE(r.requests_to(2).empty());
    CHECK(r.requests_to(2).front().offset == 0);
    r.send_all(s.id, 2);
    REQUIRE(r.host.ended.count(s.id) == 1);
    const auto& end = r.host.ended.at(s.id);
    CHECK(end.state == job_state::done);
    CHECK(end.attempts == 2);
    CHECK(end.bytes_received == 2 * content.size());
    CHECK(holder_in(end, 1).st == hstate::dropped);
    CHECK(r.written_once(s.id, 1, content.size()));
    CHECK(r.written_once(s.id, 2, content.size()));
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  SECTION("one holder, a liar") {
    const auto s = r.start(content, {1});
    r.send_all(s.id, 1, 1000, true);
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::failed);
    CHECK(r.host.ended.at(s.id).error ==
          "no holder left; last error: " + holder_addr(1).to_string() + ": sent bytes that do not match the file's digest");
    CHECK(r.host.commits.empty());
  }
  SECTION("only liars") {
    const auto s = r.start(content, {1, 2});
    r.send_all(s.id, 1, 1000, true);
    REQUIRE(r.engine.running(s.id));
    r.send_all(s.id, 2, 1000, true);
    REQUIRE(r.host.ended.count(s.id) == 1);
    const auto& end = r.host.ended.at(s.id);
    CHECK(end.state == job_state::failed);
    CHECK(end.error ==
          "no holder left; last error: " + holder_addr(2).to_string() + ": sent bytes that do not match the file's digest");
    CHECK(end.attempts == 3);
    CHECK(holder_in(end, 1).st == hstate::dropped);
    CHECK(holder_in(end, 2).st == hstate::dropped);
    CHECK(r.host.commits.empty());
  }
  r.check_clean();
}

// ---- 7. A mismatch among several holders ---------------------------------------------

TEST_CASE("a mismatch among several holders turns to one holder at a time, which names the liar", "[download]") {
  auto c = small_config();
  c.holders_at_once = 4;
  c.pieces_per_holder = 1;
  rig r(c);
  const bytes_t content = make_content(6 * kib, 8);
  std::uint32_t liar = 0;
  std::vector<std::uint32_t> holders;
  SECTION("the liar is the first holder") {
    liar = 1;
    holders = {1, 2, 3};
  }
  SECTION("the liar is the last holder") {
    liar = 3;
    holders = {1, 2, 3};
  }
  const auto s = r.start(content, holders);
  REQUIRE(s.id != 0);
  CHECK(r.holders_asked(s.id) == 3);
  auto round = [&] {
    bool any = false;
    for (const auto h : holders) any = r.send(s.id, h, all_bytes, h == liar) > 0 || any;
    return any;
  };
  while (r.progress(s.id).attempts == 1) REQUIRE(round());
  auto p = r.progress(s.id);
  CHECK(p.single_source);
  CHECK(p.attempts == 2);
  CHECK(p.error == "the bytes did not match the file's digest; starting over");
  for (const auto h : holders) CHECK(holder_in(p, h).st != hstate::dropped);  // nobody blamed yet
  CHECK(r.host.commits.empty());

  for (int guard = 0; guard < 1000 && r.engine.running(s.id); ++guard) {
    REQUIRE(r.holders_asked(s.id) <= 1);
    REQUIRE(round());
  }
  REQUIRE(r.host.ended.count(s.id) == 1);
  const auto& end = r.host.ended.at(s.id);
  CHECK(end.state == job_state::done);
  CHECK(end.single_source);
  REQUIRE(r.host.commits.size() == 1);
  CHECK(r.host.commits[0].content == content);
  if (liar == 1) {
    // Asked alone first, it lied again and was named.
    CHECK(end.attempts == 3);
    CHECK(holder_in(end, 1).st == hstate::dropped);
    CHECK(holder_in(end, 1).last_error == "sent bytes that do not match the file's digest");
  } else {
    // An honest holder was asked alone first and finished: the liar was never named.
    CHECK(end.attempts == 2);
    CHECK(holder_in(end, liar).st != hstate::dropped);
  }
  for (const auto h : holders) {
    if (h != liar) CHECK(holder_in(end, h).st != hstate::dropped);
  }
  r.check_clean();
}

// ---- 8. Rate window ------------------------------------------------------------------

TEST_CASE("a holder below rate_min over rate_window is dropped; its pieces resume elsewhere", "[download]") {
  fetch_config c;
  c.piece_bytes = 16 * kib;
  c.holders_at_once = 1;
  c.pieces_per_holder = 2;
  c.rate_window = micros{20'000'000};
  c.rate_min_bytes_per_s = 16 * kib;
  rig r(c);

  SECTION("a trickle of one byte a second") {
    const bytes_t content = make_content(64 * kib, 9);
    const auto s = r.start(content, {1, 2});
    REQUIRE(s.id != 0);
    std::uint64_t trickled = 0;
    int dropped_at = 0;
    for (int t = 1; t <= 30 && dropped_at == 0; ++t) {
      r.now = micros{std::int64_t{t} * 1'000'000};
      trickled += r.send(s.id, 1, 1);
      r.engine.on_tick(r.now);
      if (r.releases_of(1) > 0) dropped_at = t;
      if (t < 20) {
        REQUIRE(holder_in(r.progress(s.id), 1).st == hstate::busy);  // not before the window
        REQUIRE(r.requests_to(2).empty());
      }
    }
    CHECK(dropped_at >= 20);
    CHECK(dropped_at <= 22);
    auto p = r.progress(s.id);
    CHECK(holder_in(p, 1).st == hstate::dropped);
    CHECK(holder_in(p, 1).last_error == "slower than 16384 bytes/s over 20 s");
    CHECK(p.failovers == 1);
    // The next holder resumes the first piece where the trickle stopped.
    CHECK(r.requests_to(2) == std::vector<range>{{trickled, 16 * kib - trickled}, {16 * kib, 16 * kib}});
    r.send_all(s.id, 2, 4 * kib);
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
    CHECK(holder_in(r.host.ended.at(s.id), 1).bytes == trickled);
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  SECTION("a holder at 20 KiB/s is kept") {
    const bytes_t content = make_content(640 * kib, 10);
    const auto s = r.start(content, {1, 2});
    CHECK(r.progress(s.id).eta_s() < 0);  // no rate yet
    for (int t = 1; t <= 60 && r.engine.running(s.id); ++t) {
      r.now = micros{std::int64_t{t} * 1'000'000};
      r.send_n(s.id, 1, 20 * kib);
      r.engine.on_tick(r.now);
      if (t == 10) {
        // 20 KiB in each of the last four whole seconds; 200 KiB of 640 stored.
        const auto p = r.progress(s.id);
        CHECK(p.rate_bytes_per_s == 20 * kib);
        CHECK(holder_in(p, 1).rate_bytes_per_s == 20 * kib);
        CHECK(p.eta_s() == Approx(22.0));
      }
    }
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
    CHECK(r.host.ended.at(s.id).failovers == 0);
    CHECK(r.now >= micros{30'000'000});  // it ran well past the window
    CHECK(r.requests_to(2).empty());
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  r.check_clean();
}

// ---- 9. Transient and permanent failures ---------------------------------------------

TEST_CASE("failures rest a holder for retry_delay, doubling, and holder_failures_max drop it", "[download]") {
  auto c = small_config();
  c.holders_at_once = 1;
  c.pieces_per_holder = 2;
  c.retry_delay = micros{2'000'000};
  c.holder_failures_max = 3;
  rig r(c);
  const bytes_t content = make_content(4 * kib, 11);
  const auto s = r.start(content, {1});
  REQUIRE(s.id != 0);
  const std::string reset_error = "no holder left; last error: " + holder_addr(1).to_string() + ": connection reset";

  SECTION("a permanent failure drops it at once and, alone, ends the job") {
    r.fail(s.id, 1, "does not have the file", true);
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::failed);
    CHECK(r.host.ended.at(s.id).error ==
          "no holder left; last error: " + holder_addr(1).to_string() + ": does not have the file");
    CHECK(holder_in(r.host.ended.at(s.id), 1).st == hstate::dropped);
    CHECK(r.host.commits.empty());
  }
  SECTION("transient failures") {
    CHECK(r.send(s.id, 1, 100) == 100);
    r.fail(s.id, 1, "connection reset");
    // Resting, not dropped: the job waits.
    REQUIRE(r.engine.running(s.id));
    auto p = r.progress(s.id);
    CHECK(holder_in(p, 1).st == hstate::resting);
    CHECK(holder_in(p, 1).failures == 1);
    CHECK(r.host.requests.size() == 2);
    r.tick();  // 1 s: still resting
    CHECK(r.host.requests.size() == 2);
    r.tick();  // 2 s = retry_delay: asked again, from the stored offset
    REQUIRE(r.host.requests.size() == 4);
    CHECK(r.requests_to(1)[2] == range{100, kib - 100});
    CHECK(holder_in(r.progress(s.id), 1).st == hstate::busy);

    r.fail(s.id, 1, "connection reset");  // second failure, at 2 s: rests 4 s
    CHECK(holder_in(r.progress(s.id), 1).failures == 2);
    for (int k = 0; k < 3; ++k) {
      r.tick();  // 3, 4, 5 s
      CHECK(r.host.requests.size() == 4);
    }
    r.tick();  // 6 s
    REQUIRE(r.host.requests.size() == 6);
    CHECK(r.requests_to(1)[4] == range{100, kib - 100});

    SECTION("the third failure drops it and, with nobody left, fails the job") {
      r.fail(s.id, 1, "connection reset");
      REQUIRE(r.host.ended.count(s.id) == 1);
      const auto& end = r.host.ended.at(s.id);
      CHECK(end.state == job_state::failed);
      CHECK(end.error == reset_error);
      CHECK(holder_in(end, 1).st == hstate::dropped);
      CHECK(holder_in(end, 1).failures == 3);
      CHECK(r.host.commits.empty());
    }
    SECTION("or it serves the file at last") {
      r.send_all(s.id, 1);
      REQUIRE(r.host.ended.count(s.id) == 1);
      CHECK(r.host.ended.at(s.id).state == job_state::done);
      CHECK(holder_in(r.host.ended.at(s.id), 1).failures == 2);
      CHECK(r.written_once(s.id, 1, content.size()));
      REQUIRE(r.host.commits.size() == 1);
      CHECK(r.host.commits[0].content == content);
    }
  }
  r.check_clean();
}

TEST_CASE("when every holder is dropped the job fails naming the last error", "[download]") {
  auto c = small_config();
  c.holders_at_once = 2;
  rig r(c);
  const bytes_t content = make_content(8 * kib, 12);
  const auto s = r.start(content, {1, 2});
  REQUIRE(r.holders_asked(s.id) == 2);
  r.fail(s.id, 1, "not found", true);
  REQUIRE(r.engine.running(s.id));
  CHECK(r.progress(s.id).error == holder_addr(1).to_string() + ": not found");
  r.fail(s.id, 2, "busy", true);
  REQUIRE(r.host.ended.count(s.id) == 1);
  CHECK(r.host.ended.at(s.id).state == job_state::failed);
  CHECK(r.host.ended.at(s.id).error == "no holder left; last error: " + holder_addr(2).to_string() + ": busy");
  CHECK(r.host.commits.empty());
  r.check_clean();
}

TEST_CASE("a job waits for a resting holder while another is dropped, and a new holder is used at once", "[download]") {
  auto c = small_config();
  c.holders_at_once = 2;
  c.retry_delay = micros{2'000'000};
  rig r(c);
  const bytes_t content = make_content(8 * kib, 13);
  const auto s = r.start(content, {1, 2});
  r.fail(s.id, 1, "connection reset");
  r.fail(s.id, 2, "not found", true);
  REQUIRE(r.engine.running(s.id));  // holder 1 only rests
  CHECK(r.holders_asked(s.id) == 0);

  SECTION("the rest ends") {
    r.tick();
    CHECK(r.holders_asked(s.id) == 0);
    r.tick();
    CHECK(r.holders_asked(s.id) == 1);
    r.send_all(s.id, 1);
  }
  SECTION("a later hit brings a new holder") {
    const peer_addr extra[] = {holder_addr(3)};
    r.engine.add_holders(r.now, s.id, extra);
    CHECK(r.outstanding(s.id, 3).size() == 4);
    r.send_all(s.id, 3);
  }
  REQUIRE(r.host.ended.count(s.id) == 1);
  CHECK(r.host.ended.at(s.id).state == job_state::done);
  REQUIRE(r.host.commits.size() == 1);
  CHECK(r.host.commits[0].content == content);
  r.check_clean();
}

TEST_CASE("an idle holder's closed transfer is no failure", "[download]") {
  auto c = small_config();
  c.holders_at_once = 2;
  c.pieces_per_holder = 1;
  rig r(c);
  const bytes_t content = make_content(3 * kib, 14);
  const auto s = r.start(content, {1, 2});
  CHECK(r.send(s.id, 1) == kib);  // piece 0 done; holder 1 takes piece 2
  CHECK(r.send(s.id, 1) == kib);  // piece 2 done; nothing left for it
  REQUIRE(holder_in(r.progress(s.id), 1).st == hstate::idle);
  r.fail(s.id, 1, "connection closed");
  auto p = r.progress(s.id);
  CHECK(holder_in(p, 1).st == hstate::waiting);
  CHECK(holder_in(p, 1).failures == 0);
  CHECK(p.failovers == 0);
  r.send_all(s.id, 2);
  CHECK(r.host.ended.at(s.id).state == job_state::done);
  r.check_clean();
}

// ---- 10. Jobs and limits -------------------------------------------------------------

TEST_CASE("one job per digest; jobs_max, file_bytes_max and holders_max are enforced", "[download]") {
  auto c = small_config();
  c.jobs_max = 2;
  c.file_bytes_max = 64 * kib;
  rig r(c);
  const bytes_t one = make_content(8 * kib, 15), two = make_content(4 * kib, 16), three = make_content(4 * kib, 17);

  SECTION("attach, a second job, refused third") {
    const auto s1 = r.start(one, {1});
    REQUIRE(s1.id != 0);
    const auto s1b = r.start(one, {2});
    CHECK(s1b.id == s1.id);
    CHECK(s1b.attached);
    CHECK(s1b.error.empty());
    CHECK(r.engine.size() == 1);
    CHECK(r.engine.find(file_of(one).sha256) == s1.id);
    auto p = r.progress(s1.id);
    REQUIRE(p.holders.size() == 2);
    CHECK(p.holders[0].addr == holder_addr(1));
    CHECK(p.holders[1].addr == holder_addr(2));
    CHECK_FALSE(r.requests_to(2).empty());  // the new holder is put to work

    const auto s2 = r.start(two, {3});
    REQUIRE(s2.id != 0);
    CHECK(s2.id != s1.id);
    CHECK_FALSE(s2.attached);
    CHECK(r.engine.size() == 2);
    const auto listed = r.engine.list(r.now);
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].id == s1.id);
    CHECK(listed[0].file == file_of(one));
    CHECK(listed[1].id == s2.id);
    CHECK(listed[1].state == job_state::running);

    const auto s3 = r.start(three, {4});
    CHECK(s3.id == 0);
    CHECK(s3.error == "2 downloads are running already (fetch.jobs_max)");
    CHECK(r.requests_to(4).empty());
    CHECK(r.engine.find(file_of(three).sha256) == 0);

    // At the limit, attaching still works.
    const auto s2b = r.start(two, {5});
    CHECK(s2b.id == s2.id);
    CHECK(s2b.attached);

    // When a job ends, its digest can be fetched again as a new job.
    r.send_all(s1.id, 1);
    r.send_all(s1.id, 2);
    REQUIRE(r.host.ended.count(s1.id) == 1);
    CHECK(r.host.ended.at(s1.id).state == job_state::done);
    const auto again = r.start(one, {6});
    CHECK(again.id != 0);
    CHECK(again.id != s1.id);
    CHECK_FALSE(again.attached);
  }
  SECTION("file_bytes_max") {
    file_info big;
    big.name = "big.iso";
    big.size = 64 * kib + 1;
    big.sha256.bytes.fill(7);
    const auto refused = r.start(big, {}, {1});
    CHECK(refused.id == 0);
    CHECK(refused.error == "the file is announced at 65537 bytes, over fetch.file_bytes_max (65536 bytes)");
    CHECK(r.host.requests.empty());
    CHECK(r.engine.size() == 0);
    const bytes_t at_max = make_content(64 * kib, 18);
    const auto accepted = r.start(at_max, {1});
    CHECK(accepted.id != 0);
    CHECK(accepted.error.empty());
  }
  SECTION("no holder") {
    const auto refused = r.start(one, {});
    CHECK(refused.id == 0);
    CHECK(refused.error == "no holder to fetch it from");
    CHECK(r.engine.size() == 0);
  }
  SECTION("holders_max, duplicates and unspecified addresses") {
    r.cfg.holders_max = 2;
    std::vector<peer_addr> addrs = {holder_addr(1), holder_addr(1), peer_addr{}, holder_addr(2), holder_addr(3)};
    const auto s = r.engine.start(r.now, file_of(one), addrs);
    REQUIRE(s.ok());
    const auto p = r.progress(s->id);
    REQUIRE(p.holders.size() == 2);
    CHECK(p.holders[0].addr == holder_addr(1));
    CHECK(p.holders[1].addr == holder_addr(2));
  }
  SECTION("add_holders for an unknown job is ignored") {
    const peer_addr extra[] = {holder_addr(1)};
    r.engine.add_holders(r.now, 99, extra);
    CHECK(r.engine.size() == 0);
    CHECK(r.host.requests.empty());
  }
  r.check_clean();
}

// ---- 11. Resume -----------------------------------------------------------------------

TEST_CASE("a resumed part file is read back for the digest and only the rest is asked for", "[download]") {
  rig r;  // pieces of 1 KiB, 4 per holder
  const bytes_t content = make_content(8 * kib, 19);
  // Pieces 0-1 whole, piece 4 whole, piece 5's first 476 bytes; and 100 bytes in the middle
  // of piece 6, which are not contiguous with its start and so are fetched again.
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> stored = {{0, 2 * kib}, {4 * kib, 1500}, {7000, 100}};
  bytes_t part(content.size(), 0);
  for (const auto& [offset, length] : stored) {
    std::copy_n(content.begin() + static_cast<std::ptrdiff_t>(offset), length,
                part.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  const std::vector<range> trusted = {{0, 2 * kib}, {4 * kib, 1500}};

  SECTION("good bytes") {
    r.host.next_part = part;
    const auto s = r.start(content, {1}, stored);
    REQUIRE(s.id != 0);
    auto p = r.progress(s.id);
    CHECK(p.bytes_stored == 2 * kib + 1500);
    CHECK(p.bytes_verified == 2 * kib);  // read back at once
    CHECK(merged(r.host.parts.at(s.id).read_back) == std::vector<range>{{0, 2 * kib}});
    CHECK(r.requests_to(1) == std::vector<range>{{2 * kib, kib}, {3 * kib, kib}, {5596, 548}, {6 * kib, kib}});
    CHECK(r.engine.stored_ranges(s.id) ==
          std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 2 * kib}, {4 * kib, 1500}});
    r.send_all(s.id, 1);
    REQUIRE(r.host.ended.count(s.id) == 1);
    const auto& end = r.host.ended.at(s.id);
    CHECK(end.state == job_state::done);
    CHECK(end.bytes_received == content.size() - (2 * kib + 1500));
    CHECK(r.requests_to(1).size() == 5);
    CHECK(r.requests_to(1).back() == range{7 * kib, kib});
    CHECK(merged(r.host.parts.at(s.id).read_back) == trusted);  // every stored byte read back
    CHECK(r.written_once(s.id, 1, content.size(), trusted));    // and none written again
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  SECTION("a wrong byte in the part file blames nobody: start over from zero with the same holder") {
    part[100] ^= 0xff;
    r.host.next_part = part;
    const auto s = r.start(content, {1}, stored);
    REQUIRE(s.id != 0);
    const auto first_attempt = r.requests_to(1).size();
    // Deliver attempt 1 only.
    while (r.progress(s.id).attempts == 1) REQUIRE(r.send(s.id, 1) > 0);
    auto p = r.progress(s.id);
    CHECK(p.attempts == 2);
    CHECK_FALSE(p.single_source);
    CHECK(p.error == "the bytes did not match the file's digest; starting over");
    CHECK(holder_in(p, 1).st == hstate::busy);  // not dropped: it was not its fault
    CHECK(holder_in(p, 1).failures == 0);
    CHECK(r.host.commits.empty());
    REQUIRE(r.requests_to(1).size() > 5);
    CHECK(r.requests_to(1)[5] == range{0, kib});  // from zero
    CHECK(first_attempt == 4);
    r.send_all(s.id, 1);
    REQUIRE(r.host.ended.count(s.id) == 1);
    const auto& end = r.host.ended.at(s.id);
    CHECK(end.state == job_state::done);
    CHECK(end.attempts == 2);
    CHECK(holder_in(end, 1).st != hstate::dropped);
    CHECK(r.written_once(s.id, 2, content.size()));  // attempt 2 rewrote every byte once
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  SECTION("a complete part file needs no holder") {
    r.host.next_part = content;
    const auto s = r.start(content, {}, {{0, content.size()}});
    REQUIRE(s.id != 0);
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
    CHECK(r.host.requests.empty());
    CHECK(merged(r.host.parts.at(s.id).read_back) == std::vector<range>{{0, content.size()}});
    REQUIRE(r.host.commits.size() == 1);
  }
  SECTION("a part file that cannot be read back fails the job") {
    r.host.next_part = part;
    r.host.read_error = std::make_error_code(std::errc::io_error);
    const auto s = r.start(content, {1}, stored);
    REQUIRE(s.id != 0);
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::failed);
    CHECK(r.host.ended.at(s.id).error ==
          "cannot read the download back: " + std::make_error_code(std::errc::io_error).message());
    CHECK(r.host.requests.empty());
    CHECK(r.host.commits.empty());
  }
  SECTION("a digest that cannot be finished (a read back that failed late) fails the job, never commits") {
    r.host.next_part = content;
    r.host.finish_error = std::make_error_code(std::errc::io_error);
    const auto s = r.start(content, {}, {{0, content.size()}});
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::failed);
    CHECK(r.host.ended.at(s.id).error ==
          "cannot read the download back: " + std::make_error_code(std::errc::io_error).message());
    CHECK(r.host.commits.empty());
  }
  r.check_clean();
}

// ---- 12. Cancel ------------------------------------------------------------------------

TEST_CASE("cancel releases the holders, ends the job cancelled, and later data is ignored", "[download]") {
  auto c = small_config();
  c.holders_at_once = 2;
  rig r(c);
  const bytes_t content = make_content(16 * kib, 20);
  const auto s = r.start(content, {1, 2, 3});
  REQUIRE(r.holders_asked(s.id) == 2);
  CHECK(r.send(s.id, 1, 500) == 500);
  const auto writes = r.host.writes.size();
  CHECK(r.engine.cancel(r.now, s.id));
  CHECK_FALSE(r.engine.running(s.id));
  CHECK(r.releases_of(1) == 1);
  CHECK(r.releases_of(2) == 1);
  CHECK(r.releases_of(3) == 0);  // never asked
  REQUIRE(r.host.ended.count(s.id) == 1);
  CHECK(r.host.ended.at(s.id).state == job_state::cancelled);
  CHECK(r.host.ended.at(s.id).error == "cancelled");
  CHECK(r.host.ended.at(s.id).bytes_stored == 500);
  CHECK(r.host.commits.empty());
  // What was still on its way changes nothing.
  r.send_raw(s.id, 1, 500, 100);
  r.engine.on_holder_failed(r.now, s.id, holder_addr(2), "reset");
  r.tick();
  CHECK(r.host.writes.size() == writes);
  CHECK_FALSE(r.engine.cancel(r.now, s.id));
  CHECK(r.host.end_calls.at(s.id) == 1);
  CHECK(r.engine.stored_ranges(s.id).empty());
  job_progress p;
  CHECK_FALSE(r.engine.progress(r.now, s.id, p));
  r.check_clean();
}

// ---- 13. Disk errors -------------------------------------------------------------------

TEST_CASE("a failed write or commit ends the job failed with the system's message", "[download]") {
  rig r;
  const bytes_t content = make_content(8 * kib, 21);
  SECTION("the disk fills up") {
    r.host.disk_bytes_max = 3000;
    const auto s = r.start(content, {1});
    r.send_all(s.id, 1, 256);
    REQUIRE(r.host.ended.count(s.id) == 1);
    const auto& end = r.host.ended.at(s.id);
    CHECK(end.state == job_state::failed);
    CHECK(end.error == "cannot write the download: " + std::make_error_code(std::errc::no_space_on_device).message());
    CHECK(end.bytes_stored < 3000);
    CHECK(r.releases_of(1) == 1);
    CHECK(r.host.commits.empty());
  }
  SECTION("saving fails") {
    r.host.commit_error = std::make_error_code(std::errc::io_error);
    const auto s = r.start(content, {1});
    r.send_all(s.id, 1);
    REQUIRE(r.host.ended.count(s.id) == 1);
    const auto& end = r.host.ended.at(s.id);
    CHECK(end.state == job_state::failed);
    CHECK(end.error == "cannot save the download: " + std::make_error_code(std::errc::io_error).message());
    CHECK(end.bytes_verified == content.size());
    CHECK(r.host.commits.size() == 1);  // asked once, not retried
  }
  r.check_clean();
}

// ---- 14. End game ------------------------------------------------------------------------

TEST_CASE("at the end, a slow holder's pieces move to an idle holder more than twice as fast", "[download]") {
  fetch_config c;
  c.piece_bytes = 4 * kib;
  c.holders_at_once = 2;
  c.pieces_per_holder = 2;
  c.rate_min_bytes_per_s = 1;  // neither is slow enough to be dropped
  c.rate_window = micros{60'000'000};
  c.retry_delay = micros{2'000'000};
  rig r(c);
  const bytes_t content = make_content(24 * kib, 22);  // 6 pieces
  const auto s = r.start(content, {1, 2});
  REQUIRE(r.requests_to(1) == std::vector<range>{{0, 4 * kib}, {4 * kib, 4 * kib}});
  REQUIRE(r.requests_to(2) == std::vector<range>{{8 * kib, 4 * kib}, {12 * kib, 4 * kib}});

  SECTION("holder 2 at 100 bytes a second, holder 1 at 1 KiB") {
    int moved_at = 0;
    std::deque<range> slow_left;
    for (int t = 1; t <= 60 && moved_at == 0 && r.engine.running(s.id); ++t) {
      r.now = micros{std::int64_t{t} * 1'000'000};
      r.send_n(s.id, 1, kib);
      r.send_n(s.id, 2, 100);
      slow_left = r.outstanding(s.id, 2);
      const auto asked = r.requests_to(1).size();
      r.engine.on_tick(r.now);
      if (r.releases_of(2) > 0) {
        moved_at = t;
        // The fast holder is asked for exactly what the slow one had left.
        const auto to_fast = r.requests_to(1);
        CHECK(std::vector<range>(to_fast.begin() + static_cast<std::ptrdiff_t>(asked), to_fast.end()) ==
              std::vector<range>(slow_left.begin(), slow_left.end()));
      }
    }
    REQUIRE(moved_at > 0);
    CHECK(moved_at == 16);  // when holder 1 has finished its four pieces and is idle
    auto p = r.progress(s.id);
    CHECK(holder_in(p, 2).st == hstate::resting);  // resting, not dropped
    CHECK(holder_in(p, 2).failures == 0);
    CHECK(holder_in(p, 2).last_error == "slower than another holder at the end");
    CHECK(p.failovers == 1);
    r.send_all(s.id, 1, kib);
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
    CHECK(holder_in(r.host.ended.at(s.id), 2).st != hstate::dropped);
    CHECK(r.written_once(s.id, 1, content.size()));
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  SECTION("holder 2 at 700 bytes a second: not more than twice slower, nothing moves") {
    for (int t = 1; t <= 60 && r.engine.running(s.id); ++t) {
      r.now = micros{std::int64_t{t} * 1'000'000};
      r.send_n(s.id, 1, kib);
      r.send_n(s.id, 2, 700);
      if (r.engine.running(s.id)) {
        r.engine.on_tick(r.now);
        auto p = r.progress(s.id);
        CHECK(holder_in(p, 1).st != hstate::resting);
        CHECK(holder_in(p, 2).st != hstate::resting);
      }
    }
    REQUIRE(r.host.ended.count(s.id) == 1);
    CHECK(r.host.ended.at(s.id).state == job_state::done);
    CHECK(r.host.ended.at(s.id).failovers == 0);
    REQUIRE(r.host.commits.size() == 1);
    CHECK(r.host.commits[0].content == content);
  }
  r.check_clean();
}

// ---- 15. stored_ranges ----------------------------------------------------------------------

TEST_CASE("stored_ranges joins contiguous pieces", "[download]") {
  auto c = small_config();
  c.holders_at_once = 2;
  c.pieces_per_holder = 2;
  rig r(c);
  const bytes_t content = make_content(5000, 23);  // pieces 0-3 whole, piece 4 of 904 bytes
  using ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

  SECTION("as bytes arrive") {
    const auto s = r.start(content, {1, 2});
    REQUIRE(r.requests_to(1) == std::vector<range>{{0, kib}, {kib, kib}});
    REQUIRE(r.requests_to(2) == std::vector<range>{{2 * kib, kib}, {3 * kib, kib}});
    CHECK(r.engine.stored_ranges(s.id).empty());
    CHECK(r.send(s.id, 2) == kib);  // piece 2; holder 2 is asked for piece 4 too
    CHECK(r.send(s.id, 2, 100) == 100);
    CHECK(r.engine.stored_ranges(s.id) == ranges{{2 * kib, kib + 100}});
    CHECK(r.send(s.id, 1) == kib);
    CHECK(r.send(s.id, 1, 10) == 10);
    CHECK(r.engine.stored_ranges(s.id) == ranges{{0, kib + 10}, {2 * kib, kib + 100}});
    CHECK(r.send(s.id, 1) == kib - 10);
    CHECK(r.engine.stored_ranges(s.id) == ranges{{0, 3 * kib + 100}});
  }
  SECTION("from a resumed part file") {
    r.host.next_part = content;
    const auto s = r.start(content, {1}, {{0, kib}, {2 * kib, kib}, {3 * kib, 500}});
    CHECK(r.engine.stored_ranges(s.id) == ranges{{0, kib}, {2 * kib, kib + 500}});
  }
  SECTION("an unknown job") {
    CHECK(r.engine.stored_ranges(42).empty());
  }
  r.check_clean();
}

TEST_CASE("a driver may start the next download from on_job_end", "[download]") {
  rig r;
  const bytes_t first = make_content(3 * kib, 24), second = make_content(5 * kib, 25);
  job_id next = 0;
  r.host.on_end = [&](job_id) {
    if (next != 0) return;
    const peer_addr from[] = {holder_addr(2)};
    const auto started = r.engine.start(r.now, file_of(second), from);
    REQUIRE(started.ok());
    next = started->id;
  };
  const auto s = r.start(first, {1});
  r.send_all(s.id, 1);
  REQUIRE(r.host.ended.count(s.id) == 1);
  CHECK(r.host.ended.at(s.id).state == job_state::done);
  REQUIRE(next != 0);
  CHECK(next != s.id);
  CHECK(r.engine.running(next));
  CHECK(r.engine.size() == 1);
  r.contents[next] = second;
  CHECK(r.outstanding(next, 2).size() == 4);
  r.send_all(next, 2);
  REQUIRE(r.host.ended.count(next) == 1);
  CHECK(r.host.ended.at(next).state == job_state::done);
  REQUIRE(r.host.commits.size() == 2);
  CHECK(r.host.commits[1].content == second);
  r.check_clean();
}

TEST_CASE("describe names every download and holder state", "[download]") {
  CHECK(std::string(describe(job_state::running)) == "running");
  CHECK(std::string(describe(job_state::failed)) == "failed");
  CHECK(std::string(describe(job_state::cancelled)) == "cancelled");
  CHECK(std::string(describe(hstate::waiting)) == "waiting");
  CHECK(std::string(describe(hstate::busy)) == "busy");
  CHECK(std::string(describe(hstate::idle)) == "idle");
  CHECK(std::string(describe(hstate::resting)) == "resting");
  CHECK(std::string(describe(hstate::dropped)) == "dropped");
}

// ---- 16. Randomized runs ----------------------------------------------------------------

namespace {

struct behaviour {
  bool lies = false;      // flips a byte of everything it sends
  bool flaky = false;     // breaks off now and then (sometimes for good)
  bool trickles = false;  // sends at most 64 bytes a second
  bool breaks = false;    // now and then sends bytes at a wrong offset
  bool reliable() const { return !lies && !flaky && !trickles && !breaks; }
};

struct run_summary {
  job_state state = job_state::running;
  std::uint32_t attempts = 0;
  std::uint32_t failovers = 0;
  bool single_source = false;
};

// One randomized download on a fixed seed, with the host's and the engine's guarantees
// checked after every step.
run_summary random_run(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](std::uint64_t n) { return rng() % n; };
  constexpr std::uint64_t piece = 64 * kib;

  fetch_config c;
  c.piece_bytes = static_cast<std::uint32_t>(piece);
  c.holders_at_once = static_cast<std::uint32_t>(1 + pick(4));
  c.pieces_per_holder = static_cast<std::uint32_t>(1 + pick(4));
  c.rate_min_bytes_per_s = 4 * kib;
  c.rate_window = micros{5'000'000};
  c.retry_delay = micros{1'000'000};
  c.holder_failures_max = static_cast<std::uint32_t>(2 + pick(2));
  rig r(c);

  std::uint64_t size = 0;
  switch (pick(5)) {
    case 0: size = pick(4) == 0 ? 0 : 1 + pick(piece); break;
    case 1: size = (1 + pick(80)) * piece; break;
    default: size = pick(5 * 1024 * kib + 1); break;
  }
  const bytes_t content = make_content(size, seed * 7919);
  const file_info f = file_of(content);

  const auto n = static_cast<std::uint32_t>(1 + pick(6));
  std::vector<behaviour> hs(n + 1);  // 1-based
  // Every third seed is hostile: one reliable holder among misbehaving ones.
  const bool hostile = seed % 3 == 0;
  const auto reliable_one = static_cast<std::uint32_t>(1 + pick(n));
  bool any_reliable = false;
  for (std::uint32_t h = 1; h <= n; ++h) {
    if (hostile && h == reliable_one) {
      any_reliable = true;
      continue;
    }
    switch (hostile ? 4 + pick(6) : pick(10)) {
      case 4: case 5: hs[h].lies = true; break;
      case 6: hs[h].flaky = true; break;
      case 7: hs[h].trickles = true; break;
      case 8: hs[h].breaks = true; break;
      case 9: hs[h].lies = hs[h].flaky = true; break;
      default: break;
    }
    any_reliable = any_reliable || hs[h].reliable();
  }
  std::string story = "size " + std::to_string(size) + ", at_once " + std::to_string(c.holders_at_once) + ", per " +
                      std::to_string(c.pieces_per_holder) + ", holders:";
  for (std::uint32_t h = 1; h <= n; ++h) {
    story += std::string(" ") + (hs[h].reliable() ? "reliable" : "") + (hs[h].lies ? "L" : "") + (hs[h].flaky ? "F" : "") +
             (hs[h].trickles ? "T" : "") + (hs[h].breaks ? "B" : "");
  }

  // Sometimes a part file from an earlier run, now and then with a wrong byte in it.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> stored;
  if (size > 0 && pick(4) == 0) {
    bytes_t part(content.size(), 0);
    for (int k = 0; k < 3; ++k) {
      const std::uint64_t offset = pick(3) == 0 ? pick(size) : pick(size) / piece * piece;
      const std::uint64_t length = 1 + pick(size - offset);
      stored.emplace_back(offset, length);
      std::copy_n(content.begin() + static_cast<std::ptrdiff_t>(offset), length,
                  part.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    if (pick(3) == 0) part[static_cast<std::size_t>(stored[0].first)] ^= 1;
    r.host.next_part = std::move(part);
    story += ", resumed";
  }
  INFO(story);

  std::vector<std::uint32_t> ids;
  for (std::uint32_t h = 1; h <= n; ++h) ids.push_back(h);
  const auto s = r.start(f, content, ids, stored);
  REQUIRE(s.id != 0);
  const job_id id = s.id;

  std::uint64_t steps = 0;
  auto check = [&] {
    ++steps;
    INFO("step " << steps << ", at " << r.now.count() << " us");
    INFO(r.host.problems_text());
    // No overlapping requests, no offset written twice in an attempt, the digest fed in file
    // order from what was stored, nothing after the end, on_job_end once.
    REQUIRE(r.host.problems.empty());
    REQUIRE(r.host.commits.size() <= 1);
    if (!r.host.commits.empty()) {
      REQUIRE(r.host.commits[0].digest == f.sha256);
      REQUIRE(r.host.commits[0].content == content);
    }
    if (r.engine.running(id)) {
      const auto p = r.progress(id);
      REQUIRE(r.holders_asked(id) <= (p.single_source ? 1u : c.holders_at_once));
      REQUIRE(p.bytes_verified <= p.bytes_stored);
      REQUIRE(p.bytes_stored <= size);
    } else {
      REQUIRE(r.host.ended.count(id) == 1);
    }
  };
  check();

  std::vector<std::uint64_t> trickled(n + 1);
  auto act = [&](std::uint32_t h) {
    const behaviour& b = hs[h];
    if (b.trickles) {
      const std::uint64_t k = std::min<std::uint64_t>(64 - trickled[h], pick(65));
      trickled[h] += r.send_n(id, h, k);
      return;
    }
    if (b.breaks && pick(20) == 0) {
      const auto q = r.outstanding(id, h);
      const std::uint64_t offset = q.empty() ? pick(size + 1) : q.front().offset + 1;
      if (offset < size) r.send_raw(id, h, offset, std::min<std::uint64_t>(size - offset, 1 + pick(100)));
      return;
    }
    if (b.flaky && pick(8) == 0) {
      r.send(id, h, pick(4096), b.lies);
      if (r.engine.running(id)) r.fail(id, h, "connection reset", pick(6) == 0);
      return;
    }
    r.send(id, h, 1 + pick(48 * kib), b.lies);
  };

  constexpr std::int64_t seconds_max = 3000;
  for (std::int64_t second = 1; second <= seconds_max && r.engine.running(id); ++second) {
    r.now = micros{second * 1'000'000};
    std::fill(trickled.begin(), trickled.end(), 0);
    const auto actions = pick(60);
    for (std::uint64_t a = 0; a < actions && r.engine.running(id); ++a) {
      act(static_cast<std::uint32_t>(1 + pick(n)));
      check();
    }
    // Reliable holders keep well above rate_min whenever they have something to send.
    for (std::uint32_t h = 1; h <= n && r.engine.running(id); ++h) {
      if (!hs[h].reliable()) continue;
      r.send_n(id, h, 32 * kib + pick(32 * kib));
      check();
    }
    if (r.engine.running(id)) {
      r.engine.on_tick(r.now);
      check();
    }
  }

  REQUIRE_FALSE(r.engine.running(id));  // every run ends within the bound
  REQUIRE(r.host.ended.count(id) == 1);
  const auto& end = r.host.ended.at(id);
  INFO("ended " << describe(end.state) << " after " << end.attempts << " attempts: " << end.error);
  if (any_reliable) {
    REQUIRE(end.state == job_state::done);
  }
  if (end.state == job_state::done) {
    REQUIRE(r.host.commits.size() == 1);
    REQUIRE(r.host.commits[0].content == content);
  } else {
    REQUIRE(end.state == job_state::failed);
    REQUIRE(r.host.commits.empty());
    REQUIRE_FALSE(end.error.empty());
  }
  return {end.state, end.attempts, end.failovers, end.single_source};
}

}  // namespace

TEST_CASE("downloads from randomized holders (honest, lying, flaky, trickling, broken) keep every guarantee", "[download]") {
  int done = 0, failed = 0, restarted = 0, failed_over = 0, single = 0;
  for (std::uint64_t seed = 1; seed <= 90; ++seed) {
    INFO("seed " << seed);
    const auto run = random_run(seed);
    done += run.state == job_state::done ? 1 : 0;
    failed += run.state == job_state::failed ? 1 : 0;
    restarted += run.attempts > 1 ? 1 : 0;
    failed_over += run.failovers > 0 ? 1 : 0;
    single += run.single_source ? 1 : 0;
  }
  // The seeds cover the interesting paths.
  CHECK(done > 0);
  CHECK(failed > 0);
  CHECK(restarted > 0);
  CHECK(failed_over > 0);
  CHECK(single > 0);
}
