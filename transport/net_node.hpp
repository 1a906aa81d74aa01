#pragma once
// A real hearsay peer: the overlay node (overlay/node.hpp) driven by Asio TCP.
//
// One single-threaded io_context runs everything: accepting and dialling links, reading and
// writing length-prefixed frames (overlay/codec.hpp), the node's timers, keepalives, and
// direct file transfers. The node itself never sees a socket: this class implements its
// host interface, and all protocol decisions stay in overlay/.
//
// Links. Every connection is TLS 1.3 with both sides' node keys (transport/identity.hpp),
// then HELLO both ways (network name, listening port). Overlay links are keyed by the peer's
// address: the one this node dialled, or for a link the peer dialled, its source IP with the
// port its HELLO gives; each address is bound to the node id proven there, and a dial that
// finds another id than a proven one fails. Sending to a peer without a link dials one. A link that breaks, cannot be dialled, stops answering keepalives, or
// whose reader is too slow to drain its bounded send queue is reported to the node as a
// failed peer. Links the node no longer wants are closed after their queue drains.
//
// Transfers. Downloads are made by the download engine (overlay/download.hpp) through
// transport/downloader.hpp: each holder in use gets a transfer connection of its own (HELLO
// with fetch_only) that carries pipelined requests for byte ranges; the holder answers each
// with a FetchData frame followed by the raw bytes of the file, inside the link's TLS.
// Files are served by digest only, from the shared-folder index (transport/file_index.hpp).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "overlay/codec.hpp"
#include "overlay/config.hpp"
#include "overlay/node.hpp"
#include "overlay/result.hpp"
#include "transport/downloader.hpp"
#include "transport/identity.hpp"
#include "transport/log.hpp"

namespace asio {
class io_context;
}

namespace hearsay::net {

struct indexed_file;

struct net_limits {
  // Open connections of all kinds, and per remote IP: a node on the open internet must not
  // be exhausted by one host.
  std::uint32_t connections_max = 256;
  std::uint32_t connections_per_ip_max = 32;
  // Inbound connections from one network group (an IPv4 /24, an IPv6 /48): many addresses of
  // one provider's block count as one. Addresses of private and loopback ranges are exempt,
  // so that a test network on one host or one LAN works.
  std::uint32_t connections_per_group_max = 64;
  // Slots inbound connections can never take: this node's own dials (its seeds, its
  // neighbours, its downloads) always find room, whatever strangers connect.
  std::uint32_t connections_outbound_reserved = 32;
  // Per-connection send queue: a reader slower than this is cut off (and, for an overlay
  // link, reported as failed) instead of growing our memory without bound.
  std::uint32_t send_queue_bytes_max = 8u << 20;
  std::uint32_t send_queue_frames_max = 8192;
  // All send queues together: past it, the longest is cut. With the TLS state and read
  // buffers (about 50 KiB a connection), this bounds what connections can make the node hold.
  std::uint64_t send_queue_total_bytes_max = 64u << 20;
  // Dialling, and waiting for the other side's HELLO.
  micros connect_timeout{5'000'000};
  // Links that are not in the active view and carry nothing are closed after this long.
  micros idle_timeout{120'000'000};
  // Active links quiet this long get a PING; a link silent for keepalive_timeout is failed.
  micros keepalive_interval{15'000'000};
  micros keepalive_timeout{45'000'000};
  // Transfers served at once (connections with a file open), and the ranges one transfer
  // connection may have waiting: more are answered "busy".
  std::uint32_t fetches_served_max = 16;
  std::uint32_t fetch_requests_queued_max = 16;
  // A transfer whose reader takes nothing for this long is cut off (its serving slot freed).
  micros fetch_timeout{30'000'000};
  // The node's upload rate for transfers, all together (bytes per second; 0: no limit).
  std::uint64_t upload_bytes_per_s = 0;
  codec::limits frame;
};

struct net_config {
  peer_addr listen;     // where to bind; port 0 picks a free port
  peer_addr advertise;  // what peers are told (e.g. an EC2 public IP); unspecified: the bound address
  std::string network = "hearsay";
  node_config overlay;  // overlay parameters; overlay.seeds are the seed nodes
  std::filesystem::path shared_dir;    // empty: share nothing
  // Symbolic links in the shared folder are served only when they point inside it, unless
  // this is set: a link to /etc/passwd placed there by mistake is not served.
  bool share_follow_symlinks = false;
  std::filesystem::path download_dir;  // empty: fetches refused
  // Where the node remembers the peers it knew (active and passive views), written on stop
  // and every minute, read at start: a restarted node rejoins through them even when its
  // seeds are down. Empty: nothing is remembered.
  std::filesystem::path peers_file;
  // The node's Ed25519 key (PEM), created on first start with mode 0600; its node id is
  // derived from the public key. Empty: a key made at start and never stored (tests).
  std::filesystem::path key_file;
  net_limits limits;
  // Testing and calibration only: every frame sent on any link is held this long before it
  // is written, an emulated one-way link delay standing in for `tc netem delay` on kernels
  // without netem (apps/deploy/netns-net.sh, apps/deploy/calibrate.sh). It delays frames,
  // not the TCP handshake, and keeps each link's frames in order. A held frame is not yet
  // being written, so the stalled-reader cutoff does not count the hold. 0: off.
  micros send_delay{0};
  std::uint64_t seed = 0;  // random seed of the node; 0 draws one
  // Tests only: where downloads are stored (a disk that fills up at a chosen byte); empty:
  // part files on disk.
  part_file_factory part_files;
  std::string agent = "hearsay/0.1";
};

struct search_hit {
  query_id id = 0;
  peer_addr holder;
  file_info file;
  std::uint8_t hops = 0;
  micros latency{0};
};

struct transport_stats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;  // over a limit
  std::uint64_t connections_dialled = 0;
  std::uint64_t connections_failed = 0;
  std::uint64_t frames_in = 0, frames_out = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t frames_bad = 0;           // failed decoding
  std::uint64_t connections_plaintext = 0;  // inbound connections that did not begin TLS
  std::uint64_t addresses_withheld = 0;     // unproven addresses left out of shuffle lists
  std::uint64_t slow_readers_cut = 0;
  std::uint64_t fetches_served = 0, fetch_bytes_served = 0;
  std::uint64_t fetches_done = 0, fetches_failed = 0, fetch_bytes_received = 0;
  std::uint64_t fetch_requests_refused = 0;  // not shared here, busy, bad range
};

// An open overlay link as the transport sees it: how long it has been open, and the bytes
// that crossed it each way.
struct link_info {
  micros age{0};
  std::uint64_t bytes_in = 0, bytes_out = 0;
};

class net_node {
 public:
  net_node(asio::io_context& io, net_config cfg, logger& log);
  ~net_node();
  net_node(const net_node&) = delete;
  net_node& operator=(const net_node&) = delete;

  // Indexes the shared folder, binds, listens and starts the overlay (joins via seeds). A
  // failure says what could not be done (the node key, the shared or download folder, the
  // listening address), with the system's error code where there is one.
  result<> start();
  // Graceful stop: DISCONNECT to neighbours, queues flushed (bounded wait), sockets closed.
  // `done` runs on the loop once everything is closed.
  void stop(std::function<void()> done = {});

  peer_addr address() const;  // the advertised address
  // This node's id (after start), and the id known to live at a peer's address: proven by a
  // TLS handshake with it (see transport/identity.hpp), or read from the peers file.
  const node_id& id() const;
  std::optional<node_id> id_of(const peer_addr& peer) const;
  // The open overlay link to peer's advertised address, if there is one.
  std::optional<link_info> link_of(const peer_addr& peer) const;
  const node& overlay() const;
  const transport_stats& stats() const;
  micros now() const;
  std::size_t links() const;  // open overlay links

  // Searches the overlay; on_hit runs once per file in each hit, on_done when the query closes.
  query_id search(std::string words, std::function<void(const search_hit&)> on_hit,
                  std::function<void(std::uint32_t hits)> on_done = {});
  // Fetches a file from the given holders (in order of preference), or attaches to the
  // download of the same content already running (see transport/downloader.hpp). on_update
  // sees progress and the end, possibly before fetch() returns. Returns a token for
  // forget_fetch(), 0 when the download ended at once (content already here, a refusal).
  std::uint64_t fetch(const file_info& file, std::vector<peer_addr> holders,
                      std::function<void(const fetch_status&)> on_update, fetch_options opts = {});
  // The caller of fetch() goes away (see downloader::forget).
  void forget_fetch(std::uint64_t token);
  bool cancel_fetch(job_id id);
  std::size_t cancel_all_fetches();
  // Running downloads, then recently ended ones.
  std::vector<fetch_status> fetches() const;
  std::uint64_t fetches_running() const;
  // Writes the remembered-peers file now (also done on stop and every minute).
  result<> save_peers() const;
  // Rescans the shared folder and updates the node's library; returns the problems found
  // (files skipped), or why the folder could not be scanned.
  result<std::vector<std::string>> rescan();
  std::size_t shared_files() const;
  // The shared file with this content, if any.
  const indexed_file* shared_file(const sha256_digest& digest) const;
  // Every shared file, by name (then path); valid until the next rescan.
  std::vector<const indexed_file*> shared_list() const;
  std::uint64_t shared_bytes() const;
  const net_config& config() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace hearsay::net
