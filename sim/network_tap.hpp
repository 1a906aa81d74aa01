#pragma once
// An observer of the simulated network, for tests and tools that check what the network
// does rather than what the peers conclude (FIFO links, no message invented or lost when
// no fault is configured).

#include <cstdint>

#include "overlay/messages.hpp"
#include "overlay/types.hpp"

namespace hearsay::sim {

class network_tap {
 public:
  virtual ~network_tap() = default;
  // A message the network accepted for delivery: not lost, not cut by a partition. Peers are
  // named by index.
  virtual void on_send(micros now, std::uint32_t from, std::uint32_t to, const message& m) = 0;
  // A message handed to its destination (after the codec round trip when that is on, but the
  // value passed here is the one that was sent).
  virtual void on_deliver(micros now, std::uint32_t from, std::uint32_t to, const message& m) = 0;
  // A message that arrived at a destination not running (never started, crashed or left):
  // the connection is refused, and the sender will learn it one link latency later.
  virtual void on_refuse(micros now, std::uint32_t from, std::uint32_t to, const message& m) {
    static_cast<void>(now), static_cast<void>(from), static_cast<void>(to), static_cast<void>(m);
  }
  // Implementations must not call back into the simulator: they run inside its event loop.
};

}  // namespace hearsay::sim
