#pragma once
// Downloads in the simulator: searchers fetch the files they found with the real download
// engine (overlay/download.hpp, one engine per searching peer, parameters in node.fetch), over
// a bandwidth model, as the real node does over sockets (transport/).
//
// The bandwidth model. Every peer has an upload and a download capacity (scenario
// download.upload / download.download, drawn per peer from the seed). A transfer is one
// connection from a holder to a searcher for one download; it serves the ranges the engine
// asked for one after another, in the order asked (as a holder does over its connection), so
// a transfer with ranges to send is one flow. A flow's rate is an equal share at each end:
//   min(holder's upload / flows it sends, searcher's download / flows it receives),
// recomputed for every flow at both ends when a flow starts or ends there. (Not max-min fair:
// a share one flow cannot use because its other end is slower is not handed to the others.)
// Times: a request reaches the holder one link latency after the engine makes it; bytes
// reach the searcher one link latency after the holder sends them (a flow's rate is set at
// the sender; the bytes in flight are not counted against the searcher's share). The bytes
// sent are handed to the engine when a range is fully sent and, for ranges still being sent,
// once a virtual second (so its rate meters see bytes arrive as they would over TCP); the
// engine's on_tick also runs once a virtual second while downloads run. Simulated holders are
// honest: the digest of what arrived is always the file's. Message loss and partitions do
// not touch transfers (TCP retransmits; a partition's stall is not modelled).
//
// Failures: a holder that crashes or leaves breaks its transfers; the bytes it sent before
// arrive, and the searcher learns of the failure one link latency later (on_holder_failed).
// A request that reaches a holder that is not running, or one serving download.uploads_max
// transfers already, fails the same way. (A transfer holds its place at the holder from the
// first request the holder takes until the searcher releases it or it breaks, as a real
// node's served connection does.) A searcher that crashes or leaves abandons its
// downloads. A download still running download.timeout after its query was issued is
// stopped and counts as failed.
//
// Determinism. The download world only reads which peers are running, and only global
// events (faults) change that for peers it deals with; it never acts on a peer's node. So
// its events need not interleave with the peers' events, only with global events: the
// workers note the hits their peers get (simulator::peer_host::on_search_hit), and between
// windows, before each global event and at the end of run_until, the simulator hands the
// hits over sorted by (time, record, holder) and runs the download events before that
// instant. Events run in (time, key) order, where a hit's key is (0, record, holder) and an
// event the world schedules itself has (1, its sequence number); the sequence numbers count
// in that same order. Nothing depends on which thread saw a hit or on when the hand-overs
// happen, so the results are the same for any number of threads.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <variant>
#include <vector>

#include "overlay/download.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

namespace hearsay::sim {

class download_world {
 public:
  // The one-way latency of the link between two peers.
  using latency_fn = std::function<micros(std::uint32_t, std::uint32_t)>;
  // `running`, `files` and `records` are the simulator's, read (records: written) as
  // the world's events run; `capacity_seed` draws every peer's capacities.
  download_world(const scenario& s, std::uint64_t capacity_seed, const std::vector<std::uint8_t>& running,
                 const catalogue& files, std::vector<query_record>& records,
                 latency_fn latency);
  ~download_world();
  download_world(const download_world&) = delete;
  download_world& operator=(const download_world&) = delete;

  // Hits for searches, sorted by (time, record, holder), none before an event already run.
  void add_hits(std::span<const download_hit> hits);
  // Runs every event before `limit`.
  void run_before(micros limit);
  // Peer i crashed or left at `now` (every event before `now` has run): its transfers as a
  // holder break, its downloads are abandoned.
  void peer_stopped(std::uint32_t i, micros now);
  // Whether downloads are running or waiting to start.
  bool busy() const { return jobs_running_ > 0 || !searches_.empty(); }

  // Peer i's capacities in bytes per second.
  std::uint64_t upload_bytes_per_s(std::uint32_t i) const;
  std::uint64_t download_bytes_per_s(std::uint32_t i) const;
  // Transfers open and flows sending (none once every download has ended).
  std::size_t transfers_open() const { return transfers_.size(); }
  std::size_t flows_active() const;

 private:
  // A transfer: one connection from holder to searcher for one download.
  struct transfer_key {
    std::uint32_t holder = 0, origin = 0;
    job_id job = 0;
    friend auto operator<=>(const transfer_key&, const transfer_key&) = default;
  };
  // Events run in this order (see Determinism above).
  struct event_key {
    micros at;
    std::uint8_t order = 0;  // 0: a hit, by (record, holder); 1: the world's own, by sequence
    std::uint64_t a = 0, b = 0;
    friend auto operator<=>(const event_key&, const event_key&) = default;
  };
  struct hit_arrives {
    std::uint32_t record, holder;
  };
  struct request_arrives {  // at the holder
    transfer_key key;
    std::uint64_t conn, offset;
    std::uint32_t length;
  };
  struct data_arrives {  // at the searcher
    transfer_key key;
    std::uint64_t conn, offset, length;
  };
  struct failure_arrives {  // at the searcher
    transfer_key key;
    std::uint64_t conn;
    const char* reason;
  };
  struct range_sent {  // the holder sent the last byte of the range it is sending
    transfer_key key;
  };
  struct tick {};
  struct search_timeout {
    std::uint32_t record;
  };
  struct search_closed {  // the query's timeout: start with the hits there are (start = hits_wanted)
    std::uint32_t record;
  };
  using event = std::variant<hit_arrives, request_arrives, data_arrives, failure_arrives, range_sent, tick,
                             search_timeout, search_closed>;
  using event_map = std::multimap<event_key, event>;

  struct range {
    std::uint64_t offset;
    std::uint32_t length;
  };
  struct transfer {
    transfer_key key;
    std::uint64_t conn = 0;         // this connection's number: events of a closed one are dropped
    std::deque<range> queue;        // ranges at the holder; the front one is being sent
    std::uint32_t in_transit = 0;   // requests on their way to the holder
    std::uint64_t sent = 0;         // bytes of the front range sent, as of `since`
    std::uint64_t carry = 0;        // and a fraction of a byte, in millionths
    std::uint64_t reported = 0;     // bytes of the front range on their way to the searcher
    micros since{0};
    std::uint64_t rate = 0;         // bytes per second while the flow is active
    bool active = false;            // a flow: it has ranges to send
    bool slot = false;              // counted in the holder's uploads (uploads_max)
    bool closing = false;           // broken at the holder; the failure is on its way
    event_map::iterator sent_event; // the pending range_sent, or events_.end()
  };
  struct endpoint {
    std::uint64_t up_capacity = 0, down_capacity = 0;  // bytes per second
    std::vector<transfer*> up, down;                    // active flows it sends, receives
    std::uint32_t slots = 0;                            // transfers it serves
  };
  struct search {  // a search whose download is waiting to start or running
    std::vector<peer_addr> holders;  // before it starts
    bool started = false;
    job_id job = 0;
  };
  class searcher_host;
  struct searcher;

  event_map::iterator push(micros at, event e);
  void dispatch(const event& e);
  void on_hit(const hit_arrives& e);
  void on_request(const request_arrives& e);
  void on_data(const data_arrives& e);
  void on_failure(const failure_arrives& e);
  void on_range_sent(const range_sent& e);
  void on_tick();
  void on_timeout(const search_timeout& e);
  void on_closed(const search_closed& e);
  void start_download(std::uint32_t record, search& s);

  // The engines' host calls (searcher_host).
  void request(std::uint32_t origin, job_id job, const peer_addr& holder, std::uint64_t offset, std::uint32_t length);
  void release(std::uint32_t origin, job_id job, const peer_addr& holder);
  sha256_digest digest(std::uint32_t origin, job_id job) const;
  void job_ended(std::uint32_t origin, job_id job, const job_progress& p);

  // The flow model.
  endpoint& endpoint_of(std::uint32_t peer);
  void tidy(std::uint32_t peer);
  std::uint64_t rate_of(const transfer& x) const;
  void advance(transfer& x);
  void schedule_sent(transfer& x);
  void update_rate(transfer& x);
  void reshare(std::uint32_t holder, std::uint32_t origin);
  void activate(transfer& x);
  void deactivate(transfer& x);
  void deliver_sent(transfer& x);
  void release_slot(transfer& x);
  void break_transfer(transfer& x, const char* reason);
  void unschedule(transfer& x);
  searcher& searcher_of(std::uint32_t peer);
  std::uint64_t capacity(const capacity_dist& d, std::uint32_t peer, std::uint64_t salt) const;

  const fetch_config fetch_;  // the engines keep a reference
  const capacity_dist upload_, download_;
  const std::uint64_t capacity_seed_;
  const scenario::download_settings::start_kind start_;
  const std::uint32_t hits_wanted_, uploads_max_;
  const micros query_timeout_, timeout_;
  const std::vector<std::uint8_t>& running_;
  const catalogue& files_;  // the simulator's: every file's record, by file index
  std::vector<query_record>& records_;
  latency_fn latency_;

  event_map events_;
  std::uint64_t sequence_ = 0;     // of the world's own events
  std::uint64_t connections_ = 0;  // transfers ever opened
  micros now_{0};
  bool tick_pending_ = false;
  std::uint32_t jobs_running_ = 0;
  download_outcome cancelled_as_ = download_outcome::abandoned;  // what cancel() means just now
  std::map<transfer_key, transfer> transfers_;  // by holder first: a holder's are together
  std::map<std::uint32_t, endpoint> endpoints_;  // peers with flows or served transfers
  std::map<std::uint32_t, std::unique_ptr<searcher>> searchers_;  // peers that downloaded
  std::map<std::uint32_t, search> searches_;  // by record
};

}  // namespace hearsay::sim
