// Fuzz target: a node fed arbitrary frames from a handful of peers, interleaved with timers
// and failures. Invariants after every step: views within their bounds, never the node
// itself, active and passive views disjoint; no crash, no leak, no assertion.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "overlay/assert.hpp"
#include "overlay/codec.hpp"
#include "overlay/node.hpp"

namespace {

struct null_host : hearsay::host {
  std::vector<std::pair<hearsay::micros, hearsay::timer_id>> timers;
  void send(const hearsay::peer_addr&, const hearsay::message&) override {}
  void disconnect(const hearsay::peer_addr&) override {}
  std::uint64_t nonces = 0;
  std::uint64_t nonce() override { return ++nonces; }
  void schedule(hearsay::micros at, hearsay::timer_id id) override {
    if (timers.size() < 4096) timers.emplace_back(at, id);
  }
};

void check(const hearsay::node& n, const hearsay::node_config& cfg) {
  const auto active = n.members().active();
  const auto passive = n.members().passive();
  HEARSAY_ASSERT(active.size() <= cfg.membership.view_size_active);
  HEARSAY_ASSERT(passive.size() <= cfg.membership.view_size_passive);
  for (const auto& p : active) {
    HEARSAY_ASSERT(p != n.self());
    HEARSAY_ASSERT(!n.members().is_passive(p));
  }
  for (const auto& p : passive) HEARSAY_ASSERT(p != n.self());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hearsay::node_config cfg;
  cfg.membership.view_size_active = 3;
  cfg.membership.view_size_passive = 6;
  cfg.search.dup_cache_capacity = 16;
  cfg.membership.mix_period = hearsay::micros{1'000'000};  // the swaps' handlers too
  cfg.seeds = {hearsay::peer_addr::from_ipv4(0x0a000002, 7000)};
  null_host host;
  hearsay::node n(cfg, hearsay::peer_addr::from_ipv4(0x0a000001, 7000), 1, host);
  n.start(hearsay::micros{0});
  n.files().add({"song one.ogg", 10, {}});
  hearsay::codec::limits lim;
  hearsay::micros now{0};
  std::size_t at = 0;
  // Each step: one control byte, then (for a message) a 2-byte length and that many bytes
  // forming a frame body, framed here with its prefix.
  while (at < size) {
    const std::uint8_t op = data[at++];
    now += hearsay::micros{(op & 0x0f) * 100'000};
    const auto peer = hearsay::peer_addr::from_ipv4(0x0a000002 + (op >> 6), 7000);
    switch ((op >> 4) & 0x3) {
      case 0:
      case 1: {
        if (at + 2 > size) return 0;
        const std::size_t len = std::min<std::size_t>(data[at] | (data[at + 1] << 8), size - at - 2);
        at += 2;
        std::vector<std::uint8_t> frame(4 + len);
        frame[0] = static_cast<std::uint8_t>(len);
        frame[1] = static_cast<std::uint8_t>(len >> 8);
        std::copy(data + at, data + at + len, frame.begin() + 4);
        at += len;
        auto r = hearsay::codec::decode(frame, lim);
        if (r.ok()) n.on_message(now, peer, r->msg);
        break;
      }
      case 2:
        if (!host.timers.empty()) {
          const auto t = host.timers.front();
          host.timers.erase(host.timers.begin());
          n.on_timer(std::max(now, t.first), t.second);
        }
        break;
      case 3:
        n.on_peer_down(now, peer);
        break;
    }
    check(n, cfg);
  }
  return 0;
}
