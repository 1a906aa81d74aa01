// The simulated network, watched through a tap: links are FIFO, and without faults every
// message sent is delivered exactly once, unchanged, one link latency later.

#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <vector>

#include "overlay/codec.hpp"
#include "sim/network_tap.hpp"
#include "sim/simulator.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {

// Keeps, per directed link, the messages in flight (as their encoded bytes, which compare
// whole messages) and checks every delivery against the oldest one.
class fifo_checker final : public network_tap {
 public:
  explicit fifo_checker(const simulator& sim) : sim_(sim) {}

  void on_send(micros now, std::uint32_t from, std::uint32_t to, const message& m) override {
    links_[key(from, to)].push_back(in_flight{now, codec::encode_frame(address_of(from), m)});
    ++sent;
  }

  void on_refuse(micros now, std::uint32_t from, std::uint32_t to, const message& m) override {
    ++refused;
    arrive(now, from, to, m);
  }

  void on_deliver(micros now, std::uint32_t from, std::uint32_t to, const message& m) override {
    ++delivered;
    arrive(now, from, to, m);
  }

  // A message reached the end of its link, delivered or refused: it must be the oldest one
  // in flight there, unchanged, one link latency after it was sent.
  void arrive(micros now, std::uint32_t from, std::uint32_t to, const message& m) {
    auto& link = links_[key(from, to)];
    if (link.empty()) {
      ++unexpected;
      return;
    }
    const in_flight oldest = std::move(link.front());
    link.pop_front();
    if (oldest.bytes != codec::encode_frame(address_of(from), m)) ++out_of_order;
    if (now - oldest.sent != sim_.link_latency(from, to)) ++wrong_latency;
  }

  std::uint64_t in_flight_count() const {
    std::uint64_t n = 0;
    for (const auto& [k, link] : links_) n += link.size();
    return n;
  }

  std::uint64_t sent = 0, delivered = 0, refused = 0, unexpected = 0, out_of_order = 0, wrong_latency = 0;

 private:
  struct in_flight {
    micros sent;
    std::vector<std::uint8_t> bytes;
  };
  static std::uint64_t key(std::uint32_t from, std::uint32_t to) { return std::uint64_t{from} << 32 | to; }

  const simulator& sim_;
  std::map<std::uint64_t, std::deque<in_flight>> links_;
};

}  // namespace

TEST_CASE("links are FIFO and lose nothing without faults", "[sim]") {
  scenario s;
  s.peers = 600;
  s.stabilize = micros{20'000'000};
  s.files = 50;
  s.replication = 10;
  s.queries = 60;
  // A wide latency spread: if a later message could overtake an earlier one on its link,
  // it would here.
  REQUIRE(s.latency.parse("lognormal:30:1.0").ok());
  simulator sim(s);
  fifo_checker tap(sim);
  sim.set_tap(&tap);
  sim.run();
  CHECK(tap.sent > 50'000);
  CHECK(tap.unexpected == 0);
  CHECK(tap.out_of_order == 0);
  CHECK(tap.wrong_latency == 0);
  // Every message sent was delivered or refused (its destination not running yet), apart from
  // those still in flight when the run ended.
  CHECK(tap.delivered + tap.refused + tap.in_flight_count() == tap.sent);
  CHECK(tap.in_flight_count() < 100);
}
