// The real node's driver over Asio TCP (see net_node.hpp).

#include "transport/net_node.hpp"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <set>

#include <asio.hpp>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "overlay/sha256.hpp"
#include "transport/endpoint.hpp"
#include "transport/file_index.hpp"

namespace hearsay::net {

namespace fs = std::filesystem;
using asio::ip::tcp;

namespace {

// The IP part of an address, for per-IP limits.
peer_addr ip_only(peer_addr a) {
  a.port = 1;
  return a;
}

// Makes a finished download durable under its name: the directory entry is synced too, so a
// crash right after the rename cannot lose the file. Some file systems cannot sync a
// directory; the data itself is already synced, so that is not an error.
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  static_cast<void>(::fsync(fd));
  ::close(fd);
}

}  // namespace

std::error_code move_into_place(const fs::path& from, const fs::path& dir, const std::string& name, fs::path& placed) {
  // A name is checked free and then taken without replacing anything: another process may
  // create a file of that name in between, and then the next free name is tried.
  for (int attempt = 0; attempt < 100; ++attempt) {
    placed = unique_download_path(dir, name);
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, placed.c_str(), RENAME_NOREPLACE) == 0) return {};
    if (errno == EEXIST) continue;
    if (errno != EINVAL && errno != ENOSYS) return {errno, std::generic_category()};
    // A file system without RENAME_NOREPLACE: a hard link refuses to replace as well.
    if (::link(from.c_str(), placed.c_str()) == 0) {
      ::unlink(from.c_str());
      return {};
    }
    if (errno == EEXIST) continue;
    // No hard links either (e.g. FAT): a plain rename to the name just found free.
    std::error_code ec;
    fs::rename(from, placed, ec);
    return ec;
  }
  return std::make_error_code(std::errc::file_exists);
}

fs::path unique_download_path(const fs::path& dir, const std::string& name) {
  fs::path candidate = dir / name;
  std::error_code ec;
  const auto dot = name.rfind('.');
  const std::string stem = dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
  const std::string ext = dot == std::string::npos || dot == 0 ? "" : name.substr(dot);
  for (int n = 2; fs::exists(candidate, ec) && n < 10'000; ++n) {
    candidate = dir / (stem + " (" + std::to_string(n) + ")" + ext);
  }
  return candidate;
}

struct link;
using link_ptr = std::shared_ptr<link>;

struct fetch_job {
  std::uint64_t id = 0;
  file_info file;
  std::vector<peer_addr> holders;
  std::size_t next_holder = 0;
  fs::path part;
  std::FILE* out = nullptr;
  std::uint64_t offset = 0;
  // Bytes that came from an earlier attempt's .part file rather than from this job's holders.
  std::uint64_t resumed_bytes = 0;
  sha256 hasher;
  link_ptr conn;
  micros last_progress{0};
  std::function<void(const fetch_status&)> on_update;
  fetch_status status;
};

struct link : std::enable_shared_from_this<link> {
  enum class role : std::uint8_t { overlay, fetch_client, fetch_server };

  link(asio::io_context& io, const codec::limits& lim) : socket(io), reader(lim), hold(io) {}

  // A frame waiting to be written, and when it may be (net_config::send_delay; with no
  // delay, at once). Due times grow along the queue, so holding frames keeps their order.
  struct outgoing {
    std::vector<std::uint8_t> bytes;
    micros due{0};
  };

  tcp::socket socket;
  role kind = role::overlay;
  bool outbound = false;
  bool connected = false;
  bool identified = false;  // the other side's HELLO arrived
  bool closing = false;     // close once the queue drains; no failure report
  bool dead = false;
  peer_addr peer;           // advertised address (outbound: known; inbound: from HELLO)
  peer_addr remote_ip;      // the socket's remote IP, for per-IP limits
  peer_addr remote;         // the socket's remote address, for logs
  micros created{0}, last_rx{0}, last_tx{0};
  bool ping_outstanding = false;

  codec::frame_reader reader;
  std::array<std::uint8_t, 1 << 16> rbuf{};
  std::deque<outgoing> queue;
  std::size_t queued_bytes = 0;
  // The frames of the write in progress, gathered from the front of the queue.
  static constexpr std::size_t gather_max = 64;
  std::vector<asio::const_buffer> gather;
  bool writing = false;
  micros write_started{0};  // when the write in progress began
  asio::steady_timer hold;  // wakes the writer when the first held frame is due
  bool hold_armed = false;

  // Serving a transfer on this connection.
  std::FILE* serving = nullptr;
  sha256_digest serving_digest;
  std::uint64_t serve_offset = 0, serve_size = 0;
  // Fetching through this connection.
  std::uint64_t job = 0;
};

struct net_node::impl final : host {
  impl(asio::io_context& io_, net_config cfg_, logger& log_)
      : io(io_), cfg(std::move(cfg_)), log(log_), acceptor(io_), wake(io_), housekeeping(io_),
        epoch(std::chrono::steady_clock::now()) {}

  asio::io_context& io;
  net_config cfg;
  logger& log;
  tcp::acceptor acceptor;
  asio::steady_timer wake;          // the node's earliest timer
  asio::steady_timer housekeeping;  // keepalives, timeouts
  std::chrono::steady_clock::time_point epoch;
  peer_addr self;
  std::unique_ptr<node> overlay;
  file_index index;
  codec::encoder encoder;
  // Buffers of sent frames, reused for the next ones (at most 1,024 of at most 4 KiB: 4 MiB).
  static constexpr std::size_t spare_frames_max = 1024;
  static constexpr std::size_t spare_frame_bytes_max = 4096;
  std::vector<std::vector<std::uint8_t>> spare_frames;
  transport_stats stats;
  bool running = false;
  bool stopping = false;

  std::map<peer_addr, link_ptr> links;  // overlay links by advertised address
  std::set<link_ptr> all;                // every open connection
  std::multimap<micros, timer_id> timers;
  std::map<query_id, std::pair<std::function<void(const search_hit&)>, std::function<void(std::uint32_t)>>> searches;
  std::map<std::uint64_t, std::unique_ptr<fetch_job>> jobs;
  std::uint64_t next_job = 1;
  std::uint32_t serving_count = 0;
  micros peers_saved_at{0};
  // Handlers that may still be queued when the node is destroyed (timers, posted reports)
  // hold a weak reference to this token and do nothing once it is gone.
  std::shared_ptr<int> alive = std::make_shared<int>(0);

  // One address per line; written to a temporary file and renamed, so a crash mid-write
  // never leaves a truncated list.
  std::error_code save_peers() const {
    if (cfg.peers_file.empty() || !overlay) return {};
    const fs::path tmp = cfg.peers_file.string() + ".tmp";
    {
      std::FILE* f = std::fopen(tmp.c_str(), "w");
      if (f == nullptr) return {errno, std::generic_category()};
      bool ok = true;
      for (auto view : {overlay->members().active(), overlay->members().passive()}) {
        for (const auto& p : view) ok = ok && std::fprintf(f, "%s\n", p.to_string().c_str()) > 0;
      }
      ok = (std::fflush(f) == 0) && ok;
      std::fclose(f);
      if (!ok) return std::make_error_code(std::errc::io_error);
    }
    std::error_code ec;
    fs::rename(tmp, cfg.peers_file, ec);
    return ec;
  }

  std::vector<peer_addr> load_peers() const {
    std::vector<peer_addr> out;
    if (cfg.peers_file.empty()) return out;
    std::FILE* f = std::fopen(cfg.peers_file.c_str(), "r");
    if (f == nullptr) return out;
    char line[128];
    while (std::fgets(line, sizeof line, f) != nullptr && out.size() < 1024) {
      std::string text(line);
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      if (auto a = peer_addr::parse(text)) out.push_back(*a);
    }
    std::fclose(f);
    return out;
  }

  micros now() const {
    return std::chrono::duration_cast<micros>(std::chrono::steady_clock::now() - epoch);
  }

  // ---- host interface ----------------------------------------------------------------

  void send(const peer_addr& to, const message& m) override {
    if (stopping && !std::holds_alternative<msg_disconnect>(m)) return;
    link_ptr l;
    if (auto it = links.find(to); it != links.end()) {
      l = it->second;
    } else {
      l = dial(to, link::role::overlay);
      if (!l) {
        // Over the connection limit: the peer is unreachable for now.
        const peer_addr peer = to;
        asio::post(io, [this, peer, w = std::weak_ptr<int>(alive)] {
          if (!w.expired()) report_down(peer);
        });
        return;
      }
      links[to] = l;
    }
    enqueue(l, m);
  }

  void disconnect(const peer_addr& peer) override {
    auto it = links.find(peer);
    if (it == links.end()) return;
    link_ptr l = it->second;
    links.erase(it);
    close_after_flush(l);
  }

  void schedule(micros at, timer_id id) override {
    timers.emplace(at, id);
    arm_wake();
  }

  void on_search_hit(query_id id, const msg_query_hit& h, micros latency) override {
    auto it = searches.find(id);
    if (it == searches.end() || !it->second.first) return;
    for (const auto& f : h.files) it->second.first(search_hit{id, h.holder, f, h.hops, latency});
  }

  void on_search_done(query_id id, std::uint32_t hits) override {
    auto it = searches.find(id);
    if (it == searches.end()) return;
    auto done = std::move(it->second.second);
    searches.erase(it);
    if (done) done(hits);
  }

  void on_active_view_changed(const peer_addr& peer, bool added) override {
    log.debug(std::string(added ? "neighbour up " : "neighbour down ") + peer.to_string());
  }

  // ---- timers -----------------------------------------------------------------------

  void arm_wake() {
    if (timers.empty()) return;
    const auto at = epoch + timers.begin()->first;
    if (wake.expiry() <= at && wake.expiry() > std::chrono::steady_clock::now()) return;
    wake.expires_at(at);
    wake.async_wait([this, w = std::weak_ptr<int>(alive)](const std::error_code& ec) {
      if (ec || w.expired()) return;
      fire_timers();
    });
  }

  void fire_timers() {
    const micros t = now();
    std::vector<timer_id> due;
    while (!timers.empty() && timers.begin()->first <= t) {
      due.push_back(timers.begin()->second);
      timers.erase(timers.begin());
    }
    if (running) {
      for (const auto& id : due) overlay->on_timer(t, id);
    }
    wake.expires_at(std::chrono::steady_clock::time_point::max());
    arm_wake();
  }

  void start_housekeeping() {
    housekeeping.expires_after(std::chrono::milliseconds(250));
    housekeeping.async_wait([this, w = std::weak_ptr<int>(alive)](const std::error_code& ec) {
      if (ec || w.expired()) return;
      tend();
      start_housekeeping();
    });
  }

  // Timeouts and keepalives: one pass over the connections.
  void tend() {
    const micros t = now();
    if (t - peers_saved_at > micros{60'000'000}) {
      peers_saved_at = t;
      if (auto ec = save_peers()) log.warn("cannot save peers to " + cfg.peers_file.string() + ": " + ec.message());
    }
    const auto& lim = cfg.limits;
    std::vector<std::pair<link_ptr, const char*>> failing;
    std::vector<link_ptr> idle;
    for (const auto& l : all) {
      if (l->dead) continue;
      const bool waiting_hello = !l->connected || !l->identified;
      if (waiting_hello && t - l->created > lim.connect_timeout) {
        failing.emplace_back(l, "connect/hello timeout");
        continue;
      }
      if (waiting_hello) continue;
      // A peer that stops reading leaves our write pending forever: neither keepalives
      // (it may still send) nor the idle rule (the link is not idle) would notice, and a
      // transfer to it would hold one of the few serving slots for good.
      const micros stall_max = l->kind == link::role::overlay ? lim.keepalive_timeout : lim.fetch_timeout;
      if (l->writing && t - l->write_started > stall_max) {
        failing.emplace_back(l, "peer stopped reading");
        continue;
      }
      if (l->kind == link::role::overlay) {
        const bool active = overlay && overlay->members().is_active(l->peer) && links.count(l->peer) &&
                            links[l->peer] == l;
        if (active) {
          if (t - l->last_rx > lim.keepalive_timeout) {
            failing.emplace_back(l, "keepalive timeout");
          } else if (t - l->last_rx > lim.keepalive_interval && !l->ping_outstanding) {
            l->ping_outstanding = true;
            enqueue(l, msg_ping{static_cast<std::uint64_t>(t.count())});
          }
        } else if (t - std::max(l->last_rx, l->last_tx) > lim.idle_timeout && l->queue.empty()) {
          idle.push_back(l);
        }
      } else if (l->kind == link::role::fetch_client) {
        auto it = jobs.find(l->job);
        if (it != jobs.end() && t - it->second->last_progress > lim.fetch_timeout) {
          failing.emplace_back(l, "transfer stalled");
        }
      } else if (l->kind == link::role::fetch_server && l->serving == nullptr &&
                 t - std::max(l->last_rx, l->last_tx) > lim.idle_timeout) {
        idle.push_back(l);
      }
    }
    for (auto& [l, why] : failing) fail(l, why);
    for (auto& l : idle) {
      if (auto it = links.find(l->peer); it != links.end() && it->second == l) links.erase(it);
      close_now(l);
    }
  }

  // ---- connections -------------------------------------------------------------------

  std::uint32_t count_ip(const peer_addr& ip) const {
    std::uint32_t n = 0;
    for (const auto& l : all) n += (l->remote_ip == ip) ? 1u : 0u;
    return n;
  }

  link_ptr dial(const peer_addr& to, link::role kind) {
    if (all.size() >= cfg.limits.connections_max || to.is_unspecified()) {
      ++stats.connections_refused;
      return nullptr;
    }
    auto l = std::make_shared<link>(io, cfg.limits.frame);
    l->kind = kind;
    l->outbound = true;
    l->peer = to;
    l->remote_ip = ip_only(to);
    l->created = l->last_rx = l->last_tx = now();
    all.insert(l);
    ++stats.connections_dialled;
    enqueue(l, msg_hello{cfg.network, self, cfg.agent, kind != link::role::overlay});
    l->socket.async_connect(to_endpoint(to), [this, l](const std::error_code& ec) {
      if (l->dead) return;
      if (ec) {
        fail(l, ec.message().c_str());
        return;
      }
      on_connected(l);
    });
    return l;
  }

  void on_connected(const link_ptr& l) {
    l->connected = true;
    std::error_code ec;
    l->socket.set_option(tcp::no_delay(true), ec);
    l->socket.set_option(asio::socket_base::keep_alive(true), ec);
    read(l);
    write(l);
  }

  void accept() {
    acceptor.async_accept([this, w = std::weak_ptr<int>(alive)](const std::error_code& ec, tcp::socket socket) {
      if (w.expired() || ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) admit(std::move(socket));
      accept();
    });
  }

  void admit(tcp::socket socket) {
    std::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;
    const peer_addr ip = ip_only(from_endpoint(remote));
    if (stopping || all.size() >= cfg.limits.connections_max || count_ip(ip) >= cfg.limits.connections_per_ip_max) {
      ++stats.connections_refused;
      socket.close(ec);
      return;
    }
    ++stats.connections_accepted;
    auto l = std::make_shared<link>(io, cfg.limits.frame);
    l->socket = std::move(socket);
    l->remote_ip = ip;
    l->remote = from_endpoint(remote);
    l->created = l->last_rx = l->last_tx = now();
    all.insert(l);
    enqueue(l, msg_hello{cfg.network, self, cfg.agent, false});
    on_connected(l);
  }

  void enqueue(const link_ptr& l, const message& m) {
    if (l->dead) return;
    const auto bytes = encoder.encode(self, m);
    if (l->queued_bytes + bytes.size() > cfg.limits.send_queue_bytes_max ||
        l->queue.size() >= cfg.limits.send_queue_frames_max) {
      ++stats.slow_readers_cut;
      fail(l, "send queue full (slow reader)");
      return;
    }
    const micros due = cfg.send_delay.count() > 0 ? now() + cfg.send_delay : micros{0};
    // A buffer of a frame already sent, when there is one: forwarding allocates nothing per copy.
    std::vector<std::uint8_t> frame;
    if (!spare_frames.empty()) {
      frame = std::move(spare_frames.back());
      spare_frames.pop_back();
    }
    frame.assign(bytes.begin(), bytes.end());
    l->queue.push_back({std::move(frame), due});
    l->queued_bytes += bytes.size();
    ++stats.frames_out;
    if (l->connected) write(l);
  }

  void write(const link_ptr& l) {
    if (l->writing || l->dead || l->queue.empty()) return;
    if (cfg.send_delay.count() > 0 && l->queue.front().due > now()) {
      hold_until_due(l);
      return;
    }
    l->writing = true;
    l->write_started = now();
    // Every frame already queued (and due) goes out in one gathered write: a relay that
    // forwards a burst of queries to a neighbour makes one system call, not one per frame.
    // Queued frames stay where they are (a deque never moves its elements on push_back) until
    // the write completes.
    l->gather.clear();
    const micros t = now();
    for (const auto& f : l->queue) {
      if (l->gather.size() == link::gather_max || (cfg.send_delay.count() > 0 && f.due > t)) break;
      l->gather.emplace_back(f.bytes.data(), f.bytes.size());
    }
    asio::async_write(l->socket, l->gather,
                      [this, l, frames = l->gather.size()](const std::error_code& ec, std::size_t n) {
                        l->writing = false;
                        if (l->dead) return;
                        if (ec) {
                          fail(l, ec.message().c_str());
                          return;
                        }
                        stats.bytes_out += n;
                        for (std::size_t k = 0; k < frames; ++k) {
                          auto& sent = l->queue.front().bytes;
                          l->queued_bytes -= sent.size();
                          // Small buffers (overlay messages, not file chunks) are kept for reuse.
                          if (sent.capacity() <= spare_frame_bytes_max && spare_frames.size() < spare_frames_max) {
                            spare_frames.push_back(std::move(sent));
                          }
                          l->queue.pop_front();
                        }
                        l->last_tx = now();
                        if (l->serving != nullptr) pump(l);
                        if (l->queue.empty() && l->closing) {
                          close_now(l);
                          return;
                        }
                        write(l);
                      });
  }

  // The emulated link delay: one timer per link, armed for the frame at the head of its
  // queue; the frames behind it are due no earlier, so they wait for the writer's next turn.
  void hold_until_due(const link_ptr& l) {
    if (l->hold_armed) return;
    l->hold_armed = true;
    l->hold.expires_at(epoch + l->queue.front().due);
    l->hold.async_wait([this, l](const std::error_code& ec) {
      l->hold_armed = false;
      if (ec || l->dead) return;
      write(l);
    });
  }

  void read(const link_ptr& l) {
    l->socket.async_read_some(asio::buffer(l->rbuf), [this, l](const std::error_code& ec, std::size_t n) {
      if (l->dead) return;
      if (ec) {
        fail(l, ec == asio::error::eof ? "closed by peer" : ec.message().c_str());
        return;
      }
      stats.bytes_in += n;
      l->last_rx = now();
      if (!l->reader.feed(std::span(l->rbuf.data(), n))) {
        ++stats.frames_bad;
        fail(l, "oversize frame");
        return;
      }
      for (auto frame = l->reader.next(); !frame.empty() && !l->dead; frame = l->reader.next()) {
        auto r = codec::decode(frame, cfg.limits.frame);
        if (!r.ok()) {
          ++stats.frames_bad;
          log.warn("dropping link " + describe(l) + ": " + codec::describe(r.err) +
                   (r.detail.empty() ? "" : " (" + r.detail + ")"));
          fail(l, "bad frame");
          return;
        }
        ++stats.frames_in;
        handle(l, r.value);
      }
      if (!l->dead) read(l);
    });
  }

  std::string describe(const link_ptr& l) const {
    return l->identified || l->outbound ? l->peer.to_string() : "(unidentified) from " + l->remote.to_string();
  }

  // The link is over: close it, and tell whoever depended on it.
  void fail(const link_ptr& l, const char* why) {
    if (l->dead) return;
    const bool mapped = [&] {
      auto it = links.find(l->peer);
      return it != links.end() && it->second == l;
    }();
    log.debug("link " + describe(l) + " failed: " + why);
    ++stats.connections_failed;
    if (mapped) links.erase(l->peer);
    close_now(l);
    if (l->kind == link::role::overlay && mapped && !l->closing) {
      const peer_addr peer = l->peer;
      asio::post(io, [this, peer, w = std::weak_ptr<int>(alive)] {
        if (!w.expired()) report_down(peer);
      });
    }
    if (l->kind == link::role::fetch_client) {
      const std::uint64_t job = l->job;
      const std::string reason = why;
      asio::post(io, [this, job, reason, w = std::weak_ptr<int>(alive)] {
        if (!w.expired()) job_holder_failed(job, reason);
      });
    }
  }

  void report_down(const peer_addr& peer) {
    if (running && links.find(peer) == links.end()) overlay->on_peer_down(now(), peer);
  }

  void close_after_flush(const link_ptr& l) {
    l->closing = true;
    if (l->queue.empty() && !l->writing) close_now(l);
  }

  void close_now(const link_ptr& l) {
    if (l->dead) return;
    l->dead = true;
    std::error_code ec;
    l->socket.shutdown(tcp::socket::shutdown_both, ec);
    l->socket.close(ec);
    l->hold.cancel();
    if (l->serving != nullptr) {
      std::fclose(l->serving);
      l->serving = nullptr;
      --serving_count;
    }
    all.erase(l);
  }

  // ---- messages ----------------------------------------------------------------------

  void handle(const link_ptr& l, codec::decoded& d) {
    if (auto* hello = std::get_if<msg_hello>(&d.msg)) {
      if (l->identified) {
        fail(l, "second hello");
        return;
      }
      if (hello->network != cfg.network) {
        log.info("refusing " + hello->listen.to_string() + ": network '" + hello->network + "', not '" +
                 cfg.network + "'");
        fail(l, "other network");
        return;
      }
      l->identified = true;
      if (!l->outbound) {
        l->peer = hello->listen;
        l->kind = hello->fetch_only ? link::role::fetch_server : link::role::overlay;
        // The first link to a peer carries our traffic to it; a second one (both sides
        // dialled at once) is still read from and closes when idle.
        if (l->kind == link::role::overlay && links.find(l->peer) == links.end()) links[l->peer] = l;
      }
      return;
    }
    if (!l->identified) {
      fail(l, "message before hello");
      return;
    }
    if (d.sender != l->peer) {
      ++stats.frames_bad;
      return;  // a frame claiming another sender than the link's HELLO: dropped
    }
    if (auto* ping = std::get_if<msg_ping>(&d.msg)) {
      enqueue(l, msg_pong{ping->nonce});
      return;
    }
    if (std::holds_alternative<msg_pong>(d.msg)) {
      l->ping_outstanding = false;
      return;
    }
    if (auto* req = std::get_if<msg_fetch_request>(&d.msg)) {
      serve(l, *req);
      return;
    }
    if (auto* chunk = std::get_if<msg_fetch_chunk>(&d.msg)) {
      if (l->kind == link::role::fetch_client) job_chunk(l, *chunk);
      return;
    }
    if (auto* err = std::get_if<msg_fetch_error>(&d.msg)) {
      if (l->kind == link::role::fetch_client) fail(l, ("holder refused: " + err->message).c_str());
      return;
    }
    if (l->kind != link::role::overlay || !running) return;
    l->ping_outstanding = false;
    overlay->on_message(now(), l->peer, std::move(d.msg));  // d is not read again
  }

  // ---- serving transfers -------------------------------------------------------------

  void serve(const link_ptr& l, const msg_fetch_request& req) {
    auto refuse = [&](fetch_error_code code, std::string text) {
      enqueue(l, msg_fetch_error{req.sha256, code, std::move(text)});
      close_after_flush(l);
    };
    if (l->serving != nullptr) return refuse(fetch_error_code::busy, "one transfer per connection");
    const indexed_file* f = index.find(req.sha256);
    if (f == nullptr) return refuse(fetch_error_code::not_found, "not shared here");
    if (req.offset > f->info.size) return refuse(fetch_error_code::bad_offset, "offset past the end");
    if (serving_count >= cfg.limits.fetches_served_max) return refuse(fetch_error_code::busy, "too many transfers");
    std::FILE* file = std::fopen(f->path.c_str(), "rb");
    if (file == nullptr || std::fseek(file, static_cast<long>(req.offset), SEEK_SET) != 0) {
      if (file != nullptr) std::fclose(file);
      return refuse(fetch_error_code::read_failed, "cannot read the file");
    }
    l->kind = link::role::fetch_server;
    l->serving = file;
    ++serving_count;
    ++stats.fetches_served;
    l->serving_digest = req.sha256;
    l->serve_offset = req.offset;
    l->serve_size = f->info.size;
    log.info("serving " + f->info.name + " to " + l->peer.to_string() + " from offset " + std::to_string(req.offset));
    pump(l);
  }

  // Reads the next chunks while the connection's queue has room: the file is streamed at
  // the pace the reader takes it, never buffered whole.
  void pump(const link_ptr& l) {
    const std::size_t chunk = cfg.limits.fetch_chunk_bytes;
    while (l->serving != nullptr && !l->dead && l->queued_bytes < 4 * chunk) {
      msg_fetch_chunk c;
      c.sha256 = l->serving_digest;
      c.offset = l->serve_offset;
      c.total_size = l->serve_size;
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, l->serve_size - l->serve_offset));
      c.data.resize(want);
      const std::size_t n = want == 0 ? 0 : std::fread(c.data.data(), 1, want, l->serving);
      if (n < want) {
        // The file shrank or failed under us: say so rather than send a short file.
        std::fclose(l->serving);
        l->serving = nullptr;
        --serving_count;
        enqueue(l, msg_fetch_error{l->serving_digest, fetch_error_code::read_failed, "file changed while served"});
        close_after_flush(l);
        return;
      }
      l->serve_offset += n;
      stats.fetch_bytes_served += n;
      const bool last = l->serve_offset >= l->serve_size;
      if (last) {
        std::fclose(l->serving);
        l->serving = nullptr;
        --serving_count;
      }
      enqueue(l, c);
      if (last) return;
    }
  }

  // ---- fetching ----------------------------------------------------------------------

  void job_update(fetch_job& j) {
    j.status.bytes = j.offset;
    if (j.on_update) j.on_update(j.status);
  }

  void job_finish(std::uint64_t id, bool ok, std::string error) {
    auto it = jobs.find(id);
    if (it == jobs.end()) return;
    auto job = std::move(it->second);
    jobs.erase(it);
    if (job->out != nullptr) std::fclose(job->out);
    job->out = nullptr;
    if (job->conn) close_after_flush(job->conn);
    job->status.st = ok ? fetch_status::state::done : fetch_status::state::failed;
    job->status.error = std::move(error);
    if (ok) {
      ++stats.fetches_done;
      log.info("fetched " + job->file.name + " (" + std::to_string(job->file.size) + " bytes) to " +
               job->status.path.string());
    } else {
      ++stats.fetches_failed;
      log.warn("fetch of " + job->file.name + " failed: " + job->status.error);
    }
    job_update(*job);
  }

  bool job_open_part(fetch_job& j, bool fresh, std::string& error) {
    if (j.out != nullptr) std::fclose(j.out);
    j.out = nullptr;
    j.hasher = sha256();
    j.offset = 0;
    std::error_code ec;
    if (fresh) fs::remove(j.part, ec);
    // Resume: hash what an earlier attempt left, then append.
    if (fs::exists(j.part, ec)) {
      sha256_digest ignored;
      std::uint64_t size = 0;
      std::FILE* in = std::fopen(j.part.c_str(), "rb");
      if (in != nullptr) {
        std::vector<std::uint8_t> buf(1 << 16);
        while (true) {
          const std::size_t n = std::fread(buf.data(), 1, buf.size(), in);
          j.hasher.update(std::span(buf.data(), n));
          size += n;
          if (n < buf.size()) break;
        }
        std::fclose(in);
      }
      static_cast<void>(ignored);
      // A part that could not be read whole, or is longer than the file, cannot be trusted.
      if (size > j.file.size || size != fs::file_size(j.part, ec) || ec) {
        fs::remove(j.part, ec);
        j.hasher = sha256();
        size = 0;
      }
      j.offset = size;
    }
    j.out = std::fopen(j.part.c_str(), "ab");
    if (j.out == nullptr) {
      error = "cannot write " + j.part.string() + ": " + std::strerror(errno);
      return false;
    }
    return true;
  }

  void job_next_holder(std::uint64_t id) {
    auto it = jobs.find(id);
    if (it == jobs.end()) return;
    fetch_job& j = *it->second;
    j.conn.reset();
    while (j.next_holder < j.holders.size()) {
      const peer_addr holder = j.holders[j.next_holder++];
      if (holder == self) continue;
      auto l = dial(holder, link::role::fetch_client);
      if (!l) continue;
      l->job = id;
      j.conn = l;
      j.status.holder = holder;
      j.last_progress = now();
      enqueue(l, msg_fetch_request{j.file.sha256, j.offset});
      log.info("fetching " + j.file.name + " from " + holder.to_string() + " at offset " + std::to_string(j.offset));
      return;
    }
    job_finish(id, false, j.status.error.empty() ? "no holder could serve it" : "no holder left; last error: " + j.status.error);
  }

  void job_holder_failed(std::uint64_t id, const std::string& reason) {
    auto it = jobs.find(id);
    if (it == jobs.end()) return;
    it->second->status.error = it->second->status.holder.to_string() + ": " + reason;
    job_next_holder(id);
  }

  void job_chunk(const link_ptr& l, const msg_fetch_chunk& c) {
    auto it = jobs.find(l->job);
    if (it == jobs.end()) {
      close_now(l);
      return;
    }
    fetch_job& j = *it->second;
    if (c.sha256 != j.file.sha256 || c.offset != j.offset || c.total_size != j.file.size) {
      fail(l, "chunk out of order or for another file");
      return;
    }
    if (!c.data.empty() && std::fwrite(c.data.data(), 1, c.data.size(), j.out) != c.data.size()) {
      const std::string err = "cannot write " + j.part.string() + ": " + std::strerror(errno);
      std::fclose(j.out);
      j.out = nullptr;
      std::error_code ec;
      fs::remove(j.part, ec);  // a disk that failed mid-write leaves nothing half-trusted behind
      job_finish(l->job, false, err);
      return;
    }
    j.hasher.update(std::span(c.data));
    j.offset += c.data.size();
    stats.fetch_bytes_received += c.data.size();
    j.last_progress = now();
    job_update(j);
    if (j.offset < j.file.size) return;
    job_complete(l->job);
  }

  void job_complete(std::uint64_t id) {
    fetch_job& j = *jobs.at(id);
    const bool flushed = std::fflush(j.out) == 0 && ::fsync(::fileno(j.out)) == 0;
    std::fclose(j.out);
    j.out = nullptr;
    if (!flushed) {
      std::error_code ec;
      fs::remove(j.part, ec);
      job_finish(id, false, "cannot write " + j.part.string() + ": " + std::strerror(errno));
      return;
    }
    if (j.hasher.finish() != j.file.sha256) {
      // Someone sent wrong bytes (or the file changed while served): start over from zero
      // with the next holder. When part of the download came from an earlier attempt's .part
      // file, that part may be what was wrong, so the same holder is asked once more first.
      log.warn("hash mismatch for " + j.file.name + " from " + j.status.holder.to_string() +
               (j.resumed_bytes > 0 ? " (after resuming a .part file; retrying from zero)" : ""));
      j.status.error = j.status.holder.to_string() + ": hash mismatch";
      if (j.resumed_bytes > 0 && j.next_holder > 0) --j.next_holder;
      j.resumed_bytes = 0;
      if (j.conn) close_now(j.conn);
      std::string err;
      if (!job_open_part(j, true, err)) {
        job_finish(id, false, err);
        return;
      }
      job_next_holder(id);
      return;
    }
    fs::path final_path;
    if (auto ec = move_into_place(j.part, cfg.download_dir, j.file.name, final_path)) {
      job_finish(id, false, "cannot move into place: " + ec.message());
      return;
    }
    sync_directory(cfg.download_dir);
    j.status.path = final_path;
    job_finish(id, true, {});
  }
};

// ---- public face ----------------------------------------------------------------------

net_node::net_node(asio::io_context& io, net_config cfg, logger& log)
    : impl_(std::make_unique<impl>(io, std::move(cfg), log)) {}

net_node::~net_node() {
  if (!impl_) return;
  std::error_code ec;
  impl_->acceptor.close(ec);
  impl_->wake.cancel();
  impl_->housekeeping.cancel();
  for (auto& l : std::vector<link_ptr>(impl_->all.begin(), impl_->all.end())) impl_->close_now(l);
  for (auto& [id, job] : impl_->jobs) {
    if (job->out != nullptr) std::fclose(job->out);
  }
}

std::error_code net_node::start() {
  impl& m = *impl_;
  std::error_code ec;
  if (!m.cfg.shared_dir.empty()) {
    std::vector<std::string> problems;
    ec = m.index.scan(m.cfg.shared_dir, problems);
    for (const auto& p : problems) m.log.warn("share: " + p);
    if (ec) return ec;
  }
  if (!m.cfg.download_dir.empty()) {
    fs::create_directories(m.cfg.download_dir, ec);
    if (ec) return ec;
  }
  ec = listen_on(m.acceptor, m.cfg.listen, asio::socket_base::max_listen_connections);
  if (ec) return ec;
  const peer_addr bound = from_endpoint(m.acceptor.local_endpoint(ec));
  m.self = m.cfg.advertise.is_unspecified() ? bound : m.cfg.advertise;
  if (m.cfg.advertise.port == 0 && !m.cfg.advertise.is_unspecified()) m.self.port = bound.port;
  std::uint64_t seed = m.cfg.seed;
  if (seed == 0) {
    std::random_device rd;
    seed = (std::uint64_t{rd()} << 32) ^ rd();
  }
  m.overlay = std::make_unique<node>(m.cfg.overlay, m.self, seed, m);
  m.index.fill(m.overlay->files());
  const auto remembered = m.load_peers();
  if (!remembered.empty()) {
    m.overlay->remember_peers(remembered);
    m.log.info("remembered " + std::to_string(m.overlay->members().passive().size()) + " peers from " +
               m.cfg.peers_file.string());
  }
  m.running = true;
  m.accept();
  m.start_housekeeping();
  m.overlay->start(m.now());
  m.log.info("listening on " + bound.to_string() + ", advertised as " + m.self.to_string() + ", sharing " +
             std::to_string(m.index.size()) + " files");
  return {};
}

void net_node::stop(std::function<void()> done) {
  impl& m = *impl_;
  if (m.stopping) return;
  m.stopping = true;
  std::error_code ec;
  m.acceptor.close(ec);
  if (m.running) {
    if (auto saved = m.save_peers()) m.log.warn("cannot save peers: " + saved.message());
  }
  if (m.running) m.overlay->leave(m.now());  // DISCONNECT to every neighbour
  m.running = false;
  for (auto& [id, job] : m.jobs) {
    if (job->out != nullptr) std::fclose(job->out);  // the .part stays, for a later resume
    job->out = nullptr;
  }
  m.jobs.clear();
  m.wake.cancel();
  // Give queued goodbyes a moment to leave (held frames their emulated delay on top), then
  // close whatever is left.
  for (auto& l : std::vector<link_ptr>(m.all.begin(), m.all.end())) m.close_after_flush(l);
  auto grace = std::make_shared<asio::steady_timer>(m.io, std::chrono::milliseconds(500) + m.cfg.send_delay);
  grace->async_wait([this, grace, done = std::move(done), w = std::weak_ptr<int>(m.alive)](const std::error_code&) {
    if (w.expired()) return;  // the node was destroyed first; its destructor closed everything
    for (auto& l : std::vector<link_ptr>(impl_->all.begin(), impl_->all.end())) impl_->close_now(l);
    impl_->housekeeping.cancel();
    if (done) done();
  });
}

peer_addr net_node::address() const { return impl_->self; }
const node& net_node::overlay() const { return *impl_->overlay; }
const transport_stats& net_node::stats() const { return impl_->stats; }
micros net_node::now() const { return impl_->now(); }
std::size_t net_node::links() const { return impl_->links.size(); }
const net_config& net_node::config() const { return impl_->cfg; }
std::error_code net_node::save_peers() const { return impl_->save_peers(); }
std::size_t net_node::shared_files() const { return impl_->index.size(); }
std::uint64_t net_node::shared_bytes() const { return impl_->index.bytes(); }

query_id net_node::search(std::string words, std::function<void(const search_hit&)> on_hit,
                          std::function<void(std::uint32_t)> on_done) {
  impl& m = *impl_;
  HEARSAY_ASSERT(m.running);
  const query_id id = m.overlay->search(m.now(), std::move(words));
  m.searches[id] = {std::move(on_hit), std::move(on_done)};
  return id;
}

void net_node::fetch(const file_info& file, std::vector<peer_addr> holders,
                     std::function<void(const fetch_status&)> on_update) {
  impl& m = *impl_;
  auto job = std::make_unique<fetch_job>();
  job->id = m.next_job++;
  job->file = file;
  job->holders = std::move(holders);
  job->on_update = std::move(on_update);
  job->status.file = file;
  if (m.cfg.download_dir.empty()) {
    job->status.st = fetch_status::state::failed;
    job->status.error = "no download folder configured";
    if (job->on_update) job->on_update(job->status);
    return;
  }
  // The name came from the network. The codec refuses names with separators, and so does
  // this check, for callers that build a file_info themselves: a name is never a path.
  if (file.name.empty() || file.name == "." || file.name == ".." ||
      file.name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
    job->status.st = fetch_status::state::failed;
    job->status.error = "not a file name: '" + file.name + "'";
    if (job->on_update) job->on_update(job->status);
    return;
  }
  job->part = m.cfg.download_dir / ("." + file.name + "." + file.sha256.to_hex().substr(0, 8) + ".part");
  std::string err;
  const std::uint64_t id = job->id;
  fetch_job& j = *job;
  m.jobs.emplace(id, std::move(job));
  if (!m.job_open_part(j, false, err)) {
    m.job_finish(id, false, err);
    return;
  }
  j.resumed_bytes = j.offset;
  if (j.offset == j.file.size) {
    m.job_complete(id);  // an earlier attempt got every byte
    return;
  }
  m.job_next_holder(id);
}

std::error_code net_node::rescan(std::vector<std::string>& problems) {
  impl& m = *impl_;
  if (m.cfg.shared_dir.empty()) return {};
  auto ec = m.index.scan(m.cfg.shared_dir, problems);
  if (!ec && m.overlay) m.index.fill(m.overlay->files());
  return ec;
}

}  // namespace hearsay::net
