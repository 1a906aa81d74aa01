// Fuzz target: the byte stream a peer sends, through the frame reader and the decoder, as a
// transfer connection reads it: raw bytes a FetchData announces are taken out of the stream
// (what has arrived of them; the rest would be read apart, so the stream skips them here).
// Invariants: nothing crashes or leaks; the reader never holds more than one frame's worth;
// whatever decodes re-encodes to a frame that decodes to the same message kind and sender.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "overlay/assert.hpp"
#include "overlay/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hearsay::codec::limits lim;
  lim.frame_bytes_max = 64 * 1024;
  hearsay::codec::frame_reader reader(lim);
  hearsay::codec::encoder enc;
  // Feed in uneven pieces, as TCP would deliver them.
  std::size_t at = 0, step = 1;
  std::uint64_t raw_left = 0;  // raw bytes still due after a FetchData
  while (at < size) {
    if (raw_left > 0) {
      // Read apart from the frames, as the transport does.
      const auto skip = static_cast<std::size_t>(std::min<std::uint64_t>(raw_left, size - at));
      at += skip;
      raw_left -= skip;
      continue;
    }
    const std::size_t n = std::min(step, size - at);
    if (!reader.feed(std::span(data + at, n))) break;
    at += n;
    step = step * 3 % 97 + 1;
    for (auto frame = reader.next(); !frame.empty(); frame = reader.next()) {
      auto r = hearsay::codec::decode(frame, lim);
      if (!r.ok()) continue;
      const auto again = enc.encode(r->sender, r->msg);
      auto r2 = hearsay::codec::decode(again, lim);
      HEARSAY_ASSERT(r2.ok());
      HEARSAY_ASSERT(r2->msg.index() == r->msg.index());
      HEARSAY_ASSERT(r2->sender == r->sender);
      if (const auto* d = std::get_if<hearsay::msg_fetch_data>(&r->msg)) {
        HEARSAY_ASSERT(d->offset <= d->total_size && d->length <= d->total_size - d->offset);
        raw_left = d->length - reader.take_raw(static_cast<std::size_t>(std::min<std::uint64_t>(d->length, SIZE_MAX))).size();
        if (raw_left > 0) break;
      }
    }
    HEARSAY_ASSERT(reader.buffered() <= hearsay::codec::prefix_bytes + lim.frame_bytes_max + 97);
  }
  return 0;
}
