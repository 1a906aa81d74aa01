#pragma once
// A simulation scenario: how many peers, how they join, what files they hold, what queries
// they make, what the network looks like, and the overlay parameters under study.
//
// Scenarios come from a TOML file and from flags; both go through one table of keys
// (`keys()`), so every key can be set either way ("overlay.fanout = 4" in a file is
// "--set overlay.fanout=4" on the command line) and errors name the key and, for files,
// the file and line.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "overlay/config.hpp"
#include "overlay/result.hpp"
#include "sim/distributions.hpp"
#include "sim/latency.hpp"
#include "sim/topology.hpp"

namespace hearsay::sim {

struct scenario {
  std::uint32_t peers = 10'000;
  std::uint64_t seed = 1;
  // The overlay's shape: built by HyParView joins, or a fixed graph (sim/topology.hpp).
  topology_spec topology;
  // Joining (HyParView only): peers start one by one, each through one of the first
  // `seed_count` peers (the seed nodes an operator would list), then the overlay runs on
  // its own (shuffles, repairs) for `stabilize` before the queries start. They start every
  // join_interval, or, with join_proportional, at a pace in proportion to the overlay's size
  // (join_gap): the overlay grows as a deployment spreads, each peer bringing the next ones,
  // and the joins under way at once stay a fixed share of it.
  // (With fewer peers than seed_count, every peer is a seed.)
  std::uint32_t seed_count = 100;
  micros join_interval{10'000};
  bool join_proportional = true;
  micros stabilize{60'000'000};
  // Workload: `files` distinct names, each placed on `replication` distinct random peers;
  // `queries` searches for random files, from random peers that do not hold them.
  std::uint32_t files = 1'000;
  std::uint32_t replication = 20;
  std::uint32_t queries = 1'000;
  micros query_interval{10'000};
  // Which files are asked for: uniformly, or by Zipf popularity with exponent alpha
  // (Breslau et al., INFOCOM 1999, measured alpha 0.64-0.83 for web requests).
  double popularity_alpha = 0;
  // How the replica budget (files x replication) is spread over files, as studied by Cohen
  // and Shenker (SIGCOMM 2002): the same for every file, proportional to popularity, or
  // proportional to its square root (which minimises the expected search size).
  enum class replication_kind : std::uint8_t { uniform, proportional, square_root };
  replication_kind replication_strategy = replication_kind::uniform;
  // Query arrivals: evenly spaced, or a Poisson process with mean gap query_interval.
  bool poisson_arrivals = false;
  // The k of "time to k-th hit": how many hits a searcher wants.
  std::uint32_t hits_wanted = 1;
  latency_model latency;
  // Message loss: each message is dropped with this probability (no failure is reported,
  // as with a lossy path under a protocol that does not retransmit).
  double loss = 0;
  // A partition: from partition_at (after the queries start) for partition_duration, the
  // peers with index below partition_fraction * peers cannot reach the others.
  micros partition_at{0}, partition_duration{0};
  double partition_fraction = 0;
  // Shorthand for downloads over links of one rate: above 0, downloads run (as with
  // download.enabled) and every peer's upload and download capacity is this many Mbit/s,
  // whatever download.upload and download.download say. 0 leaves the [download] keys alone.
  double bandwidth_mbps = 0;
  // The size of each catalogue file, drawn per file from a stream of its own (the default,
  // 1,000,000 + index bytes, draws nothing).
  size_dist file_size;

  // Downloads (sim/downloads.hpp): searchers fetch what they found through the real download
  // engine (overlay/download.hpp, parameters in node.fetch) over a bandwidth model.
  struct download_settings {
    bool enabled = false;
    // Per-peer capacities, each peer's drawn once from the seed.
    capacity_dist upload;
    capacity_dist download{capacity_dist::kind::constant, 100, 0};
    // When a searcher starts: at its first hit (hits after it add holders to the download),
    // or at hit number hits_wanted (at the query's end if fewer came).
    enum class start_kind : std::uint8_t { first_hit, hits_wanted };
    start_kind start = start_kind::first_hit;
    // A download still running this long after its query was issued is stopped and counts
    // as failed: a run ends once every download has ended.
    micros timeout{300'000'000};
    // Transfers a peer serves at once; more are answered "busy" (the real node's
    // fetches_served_max). 0: no limit.
    std::uint32_t uploads_max = 16;
  };
  download_settings download;

  // Faults and churn, timed from when the queries start.
  double crash_fraction = 0;  // this share of the peers crashes at crash_at
  micros crash_at{0};
  double leave_fraction = 0;  // this share leaves gracefully (DISCONNECT) at leave_at
  micros leave_at{0};
  // Growth: this share of the peers (the highest indices) joins only after the queries
  // start, at uniformly random times over join_period.
  double join_fraction = 0;
  micros join_period{0};
  // Continuous churn: peers (seed nodes excepted) alternate online sessions and offline
  // periods drawn from these distributions; a session ends with a crash, or a graceful leave
  // with probability graceful_share; a returning peer joins again through the seeds.
  bool sessions = false;
  duration_dist session_length;
  duration_dist downtime;
  double graceful_share = 0;
  // Whether peers repair their active views after failures (HyParView's NEIGHBOR promotion).
  bool repair = true;
  // Sampling period of the over-time table (0: none); on by default when faults are set.
  micros report_interval{0};

  // An eclipse attack (sim/adversary.hpp): this share of the peers, the highest indices,
  // are Sybils of one attacker, all living in `sybil_groups` network groups (/24s; honest
  // peers each have their own, sim/addresses.hpp). They join through the seed nodes from
  // `start` after the queries start, evenly over `join_period`. Behaviour `eclipse`: they
  // run the protocol only to get into honest peers' views (accept every JOIN and NEIGHBOR,
  // ask for links with NEIGHBOR requests that cannot be refused, answer shuffles and fill
  // walks with Sybils only) and drop every query; `honest`: they run the real node, a
  // control that shows the share the same identities get by joining like anyone.
  struct attack_settings {
    double sybil_share = 0;
    std::uint32_t sybil_groups = 4;
    micros start{0};
    micros join_period{0};
    enum class behaviour_kind : std::uint8_t { eclipse, flood, honest };
    behaviour_kind behaviour = behaviour_kind::eclipse;
  };
  attack_settings attack;
  // Pass every message through the FlatBuffers codec (encode, verify, decode), as the real
  // node does; results are identical, only slower.
  bool wire_codec = false;
  // Threads that run the event loop (0: one per processor from 20,000 peers on, else one). A
  // run's results do not depend on it: events are ordered by keys that do not depend on which
  // thread runs a peer.
  std::uint32_t threads = 0;
  // How peers are held (sim/compact.cpp). `nodes`: each peer is a whole overlay node, as in
  // the real program. `compact`: on a fixed graph, peers are a few words each and searches
  // keep their own state, for the runs that need nothing else (compact_refusal says which);
  // results are the same, byte for byte. `automatic`: compact where it may be, else nodes.
  enum class engine_kind : std::uint8_t { automatic, nodes, compact };
  engine_kind engine = engine_kind::automatic;
  // Whether the node engine may shorten the peers' duplicate-cache lifetime to the longest a
  // search's messages take, where that changes no result (simulator::dup_cache_refusal). Not
  // a key: it only saves memory, and tests compare runs with it and without.
  bool trim_dup_lifetime = true;
  node_config node;
};

// One settable key. `set` parses the text form (flags) and sets the field, or says why not:
// the form of the overlay's key tables (overlay/config_keys.hpp), whose setters are those of
// the overlay.* and fetch.* keys.
struct scenario_key {
  std::string name;         // dotted: "overlay.fanout"
  std::string type;         // "integer", "boolean", "string", "number" (for documentation)
  std::string description;  // one line
  std::function<result<>(scenario&, std::string_view)> set;  // leaves s unchanged on failure
};

const std::vector<scenario_key>& keys();

// Loads a TOML scenario file on top of s, or says what is wrong: a syntax error, an unknown
// key, a wrong type or an out-of-range value, each with file:line ("file:line: key: what").
result<> load_scenario_file(const std::string& path, scenario& s);
// Parses TOML text (for tests and embedded scenarios); `source` names it in errors.
result<> load_scenario_text(std::string_view text, const std::string& source, scenario& s);
// Sets one key from its text form ("overlay.fanout", "4"); errors name the key.
result<> set_key(scenario& s, std::string_view name, std::string_view value);
// Cross-field checks (e.g. replication <= peers).
// The virtual time between the start of peer started - 1 and that of peer `started` (from 1):
// join_interval, or with join_proportional join_interval x peers / started, so that the last
// peers start every join_interval and the overlay grows by a share of itself per unit of time.
micros join_gap(const scenario& s, std::uint32_t started);

result<> validate(const scenario& s);

// Whether a run has downloads (download.enabled or network.bandwidth_mbps), and the per-peer
// capacities it uses (the shorthand's constant rate when network.bandwidth_mbps is set).
bool downloads_enabled(const scenario& s);
// The number of Sybils of the run's attack (0 without one), and the name of their behaviour.
std::uint32_t sybil_count(const scenario& s);
const char* describe(scenario::attack_settings::behaviour_kind b);
capacity_dist upload_capacity(const scenario& s);
capacity_dist download_capacity(const scenario& s);

}  // namespace hearsay::sim
