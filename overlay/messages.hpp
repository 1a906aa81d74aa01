#pragma once
// The overlay's messages as plain C++ values. overlay/codec.hpp turns them into the
// FlatBuffers frames of schemas/hearsay.fbs and back; the simulator may pass these values
// directly on its fast path, or (one switch) through the codec for every message.

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "overlay/types.hpp"

namespace hearsay {

// The wire protocol version this build speaks (Frame.version). Version 2: every connection
// is TLS 1.3 with the nodes' keys (the real node's transport), frames unchanged inside it.
// Version 1 was plaintext.
inline constexpr std::uint16_t protocol_version = 2;

// The empty text of a message value made without one (default-constructed).
inline const std::string& empty_text() {
  static const std::string empty;
  return empty;
}

// ---- connection set-up (handled by the transport, not the node) ----
// Its two texts are held apart (shared, never changed once made), as is a fetch error's: a
// message is as large as its largest kind, and these rare ones would otherwise make every
// query copy the simulator keeps in flight 40 % larger (see the size check below).
struct msg_hello {
  msg_hello() = default;
  msg_hello(std::string network_name, const peer_addr& listen_at, std::string agent_name, bool for_fetch)
      : listen(listen_at),
        fetch_only(for_fetch),
        text_(std::make_shared<const texts>(texts{std::move(network_name), std::move(agent_name)})) {}
  // The overlay's name; peers on another network are refused.
  const std::string& network() const { return text_ ? text_->network : empty_text(); }
  // Software name and version, for logs.
  const std::string& agent() const { return text_ ? text_->agent : empty_text(); }

  peer_addr listen;         // the speaker's advertised listen address
  bool fetch_only = false;  // a file transfer, not an overlay link

 private:
  struct texts {
    std::string network, agent;
  };
  std::shared_ptr<const texts> text_;
};

// ---- membership: HyParView ----
struct msg_join {};
struct msg_forward_join {
  peer_addr joiner;
  std::uint8_t ttl = 0;
};
struct msg_join_reply {};
struct msg_neighbor {
  bool high_priority = false;
};
struct msg_neighbor_reply {
  bool accepted = false;
};
// "You are no longer in my active view"; `leaving`: the sender leaves the overlay altogether,
// so the receiver forgets it instead of keeping it in its passive view.
struct msg_disconnect {
  bool leaving = false;
};
struct msg_shuffle {
  peer_addr origin;
  std::uint8_t ttl = 0;
  std::vector<peer_addr> nodes;
  std::uint64_t nonce = 0;  // the origin's: a reply is accepted only with it
};
struct msg_shuffle_reply {
  std::vector<peer_addr> nodes;
  std::uint64_t nonce = 0;  // of the shuffle it answers
};

// ---- membership: mixing (membership_config::mix_period) ----
// A swap of two links that keeps every view's size (after X-BOT's four-node exchange, Leitao
// et al., SRDS 2009, with a random oracle: any swap is taken, so the overlay forgets how it
// was built). Initiator I, whose active view is full, offers a passive peer C the place of
// its active neighbour O: MIX-OFFER to C. C, if full, asks one of its own neighbours D to take
// O in its place: MIX-REPLACE to D; D asks O to take D in place of I: MIX-SWITCH to O. The
// answers retrace the chain (MIX-ANSWER), each peer committing as an acceptance passes it:
// the links I-O and C-D become I-C and D-O. A C with room takes I in at once (`direct`), and I
// then leaves O with DISCONNECT.
struct msg_mix_offer {
  peer_addr old;  // O, the link I gives up
  std::uint64_t nonce = 0;
};
struct msg_mix_replace {
  peer_addr initiator;  // I
  peer_addr old;        // O
  std::uint64_t nonce = 0;
};
struct msg_mix_switch {
  peer_addr initiator;  // I, whose link O gives up for the sender D
  std::uint64_t nonce = 0;
};
enum class mix_step : std::uint8_t { offer = 0, replace = 1, swap = 2 };
struct msg_mix_answer {
  mix_step step = mix_step::offer;  // which request this answers
  bool accepted = false;
  bool direct = false;  // (offer) C had room: O is not part of the swap
  std::uint64_t nonce = 0;
};

// ---- search ----
struct msg_query {
  query_id id = 0;
  peer_addr origin;
  std::uint8_t ttl = 0;   // hops this copy may still travel, including the one it is on
  std::uint8_t hops = 0;  // hops travelled so far, including the one it is on
  bool reply_direct = false;
  std::uint8_t mode = 0;            // query_mode
  std::uint8_t gossip_percent = 0;  // gossip: per-neighbour forwarding chance
  std::string criteria;  // (last: the small fields above share one word)
};
// How a query travels (expanding rings travel as floods of growing TTL).
enum class query_mode : std::uint8_t { flood = 0, gossip = 1, walk = 2 };
struct msg_walk_check {
  query_id id = 0;
};
struct msg_walk_status {
  query_id id = 0;
  bool go_on = false;
};
struct file_info {
  std::string name;
  std::uint64_t size = 0;
  sha256_digest sha256;
  friend bool operator==(const file_info&, const file_info&) = default;
};
struct msg_query_hit {
  query_id id = 0;
  peer_addr holder;
  std::uint8_t hops = 0;
  std::vector<file_info> files;
};

// ---- fetch (served by the transport from the node's library) ----
// A request for bytes [offset, offset + length) of a file (length 0: to its end).
struct msg_fetch_request {
  sha256_digest sha256;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
// The answer: `length` raw bytes of the file at `offset` follow this frame on the stream.
struct msg_fetch_data {
  sha256_digest sha256;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t total_size = 0;
};
enum class fetch_error_code : std::uint8_t { not_found = 0, bad_offset = 1, busy = 2, read_failed = 3 };
struct msg_fetch_error {
  msg_fetch_error() = default;
  msg_fetch_error(const sha256_digest& digest, fetch_error_code error, std::string what)
      : sha256(digest), code(error), text_(std::make_shared<const std::string>(std::move(what))) {}
  // What went wrong, for logs (held apart, as msg_hello's texts are).
  const std::string& text() const { return text_ ? *text_ : empty_text(); }

  sha256_digest sha256;
  fetch_error_code code = fetch_error_code::not_found;

 private:
  std::shared_ptr<const std::string> text_;
};

// ---- liveness ----
struct msg_ping {
  std::uint64_t nonce = 0;
};
struct msg_pong {
  std::uint64_t nonce = 0;
};

using message = std::variant<msg_hello, msg_join, msg_forward_join, msg_join_reply, msg_neighbor,
                             msg_neighbor_reply, msg_disconnect, msg_shuffle, msg_shuffle_reply,
                             msg_query, msg_query_hit, msg_fetch_request, msg_fetch_data,
                             msg_fetch_error, msg_ping, msg_pong, msg_walk_check, msg_walk_status,
                             msg_mix_offer, msg_mix_replace, msg_mix_switch, msg_mix_answer>;

// What a message value takes, the simulator's events in flight included: the query is the
// largest kind that travels often, and no kind may be larger.
static_assert(sizeof(msg_query) <= 64 && sizeof(message) <= 72, "a message kind outgrew the query");

// A short lower-case name for logs and metrics ("join", "query-hit", ...).
const char* message_name(const message& m);

}  // namespace hearsay
