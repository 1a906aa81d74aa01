// The simulator: event order, latency models, determinism, overlay health, search, scenarios.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <variant>

#include "sim/event_queue.hpp"
#include "sim/huge_pages.hpp"
#include "sim/latency.hpp"
#include "sim/report.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"
#include "sim/slab.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {
scenario small(std::uint32_t peers) {
  scenario s;
  s.peers = peers;
  s.stabilize = micros{30'000'000};
  s.files = 100;
  s.replication = 10;
  s.queries = 100;
  return s;
}
}  // namespace

TEST_CASE("events pop in (time, sequence) order", "[sim]") {
  event_queue<int> q;
  q.push(micros{5}, 1);
  q.push(micros{3}, 2);
  q.push(micros{5}, 3);
  q.push(micros{3}, 4);
  q.push(micros{0}, 5);
  std::vector<int> order;
  while (!q.empty()) order.push_back(q.pop().payload);
  CHECK(order == std::vector<int>{5, 2, 4, 1, 3});

  // Many random times: popped sorted by time, and equal times in insertion order.
  hearsay::rng random(5);
  event_queue<std::pair<std::int64_t, int>> big;
  for (int i = 0; i < 50'000; ++i) {
    const auto t = static_cast<std::int64_t>(random.below(1000));
    big.push(micros{t}, {t, i});
    if (i % 3 == 0) big.pop();  // interleave pops, as a run does
  }
  std::pair<std::int64_t, int> last{-1, -1};
  while (!big.empty()) {
    auto e = big.pop();
    REQUIRE(e.at.count() == e.payload.first);
    REQUIRE(e.payload.first >= last.first);
    if (e.payload.first == last.first) REQUIRE(e.payload.second > last.second);
    last = e.payload;
  }
}

TEST_CASE("events with caller keys pop in (time, key) order, however they were pushed", "[sim]") {
  // Thousands of events per bucket (the counting sort), many at the same microsecond, their
  // keys pushed in random order, some payloads built in place, with pops in between. Times on
  // a grid of 8 us make long runs of equal times; on every microsecond, short ones (pairs and
  // triples, put in order by insertion).
  using payload = std::variant<std::uint64_t, std::string>;  // emplace builds an alternative
  const std::int64_t grain = GENERATE(8, 1);
  event_queue<payload> q;
  hearsay::rng random(17);
  std::set<std::pair<std::int64_t, std::uint64_t>> expected;
  std::int64_t now = 0;
  for (int i = 0; i < 60'000; ++i) {
    const std::int64_t at = now + static_cast<std::int64_t>(random.below(3'000)) / grain * grain;  // ties
    std::uint64_t key = random.next() >> 1;
    while (expected.count({at, key}) != 0) key = random.next() >> 1;
    if (i % 2 == 0) {
      q.push(micros{at}, key, payload{key});
    } else {
      q.emplace<std::uint64_t>(micros{at}, key, key);
    }
    expected.emplace(at, key);
    if (i % 4 == 3) {
      const auto e = q.pop();
      REQUIRE(e.at.count() == expected.begin()->first);
      REQUIRE(std::get<std::uint64_t>(e.payload) == expected.begin()->second);
      expected.erase(expected.begin());
      now = e.at.count();
    }
  }
  while (!q.empty()) {
    const auto e = q.take();
    REQUIRE(e.at.count() == expected.begin()->first);
    REQUIRE(e.key == expected.begin()->second);
    REQUIRE(std::get<std::uint64_t>(e.payload) == e.key);
    expected.erase(expected.begin());
    q.release(e.slot);
  }
  CHECK(expected.empty());
}

namespace {
struct counted {
  explicit counted(std::uint64_t v = 0) : value(v) { ++alive; }
  counted(const counted& o) : value(o.value) { ++alive; }
  counted(counted&& o) noexcept : value(o.value) { ++alive; }
  counted& operator=(const counted&) = default;
  ~counted() { --alive; }
  std::uint64_t value;
  static inline int alive = 0;
};
}  // namespace

TEST_CASE("events built in another slab run in order, come back to it, and are destroyed once", "[sim]") {
  // A payload that counts how many of its kind are alive (counted, above): every one built
  // must be destroyed exactly once, whether it ran or was still pending when the queue was
  // cleared.
  using payload = std::variant<counted, std::string>;
  {
    slab<payload> other;  // filled by "another thread": built here, named to the queue by slot
    event_queue<payload> q;
    const unsigned source = q.add_source(&other);
    hearsay::rng random(5);
    std::set<std::pair<std::int64_t, std::uint64_t>> expected;
    std::set<std::uint32_t> lent;  // slots of `other` the queue holds
    for (std::uint64_t key = 1; key <= 3'000; ++key) {
      const auto at = static_cast<std::int64_t>(random.below(50'000));
      if (key % 3 == 0) {
        const std::uint32_t slot = other.allocate();
        other.construct(slot, std::in_place_type<counted>, key);
        q.push_from(micros{at}, key, source, slot);
        lent.insert(slot);
      } else {
        q.emplace<counted>(micros{at}, key, key);
      }
      expected.emplace(at, key);
    }
    CHECK(counted::alive == 3'000);
    // Half of them run, in (time, key) order whichever slab holds them.
    std::int64_t last_at = 0;
    for (int i = 0; i < 1'500; ++i) {
      const auto e = q.take();
      last_at = e.at.count();
      REQUIRE(e.at.count() == expected.begin()->first);
      REQUIRE(e.key == expected.begin()->second);
      REQUIRE(std::get<counted>(e.payload).value == e.key);
      expected.erase(expected.begin());
      q.release(e.slot);
    }
    CHECK(counted::alive == 1'500);
    // The other slab's slots the queue released wait to go back; none of its own is among them.
    auto& back = q.returned(source);
    CHECK(!back.empty());
    for (auto slot : back) {
      REQUIRE(lent.count(slot) == 1);
      lent.erase(slot);
      other.release(slot);
    }
    back.clear();
    // Slots given back are used again before new ones are made.
    const std::uint32_t made = other.slots_made();
    const std::uint32_t again = other.allocate();
    CHECK(again < made);
    other.construct(again, std::in_place_type<std::string>, "reused");
    q.push_from(micros{60'000}, 9'999, source, again);
    q.emplace<counted>(micros{last_at}, 10'001, 1);      // into the bucket being drained: the late heap
    q.emplace<counted>(micros{100'000'000}, 10'002, 2);  // beyond the ring's horizon: the far heap
    CHECK(q.size() == 1'503);
    // Clearing destroys what is pending, in both slabs.
    q.clear();
    CHECK(q.empty());
    CHECK(counted::alive == 0);
  }
  CHECK(counted::alive == 0);
}

TEST_CASE("the calendar queue pops exactly the order of a sorted list", "[sim]") {
  // Tiny buckets (4 us) and a tiny ring (8 buckets, a 32 us horizon), so that a few thousand
  // events wrap the ring many times, use the far heap and the late heap, and jump gaps.
  event_queue<std::uint64_t> q(2, 3);
  hearsay::rng random(11);
  std::set<std::pair<std::int64_t, std::uint64_t>> expected;  // (time, sequence) of queued events
  std::int64_t now = 0;
  std::uint64_t seq = 0;
  for (int round = 0; round < 20'000; ++round) {
    // The first half mostly grows the queue; the second half mostly drains it, often to
    // empty, so that the calendar has to jump over empty stretches to the far heap.
    const auto action = random.below(10);
    const std::uint64_t push_share = round < 10'000 ? 6 : 3;
    if (action < push_share || q.empty()) {
      // Mostly near (within the ring), sometimes now, sometimes far beyond the horizon.
      const auto kind = random.below(10);
      std::int64_t delay = static_cast<std::int64_t>(random.below(40));
      if (kind == 0) delay = 0;
      if (kind == 1) delay = static_cast<std::int64_t>(random.below(5'000));
      q.push(micros{now + delay}, seq);
      expected.emplace(now + delay, seq);
      ++seq;
    } else if (action < push_share + 1) {
      // Peeking may move the calendar ahead of the clock; later pushes at the clock must
      // still come out first. Preparing the next bucket early must not change the order.
      const auto t = q.next_time().count();
      REQUIRE(t >= now);
      if (random.chance(0.5)) q.prepare_next();
    } else {
      const auto e = q.pop();
      REQUIRE(e.at.count() == expected.begin()->first);
      REQUIRE(e.payload == expected.begin()->second);
      expected.erase(expected.begin());
      now = e.at.count();
    }
    REQUIRE(q.size() == expected.size());
  }
  for (const auto& x : expected) {
    const auto e = q.pop();
    REQUIRE(e.at.count() == x.first);
    REQUIRE(e.payload == x.second);
  }
  CHECK(q.empty());
  CHECK(q.scheduled() == seq);
}

TEST_CASE("peek sees into the next bucket once it is prepared, until a push undoes it", "[sim]") {
  // Buckets of 4 us: times 4-7 are bucket 1, 8-11 bucket 2 (bucket 0, the clock's, would
  // take pushes into the late heap).
  event_queue<std::uint64_t> q(2, 3);
  for (const std::int64_t t : {4, 5, 6, 9, 10, 11}) q.push(micros{t}, static_cast<std::uint64_t>(t));
  CHECK(q.pop().payload == 4);           // bucket 1 is current: 5 and 6 are left in it
  REQUIRE(q.peek(1) != nullptr);
  CHECK(*q.peek(1) == 6);
  CHECK(q.peek(2) == nullptr);           // past the current bucket, not prepared
  q.prepare_next();
  REQUIRE(q.peek(2) != nullptr);
  CHECK(*q.peek(2) == 9);                // bucket 2 in order, after the current one
  CHECK(*q.peek(4) == 11);
  CHECK(q.peek(5) == nullptr);
  q.push(micros{8}, 8);                  // into bucket 2: no longer prepared
  CHECK(q.peek(2) == nullptr);
  q.prepare_next();                      // prepared again, with the new record in its place
  REQUIRE(q.peek(2) != nullptr);
  CHECK(*q.peek(2) == 8);
  const std::uint64_t order[] = {5, 6, 8, 9, 10, 11};
  for (const std::uint64_t want : order) CHECK(q.pop().payload == want);
  CHECK(q.empty());
}

TEST_CASE("latency models stay within their parameters", "[sim]") {
  latency_model m;
  REQUIRE(m.parse("constant:25").ok());
  CHECK(m.link(1, 3, 4) == micros{25'000});

  REQUIRE(m.parse("uniform:10:20").ok());
  std::int64_t lo = 1'000'000'000, hi = 0;
  double sum = 0;
  const int n = 20'000;
  for (int i = 0; i < n; ++i) {
    const auto l = m.link(7, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + 1)).count();
    lo = std::min(lo, l);
    hi = std::max(hi, l);
    sum += static_cast<double>(l);
  }
  CHECK(lo >= 10'000);
  CHECK(hi <= 20'000);
  CHECK(lo < 10'100);  // the whole range is used
  CHECK(hi > 19'900);
  CHECK(std::abs(sum / n - 15'000) < 150);  // mean of uniform[10,20] ms

  REQUIRE(m.parse("lognormal:50:0.5").ok());
  std::vector<std::int64_t> draws;
  for (int i = 0; i < n; ++i) draws.push_back(m.link(9, static_cast<std::uint32_t>(i), 1'000'000).count());
  std::sort(draws.begin(), draws.end());
  const double median = static_cast<double>(draws[draws.size() / 2]);
  CHECK(std::abs(median - 50'000) < 2'000);  // median = exp(mu)
  // For sigma 0.5, the 84th percentile sits at median * e^0.5.
  const double p84 = static_cast<double>(draws[static_cast<std::size_t>(0.8413 * n)]);
  CHECK(std::abs(p84 / 50'000 - std::exp(0.5)) < 0.05);

  // A link's latency is the same both ways and for every message (so links stay FIFO).
  CHECK(m.link(3, 10, 20) == m.link(3, 20, 10));
  CHECK(m.link(3, 10, 20) == m.link(3, 10, 20));

  CHECK_FALSE(m.parse("uniform:20:10").ok());
  CHECK_FALSE(m.parse("gaussian:1").ok());
  CHECK_FALSE(m.parse("constant:abc").ok());
}

TEST_CASE("same seed and scenario: byte-identical report; another seed: another fingerprint", "[sim]") {
  const auto s = small(1'500);
  auto report = [](const scenario& sc) {
    simulator sim(sc);
    return format_report(sc, sim.run());
  };
  const auto a = report(s);
  const auto b = report(s);
  CHECK(a == b);
  auto other = s;
  other.seed = 2;
  const auto c = report(other);
  CHECK(a != c);
  CHECK(a.find("fingerprint: ") != std::string::npos);
  CHECK(a.substr(a.find("fingerprint: ")) != c.substr(c.find("fingerprint: ")));
}

TEST_CASE("the number of event-loop threads changes nothing but speed", "[sim]") {
  // Joins, shuffles, searches, and every kind of fault that crosses between workers: crashes,
  // graceful leaves, churn sessions, late joiners, loss and a partition. Uniform latency has
  // a positive minimum, so the parallel windows are used.
  auto s = small(1'200);
  s.stabilize = micros{20'000'000};
  s.queries = 150;
  s.crash_fraction = 0.05;
  s.crash_at = micros{300'000};
  s.leave_fraction = 0.05;
  s.leave_at = micros{600'000};
  s.join_fraction = 0.05;
  s.join_period = micros{1'000'000};
  s.sessions = true;
  REQUIRE(s.session_length.parse("exp:30").ok());
  REQUIRE(s.downtime.parse("exp:5").ok());
  s.graceful_share = 0.5;
  s.loss = 0.01;
  s.partition_at = micros{200'000};
  s.partition_duration = micros{400'000};
  s.partition_fraction = 0.3;
  s.report_interval = micros{250'000};
  std::vector<std::string> reports;
  std::vector<std::uint64_t> after;  // events and links after running on past the end
  for (std::uint32_t threads : {1u, 2u, 3u}) {
    s.threads = threads;
    simulator sim(s);
    CHECK(sim.threads() == threads);
    reports.push_back(format_report(s, sim.run()));
    // The helper threads stop when run() ends; the event loop goes on without them.
    sim.run_until(sim.now() + micros{5'000'000});
    const auto h = sim.measure_health();
    after.push_back(sim.events_processed() * 1'000'003 + h.links_directed * 1'009 + h.links_asymmetric);
  }
  CHECK(reports[0] == reports[1]);
  CHECK(reports[0] == reports[2]);
  CHECK(after[0] == after[1]);
  CHECK(after[0] == after[2]);
  // The run did exercise the faults.
  CHECK(reports[0].find("peers running") != std::string::npos);

  // A model without a positive minimum latency leaves no window: one thread.
  REQUIRE(s.latency.parse("lognormal:30:1.0").ok());
  s.threads = 2;
  simulator lognormal(s);
  CHECK(lognormal.threads() == 1);
}

TEST_CASE("a balloon that reports free pages to its host is recognised from sysfs", "[sim]") {
  // A stand-in for /sys/bus/virtio/devices: one directory per device, with its type in hex
  // and its negotiated features as a string of bits, bit 0 first.
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("hearsay-virtio-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto device = [&](const std::string& name, const std::string& type, const std::string& features) {
    fs::create_directories(root / name);
    std::ofstream(root / name / "device") << type << "\n";
    std::ofstream(root / name / "features") << features << "\n";
  };
  const std::string reporting = "0110010100000000000000000000000010000000";  // bit 5 set
  const std::string no_reporting = "0110000100000000000000000000000010000000";
  device("virtio0", "0x0001", reporting);  // a network card: feature 5 means something else
  device("virtio1", "0x0002", reporting);  // a block device
  CHECK_FALSE(host_reclaims_free_memory(root.c_str()));
  device("virtio2", "0x0005", no_reporting);  // a balloon without free page reporting
  CHECK_FALSE(host_reclaims_free_memory(root.c_str()));
  device("virtio3", "0x0005", "0110");  // features cut short: not bit 5
  CHECK_FALSE(host_reclaims_free_memory(root.c_str()));
  device("virtio4", "0x0005", reporting);
  CHECK(host_reclaims_free_memory(root.c_str()));
  fs::remove_all(root);
  CHECK_FALSE(host_reclaims_free_memory(root.c_str()));  // no such directory: no virtio at all
}

TEST_CASE("the page size of the node array changes nothing but speed", "[sim]") {
  // HEARSAY_HUGE_PAGES=0 keeps the nodes in ordinary memory; otherwise (where the kernel
  // allows huge pages at all) they get a mapping of their own, asked for huge pages. A churned
  // peer is rebuilt in place, so churn runs through both as well.
  auto s = small(600);
  s.queries = 60;
  s.join_fraction = 0.05;
  s.join_period = micros{1'000'000};
  s.sessions = true;
  REQUIRE(s.session_length.parse("exp:30").ok());
  REQUIRE(s.downtime.parse("exp:5").ok());
  const char* before = std::getenv("HEARSAY_HUGE_PAGES");
  const std::string saved = before == nullptr ? "" : before;
  std::vector<std::string> reports;
  std::vector<std::string> pages;
  for (const char* setting : {"0", "auto"}) {
    setenv("HEARSAY_HUGE_PAGES", setting, 1);
    pages.emplace_back(page_size_in_use());
    CHECK(huge_pages_for_arrays() == (std::string(setting) != "0" && pages.back() != "4 KiB pages"));
    simulator sim(s);
    reports.push_back(format_report(s, sim.run()));
  }
  if (before == nullptr) {
    unsetenv("HEARSAY_HUGE_PAGES");
  } else {
    setenv("HEARSAY_HUGE_PAGES", saved.c_str(), 1);
  }
  CHECK(pages[0] == "4 KiB pages");
  CHECK(reports[0] == reports[1]);
  CHECK(reports[0].find("success rate") != std::string::npos);
}

TEST_CASE("the wire codec switch changes nothing but speed", "[sim]") {
  auto s = small(800);
  s.queries = 50;
  simulator fast(s);
  const auto a = format_report(s, fast.run());
  s.wire_codec = true;
  simulator wire(s);
  auto b = format_report(s, wire.run());
  // The scenario line names the codec; every result, and so the rest, must be equal.
  const auto strip = [](std::string text) {
    const auto at = text.find(", wire codec on");
    if (at != std::string::npos) text.erase(at, std::string(", wire codec on").size());
    return text.substr(0, text.find("fingerprint: "));
  };
  CHECK(strip(a) == strip(b));
}

namespace {
// Counts the messages in flight on each directed link.
class in_flight_counter final : public network_tap {
 public:
  void on_send(micros, std::uint32_t from, std::uint32_t to, const message&) override { ++flight_[key(from, to)]; }
  void on_deliver(micros, std::uint32_t from, std::uint32_t to, const message&) override { --flight_[key(from, to)]; }
  void on_refuse(micros, std::uint32_t from, std::uint32_t to, const message&) override { --flight_[key(from, to)]; }
  bool any_between(std::uint32_t a, std::uint32_t b) const { return count(a, b) + count(b, a) > 0; }

 private:
  static std::uint64_t key(std::uint32_t from, std::uint32_t to) { return std::uint64_t{from} << 32 | to; }
  std::int64_t count(std::uint32_t from, std::uint32_t to) const {
    const auto it = flight_.find(key(from, to));
    return it == flight_.end() ? 0 : it->second;
  }
  std::map<std::uint64_t, std::int64_t> flight_;
};
}  // namespace

TEST_CASE("after joins and stabilisation the overlay is connected and views are in bounds", "[sim]") {
  // Several seeds and a few instants each (right after stabilisation, then while shuffles go
  // on), so that some links are caught half made.
  const auto seed = GENERATE(1, 2, 3, 4, 5, 6);
  auto s = small(2'000);
  s.seed = static_cast<std::uint64_t>(seed);
  simulator sim(s);
  in_flight_counter flight;
  sim.set_tap(&flight);
  sim.build_overlay();
  for (int look = 0; look < 3; ++look) {
    if (look > 0) sim.run_until(sim.now() + micros{7'777'000});
    const auto h = sim.measure_health();
    CHECK(h.peers_running == 2'000);
    CHECK(h.largest_component == 2'000);
    CHECK(h.components == 1);
    CHECK(h.active_min >= 1);
    CHECK(h.active_max <= s.node.membership.view_size_active);
    CHECK(h.active_mean > 4.5);
    // Active links are symmetric, except while the message that completes a link (an
    // accepting NEIGHBOR reply, say) or ends it is still on its way between the two peers.
    std::uint64_t one_sided = 0;
    for (std::uint32_t a = 0; a < sim.size(); ++a) {
      for (const auto& p : sim.peer(a).members().active()) {
        const std::uint32_t b = sim.peer_at(p);
        if (sim.peer(b).members().is_active(address_of(a))) continue;
        ++one_sided;
        INFO("peer " << a << " lists " << b << " at " << sim.now().count() << " us");
        CHECK(flight.any_between(a, b));
      }
    }
    CHECK(one_sided == h.links_asymmetric);
    for (std::uint32_t i = 0; i < sim.size(); ++i) {
      REQUIRE(sim.peer(i).members().passive().size() <= s.node.membership.view_size_passive);
    }
  }
}

TEST_CASE("a thousand seeds of 10,000 peers make one overlay", "[sim]") {
  // Seeds start one after another, each joining the seeds already up; any number of them
  // must give one overlay (66 components before seeds kept links to the seeds below them).
  scenario s;
  s.seed_count = 1'000;
  simulator sim(s);
  sim.build_overlay();
  const auto h = sim.measure_health();
  CHECK(h.peers_running == 10'000);
  CHECK(h.components == 1);
}

TEST_CASE("with many replicas every search succeeds; hits come back with sane hops", "[sim]") {
  auto s = small(1'000);
  s.replication = 200;
  s.node.search.ttl = 4;
  simulator sim(s);
  const auto r = sim.run();
  const auto m = summarize(s, r);
  CHECK(m.queries == 100);
  CHECK(m.success_rate == 1.0);
  CHECK(m.hops_max <= 4);
  CHECK(m.hops_mean >= 1.0);
  CHECK(m.first_hit_p50_us > 0);
  // Latency at least one round trip over the fastest links (10 ms each way).
  for (const auto& q : r.queries) {
    REQUIRE(q.first_hit.count() >= 20'000);
    REQUIRE(q.first_hit.count() >= 2 * 10'000 * q.first_hit_hops);
  }
}

TEST_CASE("TTL 1 reaches only the origin's direct neighbours", "[sim]") {
  auto s = small(1'000);
  s.node.search.ttl = 1;
  s.node.search.fanout = 64;  // every neighbour
  simulator sim(s);
  const auto r = sim.run();
  for (const auto& q : r.queries) {
    const auto neighbours = static_cast<std::uint32_t>(sim.peer(q.origin).members().active().size());
    // Views change little in 1 s of queries; the copies sent equal the origin's degree.
    REQUIRE(q.query_messages <= s.node.membership.view_size_active);
    REQUIRE(q.reached == q.query_messages);  // no relay forwards
    REQUIRE(q.duplicates == 0);
    REQUIRE(neighbours >= 1);
    if (q.hits > 0) REQUIRE(q.first_hit_hops == 1);
  }
}

TEST_CASE("flood reach grows with TTL and messages with fan-out", "[sim]") {
  auto base = small(1'500);
  base.queries = 40;
  auto reach = [](scenario s) {
    simulator sim(s);
    return summarize(s, sim.run());
  };
  auto t2 = base;
  t2.node.search.ttl = 2;
  auto t4 = base;
  t4.node.search.ttl = 4;
  const auto a = reach(t2), b = reach(t4);
  CHECK(b.reached_mean > 3 * a.reached_mean);
  CHECK(b.success_rate >= a.success_rate);
  auto f1 = t4;
  f1.node.search.fanout = 1;
  const auto c = reach(f1);
  CHECK(c.query_messages_mean <= 4.0 + 1e-9);  // one copy per hop, TTL 4
  CHECK(c.query_messages_mean < b.query_messages_mean);
}

TEST_CASE("crashed peers are dropped from views and the overlay stays connected", "[sim]") {
  auto s = small(1'000);
  s.queries = 0;
  simulator sim(s);
  sim.build_overlay();
  for (std::uint32_t i = 0; i < 1'000; i += 10) sim.crash(i);  // 10%
  sim.run_until(sim.now() + micros{60'000'000});
  const auto h = sim.measure_health();
  CHECK(h.peers_running == 900);
  CHECK(h.largest_component == 900);
  for (std::uint32_t i = 0; i < sim.size(); ++i) {
    if (i % 10 == 0) continue;
    for (const auto& p : sim.peer(i).members().active()) REQUIRE(sim.peer_at(p) % 10 != 0);
  }
}

TEST_CASE("scenario files: keys load, errors name file:line", "[sim]") {
  // The message of a failed call; empty when it succeeded.
  auto problem = [](const hearsay::result<>& r) { return r ? std::string() : r.error().what(); };
  scenario s;
  REQUIRE(load_scenario_text("peers = 500\nseed = 9\n[overlay]\nfanout = 3\nttl = 6\n[network]\n"
                             "latency = \"constant:20\"\n[workload]\nreplication = 5\n",
                             "t.toml", s)
              .ok());
  CHECK(s.peers == 500);
  CHECK(s.seed == 9);
  CHECK(s.node.search.fanout == 3);
  CHECK(s.node.search.ttl == 6);
  CHECK(s.latency.link(1, 1, 2) == micros{20'000});
  CHECK(s.replication == 5);

  scenario t;
  CHECK(problem(load_scenario_text("peers = 10\n\n[overlay]\nfanuot = 3\n", "bad.toml", t)) ==
        "bad.toml:4: unknown key 'overlay.fanuot'");
  CHECK(problem(load_scenario_text("peers = \"many\"\n", "bad.toml", t)) == "bad.toml:1: peers: expected an integer");
  CHECK(problem(load_scenario_text("[overlay]\nttl = 0\n", "bad.toml", t))
            .rfind("bad.toml:2: overlay.ttl: must be between", 0) == 0);
  CHECK(problem(load_scenario_text("peers = -5\n", "bad.toml", t)) == "bad.toml:1: peers: must not be negative");
  // More threads than the event loop can hand work between is refused, not a crash later.
  CHECK(problem(load_scenario_text("threads = 64\n", "bad.toml", t))
            .rfind("bad.toml:1: threads: must be between 0 and 63", 0) == 0);
  CHECK(load_scenario_text("threads = 63\n", "ok.toml", t).ok());
  CHECK(problem(load_scenario_text("[network]\nlatency = \"uniform:9\"\n", "bad.toml", t))
            .rfind("bad.toml:2: network.latency: ", 0) == 0);
  // A syntax error: file:line:col, the line, and a caret under the column.
  const std::string syntax = problem(load_scenario_text("peers = 10\npeers = [\n", "syntax.toml", t));
  CHECK(syntax.rfind("syntax.toml:2:", 0) == 0);
  CHECK(syntax.find("\n  peers = [\n  ") != std::string::npos);
  CHECK(syntax.back() == '^');
  CHECK(problem(load_scenario_text("peers = 10\n  x = = 1\n", "syntax.toml", t)).find("\n    x = = 1\n        ^") !=
        std::string::npos);
  // A file that cannot be read is named.
  CHECK(problem(load_scenario_file("no-such-folder/scenario.toml", t)) ==
        "no-such-folder/scenario.toml: No such file or directory");

  // A real file, through the same path as --scenario.
  const std::string path = "hearsay_scenario_test.toml";
  {
    std::ofstream f(path);
    f << "# comment\npeers = 100\n[join]\nseeds = 2\nbogus = 1\n";
  }
  CHECK(problem(load_scenario_file(path, t)) == path + ":5: unknown key 'join.bogus'");
  std::remove(path.c_str());
  const auto missing = load_scenario_file("no-such-file.toml", t);
  CHECK_FALSE(missing.ok());
  CHECK(problem(missing).find("no-such-file.toml") != std::string::npos);

  // Flags set the same keys.
  CHECK(set_key(t, "overlay.fanout", "7").ok());
  CHECK(t.node.search.fanout == 7);
  CHECK_FALSE(set_key(t, "overlay.fanout", "x").ok());
  CHECK_FALSE(set_key(t, "nope", "1").ok());
  // Cross-field checks.
  scenario v;
  v.peers = 10;
  v.replication = 11;
  CHECK_FALSE(validate(v).ok());
}

TEST_CASE("every shipped scenario file loads and validates", "[sim]") {
  for (const char* name : {"default.toml", "small.toml", "flash-crowd.toml", "scale.toml", "scale-grown.toml",
                           "large-100k.toml", "eclipse.toml"}) {
    scenario s;
    INFO(name);
    REQUIRE(load_scenario_file(std::string(HEARSAY_SOURCE_DIR) + "/sim/scenarios/" + name, s).ok());
    CHECK(validate(s).ok());
  }
}

TEST_CASE("default.toml is exactly the built-in defaults", "[sim]") {
  scenario from_file;
  REQUIRE(load_scenario_file(std::string(HEARSAY_SOURCE_DIR) + "/sim/scenarios/default.toml", from_file).ok());
  scenario built_in;
  // Compare through a small run of each: every parameter shows in the report or its results.
  from_file.peers = built_in.peers = 400;
  from_file.queries = built_in.queries = 30;
  from_file.stabilize = built_in.stabilize = micros{20'000'000};
  simulator a(from_file), b(built_in);
  CHECK(format_report(from_file, a.run()) == format_report(built_in, b.run()));
  // And with downloads on, which brings in the [download], [fetch] and file-size defaults.
  from_file.download.enabled = built_in.download.enabled = true;
  simulator c(from_file), d(built_in);
  const auto with_downloads = format_report(from_file, c.run());
  CHECK(with_downloads == format_report(built_in, d.run()));
  CHECK(with_downloads.find("time to file p50") != std::string::npos);
}

TEST_CASE("the EC2 region model uses the published round trips", "[sim]") {
  latency_model m;
  REQUIRE(m.parse("regions:ec2").ok());
  CHECK(m.region_of(0) == 0);   // us-east-1
  CHECK(m.region_of(8) == 2);   // eu-west-1: peers are spread round robin over 6 regions
  for (std::uint32_t k = 0; k < 50; ++k) {
    // us-east-1 <-> eu-west-1: RTT 80.5 ms, so one way 40.25 ms plus up to 10 %.
    const auto l = m.link(k, 6 * k, 6 * k + 2).count();
    REQUIRE(l >= 40'250);
    REQUIRE(l <= 44'275);
    // Within one region: 1 ms RTT.
    const auto local = m.link(k, 6 * k, 6 * k + 6).count();
    REQUIRE(local >= 500);
    REQUIRE(local <= 550);
  }
  // Frankfurt <-> Singapore is the longest pair.
  const auto far = m.link(3, 3, 5).count();
  CHECK(far >= 162'950);
  CHECK_FALSE(m.parse("regions:gcp").ok());
  CHECK_FALSE(m.parse("regions:ec2:-1").ok());
}

TEST_CASE("default.toml documents every scenario key", "[sim]") {
  std::ifstream f(std::string(HEARSAY_SOURCE_DIR) + "/sim/scenarios/default.toml");
  std::stringstream text;
  text << f.rdbuf();
  // Collect "section.key" for every assignment in the file.
  std::set<std::string> present;
  std::string section, line;
  while (std::getline(text, line)) {
    const auto first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] == '#') continue;
    if (line[first] == '[') {
      section = line.substr(first + 1, line.find(']') - first - 1);
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto key = line.substr(first, eq - first);
    key.erase(key.find_last_not_of(' ') + 1);
    present.insert(section.empty() ? key : section + "." + key);
  }
  for (const auto& k : keys()) {
    INFO(k.name);
    CHECK(present.count(k.name) == 1);
  }
}
