#pragma once
// The discrete-event simulator: every peer is a real hearsay::node, driven in virtual time
// over a simulated network (sim/latency.hpp), the way libtorrent's simulator and
// FoundationDB's deterministic simulation run real code under a simulated world.
//
// Determinism: one seed decides everything. Each peer has its own random stream, and the
// workload and the network have theirs; events run in (time, sequence) order; nothing
// depends on addresses or unordered iteration. The same seed and scenario give the same
// results, byte for byte.

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

#include "overlay/node.hpp"
#include "sim/event_queue.hpp"
#include "sim/network_tap.hpp"
#include "sim/scenario.hpp"

namespace hearsay::sim {

// Simulated peers live at 10.0.0.0/8 + index, port 7000: up to 16M peers.
inline constexpr std::uint32_t address_base = 0x0A000000u;
inline constexpr std::uint16_t address_port = 7000;
inline peer_addr address_of(std::uint32_t index) { return peer_addr::from_ipv4(address_base + index, address_port); }

// One search as the simulator saw it.
struct query_record {
  query_id id = 0;
  std::uint32_t origin = 0;
  std::uint32_t file = 0;
  micros issued{0};
  micros first_hit{-1};  // latency to the first hit; negative: no hit
  std::uint8_t first_hit_hops = 0;
  micros kth_hit{-1};  // latency to the hits_wanted-th hit; negative: fewer hits
  std::uint32_t first_holder = 0;  // who sent the first hit
  micros fetch_done{-1};           // estimated end of the download from the first holder
  std::uint32_t hits = 0;
  std::uint32_t query_messages = 0;  // query copies sent (origin and relays)
  std::uint32_t hit_messages = 0;    // hit messages sent (holders and relays)
  std::uint32_t duplicates = 0;      // copies that reached a peer that had seen the query
  std::uint32_t reached = 0;         // peers that received the query (origin excluded)
};

// The shape of the overlay at one instant (the active views as an undirected graph).
struct overlay_health {
  std::uint32_t peers_running = 0;
  std::uint32_t largest_component = 0;
  std::uint32_t components = 0;
  std::uint32_t active_min = 0, active_max = 0;
  double active_mean = 0;
  std::uint32_t in_degree_min = 0, in_degree_max = 0;
  double in_degree_mean = 0, in_degree_stddev = 0;
  double passive_mean = 0;
  std::uint64_t links_directed = 0;   // sum of active view sizes
  std::uint64_t links_asymmetric = 0; // a lists b, b does not list a
};

// One sample of the overlay over time (churn and fault runs).
struct time_sample {
  micros at{0};  // since the queries started
  std::uint32_t peers_running = 0;
  std::uint32_t largest_component = 0;
  double active_mean = 0;
};

struct run_results {
  overlay_health health;  // measured when the queries start
  std::vector<query_record> queries;
  node_stats totals;  // summed over all peers at the end
  // Per-peer load: messages each running peer received over the whole run.
  std::uint64_t load_min = 0, load_p99 = 0, load_max = 0;
  double load_mean = 0;
  std::uint64_t events = 0;
  micros end{0};
  micros queries_start{0};
  std::vector<time_sample> over_time;
};

class simulator {
 public:
  explicit simulator(const scenario& s);
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  // Runs the whole scenario: joins, stabilisation, file placement, queries.
  run_results run();

  // Building blocks, for tests and tools: start every peer on the join schedule and run
  // until `stabilize` after the last one; run the event loop up to a time; measure.
  void build_overlay();
  // Peers that join after the queries start (scenario join_fraction), the highest indices.
  std::uint32_t late_joiners() const;
  void run_until(micros t);
  overlay_health measure_health() const;

  // Empty unless the scenario could not be set up (e.g. an unreadable edge-list file).
  const std::string& error() const { return error_; }
  // The fixed graph of a static topology (empty for HyParView).
  const graph& static_graph() const { return graph_; }
  // Copies of each file placed (valid after run()).
  const std::vector<std::uint32_t>& replicas() const { return replicas_; }

  micros now() const { return now_; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(nodes_.size()); }
  const node& peer(std::uint32_t i) const { return *nodes_[i]; }
  node& peer(std::uint32_t i) { return *nodes_[i]; }
  // Crashes peer i: it stops receiving, and its active neighbours learn it after one link
  // latency, as a TCP reset would tell them.
  void crash(std::uint32_t i);
  std::uint64_t events_processed() const { return events_; }
  // The one-way latency of the link between peers a and b in this run.
  micros link_latency(std::uint32_t a, std::uint32_t b) const;
  // Observes every message sent and delivered from now on; nullptr stops it. The tap must
  // outlive its use.
  void set_tap(network_tap* tap) { tap_ = tap; }

 private:
  struct deliver {
    std::uint32_t to, from;
    message msg;
  };
  struct fire_timer {
    std::uint32_t node;
    std::uint32_t incarnation;  // timers of an earlier life of a churned peer are ignored
    timer_id id;
  };
  struct peer_down {
    std::uint32_t node, peer;
  };
  struct start_peer {
    std::uint32_t node;
  };
  struct issue_query {
    std::uint32_t index;
  };
  struct fault {
    enum class kind : std::uint8_t { crash_share, leave_share, session_end, session_return, sample };
    kind what;
    std::uint32_t node;
  };
  using event = std::variant<deliver, fire_timer, peer_down, start_peer, issue_query, fault>;

  // The driver side of one peer: turns its host calls into events.
  class peer_host final : public host {
   public:
    peer_host(simulator& sim, std::uint32_t self) : sim_(sim), self_(self) {}
    void send(const peer_addr& to, const message& m) override;
    void disconnect(const peer_addr& peer) override { static_cast<void>(peer); }
    void schedule(micros at, timer_id id) override;
    void on_search_hit(query_id id, const msg_query_hit& h, micros latency) override;
    void on_query_seen(const msg_query& q, bool duplicate) override;

   private:
    simulator& sim_;
    std::uint32_t self_;
  };

  void dispatch(event& e);
  // Memory-latency hiding: the event loop warms the state of peers some events ahead.
  static std::uint64_t warm_payload(const event& e);
  std::uint64_t warm_peer(const event& e) const;
  std::uint64_t warm_pointees(const event& e) const;
  void on_fault(const fault& f);
  void restart_peer(std::uint32_t i);
  void plan_faults(micros first);
  bool partitioned(std::uint32_t a, std::uint32_t b) const;
  void place_files();
  void plan_queries(micros first);
  query_record* record_of(query_id id);
  bool index_of(const peer_addr& a, std::uint32_t& index) const;

  scenario scenario_;
  node_config node_config_;  // shared by all peers: scenario overlay parameters + seed list
  // One contiguous array each, sized once: a peer's state is found by index with a single
  // memory access (a deque of nodes this large holds one node per block, behind a map).
  std::vector<peer_host> hosts_;
  std::vector<std::optional<node>> nodes_;  // re-created in place when a churned peer returns
  std::vector<std::uint8_t> running_;  // 1 while a peer is started and not crashed
  event_queue<event> queue_;
  rng workload_rng_;
  micros now_{0};
  std::uint64_t events_ = 0;
  bool built_ = false;
  std::string error_;
  graph graph_;

  std::vector<std::vector<std::uint32_t>> holders_;  // per file: the peers holding it
  std::vector<std::uint32_t> replicas_;              // per file: how many copies it gets
  std::vector<query_record> queries_;
  micros last_query_at_{0};
  micros queries_start_{0};
  rng network_rng_;
  rng fault_rng_;
  std::vector<std::uint32_t> incarnation_;            // per peer: how many times it came back
  std::vector<std::vector<std::uint32_t>> files_of_;  // per peer: the catalogue files it holds
  std::vector<time_sample> samples_;
  std::unordered_map<query_id, std::uint32_t> query_index_;
  std::vector<std::uint8_t> wire_;  // scratch for the wire codec round trip
  network_tap* tap_ = nullptr;
};

// The catalogue's name for file f ("file-000123").
std::string file_name(std::uint32_t f);

}  // namespace hearsay::sim
