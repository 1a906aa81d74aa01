#pragma once
// The discrete-event simulator: every peer is a real hearsay::node, driven in virtual time
// over a simulated network (sim/latency.hpp), the way libtorrent's simulator and
// FoundationDB's deterministic simulation run real code under a simulated world.
//
// Determinism: one seed decides everything. Each peer has its own random stream, and the
// workload and the network have theirs; events run in (time, key) order, where an event's
// key names the peer that scheduled it and how many events that peer had scheduled before;
// nothing depends on addresses or unordered iteration. The same seed and scenario give the
// same results, byte for byte.
//
// Parallelism (conservative, in the manner of Chandy-Misra-Bryant with a global window):
// peers are dealt to worker threads, each with its own event queue. No message reaches
// another peer sooner than the latency model's minimum L, so in a window of virtual time
// [T, T + L) every worker can run its own peers' events without hearing from the others;
// messages to other workers' peers wait in outboxes until the window ends. Searches and
// faults, which read or change many peers, run between windows. A peer sees the same events
// in the same order whatever the number of threads, so the results do not depend on it.
// Downloads (sim/downloads.hpp) run between windows too, from the hits the workers noted.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "overlay/node.hpp"
#include "overlay/result.hpp"
#include "sim/addresses.hpp"
#include "sim/event_queue.hpp"
#include "sim/huge_pages.hpp"
#include "sim/network_tap.hpp"
#include "sim/scenario.hpp"

namespace hearsay::sim {

class sybil_swarm;

// How a searcher's download ended (sim/downloads.hpp).
enum class download_outcome : std::uint8_t {
  none,       // not started: no hit (or downloads are off)
  running,
  done,       // every byte stored and the digest matched
  failed,     // no holder left to ask (or the engine refused the job)
  timed_out,  // still running download.timeout after the query was issued
  abandoned,  // the searcher crashed or left first
};
const char* describe(download_outcome o);

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
  std::uint32_t hits = 0;
  std::uint32_t query_messages = 0;  // query copies sent (origin and relays)
  std::uint32_t hit_messages = 0;    // hit messages sent (holders and relays)
  std::uint32_t duplicates = 0;      // copies that reached a peer that had seen the query
  std::uint32_t reached = 0;         // peers that received the query (origin excluded)
  // The download of what it found, when the scenario has downloads. Times count from the
  // query's issue; negative: none. Bytes and failovers of a download two searches share (one
  // searcher asking twice for a file) are counted with the first.
  download_outcome download = download_outcome::none;
  micros download_start{-1};
  micros file_done{-1};                  // time to file: search and download, to the verified file
  std::uint64_t file_bytes = 0;          // the file's size
  std::uint64_t download_bytes = 0;      // bytes received from holders, over all attempts
  std::uint32_t download_failovers = 0;  // holders that failed or were dropped holding pieces
};

// A hit as its origin's worker saw it, kept for the download world (sim/downloads.hpp).
struct download_hit {
  micros at;
  std::uint32_t record;  // index of the query record
  std::uint32_t holder;  // peer index
  friend auto operator<=>(const download_hit&, const download_hit&) = default;
};

class download_world;

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

// An attack as the honest peers see it at one instant (runs with an [attack] section).
struct attack_sample {
  std::uint32_t honest_running = 0;
  std::uint32_t eclipsed = 0;  // honest peers whose active view is not empty and all Sybils
  std::uint32_t isolated = 0;  // honest peers with an empty active view
  // Sybils' share of an honest peer's active view, of its outbound entries
  // (active_outbound_min), and of its passive view, averaged over the honest peers that
  // have any such entries.
  double sybil_active_share = 0;
  double sybil_outbound_share = 0;
  double sybil_passive_share = 0;
  std::uint32_t sybil_passive_max = 0;  // the most Sybils in one honest peer's passive view
};

// One sample of the overlay over time (churn, fault and attack runs).
struct time_sample {
  micros at{0};  // since the queries started
  std::uint32_t peers_running = 0;
  std::uint32_t largest_component = 0;
  double active_mean = 0;
  attack_sample attack;  // with an attack
};

struct run_results {
  overlay_health health;  // measured when the queries start
  // The overlay's structure when the queries start, beside a random graph's (health.cpp).
  structure_comparison structure;
  std::vector<query_record> queries;
  node_stats totals;  // summed over all peers at the end
  // Per-peer load: messages each running peer received over the whole run.
  std::uint64_t load_min = 0, load_p99 = 0, load_max = 0;
  double load_mean = 0;
  std::uint64_t events = 0;
  micros end{0};
  micros queries_start{0};
  std::vector<time_sample> over_time;
  // With an attack: the state at the end of the run, and what the Sybils did (the eclipse
  // attacker's; their traffic is not in `totals`).
  attack_sample attack_end;
  std::uint64_t sybil_messages = 0;
  std::uint64_t sybil_queries_dropped = 0;
};

class simulator {
 public:
  // Sets up a run of the scenario, or says why it cannot run: a static topology that cannot be
  // built (an unreadable or malformed edge-list file, a regular graph that cannot be drawn).
  static result<std::unique_ptr<simulator>> create(const scenario& s);
  // For a scenario known to set up (tests, benchmarks): asserts that it does.
  explicit simulator(const scenario& s);
  ~simulator();
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  // Runs the whole scenario: joins, stabilisation, file placement, queries.
  run_results run();

  // Building blocks, for tests and tools: start every peer on the join schedule and run
  // until `stabilize` after the last one; run the event loop up to a time; measure.
  void build_overlay();
  // Peers that join after the queries start (scenario join_fraction), the highest indices
  // but for the Sybils.
  std::uint32_t late_joiners() const;
  void run_until(micros t);
  // The honest peers' overlay (with an attack, the Sybils and the links to them are left
  // out of the graph; views count every entry).
  overlay_health measure_health() const;
  // The attack as the honest peers see it now (zeros without one).
  attack_sample measure_attack() const;
  // The honest overlay's structure now (clustering, hop distances; sim/topology.hpp), beside
  // that of a random graph with its degrees, drawn from the run's seed.
  // two_threads: the overlay and the random graph measured at once (the same figures).
  structure_comparison measure_structure(bool two_threads = true) const;

  // The fixed graph of a static topology (empty for HyParView).
  const graph& static_graph() const { return graph_; }
  // Copies of each file placed (valid after run()).
  const std::vector<std::uint32_t>& replicas() const { return replicas_; }
  // The downloads (null unless the scenario has them).
  const download_world* downloads() const { return downloads_.get(); }

  micros now() const { return now_; }
  // Worker threads of the event loop (scenario threads; one when the latency model has no
  // positive minimum, or a network tap is set).
  unsigned threads() const;
  std::uint32_t size() const { return static_cast<std::uint32_t>(running_.size()); }
  // Peer i's node (the node engine only: a compact run has none).
  const node& peer(std::uint32_t i) const {
    HEARSAY_ASSERT(!compact());
    return *nodes_[i];
  }
  node& peer(std::uint32_t i) {
    HEARSAY_ASSERT(!compact());
    return *nodes_[i];
  }
  // Why a scenario cannot run on the compact engine (sim/compact.cpp), or nullptr when it can.
  static const char* compact_refusal(const scenario& s);
  // How long after its issue a search may still have a copy on its way (the last ring's start
  // or the walkers' waits, then TTL hops of the slowest link), and a message of any kind: the
  // hits coming back from the last copies too (TTL hops more).
  static micros copies_span(const scenario& s);
  static micros search_span(const scenario& s);
  // Why a peer's duplicate cache might forget a search that can still reach it (an id that
  // expires or is evicted while copies or hits of its search are on their way), or nullptr
  // when it never does: then what the cache remembers of a search after search_span is never
  // read again. Both engines rely on it: the compact one keeps a search's visits only while
  // the search has messages in flight, the node engine shortens the caches' lifetime.
  static const char* dup_cache_refusal(const scenario& s);
  // Whether this run holds its peers compactly (scenario engine, compact_refusal).
  bool compact() const { return compact_ != nullptr; }
  const char* engine_name() const { return compact() ? "compact" : "nodes"; }
  // Every peer's address, and the peer at an address (sim/addresses.hpp).
  const address_plan& addresses() const { return plan_; }
  peer_addr address_of(std::uint32_t i) const { return plan_.address_of(i); }
  std::uint32_t peer_at(const peer_addr& a) const {
    std::uint32_t i = 0;
    HEARSAY_ASSERT(plan_.index_of(a, i));
    return i;
  }
  // Peers from here on are an attack's Sybils (size() without one). An eclipse attacker's
  // Sybils are not nodes (sim/adversary.hpp): peer(i) of one is an idle node.
  std::uint32_t first_sybil() const { return plan_.first_sybil(); }
  bool is_sybil(std::uint32_t i) const { return plan_.is_sybil(i); }
  // Crashes peer i: it stops receiving, and its active neighbours learn it after one link
  // latency, as a TCP reset would tell them.
  void crash(std::uint32_t i);
  std::uint64_t events_processed() const;
  // The one-way latency of the link between peers a and b in this run.
  micros link_latency(std::uint32_t a, std::uint32_t b) const;
  // Observes every message sent and delivered from now on; nullptr stops it. The tap must
  // outlive its use.
  void set_tap(network_tap* tap);

 private:
  // ---- events and workers (engine.cpp, workers.cpp) --------------------------------------------
  struct deliver {
    // (Constructors here, in fire_timer and in peer_down, rather than aggregate
    // initialisation from parentheses, which clang 14 lacks.)
    template <typename M>
    deliver(std::uint32_t to_node, std::uint32_t from_node, M&& m)
        : to(to_node), from(from_node), msg(std::forward<M>(m)) {}
    std::uint32_t to, from;
    message msg;
  };
  struct fire_timer {
    fire_timer(std::uint32_t at_node, std::uint32_t life, timer_id which)
        : node(at_node), incarnation(life), id(which) {}
    std::uint32_t node;
    std::uint32_t incarnation;  // timers of an earlier life of a churned peer are ignored
    timer_id id;
  };
  // `peer` failed, as `node` learns it; or, `closed`, `peer` closed its link to `node` (see
  // peer_host::disconnect), which is a failure only if `node` still counts it a neighbour.
  struct peer_down {
    peer_down(std::uint32_t to_node, std::uint32_t failed, bool by_close = false)
        : node(to_node), peer(failed), closed(by_close) {}
    std::uint32_t node, peer;
    bool closed;
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

  // Per-query counts a worker adds up on its own; summed into the records after a run.
  struct query_counts {
    std::uint32_t query_messages = 0, hit_messages = 0, duplicates = 0, reached = 0;
    // Adds these counts to a record, or to another worker's counts.
    template <typename Counts>
    void add_to(Counts& to) const {
      to.query_messages += query_messages;
      to.hit_messages += hit_messages;
      to.duplicates += duplicates;
      to.reached += reached;
    }
  };
  // An event for another worker's peer, built in the sender's slab for that worker and named
  // in its outbox until the window ends.
  struct outgoing {
    micros at;
    std::uint64_t key;
    std::uint32_t slot;
  };
  // One thread's share of the peers (blocks of 64, dealt in turn) and their events.
  struct alignas(64) worker {
    unsigned index = 0;
    // Buckets of 4.096 ms (4,096 of them: a 16.8 s horizon, as with the queue's defaults):
    // the event loop's look-ahead sees only the current bucket, so its first few dozen events
    // run unwarmed; wider buckets hold more events per start (at 100,000 peers about 700 a
    // worker rather than 180). Wider still gains nothing (bench/HISTORY.md).
    event_queue<event> queue{12, 12};
    micros now{0};
    std::uint64_t events = 0;
    // Per destination worker: a slab where this worker builds the events it sends that
    // worker's peers (null for itself). The receiver reads them in place, destroys them when
    // they have run, and hands the slots back between windows: a message is written once.
    std::vector<std::unique_ptr<slab<event>>> slabs;
    // Per destination worker, in two sets: a window writes one set while the receivers take
    // in the other, which the previous window wrote. With the earliest time in each set.
    std::vector<std::vector<outgoing>> outbox[2];
    micros outbox_earliest[2] = {micros{std::numeric_limits<std::int64_t>::max()},
                                 micros{std::numeric_limits<std::int64_t>::max()}};
    std::vector<query_counts> counts;          // per query record
    std::vector<download_hit> hits;            // since the last sync_downloads (downloads only)
    // The last query id looked up for the counts and its record (see record_index).
    query_id counted_id = 0;
    std::uint32_t counted_record = 0;
  };

  // The driver side of one peer: turns its host calls into events (engine.cpp).
  // 32 bytes at 32-byte alignment: a host never straddles two lines (the event loop warms one
  // line of it, and every message a peer sends or receives reads it).
  class alignas(32) peer_host final : public host {
   public:
    peer_host(simulator& sim, std::uint32_t self) : sim_(sim), self_(self) {}
    void send(const peer_addr& to, const message& m) override { send_message(to, m); }
    void send_owned(const peer_addr& to, message&& m) override { send_message(to, std::move(m)); }
    // The link is closed as the transport closes it: once the messages sent on it are out,
    // the other side sees it close (one link latency later) and, if it still counts this
    // peer as a neighbour (a link left one-sided by crossing messages), loses it as failed.
    void disconnect(const peer_addr& peer) override;
    void schedule(micros at, timer_id id) override;
    // Simulated peers are honest: a nonce need only be distinct among a peer's requests,
    // and deterministic. Derived from the peer and the virtual time (a peer asks for one at
    // most once an instant: a shuffle), it leaves the peer's random stream as it was.
    std::uint64_t nonce() override;
    void on_search_hit(query_id id, const msg_query_hit& h, micros latency) override;
    void on_query_seen(const msg_query& q, bool duplicate) override;

    // The key of the next event this peer schedules: (peer + 1) << 32 | its count. Kept
    // here, beside what send() reads anyway; peers are dealt to workers in blocks, so one
    // worker writes these lines.
    std::uint64_t next_key() {
      HEARSAY_ASSERT(scheduled_ < UINT32_MAX);
      return (std::uint64_t{self_} + 1) << 32 | scheduled_++;
    }
    // The worker that runs this peer (simulator::worker_of, kept here: every send, timer and
    // query copy asks, and this line is read anyway). Set whenever the workers change.
    void set_worker(worker& w) { worker_ = &w; }

   private:
    template <typename M>
    void send_message(const peer_addr& to, M&& m);

    simulator& sim_;
    worker* worker_ = nullptr;
    std::uint32_t self_;
    std::uint32_t scheduled_ = 0;
  };

  // ---- the event loop (engine.cpp) -------------------------------------------------------------
  void dispatch(worker& w, event& e);
  void dispatch_global(event& e);
  // Runs the searches and faults due at now_ (between windows; both engines' loops).
  void run_global_events();
  // Runs worker w's events up to and including time `end`, after taking in what the other
  // workers sent its peers.
  void run_worker(worker& w, micros end);
  // Memory-latency hiding: the event loop warms the state of peers some events ahead.
  static void warm_payload(const event& e);
  void warm_peer(const event& e) const;
  void warm_pointees(const event& e) const;
  // Hands the download world the hits the workers collected and runs its events before
  // `limit`. Called between windows: before global events (every peer event before them has
  // run) and at the end of run_until.
  void sync_downloads(micros limit);
  // The worker that runs peer i; the key of the next event peer i schedules; the key of the
  // next event scheduled from outside the peers (ordered before any peer's at equal times).
  // Blocks of 64 peers go to the workers in turn: a block's nodes and hosts are contiguous,
  // so two threads rarely write the same cache line. The seeds, the first peers, are the
  // contact of every join: they go to the workers in pairs (two hosts share a line), so that
  // the joins' work is shared too rather than left to one worker while the others wait.
  static constexpr unsigned block_log2 = 6;
  // (Every event and every send asks: a mask when the count is a power of two, as it usually
  // is, rather than a division.)
  // (A pair of seeds and the block of the same number go to the same worker.)
  std::uint32_t unit_of(std::uint32_t i) const { return i < seeds_spread_ ? i >> 1 : i >> block_log2; }
  worker& worker_of(std::uint32_t i) {
    const std::uint32_t unit = unit_of(i);
    return *workers_[worker_mask_ != not_power_of_two ? unit & worker_mask_ : unit % worker_count_];
  }
  std::uint64_t next_key(std::uint32_t i) { return hosts_[i].next_key(); }
  std::uint64_t next_global_key();
  // Schedules an event of type T for peer `node` at `at`, from worker `from` (its outbox if
  // another worker runs the peer and a window is in progress). Defined below the class: the
  // host calls, the event loop and the faults all post.
  template <typename T, typename... Args>
  void post(worker& from, std::uint32_t node, micros at, std::uint64_t key, Args&&... args);
  // Searches and faults: they run between windows.
  void post_global(micros at, event e);
  // The record of query id (id_index::none if not a planned search's), for worker w's counts.
  // A copy's arrival and its onward sends ask for the same id in a row, so the last answer
  // is kept; a new search's id clears it (dispatch_global).
  std::uint32_t record_index(worker& w, query_id id) {
    if (id != w.counted_id) {
      w.counted_record = query_index_.find(id);
      w.counted_id = id;
    }
    return w.counted_record;
  }

  // ---- worker threads and windows (workers.cpp) ------------------------------------------------
  void take_incoming(worker& w);
  // Moves every event still in an outbox into its worker's queue (single-threaded).
  void take_all_incoming();
  // Gives the slabs' owners back the slots their receivers have released (between windows).
  void return_slots();
  // The earliest event of worker w, counting those still in other workers' outboxes.
  micros next_time_of(worker& w);
  // Runs every worker up to `end` (in parallel when there are several), then hands each
  // worker the events the others scheduled for its peers.
  void run_window(micros end);
  void helper_loop(unsigned index);
  void stop_helpers();
  void set_worker_count(std::uint32_t n) {
    worker_count_ = n;
    worker_mask_ = (n & (n - 1)) == 0 ? n - 1 : not_power_of_two;
  }
  // Tells each host its worker (after the workers or seeds_spread_ change).
  void assign_hosts() {
    for (std::uint32_t i = 0; i < hosts_.size(); ++i) hosts_[i].set_worker(worker_of(i));
  }

  // ---- faults: loss, partitions, crashes, leaves, churn (faults.cpp) ---------------------------
  bool lost(std::uint64_t key) const;
  bool partitioned(std::uint32_t a, std::uint32_t b, micros now) const;
  void on_fault(const fault& f);
  // A peer stops (crash or leave): running_ and, with downloads, the download world.
  void stop_peer(std::uint32_t i);
  void restart_peer(std::uint32_t i);
  // Late joins, the attack's Sybils, mass crashes and leaves and the sessions of churn, from
  // `first`, when the queries start.
  void plan_faults(micros first);

  // ---- workload: the catalogue, file placement, the query schedule (workload.cpp) --------------
  void place_files();
  void plan_queries(micros first);

  // ---- health: the end-of-run measurements (health.cpp) ----------------------------------------
  // Fills the results of a finished run: the per-query counts the workers kept, the peers'
  // stats summed, their load, and the attack's state and traffic.
  void collect_results(run_results& out);

  // ---- the compact engine (compact.cpp, its state in compact.hpp) -----------------------------
  struct compact_world;
  // A compact run's event: a query copy or a hit on its way to a peer, or one of an origin's
  // timers. 20 bytes.
  // (check: a walker's relay asks the origin; status: the answer, go-on in `ttl`;
  // park_timeout: the relay's wait for it ends.)
  enum class compact_event_kind : std::uint8_t { copy, hit, timeout, step, check, status, park_timeout };
  struct compact_world_event {
    std::uint32_t to = 0;
    std::uint32_t from = 0;
    std::uint32_t record = 0;  // the query's record (every compact search is a planned one)
    std::uint32_t holder = 0;  // hits: the peer that answered
    compact_event_kind what = compact_event_kind::copy;
    std::uint8_t ttl = 0;   // copies: the TTL it carries
    std::uint8_t hops = 0;  // copies: hops so far (1 at the origin's neighbours); hits: the holder's
  };
  struct compact_worker;
  void compact_build(unsigned threads);
  // The peers' libraries, once holders_ is made (place_files).
  void compact_place();
  // After the query schedule is made: the searches' state, and the neighbours' query budgets
  // when the schedule could make one bind.
  void compact_prepare(const std::vector<micros>& issue_times);
  void compact_issue(std::uint32_t k);
  void compact_run_until(micros t);
  void compact_collect(run_results& out, std::vector<std::uint64_t>& load) const;
  std::uint64_t compact_events() const;
  void compact_stop();  // stops the helper threads
  compact_worker& compact_worker_of(std::uint32_t i) const;
  void compact_helper(unsigned index);
  void compact_window(micros end);
  void compact_settle();
  void compact_run_worker(compact_worker& w, micros end);
  micros compact_next_time(compact_worker& w) const;
  void compact_dispatch(compact_worker& w, const compact_world_event& e);
  void compact_copy(compact_worker& w, const compact_world_event& e);
  void compact_hit(compact_worker& w, const compact_world_event& e);
  void compact_send(compact_worker& w, std::uint32_t from, std::uint32_t to, const compact_world_event& e);
  void compact_timer(compact_worker& w, std::uint32_t peer, compact_event_kind what, std::uint32_t record, micros at);
  void compact_pass(compact_worker& w, std::uint32_t p, std::uint32_t to, std::uint32_t record, std::uint8_t ttl,
                    std::uint8_t hops);
  void compact_pass_on(compact_worker& w, std::uint32_t p, std::uint32_t except, std::uint32_t record,
                       std::uint8_t ttl, std::uint8_t hops, bool relay);
  // strategy_walk.cpp's pass_on: one copy to a random neighbour other than `except`.
  void compact_walk_on(compact_worker& w, std::uint32_t p, std::uint32_t except, std::uint32_t record,
                       std::uint8_t ttl, std::uint8_t hops);
  void compact_walk_event(compact_worker& w, const compact_world_event& e);  // check, status, park_timeout
  void compact_walker_goes_on(compact_worker& w, const compact_world_event& e, std::uint8_t ttl, std::uint8_t next_hops);
  bool compact_linked(std::uint32_t a, std::uint32_t b) const;  // whether b is among a's neighbours
  // Marks the peers that hold what search `record` asks for (its holders bitmap).
  void compact_mark_holders(std::uint32_t record);
  void compact_warm(const compact_worker& w, const compact_world_event& e) const;  // prefetches what e will read
  overlay_health compact_health() const;
  std::unique_ptr<compact_world> compact_;

  // ---- construction and peers (simulator.cpp) --------------------------------------------------
  simulator(const scenario& s, graph static_graph);
  // The static topology's graph (empty for HyParView), or why it cannot be built.
  static result<graph> make_graph(const scenario& s);
  bool index_of(const peer_addr& a, std::uint32_t& index) const { return plan_.index_of(a, index); }
  // Whether peer i's events go to the eclipse attacker rather than to its node.
  bool adversary(std::uint32_t i) const { return i >= first_adversary_; }
  // The active view of peer i: its node's, or an eclipse Sybil's links.
  std::span<const peer_addr> active_of(std::uint32_t i) const;
  std::uint32_t honest_peers() const { return plan_.first_sybil(); }

  // Stream numbers: each consumer of randomness has its own, so adding one never shifts another.
  static constexpr std::uint64_t stream_workload = 1;
  static constexpr std::uint64_t stream_network = 2;
  static constexpr std::uint64_t stream_topology = 3;
  static constexpr std::uint64_t stream_faults = 4;
  static constexpr std::uint64_t stream_loss = 5;
  static constexpr std::uint64_t stream_file_sizes = 6;
  static constexpr std::uint64_t stream_capacities = 7;
  static constexpr std::uint64_t stream_structure = 8;
  static constexpr std::uint64_t stream_peers = 1'000;

  scenario scenario_;
  address_plan plan_;
  // The first peer run by swarm_ (size() unless the attack has eclipse or flood Sybils).
  std::uint32_t first_adversary_ = 0;
  std::unique_ptr<sybil_swarm> swarm_;
  node_config node_config_;  // shared by all peers: scenario overlay parameters + seed list
  // One contiguous array each, sized once: a peer's state is found by index with a single
  // memory access (a deque of nodes this large holds one node per block, behind a map).
  std::vector<peer_host> hosts_;
  // The nodes, re-created in place when a churned peer returns. One array made once; its
  // slots are built by several threads at once (see the constructor). Every slot holds a node
  // once built (no engaged flag, which would take a 64-byte line of its own a node).
  class node_array {
   public:
    node_array() = default;
    node_array(const node_array&) = delete;
    node_array& operator=(const node_array&) = delete;
    ~node_array();
    // Storage for n slots, none built yet; then build(i, ...) each of them exactly once
    // (from any thread, each slot from one), before any other use of the array.
    void allocate(std::size_t n);
    template <typename... Args>
    void build(std::size_t i, Args&&... args) {
      ::new (static_cast<void*>(slots_ + i)) node(std::forward<Args>(args)...);
    }
    // Replaces node i with a new one.
    template <typename... Args>
    void rebuild(std::size_t i, Args&&... args) {
      slots_[i].~node();
      build(i, std::forward<Args>(args)...);
    }
    std::size_t size() const { return size_; }
    node* operator[](std::size_t i) { return std::launder(slots_ + i); }
    const node* operator[](std::size_t i) const { return std::launder(slots_ + i); }

   private:
    node* slots_ = nullptr;
    std::size_t size_ = 0;
    memory_block storage_;
  };
  node_array nodes_;
  std::vector<std::uint8_t> running_;  // 1 while a peer is started and not crashed
  std::vector<std::unique_ptr<worker>> workers_;
  event_queue<event> global_;  // searches and faults
  std::uint64_t global_scheduled_ = 0;
  std::uint32_t worker_count_ = 1;
  static constexpr std::uint32_t not_power_of_two = ~std::uint32_t{0};
  std::uint32_t worker_mask_ = 0;  // worker_count_ - 1 when that is a power of two
  std::uint32_t seeds_spread_ = 0;  // peers below this go to the workers in pairs (worker_of)
  // The peers' counters (node's constructor): one set per unit of worker_of, a pair of seeds
  // or a block of 64 peers, so that two threads never bump one set, each set on lines of its
  // own; 208 bytes a block rather than a peer. A churned peer's new life counts on in its
  // block's set. The report sums the sets (health.cpp).
  struct alignas(64) shared_stats {
    node_stats counters;
  };
  std::vector<shared_stats> stats_groups_;
  // (The pairs of seeds have the first sets, the blocks the sets after them.)
  node_stats* stats_of_unit(std::uint32_t i) {
    return &stats_groups_[(i < seeds_spread_ ? 0 : seeds_spread_ >> 1) + unit_of(i)].counters;
  }
  micros lookahead_{0};        // the latency model's minimum: a window's length
  bool in_window_ = false;
  unsigned parity_ = 0;  // the outbox set the current (or next) window writes
  // The helper threads (workers 1..n-1) and the window hand-off.
  std::vector<std::thread> helpers_;
  std::atomic<std::uint32_t> window_generation_{0};  // (compared for a change only)
  std::atomic<unsigned> window_done_{0};
  std::atomic<bool> stopping_{false};
  micros window_end_{0};
  rng workload_rng_;
  micros now_{0};
  std::uint64_t events_ = 0;  // run between windows
  bool built_ = false;
  graph graph_;

  std::vector<std::vector<std::uint32_t>> holders_;  // per file: the peers holding it
  std::vector<std::uint64_t> file_sizes_;            // per file: its size in bytes
  catalogue catalogue_;  // every file's record, stored once; peers' libraries name them by id (= file index)
  // Downloads: null unless the scenario has them.
  std::unique_ptr<download_world> downloads_;
  std::vector<std::uint32_t> replicas_;              // per file: how many copies it gets
  std::vector<query_record> queries_;
  micros last_query_at_{0};
  micros queries_start_{0};
  rng fault_rng_;
  std::vector<std::uint32_t> incarnation_;            // per peer: how many times it came back
  std::vector<time_sample> samples_;
  // Query id -> record index: looked up for every query and hit message, so a flat table
  // (linear probing, at most half full; ids are random). Written only between windows.
  class id_index {
   public:
    void insert(query_id id, std::uint32_t index);
    // The record index of id, or none.
    std::uint32_t find(query_id id) const {
      if (slots_.empty() || id == 0) return none;
      for (std::size_t i = id & mask_;; i = (i + 1) & mask_) {
        if (slots_[i].id == id) return slots_[i].index;
        if (slots_[i].id == 0) return none;
      }
    }
    static constexpr std::uint32_t none = ~std::uint32_t{0};

   private:
    struct slot {
      query_id id = 0;  // 0: empty (query ids are never 0)
      std::uint32_t index = 0;
    };
    std::vector<slot> slots_;
    std::size_t mask_ = 0;
    std::size_t count_ = 0;
  };
  id_index query_index_;
  network_tap* tap_ = nullptr;
};

template <typename T, typename... Args>
void simulator::post(worker& from, std::uint32_t node, micros at, std::uint64_t key, Args&&... args) {
  worker& to = worker_of(node);
  if (&to == &from || !in_window_) {
    to.queue.template emplace<T>(at, key, std::forward<Args>(args)...);
  } else {
    slab<event>& s = *from.slabs[to.index];
    const std::uint32_t slot = s.allocate();
    s.construct(slot, std::in_place_type<T>, std::forward<Args>(args)...);
    outgoing& o = from.outbox[parity_][to.index].emplace_back();  // field by field (see event_queue::link)
    o.at = at;
    o.key = key;
    o.slot = slot;
    from.outbox_earliest[parity_] = std::min(from.outbox_earliest[parity_], at);
  }
}

// The catalogue's name for file f ("file-000123").
std::string file_name(std::uint32_t f);
// Catalogue file f as peers share it: its name, the given size, and a digest made from f.
file_info catalogue_file(std::uint32_t f, std::uint64_t size);

}  // namespace hearsay::sim
