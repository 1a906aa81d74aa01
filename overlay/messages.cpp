// Names of the overlay's messages, for logs and metrics.

#include "overlay/messages.hpp"

namespace hearsay {

const char* message_name(const message& m) {
  static constexpr const char* names[] = {
      "hello",      "join",          "forward-join", "join-reply",    "neighbor",    "neighbor-reply",
      "disconnect", "shuffle",       "shuffle-reply", "query",        "query-hit",   "fetch-request",
      "fetch-data",  "fetch-error",  "ping",         "pong",         "walk-check",  "walk-status",
      "mix-offer",   "mix-replace",  "mix-switch",   "mix-answer"};
  static_assert(std::size(names) == std::variant_size_v<message>);
  return names[m.index()];
}

}  // namespace hearsay
