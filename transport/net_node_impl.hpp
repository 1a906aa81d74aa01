#pragma once
// Inside the real node (see net_node.hpp): its connections and state, shared by the files
// that implement it by concern:
//   net_node.cpp   connections, frames, timers, keepalives, the overlay's host interface,
//                  the peers file, the public face;
//   transfers.cpp  file transfers: serving ranges of shared files, and the transfer
//                  connections the downloader (transport/downloader.hpp) fetches through.
// Everything runs on the node's one io_context thread.
//
// Every connection is TLS 1.3 (transport/identity.hpp): a link is dialled or accepted, its
// handshake proves the other side's node id, then HELLO frames go both ways inside it.

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "transport/downloader.hpp"
#include "transport/file_index.hpp"
#include "transport/identity.hpp"
#include "transport/net_node.hpp"

namespace hearsay::net {

// A read that ended because the other side went away. A peer that closes without TLS's
// close_notify (most do, this node too) truncates the stream: that is a close, not an attack.
inline bool closed_by_peer(const std::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

struct link;
using link_ptr = std::shared_ptr<link>;

// A link as log lines name it: its peer, or where an unidentified one came from. Turned
// into text only when the line is written (its formatter is in net_node.cpp).
struct link_name {
  const link& l;
};

struct link : std::enable_shared_from_this<link> {
  enum class role : std::uint8_t { overlay, fetch_client, fetch_server };

  link(asio::io_context& io, asio::ssl::context& tls_ctx, const codec::limits& lim)
      : tls(io, tls_ctx), reader(lim), hold(io) {}
  link(asio::io_context& io, asio::ip::tcp::socket s, asio::ssl::context& tls_ctx, const codec::limits& lim)
      : tls(std::move(s), tls_ctx), reader(lim), hold(io) {}
  asio::ip::tcp::socket& socket() { return tls.next_layer(); }

  // A frame waiting to be written, and when it may be (net_config::send_delay; with no
  // delay, at once). Due times grow along the queue, so holding frames keeps their order.
  struct outgoing {
    std::vector<std::uint8_t> bytes;
    micros due{0};
  };

  asio::ssl::stream<asio::ip::tcp::socket> tls;
  role kind = role::overlay;
  bool outbound = false;
  bool connected = false;   // the TLS handshake is done: frames may flow
  bool handshaking = false;
  node_id id{};             // proven by the handshake (zero before)
  bool identified = false;  // the other side's HELLO arrived
  bool closing = false;     // close once the queue drains; no failure report
  bool dead = false;
  peer_addr peer;           // advertised address (outbound: known; inbound: from HELLO)
  peer_addr remote_ip;      // the socket's remote IP, for per-IP limits
  peer_addr remote;         // the socket's remote address, for logs
  micros created{0}, last_rx{0}, last_tx{0};
  std::uint64_t bytes_in = 0, bytes_out = 0;  // over this connection (TLS records included)
  // When the last whole frame (or raw transfer bytes) came: a peer trickling a byte now and
  // then does not keep a connection alive, only messages do.
  micros last_frame{0};
  bool dial_waiting = false;  // outbound, held back until the address's backoff ends
  bool ping_outstanding = false;

  codec::frame_reader reader;
  // One TLS record's worth: a larger buffer would only sit half empty on hundreds of links.
  std::array<std::uint8_t, 16384> rbuf{};
  std::deque<outgoing> queue;
  std::size_t queued_bytes = 0;
  // The frames of the write in progress, copied from the front of the queue into one buffer:
  // TLS writes one buffer at a time, and a record per frame would cost a system call each.
  static constexpr std::size_t gather_max = 64;
  static constexpr std::size_t gather_bytes_max = 64u << 10;
  std::vector<std::uint8_t> wbuf;
  bool writing = false;
  micros write_started{0};  // when the write in progress (or the wait to write) began
  asio::steady_timer hold;  // wakes the writer when the first held frame is due; paces uploads
  bool hold_armed = false;

  // Serving (role fetch_server): ranges asked for and not yet begun, and the one being sent
  // as raw bytes read from the file (serve_buf) and written through TLS.
  std::deque<msg_fetch_request> serve_queue;
  int serve_fd = -1;
  sha256_digest serve_digest;
  std::uint64_t serve_size = 0;    // of the open file
  std::uint64_t serve_offset = 0;  // next byte to send
  std::uint64_t serve_left = 0;    // raw bytes of the current range still to send
  bool raw_waiting = false;        // a raw write in progress
  std::unique_ptr<std::uint8_t[]> serve_buf;

  // Fetching (role fetch_client): the job and holder this connection serves, the ranges asked
  // for in order, and the raw bytes of the current answer still to come.
  job_id job = 0;
  std::uint64_t file_size = 0;  // as the download expects it
  std::deque<msg_fetch_request> asked;
  std::uint64_t raw_left = 0;
  std::uint64_t raw_offset = 0;
  std::unique_ptr<std::uint8_t[]> raw_buf;  // large reads for raw bytes
  static constexpr std::size_t raw_buf_bytes = 256u << 10;
};

struct net_node::impl final : host, transfer_links {
  impl(asio::io_context& io_, net_config cfg_, logger& log_);

  // An address and the node id known to live there. `dialled`: this node dialled the address
  // and found the id (or read it from the peers file, where only such bindings are written);
  // otherwise an inbound link from the address's IP claimed the address's port. A dial that
  // finds another id than a dialled binding fails; an inbound claim never overrides one.
  struct binding {
    node_id id{};
    bool dialled = false;
  };

  asio::io_context& io;
  net_config cfg;
  logger& log;
  asio::ip::tcp::acceptor acceptor;
  identity me;
  asio::ssl::context tls_ctx{asio::ssl::context::tls};
  asio::steady_timer wake;          // the node's earliest timer
  asio::steady_timer housekeeping;  // keepalives, timeouts, download ticks
  std::chrono::steady_clock::time_point epoch;
  peer_addr self;
  std::unique_ptr<node> overlay;
  file_index index;
  downloader downloads;
  codec::encoder encoder;
  // Buffers of sent frames, reused for the next ones (at most 1,024 of at most 4 KiB: 4 MiB).
  static constexpr std::size_t spare_frames_max = 1024;
  static constexpr std::size_t spare_frame_bytes_max = 4096;
  std::vector<std::vector<std::uint8_t>> spare_frames;
  transport_stats stats;
  bool running = false;
  bool stopping = false;

  std::map<peer_addr, link_ptr> links;  // overlay links by advertised address
  std::map<peer_addr, binding> ids;      // bounded: see prune_ids
  static constexpr std::size_t ids_max = 8192;
  micros plaintext_logged{-60'000'000};  // the last info line about an old, plaintext peer
  std::set<link_ptr> all;                // every open connection
  std::map<std::pair<job_id, peer_addr>, link_ptr> transfers;  // fetch_client links
  std::multimap<micros, timer_id> timers;
  std::map<query_id, std::pair<std::function<void(const search_hit&)>, std::function<void(std::uint32_t)>>> searches;
  std::uint32_t serving_count = 0;
  // Dials to an address that failed wait longer after each failure: 1 s, 2 s, 4 s ... up to
  // 5 minutes, with jitter, so that a node whose seeds are all down neither spins nor
  // hammers them. Bounded: the oldest entries go first.
  struct backoff_state {
    std::uint32_t failures = 0;
    micros next{0};
    std::string reason;
  };
  std::map<peer_addr, backoff_state> backoff;
  static constexpr std::size_t backoff_entries_max = 4096;
  std::uint64_t jitter_state = 0;
  void dial_failed(const link_ptr& l, const char* why);
  void start_dial(const link_ptr& l);
  // Inbound connections from one network group (IPv4 /24, IPv6 /48).
  std::uint32_t count_group(const peer_addr& ip) const;
  // The upload budget (limits.upload_bytes_per_s): bytes that may be sent now, refilled
  // continuously up to a quarter second's worth.
  double upload_budget = 0;
  micros upload_refilled{0};
  micros peers_saved_at{0};
  // Handlers that may still be queued when the node is destroyed (timers, posted reports)
  // hold a weak reference to this token and do nothing once it is gone.
  std::shared_ptr<int> alive = std::make_shared<int>(0);

  micros now() const {
    return std::chrono::duration_cast<micros>(std::chrono::steady_clock::now() - epoch);
  }

  // ---- the peers file (net_node.cpp) ----
  result<> save_peers() const;
  std::vector<peer_addr> load_peers();
  bool vouched(const peer_addr& p) const;
  std::size_t queued_total = 0;  // bytes in every link's send queue
  // Forgets bindings of addresses no longer in a view, a seed or a link, when over ids_max.
  void prune_ids();

  // ---- host interface (net_node.cpp) ----
  void send(const peer_addr& to, const message& m) override;
  void disconnect(const peer_addr& peer) override;
  void schedule(micros at, timer_id id) override;
  std::uint64_t nonce() override;
  void on_search_hit(query_id id, const msg_query_hit& h, micros latency) override;
  void on_search_done(query_id id, std::uint32_t hits) override;
  void on_active_view_changed(const peer_addr& peer, bool added) override;

  // ---- timers and housekeeping (net_node.cpp) ----
  void arm_wake();
  void fire_timers();
  void start_housekeeping();
  void tend();

  // ---- connections and frames (net_node.cpp) ----
  std::uint32_t count_ip(const peer_addr& ip) const;
  link_ptr dial(const peer_addr& to, link::role kind);
  // TCP is up: the TLS handshake (as client when we dialled), then on_secured.
  void start_tls(const link_ptr& l);
  // An inbound connection's first bytes: TLS, or an old node's plaintext frame.
  void sniff(const link_ptr& l);
  void refuse_plaintext(const link_ptr& l);
  void on_secured(const link_ptr& l);
  void accept();
  void admit(asio::ip::tcp::socket socket);
  void enqueue(const link_ptr& l, const message& m);
  void write(const link_ptr& l);
  void hold_until_due(const link_ptr& l);
  void read(const link_ptr& l);
  static link_name described(const link_ptr& l) { return {*l}; }
  void fail(const link_ptr& l, const char* why);
  void report_down(const peer_addr& peer);
  void close_after_flush(const link_ptr& l);
  void close_now(const link_ptr& l);
  void handle(const link_ptr& l, codec::decoded& d);

  // ---- serving (transfers.cpp) ----
  void serve(const link_ptr& l, const msg_fetch_request& req);
  // After a frame write completes, or when the socket or the budget allows more: begins the
  // next range, or sends more raw bytes of the current one.
  void serve_continue(const link_ptr& l);
  void send_raw(const link_ptr& l);
  void stop_serving(const link_ptr& l);
  std::uint64_t upload_allowance();

  // ---- fetching (transfers.cpp) ----
  void request_range(job_id job, const peer_addr& holder, const msg_fetch_request& request,
                     std::uint64_t file_size) override;
  void close_transfer(job_id job, const peer_addr& holder) override;
  void on_fetch_data(const link_ptr& l, const msg_fetch_data& d);
  void on_fetch_error(const link_ptr& l, const msg_fetch_error& e);
  // Delivers raw bytes of the current answer to the downloader; false once the link is gone.
  bool deliver_raw(const link_ptr& l, std::span<const std::uint8_t> bytes);
  // Reads raw bytes straight from the socket (no framing) while an answer's bytes are due.
  void read_raw(const link_ptr& l);
};

}  // namespace hearsay::net
