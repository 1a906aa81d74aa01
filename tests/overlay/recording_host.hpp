#pragma once
// Test doubles for driving overlay nodes without a simulator or sockets.
//
// recording_host records everything a single node asks of its driver, so a unit test can
// feed one message and assert on exactly what came out. test_net wires a handful of nodes
// together with zero-latency FIFO delivery and explicit time, for small multi-node tests.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "overlay/host.hpp"
#include "overlay/node.hpp"

namespace hearsay::test {

inline peer_addr addr(std::uint32_t i) { return peer_addr::from_ipv4(0x0A000000u + i, 7000); }

struct recording_host : host {
  struct sent_message {
    peer_addr to;
    message msg;
  };
  struct hit_record {
    query_id id;
    msg_query_hit hit;
    micros latency;
  };

  std::vector<sent_message> sent;
  std::vector<peer_addr> disconnected;
  std::vector<std::pair<micros, timer_id>> timers;
  std::vector<hit_record> hits;
  std::vector<std::pair<query_id, std::uint32_t>> done;
  std::vector<std::pair<query_id, bool>> seen;
  std::vector<std::pair<peer_addr, bool>> view_changes;

  void send(const peer_addr& to, const message& m) override { sent.push_back({to, m}); }
  void disconnect(const peer_addr& peer) override { disconnected.push_back(peer); }
  std::uint64_t nonces = 0;  // handed out so far: the n-th nonce is nonce_base + n
  static constexpr std::uint64_t nonce_base = 0x6e6f6e6365000000ULL;
  std::uint64_t nonce() override { return nonce_base + ++nonces; }
  void schedule(micros at, timer_id id) override { timers.emplace_back(at, id); }
  void on_search_hit(query_id id, const msg_query_hit& h, micros latency) override {
    hits.push_back({id, h, latency});
  }
  void on_search_done(query_id id, std::uint32_t n) override { done.emplace_back(id, n); }
  void on_query_seen(const msg_query& q, bool duplicate) override { seen.emplace_back(q.id, duplicate); }
  void on_active_view_changed(const peer_addr& peer, bool added) override {
    view_changes.emplace_back(peer, added);
  }

  void clear() {
    sent.clear();
    disconnected.clear();
    timers.clear();
    hits.clear();
    done.clear();
    seen.clear();
    view_changes.clear();
  }

  // Messages of type M that were sent, with their destinations.
  template <typename M>
  std::vector<std::pair<peer_addr, M>> sent_of() const {
    std::vector<std::pair<peer_addr, M>> out;
    for (const auto& s : sent) {
      if (const M* m = std::get_if<M>(&s.msg)) out.emplace_back(s.to, *m);
    }
    return out;
  }

  // The first timer of a kind that was set (its time and id), or nullptr.
  const std::pair<micros, timer_id>* first_timer(timer_kind kind) const {
    const auto it = std::find_if(timers.begin(), timers.end(), [&](const auto& t) { return t.second.kind == kind; });
    return it == timers.end() ? nullptr : &*it;
  }
  bool has_timer(timer_kind kind) const { return first_timer(kind) != nullptr; }
};

// A running node (address 1) whose active view is peers 100 .. 100 + neighbours - 1, with
// its recording host cleared: the starting point of most single-node tests.
struct single {
  explicit single(node_config c, std::uint32_t neighbours) : cfg(std::move(c)), n(cfg, addr(1), 42, h) {
    n.start(micros{0});
    for (std::uint32_t i = 0; i < neighbours; ++i) n.on_message(micros{0}, addr(100 + i), msg_neighbor{true});
    h.clear();
  }
  node_config cfg;
  recording_host h;
  node n;
};

// A few nodes on a zero-latency network. Messages are delivered in FIFO order when the test
// calls run(); timers fire when the test advances time with run_until().
class test_net {
 public:
  explicit test_net(const node_config& cfg) : cfg_(cfg) {}

  std::size_t add_node(std::uint64_t seed) {
    const auto i = static_cast<std::uint32_t>(nodes_.size());
    auto h = std::make_unique<shim>(*this, i);
    auto n = std::make_unique<node>(cfg_, addr(i), seed, *h);
    hosts_.push_back(std::move(h));
    nodes_.push_back(std::move(n));
    down_.push_back(false);
    return i;
  }

  node& at(std::size_t i) { return *nodes_[i]; }
  recording_host& host_of(std::size_t i) { return hosts_[i]->record; }
  std::size_t size() const { return nodes_.size(); }
  micros now() const { return now_; }

  // Crashes node i as a process crash would: it receives nothing more, its open links break
  // (its active neighbours are told at once, as a TCP reset tells them), and anyone else who
  // sends to it later learns of it then.
  void crash(std::size_t i) {
    down_[i] = true;
    const peer_addr gone = addr(static_cast<std::uint32_t>(i));
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (down_[j]) continue;
      const auto active = nodes_[j]->members().active();
      if (std::find(active.begin(), active.end(), gone) != active.end()) nodes_[j]->on_peer_down(now_, gone);
    }
  }

  // Makes a and b active neighbours through a NEIGHBOR exchange, as repair would.
  void link(std::size_t a, std::size_t b) {
    nodes_[b]->on_message(now_, addr(static_cast<std::uint32_t>(a)), msg_neighbor{true});
    run();
  }

  // Delivers queued messages until none are left (bounded, so a protocol loop fails a test
  // instead of hanging it).
  std::size_t run(std::size_t max_messages = 1'000'000) {
    std::size_t delivered = 0;
    while (!queue_.empty()) {
      HEARSAY_ASSERT(delivered < max_messages);
      auto item = std::move(queue_.front());
      queue_.pop_front();
      ++delivered;
      const auto to = index_of(item.to);
      if (to >= nodes_.size() || down_[to]) {
        if (!down_[item.from]) nodes_[item.from]->on_peer_down(now_, item.to);
        continue;
      }
      nodes_[to]->on_message(now_, addr(static_cast<std::uint32_t>(item.from)), item.msg);
    }
    return delivered;
  }

  // Advances time to t, firing due timers in time order and delivering messages after each.
  void run_until(micros t) {
    run();
    while (true) {
      auto next = std::min_element(timers_.begin(), timers_.end(), [](const auto& x, const auto& y) {
        return x.at != y.at ? x.at < y.at : x.seq < y.seq;
      });
      if (next == timers_.end() || next->at > t) break;
      const auto due = *next;
      timers_.erase(next);
      now_ = due.at;
      if (!down_[due.node]) nodes_[due.node]->on_timer(now_, due.id);
      run();
    }
    now_ = t;
  }

  static std::size_t index_of(const peer_addr& a) { return a.ipv4() - 0x0A000000u; }

  // The nodes a walk over active views reaches from node `start` (itself included): every
  // node some reached node lists, whether it runs or not.
  std::set<std::size_t> reachable_from(std::size_t start) const {
    std::set<std::size_t> reached{start};
    std::vector<std::size_t> frontier{start};
    while (!frontier.empty()) {
      const auto i = frontier.back();
      frontier.pop_back();
      for (const auto& p : nodes_[i]->members().active()) {
        if (reached.insert(index_of(p)).second && index_of(p) < nodes_.size()) frontier.push_back(index_of(p));
      }
    }
    return reached;
  }

 private:
  struct queued {
    std::size_t from;
    peer_addr to;
    message msg;
  };
  struct pending_timer {
    micros at;
    std::uint64_t seq;
    std::size_t node;
    timer_id id;
  };
  struct shim : host {
    shim(test_net& net, std::size_t self) : net_(net), self_(self) {}
    void send(const peer_addr& to, const message& m) override {
      record.send(to, m);
      net_.queue_.push_back({self_, to, m});
    }
    void disconnect(const peer_addr& peer) override { record.disconnect(peer); }
    std::uint64_t nonce() override { return record.nonce(); }
    void schedule(micros at, timer_id id) override {
      record.schedule(at, id);
      net_.timers_.push_back({at, net_.timer_seq_++, self_, id});
    }
    void on_search_hit(query_id id, const msg_query_hit& h, micros latency) override {
      record.on_search_hit(id, h, latency);
    }
    void on_search_done(query_id id, std::uint32_t n) override { record.on_search_done(id, n); }
    void on_query_seen(const msg_query& q, bool dup) override { record.on_query_seen(q, dup); }
    void on_active_view_changed(const peer_addr& p, bool added) override {
      record.on_active_view_changed(p, added);
    }
    test_net& net_;
    std::size_t self_;
    recording_host record;
  };

  const node_config& cfg_;
  std::vector<std::unique_ptr<shim>> hosts_;
  std::vector<std::unique_ptr<node>> nodes_;
  std::vector<bool> down_;
  std::deque<queued> queue_;
  std::vector<pending_timer> timers_;
  std::uint64_t timer_seq_ = 0;
  micros now_{0};
};

}  // namespace hearsay::test
