// The wire codec (see codec.hpp).

#include "overlay/codec.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "overlay/strategy.hpp"
#include "schemas/hearsay_generated.h"

namespace hearsay::codec {

namespace w = hearsay::wire;

const char* describe(error e) {
  switch (e) {
    case error::none: return "ok";
    case error::truncated: return "truncated frame";
    case error::too_large: return "frame too large";
    case error::bad_identifier: return "not a hearsay frame";
    case error::verify_failed: return "frame failed verification";
    case error::unknown_version: return "unknown protocol version";
    case error::unknown_message: return "unknown message type";
    case error::bad_field: return "bad field";
  }
  return "unknown error";
}

namespace {
class codec_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hearsay.codec"; }
  std::string message(int e) const override { return describe(static_cast<error>(e)); }
};
}  // namespace

const std::error_category& error_category() {
  static const codec_category category;
  return category;
}

std::string describe(const failure& f) {
  std::string out = f.code().message();
  if (!f.message().empty()) out += " (" + f.message() + ")";
  return out;
}

// ---- encoding ----------------------------------------------------------------------------

namespace {

w::Addr to_wire(const peer_addr& a) {
  return w::Addr(flatbuffers::span<const std::uint8_t, 16>(a.ip.data(), 16), a.port);
}
w::Digest to_wire(const sha256_digest& d) {
  return w::Digest(flatbuffers::span<const std::uint8_t, 32>(d.bytes.data(), 32));
}

struct message_encoder {
  flatbuffers::FlatBufferBuilder& fbb;

  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_hello& m) const {
    const auto network = fbb.CreateString(m.network());
    const auto agent = fbb.CreateString(m.agent());
    const auto listen = to_wire(m.listen);
    return {w::Message::Hello, w::CreateHello(fbb, network, &listen, agent, m.fetch_only).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_join&) const {
    return {w::Message::Join, w::CreateJoin(fbb).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_forward_join& m) const {
    const auto joiner = to_wire(m.joiner);
    return {w::Message::ForwardJoin, w::CreateForwardJoin(fbb, &joiner, m.ttl).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_join_reply&) const {
    return {w::Message::JoinReply, w::CreateJoinReply(fbb).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_neighbor& m) const {
    return {w::Message::Neighbor, w::CreateNeighbor(fbb, m.high_priority).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_neighbor_reply& m) const {
    return {w::Message::NeighborReply, w::CreateNeighborReply(fbb, m.accepted).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_disconnect& m) const {
    return {w::Message::Disconnect, w::CreateDisconnect(fbb, m.leaving).Union()};
  }
  flatbuffers::Offset<flatbuffers::Vector<const w::Addr*>> addrs(const std::vector<peer_addr>& v) const {
    // Not CreateUninitializedVectorOfStructs: in FlatBuffers 2.0 it aligns the vector to the
    // struct's size (18 bytes, not a power of two), which misaligns the 8-byte fields of the
    // table around it (the verifier then refuses the frame). CreateVectorOfStructs aligns to
    // the struct's alignment.
    thread_local std::vector<w::Addr> wire;
    wire.clear();
    for (const auto& a : v) wire.push_back(to_wire(a));
    return fbb.CreateVectorOfStructs(wire.data(), wire.size());
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_shuffle& m) const {
    const auto nodes = addrs(m.nodes);
    const auto origin = to_wire(m.origin);
    return {w::Message::Shuffle, w::CreateShuffle(fbb, &origin, m.ttl, nodes, m.nonce).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_shuffle_reply& m) const {
    const auto nodes = addrs(m.nodes);
    return {w::Message::ShuffleReply, w::CreateShuffleReply(fbb, nodes, m.nonce).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_mix_offer& m) const {
    const auto old = to_wire(m.old);
    return {w::Message::MixOffer, w::CreateMixOffer(fbb, &old, m.nonce).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_mix_replace& m) const {
    const auto initiator = to_wire(m.initiator);
    const auto old = to_wire(m.old);
    return {w::Message::MixReplace, w::CreateMixReplace(fbb, &initiator, &old, m.nonce).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_mix_switch& m) const {
    const auto initiator = to_wire(m.initiator);
    return {w::Message::MixSwitch, w::CreateMixSwitch(fbb, &initiator, m.nonce).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_mix_answer& m) const {
    return {w::Message::MixAnswer,
            w::CreateMixAnswer(fbb, static_cast<std::uint8_t>(m.step), m.accepted, m.direct, m.nonce).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_query& m) const {
    const auto criteria = fbb.CreateString(m.criteria);
    const auto origin = to_wire(m.origin);
    return {w::Message::Query,
            w::CreateQuery(fbb, m.id, &origin, m.ttl, m.hops, m.reply_direct, criteria, m.mode, m.gossip_percent)
                .Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_query_hit& m) const {
    std::vector<flatbuffers::Offset<w::FileInfo>> files;
    files.reserve(m.files.size());
    for (const auto& f : m.files) {
      const auto name = fbb.CreateString(f.name);
      const auto digest = to_wire(f.sha256);
      files.push_back(w::CreateFileInfo(fbb, name, f.size, &digest));
    }
    const auto vec = fbb.CreateVector(files);
    const auto holder = to_wire(m.holder);
    return {w::Message::QueryHit, w::CreateQueryHit(fbb, m.id, &holder, m.hops, vec).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_fetch_request& m) const {
    const auto digest = to_wire(m.sha256);
    return {w::Message::FetchRequest, w::CreateFetchRequest(fbb, &digest, m.offset, m.length).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_fetch_data& m) const {
    const auto digest = to_wire(m.sha256);
    return {w::Message::FetchData, w::CreateFetchData(fbb, &digest, m.offset, m.length, m.total_size).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_fetch_error& m) const {
    const auto text = fbb.CreateString(m.text());
    const auto digest = to_wire(m.sha256);
    return {w::Message::FetchError,
            w::CreateFetchError(fbb, &digest, static_cast<w::FetchErrorCode>(m.code), text).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_ping& m) const {
    return {w::Message::Ping, w::CreatePing(fbb, m.nonce).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_pong& m) const {
    return {w::Message::Pong, w::CreatePong(fbb, m.nonce).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_walk_check& m) const {
    return {w::Message::WalkCheck, w::CreateWalkCheck(fbb, m.id).Union()};
  }
  std::pair<w::Message, flatbuffers::Offset<void>> operator()(const msg_walk_status& m) const {
    return {w::Message::WalkStatus, w::CreateWalkStatus(fbb, m.id, m.go_on).Union()};
  }
};

}  // namespace

std::span<const std::uint8_t> encoder::encode(const peer_addr& sender, const message& m) {
  fbb_.Clear();
  const auto [type, body] = std::visit(message_encoder{fbb_}, m);
  const auto from = to_wire(sender);
  const auto frame = w::CreateFrame(fbb_, protocol_version, &from, type, body);
  w::FinishSizePrefixedFrameBuffer(fbb_, frame);
  return {fbb_.GetBufferPointer(), fbb_.GetSize()};
}

std::vector<std::uint8_t> encode_frame(const peer_addr& sender, const message& m) {
  encoder e;
  const auto bytes = e.encode(sender, m);
  return {bytes.begin(), bytes.end()};
}

// ---- decoding ----------------------------------------------------------------------------

namespace {

peer_addr from_wire(const w::Addr& a) {
  peer_addr out;
  std::copy(a.ip()->begin(), a.ip()->end(), out.ip.begin());
  out.port = a.port();
  return out;
}
sha256_digest from_wire(const w::Digest& d) {
  sha256_digest out;
  std::copy(d.bytes()->begin(), d.bytes()->end(), out.bytes.begin());
  return out;
}

// What decoding has found so far: an error (none yet) with its detail, and the value.
struct decode_state {
  error err = error::none;
  std::string detail;  // which field, which version...
  decoded value;
};

struct checker {
  const limits& lim;
  decode_state& r;

  bool fail(const char* field) {
    r.err = error::bad_field;
    r.detail = field;
    return false;
  }
  // A text field: present (unless optional), bounded, no NUL bytes.
  bool text(const flatbuffers::String* s, const char* field, std::string& out, bool required) {
    if (s == nullptr) return required ? fail(field) : true;
    if (s->size() > lim.string_bytes_max) return fail(field);
    const std::string_view v = s->string_view();
    if (v.find('\0') != std::string_view::npos) return fail(field);
    out.assign(v);
    return true;
  }
  bool addr(const w::Addr* a, const char* field, peer_addr& out) {
    if (a == nullptr) return fail(field);
    out = from_wire(*a);
    if (out.is_unspecified()) return fail(field);
    return true;
  }
  bool addrs(const flatbuffers::Vector<const w::Addr*>* v, const char* field, std::vector<peer_addr>& out) {
    if (v == nullptr) return true;  // an empty list may be omitted
    if (v->size() > lim.vector_items_max) return fail(field);
    out.reserve(v->size());
    for (const w::Addr* a : *v) {
      peer_addr p;
      if (!addr(a, field, p)) return false;
      out.push_back(p);
    }
    return true;
  }
  bool digest(const w::Digest* d, const char* field, sha256_digest& out) {
    if (d == nullptr) return fail(field);
    out = from_wire(*d);
    return true;
  }
  // A file name from the network: any name a POSIX system allows (any bytes but '/' and NUL,
  // not "." or ".."; backslashes, spaces, any script), never a path. Where it is saved it is
  // made safe, and where it is printed, escaped (transport/text.hpp).
  static bool legal_file_name(const flatbuffers::String* s, std::size_t bytes_max) {
    if (s == nullptr || s->size() == 0 || s->size() > bytes_max) return false;
    const std::string_view v = s->string_view();
    return v != "." && v != ".." && v.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
  }
};

bool decode_body(const w::Frame& f, const limits& lim, decode_state& r) {
  checker c{lim, r};
  // The verifier accepts a union whose type is set but whose table is absent.
  if (f.message_type() != w::Message::NONE && f.message() == nullptr) return c.fail("frame.message");
  switch (f.message_type()) {
    case w::Message::Hello: {
      const auto* m = f.message_as_Hello();
      std::string network, agent;
      peer_addr listen;
      if (!c.text(m->network(), "hello.network", network, true) ||
          !c.addr(m->listen(), "hello.listen", listen) || !c.text(m->agent(), "hello.agent", agent, false)) {
        return false;
      }
      r.value.msg = msg_hello(std::move(network), listen, std::move(agent), m->fetch_only());
      return true;
    }
    case w::Message::Join:
      r.value.msg = msg_join{};
      return true;
    case w::Message::ForwardJoin: {
      const auto* m = f.message_as_ForwardJoin();
      msg_forward_join out;
      if (!c.addr(m->joiner(), "forward_join.joiner", out.joiner)) return false;
      out.ttl = m->ttl();
      r.value.msg = out;
      return true;
    }
    case w::Message::JoinReply:
      r.value.msg = msg_join_reply{};
      return true;
    case w::Message::Neighbor:
      r.value.msg = msg_neighbor{f.message_as_Neighbor()->high_priority()};
      return true;
    case w::Message::NeighborReply:
      r.value.msg = msg_neighbor_reply{f.message_as_NeighborReply()->accepted()};
      return true;
    case w::Message::Disconnect:
      r.value.msg = msg_disconnect{f.message_as_Disconnect()->leaving()};
      return true;
    case w::Message::Shuffle: {
      const auto* m = f.message_as_Shuffle();
      msg_shuffle out;
      if (!c.addr(m->origin(), "shuffle.origin", out.origin) || !c.addrs(m->nodes(), "shuffle.nodes", out.nodes)) {
        return false;
      }
      out.ttl = m->ttl();
      out.nonce = m->nonce();
      r.value.msg = std::move(out);
      return true;
    }
    case w::Message::ShuffleReply: {
      msg_shuffle_reply out;
      if (!c.addrs(f.message_as_ShuffleReply()->nodes(), "shuffle_reply.nodes", out.nodes)) return false;
      out.nonce = f.message_as_ShuffleReply()->nonce();
      r.value.msg = std::move(out);
      return true;
    }
    case w::Message::Query: {
      const auto* m = f.message_as_Query();
      msg_query out;
      out.id = m->id();
      out.ttl = m->ttl();
      out.hops = m->hops();
      out.reply_direct = m->reply_direct();
      out.mode = m->mode();
      out.gossip_percent = m->gossip_percent();
      if (out.id == 0) return c.fail("query.id");
      const search_strategy* mode = strategy_for_mode(out.mode);
      if (mode == nullptr) return c.fail("query.mode");
      if (const char* field = mode->invalid(out)) return c.fail(field);
      // A copy on the wire is on a hop: it has travelled at least that one (hops >= 1) and
      // was allowed to take it (ttl >= 1). Relays never send anything else.
      if (out.ttl == 0) return c.fail("query.ttl");
      if (out.hops == 0) return c.fail("query.hops");
      if (!c.addr(m->origin(), "query.origin", out.origin) ||
          !c.text(m->criteria(), "query.criteria", out.criteria, true)) {
        return false;
      }
      r.value.msg = std::move(out);
      return true;
    }
    case w::Message::QueryHit: {
      const auto* m = f.message_as_QueryHit();
      msg_query_hit out;
      out.id = m->id();
      out.hops = m->hops();
      if (!c.addr(m->holder(), "query_hit.holder", out.holder)) return false;
      const auto* files = m->files();
      if (files == nullptr || files->size() == 0) return c.fail("query_hit.files");
      if (files->size() > lim.vector_items_max) return c.fail("query_hit.files");
      out.files.reserve(files->size());
      for (const w::FileInfo* fi : *files) {
        // An entry whose name no file system allows is left out; the others stand.
        if (!checker::legal_file_name(fi->name(), lim.string_bytes_max)) continue;
        file_info info;
        info.name = fi->name()->str();
        if (!c.digest(fi->sha256(), "files.sha256", info.sha256)) return false;
        info.size = fi->size();
        out.files.push_back(std::move(info));
      }
      if (out.files.empty()) return c.fail("files.name");  // nothing left to offer
      r.value.msg = std::move(out);
      return true;
    }
    case w::Message::FetchRequest: {
      const auto* m = f.message_as_FetchRequest();
      msg_fetch_request out;
      if (!c.digest(m->sha256(), "fetch_request.sha256", out.sha256)) return false;
      out.offset = m->offset();
      out.length = m->length();
      if (out.length > std::numeric_limits<std::uint64_t>::max() - out.offset) return c.fail("fetch_request.length");
      r.value.msg = out;
      return true;
    }
    case w::Message::FetchData: {
      const auto* m = f.message_as_FetchData();
      msg_fetch_data out;
      if (!c.digest(m->sha256(), "fetch_data.sha256", out.sha256)) return false;
      out.offset = m->offset();
      out.length = m->length();
      out.total_size = m->total_size();
      if (out.offset > out.total_size || out.length > out.total_size - out.offset) return c.fail("fetch_data.length");
      r.value.msg = out;
      return true;
    }
    case w::Message::FetchError: {
      const auto* m = f.message_as_FetchError();
      sha256_digest sha256;
      std::string text;
      if (!c.digest(m->sha256(), "fetch_error.sha256", sha256) ||
          !c.text(m->message(), "fetch_error.message", text, false)) {
        return false;
      }
      const auto code = static_cast<std::uint8_t>(m->code());
      if (code > static_cast<std::uint8_t>(fetch_error_code::read_failed)) return c.fail("fetch_error.code");
      r.value.msg = msg_fetch_error(sha256, static_cast<fetch_error_code>(code), std::move(text));
      return true;
    }
    case w::Message::Ping:
      r.value.msg = msg_ping{f.message_as_Ping()->nonce()};
      return true;
    case w::Message::Pong:
      r.value.msg = msg_pong{f.message_as_Pong()->nonce()};
      return true;
    case w::Message::WalkCheck:
      r.value.msg = msg_walk_check{f.message_as_WalkCheck()->id()};
      return true;
    case w::Message::WalkStatus:
      r.value.msg = msg_walk_status{f.message_as_WalkStatus()->id(), f.message_as_WalkStatus()->go_on()};
      return true;
    case w::Message::MixOffer: {
      const auto* m = f.message_as_MixOffer();
      msg_mix_offer out;
      if (!c.addr(m->old(), "mix_offer.old", out.old)) return false;
      out.nonce = m->nonce();
      if (out.nonce == 0) return c.fail("mix_offer.nonce");
      r.value.msg = out;
      return true;
    }
    case w::Message::MixReplace: {
      const auto* m = f.message_as_MixReplace();
      msg_mix_replace out;
      if (!c.addr(m->initiator(), "mix_replace.initiator", out.initiator) ||
          !c.addr(m->old(), "mix_replace.old", out.old)) {
        return false;
      }
      out.nonce = m->nonce();
      if (out.nonce == 0) return c.fail("mix_replace.nonce");
      r.value.msg = out;
      return true;
    }
    case w::Message::MixSwitch: {
      const auto* m = f.message_as_MixSwitch();
      msg_mix_switch out;
      if (!c.addr(m->initiator(), "mix_switch.initiator", out.initiator)) return false;
      out.nonce = m->nonce();
      if (out.nonce == 0) return c.fail("mix_switch.nonce");
      r.value.msg = out;
      return true;
    }
    case w::Message::MixAnswer: {
      const auto* m = f.message_as_MixAnswer();
      if (m->step() > static_cast<std::uint8_t>(mix_step::swap)) return c.fail("mix_answer.step");
      if (m->nonce() == 0) return c.fail("mix_answer.nonce");
      r.value.msg = msg_mix_answer{static_cast<mix_step>(m->step()), m->accepted(), m->direct(), m->nonce()};
      return true;
    }
    case w::Message::FetchChunk:  // the transfer of version-1 nodes before ranged requests
    case w::Message::NONE:
      break;
  }
  r.err = error::unknown_message;
  r.detail = "type " + std::to_string(static_cast<unsigned>(f.message_type()));
  return false;
}

}  // namespace

result<decoded> decode(std::span<const std::uint8_t> frame, const limits& lim) {
  decode_state r;
  auto failed = [&r] { return failure(make_error_code(r.err), std::move(r.detail)); };
  if (frame.size() < prefix_bytes + sizeof(flatbuffers::uoffset_t) + flatbuffers::kFileIdentifierLength) {
    r.err = error::truncated;
    return failed();
  }
  const std::uint32_t length = std::uint32_t{frame[0]} | (std::uint32_t{frame[1]} << 8) |
                               (std::uint32_t{frame[2]} << 16) | (std::uint32_t{frame[3]} << 24);
  if (length > lim.frame_bytes_max || frame.size() - prefix_bytes > lim.frame_bytes_max) {
    r.err = error::too_large;
    r.detail = std::to_string(length) + " bytes";
    return failed();
  }
  if (length != frame.size() - prefix_bytes) {
    r.err = error::truncated;
    r.detail = "length prefix says " + std::to_string(length) + ", frame holds " + std::to_string(frame.size() - prefix_bytes);
    return failed();
  }
  if (!flatbuffers::BufferHasIdentifier(frame.data(), w::FrameIdentifier(), true)) {
    r.err = error::bad_identifier;
    return failed();
  }
  // FlatBuffers reads scalars in place and aligns a size-prefixed buffer from its prefix: a
  // frame found at an unaligned spot in a stream buffer is copied to aligned memory first.
  std::vector<std::uint64_t> aligned;
  const std::uint8_t* data = frame.data();
  if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::uint64_t) != 0) {
    aligned.resize((frame.size() + 7) / 8);
    std::memcpy(aligned.data(), frame.data(), frame.size());
    data = reinterpret_cast<const std::uint8_t*>(aligned.data());
  }
  flatbuffers::Verifier::Options opts;
  opts.max_depth = lim.depth_max;
  opts.max_tables = lim.tables_max;
  flatbuffers::Verifier verifier(data, frame.size(), opts);
  if (!w::VerifySizePrefixedFrameBuffer(verifier)) {
    r.err = error::verify_failed;
    return failed();
  }
  const w::Frame* f = w::GetSizePrefixedFrame(data);
  r.value.version = f->version();
  if (r.value.version != protocol_version) {
    r.err = error::unknown_version;
    r.detail = "version " + std::to_string(r.value.version) + ", this node speaks " + std::to_string(protocol_version);
    return failed();
  }
  checker c{lim, r};
  if (!c.addr(f->sender(), "frame.sender", r.value.sender)) return failed();
  if (!decode_body(*f, lim, r) || r.err != error::none) {
    HEARSAY_ASSERT(r.err != error::none);
    return failed();
  }
  return std::move(r.value);
}

// ---- stream framing ----------------------------------------------------------------------

bool frame_reader::check_prefix() {
  if (buffered() < prefix_bytes) return true;
  const std::uint8_t* p = buffer_.data() + consumed_;
  const std::uint32_t length = std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
                               (std::uint32_t{p[3]} << 24);
  if (length > limits_.frame_bytes_max) poisoned_ = true;
  return !poisoned_;
}

bool frame_reader::feed(std::span<const std::uint8_t> bytes) {
  if (poisoned_) return false;
  // Drop what was consumed before growing the buffer, so it never holds more than one
  // incomplete frame beyond what the caller just gave.
  if (consumed_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  return check_prefix();
}

std::span<const std::uint8_t> frame_reader::next() {
  if (poisoned_ || !check_prefix() || buffered() < prefix_bytes) return {};
  const std::uint8_t* p = buffer_.data() + consumed_;
  const std::uint32_t length = std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
                               (std::uint32_t{p[3]} << 24);
  if (buffered() < prefix_bytes + length) return {};
  consumed_ += prefix_bytes + length;
  // What follows is not checked here: it may be raw bytes the frame announced (take_raw).
  // The next call checks it, and reports an oversize prefix by poisoned().
  return {p, prefix_bytes + length};
}

std::span<const std::uint8_t> frame_reader::take_raw(std::size_t max) {
  const std::size_t n = std::min(max, buffered());
  const std::uint8_t* p = buffer_.data() + consumed_;
  consumed_ += n;
  return {p, n};
}

}  // namespace hearsay::codec
