#pragma once
// The wire codec: hearsay::message values <-> FlatBuffers frames of schemas/hearsay.fbs.
//
// On a stream every frame is a 4-byte little-endian length followed by the FlatBuffers
// buffer (file identifier "HRSY"). Decoding never trusts the peer: the buffer is checked by
// flatbuffers::Verifier with size, depth and table-count limits, then every field the
// overlay relies on is checked for presence and range (the Verifier guarantees memory
// safety, not meaning). Errors are values; nothing here throws or asserts on input.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "overlay/messages.hpp"
#include "overlay/result.hpp"

namespace hearsay::codec {

inline constexpr std::size_t prefix_bytes = 4;

struct limits {
  // Largest frame body: a fetch chunk (64 KiB by default) plus headroom; bigger frames cost
  // memory per connection and are refused before their body is read.
  std::uint32_t frame_bytes_max = 1u << 20;
  // Our messages nest at most 3 deep (frame, message, file entry); anything deeper is hostile.
  std::uint32_t depth_max = 16;
  // Tables in one frame: a hit lists at most vector_items_max files, each one table.
  std::uint32_t tables_max = 4096;
  // Longest string field (names, criteria, error text).
  std::uint32_t string_bytes_max = 4096;
  // Longest vector of entries (addresses in a shuffle, files in a hit).
  std::uint32_t vector_items_max = 1024;
};

enum class error : std::uint8_t {
  none,
  truncated,        // shorter than its own structure says
  too_large,        // over frame_bytes_max
  bad_identifier,   // not a hearsay frame
  verify_failed,    // the FlatBuffers verifier refused it
  unknown_version,  // a protocol version this build does not speak
  unknown_message,  // a message type this build does not know
  bad_field,        // a field is missing or out of range
};
const char* describe(error e);
// The category of codec errors in an std::error_code (a failure's code()).
const std::error_category& error_category();
inline std::error_code make_error_code(error e) { return {static_cast<int>(e), error_category()}; }
// "bad field (query.ttl)": what went wrong and, when known, where; detail is the failure's
// message, remote text that the caller escapes before it prints it.
std::string describe(const failure& f);

struct decoded {
  std::uint16_t version = 0;
  peer_addr sender;
  message msg;
};

// Encodes frames into a reusable builder: after warm-up, encoding allocates nothing.
class encoder {
 public:
  // Length prefix + frame, valid until the next call.
  std::span<const std::uint8_t> encode(const peer_addr& sender, const message& m);

 private:
  flatbuffers::FlatBufferBuilder fbb_{1024};
};

// One-off convenience: a fresh vector holding prefix + frame.
std::vector<std::uint8_t> encode_frame(const peer_addr& sender, const message& m);

// Decodes one frame: its 4-byte length prefix and the body (the prefix must match the body).
// A failure's code() is a codec::error; its message() says which field or which version.
result<decoded> decode(std::span<const std::uint8_t> frame, const limits& lim);

// Splits a byte stream into frame bodies. Memory is bounded by prefix + frame_bytes_max; a
// length prefix over the limit is reported at once (before its body arrives) and poisons the
// reader: the connection must be dropped, since the stream can no longer be re-synchronised.
class frame_reader {
 public:
  explicit frame_reader(const limits& lim) : limits_(lim) {}

  // Appends received bytes. Returns false (and poisons the reader) on an oversize prefix.
  bool feed(std::span<const std::uint8_t> bytes);
  // The next complete frame (prefix and body, ready for decode()), or an empty span when
  // none is complete or the reader is poisoned (an oversize prefix: check poisoned() once
  // next() returns empty). The span stays valid until the next call to feed().
  std::span<const std::uint8_t> next();
  // Up to `max` buffered bytes that are not frames (the raw bytes a frame announced, see
  // msg_fetch_data), consumed. Valid until the next call to feed(). Raw bytes that are still
  // to come are read by the caller itself, never fed: feed() takes its input for frames.
  std::span<const std::uint8_t> take_raw(std::size_t max);
  bool poisoned() const { return poisoned_; }
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  bool check_prefix();

  limits limits_;
  std::vector<std::uint8_t> buffer_;
  std::size_t consumed_ = 0;
  bool poisoned_ = false;
};

}  // namespace hearsay::codec

template <>
struct std::is_error_code_enum<hearsay::codec::error> : std::true_type {};
