// Downloads in the simulator (see downloads.hpp).

#include "sim/downloads.hpp"

#include <algorithm>

#include "overlay/assert.hpp"

namespace hearsay::sim {

namespace {

constexpr std::int64_t us_per_s = 1'000'000;
// The bytes handed to the engines: simulated holders send no real bytes, and the world's
// host stores and hashes nothing. Larger ranges go over in parts of this size.
alignas(64) constexpr std::uint8_t zeros[64 * 1024] = {};

double unit(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

// The peer at a holder's address. Holders are the peers that sent hits, and hits come only
// from honest peers (an attack's Sybils hold no files), which live at address_of(index).
std::uint32_t holder_index(const peer_addr& holder) {
  std::uint32_t index = 0;
  const bool honest = honest_index_of(holder, index);
  HEARSAY_ASSERT(honest);
  return index;
}

}  // namespace

const char* describe(download_outcome o) {
  switch (o) {
    case download_outcome::none: return "none";
    case download_outcome::running: return "running";
    case download_outcome::done: return "done";
    case download_outcome::failed: return "failed";
    case download_outcome::timed_out: return "timed_out";
    case download_outcome::abandoned: return "abandoned";
  }
  return "?";
}

// The engine's host for one searching peer: ranges become requests of the world's transfers;
// nothing is stored or hashed (the holders are honest, so the digest is the file's).
class download_world::searcher_host final : public download_host {
 public:
  searcher_host(download_world& w, std::uint32_t self) : w_(w), self_(self) {}
  void request(job_id id, const peer_addr& holder, const file_info&, std::uint64_t offset,
               std::uint32_t length) override {
    w_.request(self_, id, holder, offset, length);
  }
  void release(job_id id, const peer_addr& holder) override { w_.release(self_, id, holder); }
  result<> write(job_id, std::uint64_t, std::span<const std::uint8_t>) override { return {}; }
  void hash_written(job_id, std::span<const std::uint8_t>) override {}
  result<> hash_stored(job_id, std::uint64_t, std::uint64_t) override { return {}; }
  result<sha256_digest> hash_finish(job_id id) override { return w_.digest(self_, id); }
  void hash_reset(job_id) override {}
  result<> commit(job_id) override { return {}; }
  void on_job_end(job_id id, const job_progress& p) override { w_.job_ended(self_, id, p); }

 private:
  download_world& w_;
  std::uint32_t self_;
};

struct download_world::searcher {
  searcher(download_world& w, std::uint32_t self) : host(w, self), engine(w.fetch_, host) {}
  searcher_host host;
  downloads engine;
  std::map<job_id, std::vector<std::uint32_t>> records;  // per running job: its searches
};

download_world::download_world(const scenario& s, std::uint64_t capacity_seed, const std::vector<std::uint8_t>& running,
                               const catalogue& files, std::vector<query_record>& records,
                               latency_fn latency)
    : fetch_(s.node.fetch),
      upload_(upload_capacity(s)),
      download_(download_capacity(s)),
      capacity_seed_(capacity_seed),
      start_(s.download.start),
      hits_wanted_(std::max<std::uint32_t>(1, s.hits_wanted)),
      uploads_max_(s.download.uploads_max),
      query_timeout_(s.node.search.query_timeout),
      timeout_(s.download.timeout),
      running_(running),
      files_(files),
      records_(records),
      latency_(std::move(latency)) {}

download_world::~download_world() = default;

// ---- events -------------------------------------------------------------------------------

download_world::event_map::iterator download_world::push(micros at, event e) {
  HEARSAY_ASSERT(at >= now_);
  return events_.emplace(event_key{at, 1, sequence_++, 0}, std::move(e));
}

void download_world::add_hits(std::span<const download_hit> hits) {
  for (const auto& h : hits) {
    HEARSAY_ASSERT(h.at >= now_);
    events_.emplace(event_key{h.at, 0, h.record, h.holder}, hit_arrives{h.record, h.holder});
  }
}

void download_world::run_before(micros limit) {
  while (!events_.empty() && events_.begin()->first.at < limit) {
    auto node = events_.extract(events_.begin());
    now_ = node.key().at;
    dispatch(node.mapped());
  }
}

void download_world::dispatch(const event& e) {
  if (const auto* h = std::get_if<hit_arrives>(&e)) {
    on_hit(*h);
  } else if (const auto* r = std::get_if<request_arrives>(&e)) {
    on_request(*r);
  } else if (const auto* d = std::get_if<data_arrives>(&e)) {
    on_data(*d);
  } else if (const auto* f = std::get_if<failure_arrives>(&e)) {
    on_failure(*f);
  } else if (const auto* s = std::get_if<range_sent>(&e)) {
    on_range_sent(*s);
  } else if (std::holds_alternative<tick>(e)) {
    on_tick();
  } else if (const auto* t = std::get_if<search_timeout>(&e)) {
    on_timeout(*t);
  } else if (const auto* c = std::get_if<search_closed>(&e)) {
    on_closed(*c);
  }
}

// ---- searches -----------------------------------------------------------------------------

void download_world::on_hit(const hit_arrives& e) {
  query_record& r = records_[e.record];
  if (r.download != download_outcome::none && r.download != download_outcome::running) return;  // ended
  auto [it, fresh] = searches_.try_emplace(e.record);
  search& s = it->second;
  if (fresh) {
    push(std::max(now_, r.issued + timeout_), search_timeout{e.record});
    if (start_ == scenario::download_settings::start_kind::hits_wanted) {
      push(std::max(now_, r.issued + query_timeout_), search_closed{e.record});
    }
  }
  const peer_addr holder = address_of(e.holder);
  if (s.started) {
    searcher_of(r.origin).engine.add_holders(now_, s.job, std::span(&holder, 1));
    return;
  }
  s.holders.push_back(holder);
  if (start_ == scenario::download_settings::start_kind::first_hit || s.holders.size() >= hits_wanted_) {
    start_download(e.record, s);
  }
}

void download_world::on_closed(const search_closed& e) {
  auto it = searches_.find(e.record);
  if (it != searches_.end() && !it->second.started && !it->second.holders.empty()) start_download(e.record, it->second);
}

void download_world::start_download(std::uint32_t record, search& s) {
  query_record& r = records_[record];
  searcher& o = searcher_of(r.origin);
  const file_info& file = files_.file(r.file);
  r.download_start = now_ - r.issued;
  r.file_bytes = file.size;
  r.download = download_outcome::running;
  s.started = true;
  const auto holders = std::move(s.holders);
  s.holders = {};
  const auto started = o.engine.start(now_, file, holders);
  if (!started || !o.engine.running(started->id)) {  // refused (file_bytes_max, jobs_max), or over at once
    r.download = download_outcome::failed;
    searches_.erase(record);
    return;
  }
  s.job = started->id;
  o.records[started->id].push_back(record);
  if (!started->attached) ++jobs_running_;
  if (!tick_pending_) {
    // On whole seconds, which the engine's rate meters count in.
    push(micros{(now_.count() / us_per_s + 1) * us_per_s}, tick{});
    tick_pending_ = true;
  }
}

void download_world::on_timeout(const search_timeout& e) {
  auto it = searches_.find(e.record);
  if (it == searches_.end()) return;
  if (!it->second.started) {
    records_[e.record].download = download_outcome::timed_out;
    searches_.erase(it);
    return;
  }
  cancelled_as_ = download_outcome::timed_out;
  searcher_of(records_[e.record].origin).engine.cancel(now_, it->second.job);  // job_ended records it
}

void download_world::on_tick() {
  tick_pending_ = false;
  // What each flow sent since the last tick or range leaves for the searcher now.
  for (auto& [key, x] : transfers_) {
    if (!x.active) continue;
    advance(x);
    deliver_sent(x);
  }
  for (auto& [peer, o] : searchers_) {
    if (o->engine.size() > 0) o->engine.on_tick(now_);
  }
  if (jobs_running_ > 0) {
    push(now_ + micros{us_per_s}, tick{});
    tick_pending_ = true;
  }
}

void download_world::peer_stopped(std::uint32_t i, micros now) {
  HEARSAY_ASSERT(events_.empty() || events_.begin()->first.at >= now);
  now_ = std::max(now_, now);
  // As a holder: transfers with requests break; idle ones only lose their place (a new
  // process has none; the next request finds whether the peer is back).
  for (auto it = transfers_.lower_bound(transfer_key{i, 0, 0}); it != transfers_.end() && it->first.holder == i; ++it) {
    transfer& x = it->second;
    if (x.closing) continue;
    if (!x.queue.empty() || x.in_transit > 0) {
      break_transfer(x, "the holder left");
    } else {
      release_slot(x);
    }
  }
  // As a searcher: its downloads are abandoned, and so are those still waiting to start.
  if (auto o = searchers_.find(i); o != searchers_.end()) {
    std::vector<job_id> jobs;
    for (const auto& [id, recs] : o->second->records) jobs.push_back(id);
    cancelled_as_ = download_outcome::abandoned;
    for (const job_id id : jobs) o->second->engine.cancel(now_, id);
  }
  if (start_ == scenario::download_settings::start_kind::hits_wanted) {
    for (auto it = searches_.begin(); it != searches_.end();) {
      if (!it->second.started && records_[it->first].origin == i) {
        records_[it->first].download = download_outcome::abandoned;
        it = searches_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

// ---- the engines' host calls ----------------------------------------------------------------

download_world::searcher& download_world::searcher_of(std::uint32_t peer) {
  auto& slot = searchers_[peer];
  if (slot == nullptr) slot = std::make_unique<searcher>(*this, peer);
  return *slot;
}

void download_world::request(std::uint32_t origin, job_id job, const peer_addr& holder, std::uint64_t offset,
                             std::uint32_t length) {
  const transfer_key key{holder_index(holder), origin, job};
  auto [it, fresh] = transfers_.try_emplace(key);
  transfer& x = it->second;
  if (fresh) {
    x.key = key;
    x.conn = ++connections_;
    x.sent_event = events_.end();
  }
  // Written to a connection the holder broke: lost with it (the failure on its way covers it).
  if (x.closing) return;
  ++x.in_transit;
  push(now_ + latency_(origin, key.holder), request_arrives{key, x.conn, offset, length});
}

void download_world::release(std::uint32_t origin, job_id job, const peer_addr& holder) {
  auto it = transfers_.find(transfer_key{holder_index(holder), origin, job});
  if (it == transfers_.end()) return;
  transfer& x = it->second;
  if (x.active) deactivate(x);
  release_slot(x);
  unschedule(x);
  transfers_.erase(it);  // what it still had on the way is dropped with it
}

sha256_digest download_world::digest(std::uint32_t origin, job_id job) const {
  const auto& recs = searchers_.at(origin)->records.at(job);
  const query_record& r = records_[recs.front()];
  return files_.file(r.file).sha256;
}

void download_world::job_ended(std::uint32_t origin, job_id job, const job_progress& p) {
  auto& jobs = searchers_.at(origin)->records;
  auto it = jobs.find(job);
  if (it == jobs.end()) return;
  bool first = true;
  for (const std::uint32_t k : it->second) {
    query_record& r = records_[k];
    switch (p.state) {
      case job_state::done:
        r.download = download_outcome::done;
        r.file_done = p.ended - r.issued;
        break;
      case job_state::failed: r.download = download_outcome::failed; break;
      case job_state::cancelled: r.download = cancelled_as_; break;
      case job_state::running: HEARSAY_ASSERT(false); break;
    }
    if (first) {
      r.download_bytes = p.bytes_received;
      r.download_failovers = p.failovers;
      first = false;
    }
    searches_.erase(k);
  }
  jobs.erase(it);
  HEARSAY_ASSERT(jobs_running_ > 0);
  --jobs_running_;
}

// ---- transfers ------------------------------------------------------------------------------

void download_world::on_request(const request_arrives& e) {
  auto it = transfers_.find(e.key);
  if (it == transfers_.end() || it->second.conn != e.conn) return;  // released meanwhile
  transfer& x = it->second;
  --x.in_transit;
  if (x.closing) return;
  if (!running_[e.key.holder]) {
    break_transfer(x, "the holder cannot be reached");
    return;
  }
  if (!x.slot) {
    endpoint& h = endpoint_of(e.key.holder);
    if (uploads_max_ > 0 && h.slots >= uploads_max_) {
      break_transfer(x, "the holder is busy");
      return;
    }
    x.slot = true;
    ++h.slots;
  }
  x.queue.push_back(range{e.offset, e.length});
  if (!x.active) activate(x);
}

void download_world::on_data(const data_arrives& e) {
  auto it = transfers_.find(e.key);
  if (it == transfers_.end() || it->second.conn != e.conn) return;  // released: the bytes are dropped
  downloads& engine = searchers_.at(e.key.origin)->engine;
  const peer_addr from = address_of(e.key.holder);
  std::uint64_t offset = e.offset, left = e.length;
  while (left > 0) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, sizeof zeros));
    engine.on_data(now_, e.key.job, from, offset, std::span(zeros, n));
    offset += n;
    left -= n;
    // The engine may have released the holder (or ended the job) on these bytes.
    it = transfers_.find(e.key);
    if (it == transfers_.end() || it->second.conn != e.conn) return;
  }
}

void download_world::on_failure(const failure_arrives& e) {
  auto it = transfers_.find(e.key);
  if (it == transfers_.end() || it->second.conn != e.conn) return;  // released meanwhile
  HEARSAY_ASSERT(it->second.closing && !it->second.active && !it->second.slot);
  transfers_.erase(it);
  searchers_.at(e.key.origin)->engine.on_holder_failed(now_, e.key.job, address_of(e.key.holder), e.reason);
}

void download_world::on_range_sent(const range_sent& e) {
  auto it = transfers_.find(e.key);
  HEARSAY_ASSERT(it != transfers_.end());  // a transfer's pending range_sent goes with it
  transfer& x = it->second;
  x.sent_event = events_.end();  // (the event that is running)
  advance(x);
  HEARSAY_ASSERT(!x.queue.empty() && x.sent == x.queue.front().length);
  deliver_sent(x);
  x.queue.pop_front();
  x.sent = x.carry = x.reported = 0;
  if (x.queue.empty()) {
    deactivate(x);
  } else {
    schedule_sent(x);
  }
}

void download_world::break_transfer(transfer& x, const char* reason) {
  if (x.active) {
    advance(x);
    deliver_sent(x);  // bytes already sent still arrive, ahead of the failure
    deactivate(x);
  }
  x.queue.clear();
  x.sent = x.carry = x.reported = 0;
  release_slot(x);
  x.closing = true;
  push(now_ + latency_(x.key.holder, x.key.origin), failure_arrives{x.key, x.conn, reason});
}

// ---- the flow model -------------------------------------------------------------------------

std::uint64_t download_world::capacity(const capacity_dist& d, std::uint32_t peer, std::uint64_t salt) const {
  // A hash of (seed, peer): no state per peer, and the same whenever it is asked. The
  // instance-class variate is the peer's own, shared by both directions.
  const std::uint64_t base = capacity_seed_ ^ (std::uint64_t{peer} * 0x9e3779b97f4a7c15ULL);
  std::uint64_t state = base;
  const double c = unit(splitmix64(state));
  state = base ^ (salt * 0xd1342543de82ef95ULL);
  const double u = unit(splitmix64(state));
  const double v = unit(splitmix64(state));
  return d.bytes_per_s(u, v, c);
}

std::uint64_t download_world::upload_bytes_per_s(std::uint32_t i) const { return capacity(upload_, i, 1); }
std::uint64_t download_world::download_bytes_per_s(std::uint32_t i) const { return capacity(download_, i, 2); }

std::size_t download_world::flows_active() const {
  std::size_t n = 0;
  for (const auto& [peer, ep] : endpoints_) n += ep.up.size();
  return n;
}

download_world::endpoint& download_world::endpoint_of(std::uint32_t peer) {
  auto [it, fresh] = endpoints_.try_emplace(peer);
  if (fresh) {
    it->second.up_capacity = upload_bytes_per_s(peer);
    it->second.down_capacity = download_bytes_per_s(peer);
  }
  return it->second;
}

void download_world::tidy(std::uint32_t peer) {
  auto it = endpoints_.find(peer);
  if (it != endpoints_.end() && it->second.up.empty() && it->second.down.empty() && it->second.slots == 0) {
    endpoints_.erase(it);
  }
}

std::uint64_t download_world::rate_of(const transfer& x) const {
  const endpoint& h = endpoints_.at(x.key.holder);
  const endpoint& o = endpoints_.at(x.key.origin);
  const std::uint64_t up = h.up_capacity / std::max<std::uint64_t>(1, h.up.size());
  const std::uint64_t down = o.down_capacity / std::max<std::uint64_t>(1, o.down.size());
  return std::max<std::uint64_t>(1, std::min(up, down));
}

void download_world::advance(transfer& x) {
  if (x.active && !x.queue.empty()) {
    // Whole seconds and the rest apart: no overflow however long since the last update.
    const std::int64_t dt = (now_ - x.since).count();
    const auto whole = static_cast<std::uint64_t>(dt / us_per_s), part = static_cast<std::uint64_t>(dt % us_per_s);
    const std::uint64_t scaled = x.rate * part + x.carry;
    x.sent += x.rate * whole + scaled / us_per_s;
    x.carry = scaled % us_per_s;
    const std::uint64_t length = x.queue.front().length;
    if (x.sent >= length) {
      x.sent = length;
      x.carry = 0;
    }
  }
  x.since = now_;
}

void download_world::unschedule(transfer& x) {
  if (x.sent_event != events_.end()) events_.erase(x.sent_event);
  x.sent_event = events_.end();
}

void download_world::schedule_sent(transfer& x) {
  // (x has been advanced to now_.)
  unschedule(x);
  if (!x.active || x.queue.empty()) return;
  // The first instant at which rate x dt + carry reaches the remaining bytes, in millionths.
  const auto need = static_cast<unsigned __int128>(x.queue.front().length - x.sent) * us_per_s;
  std::int64_t dt = 0;
  if (need > x.carry) dt = static_cast<std::int64_t>((need - x.carry + x.rate - 1) / x.rate);
  x.sent_event = push(now_ + micros{dt}, range_sent{x.key});
}

void download_world::update_rate(transfer& x) {
  const std::uint64_t r = rate_of(x);
  if (r == x.rate) return;
  advance(x);  // at the old rate until now
  x.rate = r;
  schedule_sent(x);
}

void download_world::reshare(std::uint32_t holder, std::uint32_t origin) {
  // A flow starting or ending changes the shares of the holder's uploads and the searcher's
  // downloads, nothing else.
  if (auto h = endpoints_.find(holder); h != endpoints_.end()) {
    for (transfer* y : h->second.up) update_rate(*y);
  }
  if (auto o = endpoints_.find(origin); o != endpoints_.end()) {
    for (transfer* y : o->second.down) update_rate(*y);
  }
}

void download_world::activate(transfer& x) {
  HEARSAY_ASSERT(!x.active && !x.queue.empty());
  x.active = true;
  x.since = now_;
  endpoint_of(x.key.holder).up.push_back(&x);
  endpoint_of(x.key.origin).down.push_back(&x);
  x.rate = rate_of(x);
  schedule_sent(x);
  reshare(x.key.holder, x.key.origin);
}

void download_world::deactivate(transfer& x) {
  HEARSAY_ASSERT(x.active);
  unschedule(x);
  x.active = false;
  x.rate = 0;
  auto& up = endpoints_.at(x.key.holder).up;
  up.erase(std::find(up.begin(), up.end(), &x));
  auto& down = endpoints_.at(x.key.origin).down;
  down.erase(std::find(down.begin(), down.end(), &x));
  reshare(x.key.holder, x.key.origin);
  tidy(x.key.holder);
  tidy(x.key.origin);
}

void download_world::deliver_sent(transfer& x) {
  if (x.sent <= x.reported) return;
  const range& r = x.queue.front();
  push(now_ + latency_(x.key.holder, x.key.origin),
       data_arrives{x.key, x.conn, r.offset + x.reported, x.sent - x.reported});
  x.reported = x.sent;
}

void download_world::release_slot(transfer& x) {
  if (!x.slot) return;
  x.slot = false;
  auto& h = endpoints_.at(x.key.holder);
  HEARSAY_ASSERT(h.slots > 0);
  --h.slots;
  tidy(x.key.holder);
}

}  // namespace hearsay::sim
