// The real node's driver over Asio TCP and TLS (see net_node.hpp): connections, their
// handshakes and the ids they prove, frames, timers, keepalives, the overlay's host interface
// and the peers file. Transfers are in transfers.cpp.

#include "transport/net_node.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "transport/endpoint.hpp"
#include "transport/net_node_impl.hpp"
#include "transport/text.hpp"

template <>
struct fmt::formatter<hearsay::net::link_name> : fmt::formatter<std::string_view> {
  auto format(const hearsay::net::link_name& n, fmt::format_context& ctx) const {
    const auto& l = n.l;
    return fmt::formatter<std::string_view>::format(
        l.identified || l.outbound ? l.peer.to_string() : "(unidentified) from " + l.remote.to_string(), ctx);
  }
};

namespace hearsay::net {

namespace fs = std::filesystem;
using asio::ip::tcp;

namespace {

// The IP part of an address, for per-IP limits.
peer_addr ip_only(peer_addr a) {
  a.port = 1;
  return a;
}

}  // namespace

net_node::impl::impl(asio::io_context& io_, net_config cfg_, logger& log_)
    : io(io_),
      cfg(std::move(cfg_)),
      log(log_),
      acceptor(io_),
      wake(io_),
      housekeeping(io_),
      epoch(std::chrono::steady_clock::now()),
      downloads(cfg.overlay.fetch, cfg.download_dir, index, *this, log_, [this] { return now(); }, cfg.part_files) {
  std::random_device rd;
  jitter_state = (std::uint64_t{rd()} << 32) ^ rd();
}

// One address per line; written to a temporary file and renamed, so a crash mid-write
// never leaves a truncated list.
result<> net_node::impl::save_peers() const {
  if (cfg.peers_file.empty() || !overlay) return {};
  const std::string context = "cannot save peers to " + cfg.peers_file.string();
  const fs::path tmp = cfg.peers_file.string() + ".tmp";
  {
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return failure(std::error_code(errno, std::generic_category()), context);
    bool ok = true;
    // "address id" when this node dialled the address and found that id there; the id is
    // then expected at the address after a restart too.
    auto save = [&](const peer_addr& p) {
      const auto b = ids.find(p);
      const std::string id = b != ids.end() && b->second.dialled ? " " + b->second.id.to_hex() : std::string();
      ok = ok && std::fprintf(f, "%s%s\n", p.to_string().c_str(), id.c_str()) > 0;
    };
    for (const auto& p : overlay->members().active()) save(p);
    for (const auto& p : overlay->members().passive()) save(p);
    ok = (std::fflush(f) == 0) && ok;
    std::fclose(f);
    if (!ok) return failure(std::make_error_code(std::errc::io_error), context);
  }
  std::error_code ec;
  fs::rename(tmp, cfg.peers_file, ec);
  return check(ec, context);
}


std::vector<peer_addr> net_node::impl::load_peers() {
  std::vector<peer_addr> out;
  if (cfg.peers_file.empty()) return out;
  std::FILE* f = std::fopen(cfg.peers_file.c_str(), "r");
  if (f == nullptr) return out;
  char line[192];
  while (std::fgets(line, sizeof line, f) != nullptr && out.size() < 1024) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    const auto space = text.find(' ');
    const auto a = peer_addr::parse(text.substr(0, space));
    if (!a) continue;
    out.push_back(*a);
    if (space != std::string::npos) {
      if (auto id = node_id::from_hex(text.substr(space + 1))) ids[*a] = binding{*id, true};
    }
  }
  std::fclose(f);
  return out;
}

void net_node::impl::prune_ids() {
  if (ids.size() <= ids_max) return;
  for (auto it = ids.begin(); it != ids.end();) {
    const peer_addr& a = it->first;
    const bool wanted = links.count(a) != 0 || (overlay && (overlay->members().is_active(a) || overlay->members().is_passive(a))) ||
                        std::find(cfg.overlay.seeds.begin(), cfg.overlay.seeds.end(), a) != cfg.overlay.seeds.end();
    it = wanted ? std::next(it) : ids.erase(it);
  }
}




// Whether this node may vouch for an address in a list it sends: its own, or one proven by a
// handshake (dialled, or a link's source IP with the port of its HELLO). An address learnt
// from a shuffle and never reached stays in the passive view but goes on to nobody: an
// attacker's made-up addresses end at the first honest node.
bool net_node::impl::vouched(const peer_addr& p) const { return p == self || ids.count(p) != 0; }

void net_node::impl::send(const peer_addr& to, const message& m) {
  if (stopping && !std::holds_alternative<msg_disconnect>(m)) return;
  const auto* shuffle = std::get_if<msg_shuffle>(&m);
  const auto* reply = std::get_if<msg_shuffle_reply>(&m);
  // Lists this node makes (a walk it relays carries the origin's list, vouched for there).
  auto unproven = [&](const std::vector<peer_addr>& nodes) {
    return std::any_of(nodes.begin(), nodes.end(), [&](const peer_addr& p) { return !vouched(p); });
  };
  if ((shuffle != nullptr && shuffle->origin == self && unproven(shuffle->nodes)) ||
      (reply != nullptr && unproven(reply->nodes))) {
    message copy = m;
    auto& nodes = shuffle != nullptr ? std::get<msg_shuffle>(copy).nodes : std::get<msg_shuffle_reply>(copy).nodes;
    std::erase_if(nodes, [&](const peer_addr& p) { return !vouched(p); });
    stats.addresses_withheld += (shuffle != nullptr ? shuffle->nodes.size() : reply->nodes.size()) - nodes.size();
    send(to, copy);
    return;
  }
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


void net_node::impl::disconnect(const peer_addr& peer) {
  auto it = links.find(peer);
  if (it == links.end()) return;
  link_ptr l = it->second;
  links.erase(it);
  if (l->dial_waiting) {
    close_now(l);  // never dialled: what waits in it is not wanted any more
    return;
  }
  close_after_flush(l);
}


std::uint64_t net_node::impl::nonce() {
  // From OpenSSL's generator: other peers see the node's own random stream (query ids), so
  // its draws could be predicted; these cannot.
  std::uint64_t n = 0;
  while (n == 0) HEARSAY_ASSERT(RAND_bytes(reinterpret_cast<unsigned char*>(&n), sizeof n) == 1);
  return n;
}

void net_node::impl::schedule(micros at, timer_id id) {
  timers.emplace(at, id);
  arm_wake();
}


void net_node::impl::on_search_hit(query_id id, const msg_query_hit& h, micros latency) {
  auto it = searches.find(id);
  if (it == searches.end() || !it->second.first) return;
  for (const auto& f : h.files) it->second.first(search_hit{id, h.holder, f, h.hops, latency});
}


void net_node::impl::on_search_done(query_id id, std::uint32_t hits) {
  auto it = searches.find(id);
  if (it == searches.end()) return;
  auto done = std::move(it->second.second);
  searches.erase(it);
  if (done) done(hits);
}


void net_node::impl::on_active_view_changed(const peer_addr& peer, bool added) {
  log.debug("neighbour {} {}", added ? "up" : "down", peer);
}


void net_node::impl::arm_wake() {
  if (timers.empty()) return;
  const auto at = epoch + timers.begin()->first;
  if (wake.expiry() <= at && wake.expiry() > std::chrono::steady_clock::now()) return;
  wake.expires_at(at);
  wake.async_wait([this, w = std::weak_ptr<int>(alive)](const std::error_code& ec) {
    if (ec || w.expired()) return;
    fire_timers();
  });
}


void net_node::impl::fire_timers() {
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


void net_node::impl::start_housekeeping() {
  housekeeping.expires_after(std::chrono::milliseconds(250));
  housekeeping.async_wait([this, w = std::weak_ptr<int>(alive)](const std::error_code& ec) {
    if (ec || w.expired()) return;
    tend();
    start_housekeeping();
  });
}

// Timeouts and keepalives: one pass over the connections.
void net_node::impl::tend() {
  const micros t = now();
  if (t - peers_saved_at > micros{60'000'000}) {
    peers_saved_at = t;
    if (auto saved = save_peers(); !saved) log.warn("{}", saved.error().what());
  }
  const auto& lim = cfg.limits;
  std::vector<std::pair<link_ptr, const char*>> failing;
  std::vector<link_ptr> idle;
  for (const auto& l : all) {
    if (l->dead || l->dial_waiting) continue;
    const bool waiting_hello = !l->connected || !l->identified;
    if (waiting_hello && t - l->created > lim.connect_timeout) {
      dial_failed(l, "no answer");
      failing.emplace_back(l, "connect/hello timeout");
      continue;
    }
    if (waiting_hello) continue;
    // A peer that stops reading leaves our write pending forever: neither keepalives
    // (it may still send) nor the idle rule (the link is not idle) would notice, and a
    // transfer to it would hold one of the few serving slots for good.
    const micros stall_max = l->kind == link::role::overlay ? lim.keepalive_timeout : lim.fetch_timeout;
    if ((l->writing || l->raw_waiting) && t - l->write_started > stall_max) {
      failing.emplace_back(l, "peer stopped reading");
      continue;
    }
    if (l->kind == link::role::overlay) {
      const bool active = overlay && overlay->members().is_active(l->peer) && links.count(l->peer) &&
                          links[l->peer] == l;
      if (active) {
        if (t - l->last_frame > lim.keepalive_timeout) {
          failing.emplace_back(l, "keepalive timeout");
        } else if (t - l->last_frame > lim.keepalive_interval && !l->ping_outstanding) {
          l->ping_outstanding = true;
          enqueue(l, msg_ping{static_cast<std::uint64_t>(t.count())});
        }
      } else if (t - std::max(l->last_frame, l->last_tx) > lim.idle_timeout && l->queue.empty()) {
        idle.push_back(l);
      }
    } else if (l->kind == link::role::fetch_client) {
      // A holder's slowness is the download engine's to judge (its rate window); an unused
      // transfer connection is closed, and dialled again if the engine asks for more.
      if (l->asked.empty() && l->raw_left == 0 && t - std::max(l->last_frame, l->last_tx) > lim.idle_timeout) {
        idle.push_back(l);
      }
    } else if (l->kind == link::role::fetch_server && l->serve_fd < 0 && l->serve_queue.empty() &&
               t - std::max(l->last_frame, l->last_tx) > lim.idle_timeout) {
      idle.push_back(l);
    }
  }
  for (auto& [l, why] : failing) fail(l, why);
  prune_ids();
  for (auto& l : idle) {
    if (auto it = links.find(l->peer); it != links.end() && it->second == l) links.erase(it);
    if (auto it = transfers.find({l->job, l->peer}); l->kind == link::role::fetch_client && it != transfers.end() &&
                                                     it->second == l) {
      transfers.erase(it);
    }
    close_now(l);
  }
  downloads.tick();
}


std::uint32_t net_node::impl::count_group(const peer_addr& ip) const {
  const std::uint64_t group = network_group(ip);
  std::uint32_t n = 0;
  for (const auto& l : all) n += (!l->outbound && network_group(l->remote_ip) == group) ? 1u : 0u;
  return n;
}

std::uint32_t net_node::impl::count_ip(const peer_addr& ip) const {
  std::uint32_t n = 0;
  for (const auto& l : all) n += (l->remote_ip == ip) ? 1u : 0u;
  return n;
}


link_ptr net_node::impl::dial(const peer_addr& to, link::role kind) {
  if (all.size() >= cfg.limits.connections_max || to.is_unspecified()) {
    ++stats.connections_refused;
    return nullptr;
  }
  auto l = std::make_shared<link>(io, tls_ctx, cfg.limits.frame);
  l->kind = kind;
  l->outbound = true;
  l->peer = to;
  l->remote_ip = ip_only(to);
  l->created = l->last_rx = l->last_tx = l->last_frame = now();
  all.insert(l);
  enqueue(l, msg_hello{cfg.network, self, cfg.agent, kind != link::role::overlay});
  // An address that failed lately is dialled when its backoff ends; what is sent to it
  // meanwhile waits in the link's queue (bounded as any queue).
  const auto b = backoff.find(to);
  if (b != backoff.end() && b->second.next > now()) {
    l->dial_waiting = true;
    l->hold_armed = true;
    l->hold.expires_at(epoch + b->second.next);
    l->hold.async_wait([this, l](const std::error_code& ec) {
      l->hold_armed = false;
      if (ec || l->dead) return;
      start_dial(l);
    });
    return l;
  }
  start_dial(l);
  return l;
}

void net_node::impl::start_dial(const link_ptr& l) {
  l->dial_waiting = false;
  l->created = l->last_rx = l->last_tx = l->last_frame = now();
  ++stats.connections_dialled;
  l->socket().async_connect(to_endpoint(l->peer), [this, l](const std::error_code& ec) {
    if (l->dead) return;
    if (ec) {
      dial_failed(l, ec.message().c_str());
      fail(l, ec.message().c_str());
      return;
    }
    start_tls(l);
  });
}

void net_node::impl::dial_failed(const link_ptr& l, const char* why) {
  if (!l->outbound || l->identified) return;
  if (backoff.size() >= backoff_entries_max && backoff.find(l->peer) == backoff.end()) {
    // Forget the entry whose backoff ends first (the least reason to hold back).
    auto oldest = std::min_element(backoff.begin(), backoff.end(),
                                   [](const auto& a, const auto& b) { return a.second.next < b.second.next; });
    backoff.erase(oldest);
  }
  auto& b = backoff[l->peer];
  ++b.failures;
  b.reason = why;
  const std::int64_t base_us = std::min<std::int64_t>(std::int64_t{1'000'000} << std::min<std::uint32_t>(b.failures - 1, 9),
                                                      300'000'000);
  // Jitter: between half and all of the step, so that nodes whose seed failed together do not
  // come back together.
  jitter_state = jitter_state * 6364136223846793005ULL + 1442695040888963407ULL;
  const auto half = base_us / 2;
  const micros wait{half + static_cast<std::int64_t>((jitter_state >> 33) % static_cast<std::uint64_t>(half + 1))};
  b.next = now() + wait;
  const bool known = std::find(cfg.overlay.seeds.begin(), cfg.overlay.seeds.end(), l->peer) != cfg.overlay.seeds.end() ||
                     (overlay && overlay->members().is_passive(l->peer));
  const auto seconds = (wait.count() + 500'000) / 1'000'000;
  if (known) {
    log.info("cannot reach {}: {}; next try in {} s", l->peer, why, seconds);
  } else {
    log.debug("cannot reach peer {}: {}; next try in {} s", l->peer, why, seconds);
  }
}

void net_node::impl::start_tls(const link_ptr& l) {
  std::error_code option_ec;
  l->socket().set_option(tcp::no_delay(true), option_ec);
  l->socket().set_option(asio::socket_base::keep_alive(true), option_ec);
  l->handshaking = true;
  const auto side = l->outbound ? asio::ssl::stream_base::client : asio::ssl::stream_base::server;
  l->tls.async_handshake(side, [this, l](const std::error_code& ec) {
    l->handshaking = false;
    if (l->dead) return;
    if (ec) {
      // An older node answers a dial with its plaintext HELLO, which TLS reads as a broken
      // record: say so, the reason is otherwise cryptic.
      std::string why = "TLS handshake: " + ec.message();
      if (l->outbound && ec.category() == asio::error::get_ssl_category()) {
        why += " (an older node that speaks plaintext protocol 1?)";
      }
      dial_failed(l, why.c_str());
      fail(l, why.c_str());
      return;
    }
    on_secured(l);
  });
}

// The handshake proved the other side's key: its id is what every frame on the link now
// speaks for.
void net_node::impl::on_secured(const link_ptr& l) {
  const auto proven = peer_identity(l->tls.native_handle());
  if (!proven) {
    const std::string why = "certificate refused: " + proven.error().what();
    dial_failed(l, why.c_str());
    fail(l, why.c_str());
    return;
  }
  l->id = proven->id;
  if (l->id == me.id()) {
    dial_failed(l, "that is this node");
    fail(l, "that is this node");
    return;
  }
  if (l->outbound) {
    auto b = ids.find(l->peer);
    if (b != ids.end() && b->second.id != l->id) {
      if (b->second.dialled) {
        const std::string why = "found node " + l->id.short_hex() + ", not " + b->second.id.short_hex() + " as before";
        log.warn("dial {}: {}", l->peer, why);
        dial_failed(l, why.c_str());
        fail(l, "wrong node id");
        return;
      }
      // An inbound link claimed this address for another key; the node reached at the
      // address is the one that lives there.
      if (auto lk = links.find(l->peer); lk != links.end() && lk->second != l && lk->second->id == b->second.id) {
        log.info("link from {} claimed {}, which belongs to node {}: dropped", lk->second->remote, l->peer, l->id.short_hex());
        fail(lk->second, "claimed another node's address");
      }
    }
    ids[l->peer] = binding{l->id, true};
  }
  l->connected = true;
  read(l);
  write(l);
}

void net_node::impl::sniff(const link_ptr& l) {
  l->socket().async_wait(tcp::socket::wait_read, [this, l](const std::error_code& ec) {
    if (l->dead) return;
    if (ec) {
      fail(l, ec.message().c_str());
      return;
    }
    std::array<std::uint8_t, 3> first{};
    std::error_code rec;
    const std::size_t n = l->socket().receive(asio::buffer(first), tcp::socket::message_peek, rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) {
      sniff(l);
      return;
    }
    if (rec || n == 0) {
      fail(l, rec ? rec.message().c_str() : "closed by peer");
      return;
    }
    if (n < first.size()) {
      // A byte or two so far: look again a little later (the handshake deadline bounds it;
      // waiting for readability again would wake at once, the bytes being there).
      l->hold_armed = true;
      l->hold.expires_after(std::chrono::milliseconds(20));
      l->hold.async_wait([this, l](const std::error_code& e) {
        l->hold_armed = false;
        if (!e && !l->dead) sniff(l);
      });
      return;
    }
    if (looks_like_tls(first)) {
      start_tls(l);
    } else {
      refuse_plaintext(l);
    }
  });
}

// An older node (protocol 1, plaintext) or another program. The answer is a plaintext frame of
// the old framing with this node's protocol version, which an older node logs as "unknown
// protocol version (version 2, this node speaks 1)": a clear reason on its side too.
void net_node::impl::refuse_plaintext(const link_ptr& l) {
  ++stats.connections_plaintext;
  const micros t = now();
  if (t - plaintext_logged >= micros{60'000'000}) {
    plaintext_logged = t;
    log.info("refusing a plaintext connection from {}: an older hearsay node (protocol 1) or another program; this "
             "node speaks protocol {} over TLS (further ones are counted, not logged, for a minute)",
             l->remote, protocol_version);
  }
  const auto bytes = encoder.encode(self, msg_hello{cfg.network, self, cfg.agent, false});
  auto frame = std::make_shared<std::vector<std::uint8_t>>(bytes.begin(), bytes.end());
  l->closing = true;
  asio::async_write(l->socket(), asio::buffer(*frame), [this, l, frame](const std::error_code&, std::size_t) { close_now(l); });
}


void net_node::impl::accept() {
  acceptor.async_accept([this, w = std::weak_ptr<int>(alive)](const std::error_code& ec, tcp::socket socket) {
    if (w.expired() || ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) admit(std::move(socket));
    accept();
  });
}


void net_node::impl::admit(tcp::socket socket) {
  std::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  const peer_addr ip = ip_only(from_endpoint(remote));
  const std::uint32_t inbound_max =
      cfg.limits.connections_max - std::min(cfg.limits.connections_max, cfg.limits.connections_outbound_reserved);
  const bool group_full = !is_private(ip) && count_group(ip) >= cfg.limits.connections_per_group_max;
  // Past the inbound share, only a peer this node knows (from its views or its seeds) gets
  // one of the reserved slots: a flood of strangers cannot cut it off from its own peers.
  const bool known = [&] {
    if (!overlay) return false;
    auto same_ip = [&](const peer_addr& p) { return ip_only(p) == ip; };
    const auto& m = overlay->members();
    return std::any_of(m.active().begin(), m.active().end(), same_ip) ||
           std::any_of(m.passive().begin(), m.passive().end(), same_ip) ||
           std::any_of(cfg.overlay.seeds.begin(), cfg.overlay.seeds.end(), same_ip);
  }();
  const bool full = all.size() >= cfg.limits.connections_max || (all.size() >= inbound_max && !known);
  if (stopping || full || count_ip(ip) >= cfg.limits.connections_per_ip_max || group_full) {
    ++stats.connections_refused;
    socket.close(ec);
    return;
  }
  ++stats.connections_accepted;
  auto l = std::make_shared<link>(io, std::move(socket), tls_ctx, cfg.limits.frame);
  l->remote_ip = ip;
  l->remote = from_endpoint(remote);
  l->created = l->last_rx = l->last_tx = l->last_frame = now();
  all.insert(l);
  enqueue(l, msg_hello{cfg.network, self, cfg.agent, false});
  sniff(l);
}


void net_node::impl::enqueue(const link_ptr& l, const message& m) {
  if (l->dead) return;
  const auto bytes = encoder.encode(self, m);
  // All queues together stay within a budget: past it, the link with the longest queue (a
  // slow reader, or several) is cut before memory grows further.
  while (queued_total + bytes.size() > cfg.limits.send_queue_total_bytes_max && !all.empty()) {
    const auto longest = *std::max_element(all.begin(), all.end(), [](const link_ptr& a, const link_ptr& b) {
      return a->queued_bytes < b->queued_bytes;
    });
    if (longest->queued_bytes == 0) break;
    ++stats.slow_readers_cut;
    fail(longest, "over the node's send buffer budget (slow reader)");
    if (longest == l) return;
  }
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
  queued_total += bytes.size();
  ++stats.frames_out;
  if (l->connected) write(l);
}


void net_node::impl::write(const link_ptr& l) {
  // One write at a time on a TLS stream: a transfer's raw bytes being written hold frames back.
  if (l->writing || l->raw_waiting || l->dead || l->queue.empty()) return;
  if (cfg.send_delay.count() > 0 && l->queue.front().due > now()) {
    hold_until_due(l);
    return;
  }
  l->writing = true;
  l->write_started = now();
  // Every frame already queued (and due) goes out in one write: a relay that forwards a
  // burst of queries to a neighbour makes one TLS record and one system call, not one per
  // frame. The frames are copied (TLS encrypts from one buffer at a time) and leave the queue
  // when the write completes.
  l->wbuf.clear();
  std::size_t frames = 0;
  const micros t = now();
  for (const auto& f : l->queue) {
    if (frames == link::gather_max || (cfg.send_delay.count() > 0 && f.due > t)) break;
    if (frames > 0 && l->wbuf.size() + f.bytes.size() > link::gather_bytes_max) break;
    l->wbuf.insert(l->wbuf.end(), f.bytes.begin(), f.bytes.end());
    ++frames;
  }
  asio::async_write(l->tls, asio::buffer(l->wbuf),
                    [this, l, frames](const std::error_code& ec, std::size_t n) {
                      l->writing = false;
                      if (l->dead) return;
                      if (ec) {
                        fail(l, ec.message().c_str());
                        return;
                      }
                      stats.bytes_out += n;
                      l->bytes_out += n;
                      for (std::size_t k = 0; k < frames; ++k) {
                        auto& sent = l->queue.front().bytes;
                        l->queued_bytes -= sent.size();
                        queued_total -= sent.size();
                        // Small buffers (overlay messages, not file chunks) are kept for reuse.
                        if (sent.capacity() <= spare_frame_bytes_max && spare_frames.size() < spare_frames_max) {
                          spare_frames.push_back(std::move(sent));
                        }
                        l->queue.pop_front();
                      }
                      l->last_tx = now();
                      if (l->kind == link::role::fetch_server) serve_continue(l);
                      if (l->queue.empty() && l->closing) {
                        close_now(l);
                        return;
                      }
                      write(l);
                    });
}

// The emulated link delay: one timer per link, armed for the frame at the head of its
// queue; the frames behind it are due no earlier, so they wait for the writer's next turn.
void net_node::impl::hold_until_due(const link_ptr& l) {
  if (l->hold_armed) return;
  l->hold_armed = true;
  l->hold.expires_at(epoch + l->queue.front().due);
  l->hold.async_wait([this, l](const std::error_code& ec) {
    l->hold_armed = false;
    if (ec || l->dead) return;
    write(l);
  });
}


void net_node::impl::read(const link_ptr& l) {
  if (l->raw_left > 0) {
    read_raw(l);
    return;
  }
  l->tls.async_read_some(asio::buffer(l->rbuf), [this, l](const std::error_code& ec, std::size_t n) {
    if (l->dead) return;
    if (ec) {
      fail(l, closed_by_peer(ec) ? "closed by peer" : ec.message().c_str());
      return;
    }
    stats.bytes_in += n;
    l->bytes_in += n;
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
        const failure& why = r.error();
        const std::string what = codec::describe(static_cast<codec::error>(why.code().value())) +
                                 (why.message().empty() ? std::string() : " (" + printable(why.message()) + ")");
        // A well-formed frame whose content this node cannot use (a field out of range, a
        // message kind of a newer version) costs the message, not an overlay link; a frame
        // that breaks the framing, or anything odd on a transfer (whose raw bytes would then
        // be misread), ends the connection.
        const bool message_only = l->kind == link::role::overlay && l->identified &&
                                  (why.code() == codec::error::bad_field || why.code() == codec::error::unknown_message);
        if (message_only) {
          log.debug("dropping a message from {}: {}", described(l), what);
          continue;
        }
        log.warn("dropping link {}: {}", described(l), what);
        fail(l, "bad frame");
        return;
      }
      ++stats.frames_in;
      l->last_frame = l->last_rx;
      handle(l, *r);
      // A transfer's raw bytes may have come in the same read as the frame announcing them.
      if (!l->dead && l->raw_left > 0) {
        const auto raw = l->reader.take_raw(l->raw_left);
        if (!raw.empty() && !deliver_raw(l, raw)) return;
      }
    }
    if (l->dead) return;
    if (l->reader.poisoned()) {
      ++stats.frames_bad;
      fail(l, "oversize frame");
      return;
    }
    read(l);
  });
}


// The link is over: close it, and tell whoever depended on it.
void net_node::impl::fail(const link_ptr& l, const char* why) {
  if (l->dead) return;
  const bool mapped = [&] {
    auto it = links.find(l->peer);
    return it != links.end() && it->second == l;
  }();
  log.debug("link {} failed: {}", described(l), why);
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
    auto it = transfers.find({l->job, l->peer});
    if (it != transfers.end() && it->second == l) {
      transfers.erase(it);
      const job_id job = l->job;
      const peer_addr holder = l->peer;
      const std::string reason = why;
      asio::post(io, [this, job, holder, reason, w = std::weak_ptr<int>(alive)] {
        if (!w.expired()) downloads.on_holder_failed(job, holder, reason, false);
      });
    }
  }
}


void net_node::impl::report_down(const peer_addr& peer) {
  if (running && links.find(peer) == links.end()) overlay->on_peer_down(now(), peer);
}


void net_node::impl::close_after_flush(const link_ptr& l) {
  l->closing = true;
  if (l->queue.empty() && !l->writing) close_now(l);
}


void net_node::impl::close_now(const link_ptr& l) {
  if (l->dead) return;
  l->dead = true;
  queued_total -= l->queued_bytes;  // the queue dies with the link
  l->queued_bytes = 0;
  std::error_code ec;
  l->socket().shutdown(tcp::socket::shutdown_both, ec);
  l->socket().close(ec);
  l->hold.cancel();
  stop_serving(l);
  all.erase(l);
}


void net_node::impl::handle(const link_ptr& l, codec::decoded& d) {
  if (auto* hello = std::get_if<msg_hello>(&d.msg)) {
    if (l->identified) {
      fail(l, "second hello");
      return;
    }
    if (hello->network() != cfg.network) {
      log.info("refusing {}: network '{}', not '{}'", hello->listen, printable(hello->network()), cfg.network);
      fail(l, "other network");
      return;
    }
    if (!l->outbound) {
      // The peer is known by the address it came from with the port it says it listens on:
      // an address anyone could claim in HELLO never enters a view or goes on to others.
      if (hello->listen.port == 0) {
        fail(l, "no listening port in hello");
        return;
      }
      peer_addr addr = l->remote_ip;
      addr.port = hello->listen.port;
      if (addr != hello->listen) {
        log.debug("link from {} says it listens at {}; known as {}", l->remote, hello->listen, addr);
      }
      l->peer = addr;
      l->kind = hello->fetch_only ? link::role::fetch_server : link::role::overlay;
      if (l->kind == link::role::overlay) {
        auto b = ids.find(addr);
        const bool other_key = b != ids.end() && b->second.id != l->id;
        const auto lk = links.find(addr);
        if (other_key && (b->second.dialled || (lk != links.end() && !lk->second->dead))) {
          log.info("refusing node {} from {}: {} belongs to node {}", l->id.short_hex(), l->remote, addr,
                   b->second.id.short_hex());
          fail(l, "address of another node");
          return;
        }
        // A new address, or one whose inbound claim this key takes over; the same node as
        // before keeps what is known of it (a binding it was dialled under stays dialled).
        if (b == ids.end() || other_key) ids[addr] = binding{l->id, false};
        // The first link to a peer carries our traffic to it; a second one (both sides
        // dialled at once) is still read from and closes when idle.
        if (lk == links.end()) links[addr] = l;
      }
    }
    l->identified = true;
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
  // Transfer messages belong on transfer connections, each kind on its own side.
  if (auto* req = std::get_if<msg_fetch_request>(&d.msg)) {
    if (l->kind == link::role::fetch_server) {
      serve(l, *req);
    } else {
      ++stats.frames_bad;
    }
    return;
  }
  if (auto* data = std::get_if<msg_fetch_data>(&d.msg)) {
    if (l->kind == link::role::fetch_client) {
      on_fetch_data(l, *data);
    } else {
      ++stats.frames_bad;
    }
    return;
  }
  if (auto* err = std::get_if<msg_fetch_error>(&d.msg)) {
    if (l->kind == link::role::fetch_client) {
      on_fetch_error(l, *err);
    } else {
      ++stats.frames_bad;
    }
    return;
  }
  if (l->kind != link::role::overlay || !running) return;
  l->ping_outstanding = false;
  overlay->on_message(now(), l->peer, std::move(d.msg));  // d is not read again
}



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
  impl_->downloads.stop();
}

result<> net_node::start() {
  impl& m = *impl_;
  // The node's key: from its file, made there on first start; without a file, one for this
  // run only.
  auto key = m.cfg.key_file.empty() ? identity::ephemeral() : identity::load_or_create(m.cfg.key_file);
  if (!key) return key.error().prefix("node key");
  m.me = std::move(*key);
  if (auto configured = m.me.configure(m.tls_ctx.native_handle()); !configured) {
    return configured.error().prefix("node key");
  }
  if (!m.cfg.shared_dir.empty()) {
    const auto problems = m.index.scan(m.cfg.shared_dir, m.cfg.share_follow_symlinks);
    if (!problems) return problems.error();
    for (const auto& p : *problems) m.log.warn("share: {}", printable(p));
  }
  std::error_code ec;
  if (!m.cfg.download_dir.empty()) {
    fs::create_directories(m.cfg.download_dir, ec);
    if (ec) return failure(ec, "cannot create the download folder " + m.cfg.download_dir.string());
  }
  if (auto listening = listen_on(m.acceptor, m.cfg.listen, asio::socket_base::max_listen_connections); !listening) {
    return listening.error().prefix("cannot listen on " + m.cfg.listen.to_string());
  }
  const peer_addr bound = from_endpoint(m.acceptor.local_endpoint(ec));
  m.self = m.cfg.advertise.is_unspecified() ? bound : m.cfg.advertise;
  if (m.cfg.advertise.port == 0 && !m.cfg.advertise.is_unspecified()) m.self.port = bound.port;
  std::uint64_t seed = m.cfg.seed;
  if (seed == 0) {
    std::random_device rd;
    seed = (std::uint64_t{rd()} << 32) ^ rd();
  }
  m.overlay = std::make_unique<node>(m.cfg.overlay, m.self, seed, m);
  // People search a real node's files by parts of words ("photo" finds "holiday photos.txt");
  // the simulator's catalogue keeps whole words.
  m.overlay->files().set_mode(match_mode::substrings);
  m.index.fill(m.overlay->files());
  const auto remembered = m.load_peers();
  if (!remembered.empty()) {
    m.overlay->remember_peers(remembered);
    m.log.info("remembered {} peers from {}", m.overlay->members().passive().size(), m.cfg.peers_file.string());
  }
  m.running = true;
  m.accept();
  m.start_housekeeping();
  m.overlay->start(m.now());
  m.downloads.start();  // downloads a previous run left
  m.log.info("node {} listening on {}, advertised as {}, sharing {} files", m.me.id().to_hex(), bound, m.self,
             m.index.size());
  return {};
}

void net_node::stop(std::function<void()> done) {
  impl& m = *impl_;
  if (m.stopping) return;
  m.stopping = true;
  std::error_code ec;
  m.acceptor.close(ec);
  if (m.running) {
    if (auto saved = m.save_peers(); !saved) m.log.warn("{}", saved.error().what());
  }
  if (m.running) m.overlay->leave(m.now());  // DISCONNECT to every neighbour
  m.running = false;
  m.downloads.stop();  // part files stay, for a later resume
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
const node_id& net_node::id() const { return impl_->me.id(); }
std::optional<node_id> net_node::id_of(const peer_addr& peer) const {
  const auto it = impl_->ids.find(peer);
  if (it == impl_->ids.end()) return std::nullopt;
  return it->second.id;
}
std::optional<link_info> net_node::link_of(const peer_addr& peer) const {
  const auto it = impl_->links.find(peer);
  if (it == impl_->links.end() || it->second->dead) return std::nullopt;
  const link& l = *it->second;
  return link_info{now() - l.created, l.bytes_in, l.bytes_out};
}
const node& net_node::overlay() const { return *impl_->overlay; }
const transport_stats& net_node::stats() const {
  impl_->stats.fetches_done = impl_->downloads.done();
  impl_->stats.fetches_failed = impl_->downloads.failed();
  return impl_->stats;
}
micros net_node::now() const { return impl_->now(); }
std::size_t net_node::links() const { return impl_->links.size(); }
const net_config& net_node::config() const { return impl_->cfg; }
result<> net_node::save_peers() const { return impl_->save_peers(); }
std::size_t net_node::shared_files() const { return impl_->index.size(); }
const indexed_file* net_node::shared_file(const sha256_digest& digest) const { return impl_->index.find(digest); }
std::vector<const indexed_file*> net_node::shared_list() const { return impl_->index.list(); }
std::uint64_t net_node::shared_bytes() const { return impl_->index.bytes(); }

query_id net_node::search(std::string words, std::function<void(const search_hit&)> on_hit,
                          std::function<void(std::uint32_t)> on_done) {
  impl& m = *impl_;
  HEARSAY_ASSERT(m.running);
  const query_id id = m.overlay->search(m.now(), std::move(words));
  m.searches[id] = {std::move(on_hit), std::move(on_done)};
  return id;
}

std::uint64_t net_node::fetch(const file_info& file, std::vector<peer_addr> holders,
                              std::function<void(const fetch_status&)> on_update, fetch_options opts) {
  return impl_->downloads.fetch(file, holders, opts, std::move(on_update));
}

void net_node::forget_fetch(std::uint64_t token) { impl_->downloads.forget(token); }
bool net_node::cancel_fetch(job_id id) { return impl_->downloads.cancel(id); }
std::size_t net_node::cancel_all_fetches() { return impl_->downloads.cancel_all(); }
std::vector<fetch_status> net_node::fetches() const { return impl_->downloads.list(); }
std::uint64_t net_node::fetches_running() const { return impl_->downloads.running(); }

result<std::vector<std::string>> net_node::rescan() {
  impl& m = *impl_;
  if (m.cfg.shared_dir.empty()) return std::vector<std::string>{};
  auto problems = m.index.scan(m.cfg.shared_dir, m.cfg.share_follow_symlinks);
  if (problems && m.overlay) m.index.fill(m.overlay->files());
  return problems;
}

}  // namespace hearsay::net
