// Static topologies, and flooding on them checked against breadth-first search.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "overlay/rng.hpp"
#include "sim/report.hpp"
#include "sim/simulator.hpp"
#include "sim/topology.hpp"
#include "tests/sim/graphs.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {

using hearsay::sim::test::make;
}  // namespace

TEST_CASE("generated graphs have the shape they promise", "[sim][topology]") {
  const auto reg = make("regular:6", 2'000);
  for (std::uint32_t i = 0; i < reg.n; ++i) REQUIRE(reg.degree(i) == 6);
  CHECK(reg.edges() == 6'000);

  const auto er = make("er:8", 20'000);
  const double mean = 2.0 * static_cast<double>(er.edges()) / er.n;
  CHECK(std::abs(mean - 8.0) < 0.1);  // E[degree] = p (n - 1) = 8; sd of the mean ~ 0.03
  // Degrees of G(n, p) are binomial, close to Poisson(8): variance ~ 8.
  double var = 0;
  for (std::uint32_t i = 0; i < er.n; ++i) var += (er.degree(i) - mean) * (er.degree(i) - mean);
  var /= er.n;
  CHECK(std::abs(var - 8.0) < 0.5);

  const auto ba = make("ba:3", 20'000);
  std::uint32_t min_degree = ~0u, max_degree = 0;
  for (std::uint32_t i = 0; i < ba.n; ++i) {
    min_degree = std::min(min_degree, ba.degree(i));
    max_degree = std::max(max_degree, ba.degree(i));
  }
  CHECK(min_degree >= 3);
  CHECK(ba.edges() == 6 + 3ull * (20'000 - 4));  // a K4 core, then m = 3 per node
  CHECK(max_degree > 100);  // a power-law tail: hubs far above the mean of ~6

  const auto ring = make("ring:2", 100);
  for (std::uint32_t i = 0; i < ring.n; ++i) REQUIRE(ring.degree(i) == 4);
  const auto d = bfs_distances(ring, 0);
  CHECK(d[50] == 25);  // 50 steps around, 2 per hop
  CHECK(d[1] == 1);
  CHECK(d[99] == 1);
}

TEST_CASE("bad topology specs and edge lists are refused", "[sim][topology]") {
  topology_spec t;
  CHECK_FALSE(t.parse("regular").ok());
  CHECK_FALSE(t.parse("regular:2.5").ok());
  CHECK_FALSE(t.parse("er:-1").ok());
  CHECK_FALSE(t.parse("torus:3").ok());
  CHECK(t.parse("file:edges.txt").ok());

  {
    std::ofstream f("topology-test-edges.txt");
    f << "# a triangle and a tail\n0 1\n1 2\n2 0\n\n2 3  # tail\n";
  }
  REQUIRE(t.parse("file:topology-test-edges.txt").ok());
  rng random(1);
  const auto g = build_graph(t, 4, random);
  REQUIRE(g.ok());
  CHECK(g->edges() == 4);
  CHECK(g->degree(2) == 3);
  const auto too_few = build_graph(t, 3, random);
  REQUIRE_FALSE(too_few.ok());
  CHECK(too_few.error().what() == "topology-test-edges.txt:6: node index out of range (peers = 3)");
  {
    std::ofstream f("topology-test-edges.txt");
    f << "0 1\n1 x\n";
  }
  const auto malformed = build_graph(t, 4, random);
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.error().what() == "topology-test-edges.txt:2: expected two node indices");
  // The simulator refuses such a topology when it is set up, with the same message.
  scenario s;
  s.peers = 4;
  s.files = 1;
  s.replication = 1;
  s.seed_count = 1;
  s.topology = t;
  const auto made = simulator::create(s);
  REQUIRE_FALSE(made.ok());
  CHECK(made.error().what() == "topology-test-edges.txt:2: expected two node indices");
  std::remove("topology-test-edges.txt");
}

TEST_CASE("kout:K links every peer to K distinct random others, undirected, the same for a seed", "[sim][topology]") {
  const std::uint32_t n = 5'000, k = 4;
  const auto g = make("kout:4", n);
  std::uint64_t degree_sum = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    REQUIRE(g.degree(i) >= k);  // its own K picks, none of them itself (from_edges keeps lists sorted and distinct)
    for (auto j : g.neighbours(i)) REQUIRE(j != i);
    degree_sum += g.degree(i);
  }
  // n K picks, each an undirected link unless the other side picked it too (about K^2 / 2 of
  // them in all, whatever n).
  CHECK(g.edges() <= std::uint64_t{n} * k);
  CHECK(g.edges() >= std::uint64_t{n} * k - 50);
  CHECK(degree_sum == 2 * g.edges());
  // The same seed gives the same graph; another seed another.
  const auto again = make("kout:4", n);
  CHECK(again.offsets == g.offsets);
  CHECK(again.targets == g.targets);
  const auto other = make("kout:4", n, 2);
  CHECK(other.targets != g.targets);
  // K may be as large as n - 1: then it is the complete graph.
  const auto full = make("kout:9", 10);
  for (std::uint32_t i = 0; i < 10; ++i) CHECK(full.degree(i) == 9);

  topology_spec t;
  REQUIRE(t.parse("kout:4").ok());
  CHECK(t.shape == topology_spec::kind::k_out);
  CHECK(t.is_static());
  CHECK(t.describe() == "k-out graph, 4 random links per peer, undirected");
  CHECK_FALSE(t.parse("kout").ok());
  CHECK_FALSE(t.parse("kout:0").ok());
  CHECK_FALSE(t.parse("kout:2.5").ok());
  CHECK_FALSE(t.parse("kout:4:sideways").ok());
  const auto directed = t.parse("kout:4:directed");
  REQUIRE_FALSE(directed.ok());
  CHECK(directed.error().what().find("kout:K:directed is not supported") != std::string::npos);
  REQUIRE(t.parse("kout:10").ok());
  rng random(1);
  const auto too_many = build_graph(t, 10, random);
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.error().what() == "topology: kout:K needs K < peers");
}

TEST_CASE("an edge list round-trips through the binary form to the same graph", "[sim][topology]") {
  const auto original = make("er:6", 3'000, 7);
  {
    std::ofstream f("topology-test-roundtrip.txt");
    f << "# an Erdos-Renyi graph, each edge once and a few twice, both ways\n";
    std::uint32_t k = 0;
    for (std::uint32_t a = 0; a < original.n; ++a) {
      for (auto b : original.neighbours(a)) {
        if (b < a) continue;
        f << a << (k % 3 == 0 ? "\t" : " ") << b << (k % 5 == 0 ? "  # a comment\r\n" : "\n");
        if (k++ % 97 == 0) f << b << ' ' << a << '\n';  // a repeat, the other way round
      }
    }
  }
  auto text = read_edge_file("topology-test-roundtrip.txt", original.n);
  REQUIRE(text.ok());
  CHECK(text->edges.size() > original.edges());  // the repeats are read as written
  const auto from_text = graph::from_edges(original.n, text->edges);
  CHECK(from_text.offsets == original.offsets);
  CHECK(from_text.targets == original.targets);

  REQUIRE(write_edge_file("topology-test-roundtrip.bin", from_text).ok());
  auto binary = read_edge_file("topology-test-roundtrip.bin", original.n);
  REQUIRE(binary.ok());
  CHECK(binary->peers == original.n);
  CHECK(binary->edges.size() == original.edges());  // written once each
  const auto from_binary = graph::from_edges(original.n, binary->edges);
  CHECK(from_binary.offsets == original.offsets);
  CHECK(from_binary.targets == original.targets);
  // Written again from what was read, the file is the same, byte for byte.
  REQUIRE(write_edge_file("topology-test-roundtrip2.bin", from_binary).ok());
  auto bytes = [](const char* path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(bytes("topology-test-roundtrip.bin") == bytes("topology-test-roundtrip2.bin"));
  CHECK(bytes("topology-test-roundtrip.bin").size() == 20 + 8 * original.edges());
  // And a run set up on either file gets the same graph.
  for (const char* spec : {"file:topology-test-roundtrip.txt", "file:topology-test-roundtrip.bin"}) {
    topology_spec t;
    REQUIRE(t.parse(spec).ok());
    rng random(1);
    const auto g = build_graph(t, original.n, random);
    REQUIRE(g.ok());
    CHECK(g->targets == original.targets);
  }
  std::remove("topology-test-roundtrip.txt");
  std::remove("topology-test-roundtrip.bin");
  std::remove("topology-test-roundtrip2.bin");
}

TEST_CASE("malformed edge lists are refused with the file and line", "[sim][topology]") {
  const char* path = "topology-test-malformed.txt";
  auto problem = [&](const std::string& content, std::uint32_t peers = 10) {
    {
      std::ofstream f(path, std::ios::binary);
      f << content;
    }
    auto r = read_edge_file(path, peers);
    std::remove(path);
    return r.ok() ? std::string("ok") : r.error().what();
  };
  const std::string at = std::string(path) + ":";
  CHECK(problem("0 1\n1 2\n2 3") == "ok");  // no newline at the end
  CHECK(problem("") == "ok");
  CHECK(problem("# nothing but comments\n\n   \n\t# indented\n") == "ok");
  CHECK(problem(" 0\t 1 \r\n") == "ok");
  CHECK(problem("0 1\n# c\n\n1 2 3\n") == at + "4: expected two node indices");
  CHECK(problem("0 1\n 2\n") == at + "2: expected two node indices");
  CHECK(problem("0 1\n2 #3\n") == at + "2: expected two node indices");
  CHECK(problem("0,1\n") == at + "1: expected two node indices");
  CHECK(problem("01\n") == at + "1: expected two node indices");
  CHECK(problem("0 -1\n") == at + "1: expected two node indices");
  CHECK(problem("0 +1\n") == at + "1: expected two node indices");
  CHECK(problem("0 1x\n") == at + "1: expected two node indices");
  CHECK(problem("a b\n") == at + "1: expected two node indices");
  CHECK(problem("0 1\n\n\n3 10\n") == at + "4: node index out of range (peers = 10)");
  CHECK(problem("99999999999999999999999 1\n") == at + "1: node index out of range (peers = 10)");
  CHECK(problem("0 1\n1 2\n", 2) == at + "2: node index out of range (peers = 2)");

  // The binary form: the header must announce what follows, for no more peers than the run's.
  auto binary = [&](std::uint32_t peers, std::uint64_t count, std::vector<std::uint32_t> ends,
                    std::uint32_t run_peers = 10) {
    std::string content = "HSYEDGE1";
    for (int b = 0; b < 4; ++b) content += static_cast<char>(peers >> (8 * b));
    for (int b = 0; b < 8; ++b) content += static_cast<char>(count >> (8 * b));
    for (auto e : ends) {
      for (int b = 0; b < 4; ++b) content += static_cast<char>(e >> (8 * b));
    }
    return problem(content, run_peers);
  };
  CHECK(binary(4, 2, {0, 1, 2, 3}) == "ok");
  CHECK(binary(4, 3, {0, 1, 2, 3}) == std::string(path) + ": the header announces 3 edges, the file holds 2");
  CHECK(binary(4, 2, {0, 1, 2, 3, 4}) == std::string(path) + ": the header announces 2 edges, the file holds 2 and a part");
  CHECK(binary(4, 2, {0, 1, 2, 4}) == std::string(path) + ": edge 2: node index out of range (the header says 4 peers)");
  CHECK(binary(20, 1, {0, 1}) == std::string(path) + ": edges among 20 peers (peers = 10)");
  CHECK(problem("HSYEDGE1\x04") == std::string(path) + ": truncated header");
  const auto missing = read_edge_file("topology-test-no-such-file.txt", 10);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == std::errc::no_such_file_or_directory);
  CHECK(missing.error().what().rfind("topology-test-no-such-file.txt: cannot open", 0) == 0);
}

TEST_CASE("a flood on a static graph reaches exactly the BFS ball, with the predicted messages", "[sim][topology]") {
  for (const char* spec : {"er:5", "regular:4", "ba:2", "kout:2"}) {
    for (std::uint8_t ttl = 1; ttl <= 4; ++ttl) {
      INFO(spec << " ttl " << int(ttl));
      scenario s;
      s.peers = 3'000;
      REQUIRE(s.topology.parse(spec).ok());
      s.node.search.ttl = ttl;
      s.node.search.fanout = 1'000'000;  // every neighbour, hubs included: a pure flood
      s.node.search.queries_per_neighbor_per_s = 0;
      s.node.search.hits_per_query_max = 255;  // above the 30 copies of a file: no hit is capped
      REQUIRE(s.latency.parse("constant:10"));  // equal latencies: first copies arrive in BFS order
      s.files = 50;
      s.replication = 30;
      s.queries = 25;
      s.query_interval = micros{5'000'000};  // queries never overlap
      simulator sim(s);
      const auto r = sim.run();
      const graph& g = sim.static_graph();
      for (const auto& q : r.queries) {
        const auto dist = bfs_distances(g, q.origin);
        std::uint32_t ball = 0;
        std::uint64_t messages = g.degree(q.origin);
        for (std::uint32_t v = 0; v < g.n; ++v) {
          if (v == q.origin || dist[v] > ttl) continue;
          ++ball;
          if (dist[v] < ttl) messages += g.degree(v) - 1;  // all but the sender
        }
        REQUIRE(q.reached == ball);
        REQUIRE(q.query_messages == messages);
        REQUIRE(q.duplicates == messages - ball);  // every copy beyond the first is a duplicate
        if (q.hits > 0) REQUIRE(q.first_hit_hops <= ttl);
      }
    }
  }
}

TEST_CASE("the four strategies compared on one workload", "[sim][strategy]") {
  auto run = [](const char* strategy) {
    scenario s;
    s.peers = 2'000;
    s.stabilize = micros{20'000'000};
    s.files = 100;
    s.replication = 10;
    s.queries = 150;
    s.query_interval = micros{100'000};
    REQUIRE(set_key(s, "overlay.strategy", strategy).ok());
    simulator sim(s);
    return summarize(s, sim.run());
  };
  const auto flood = run("flood"), gossip = run("gossip"), ring = run("expanding_ring"), walk = run("random_walk");
  for (const auto* m : {&flood, &gossip, &ring, &walk}) CHECK(m->success_rate > 0.2);
  CHECK(gossip.query_messages_mean < flood.query_messages_mean);  // probabilistic pruning
  CHECK(ring.query_messages_mean < flood.query_messages_mean);    // most searches end early
  CHECK(ring.first_hit_p50_us > flood.first_hit_p50_us);          // paid for in latency
  // 16 walkers of at most 128 hops, plus check-backs every 4 hops (a check and an answer).
  CHECK(walk.query_messages_mean <= 16.0 * 128.0 * 1.5);
  CHECK(walk.hops_mean > flood.hops_mean);                          // walks wander far
}

TEST_CASE("disjoint sets find the components breadth-first search finds, whatever the order of the links", "[sim][topology]") {
  // Sparse random graphs (many components, some large) on 3,000 nodes, the links united in
  // the order drawn: each node's set must hold exactly the nodes its BFS reaches.
  for (const double mean_degree : {0.5, 1.0, 2.0, 6.0}) {
    rng random(static_cast<std::uint64_t>(mean_degree * 1000) + 7);
    const std::uint32_t n = 3000;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> links;
    const auto count = static_cast<std::size_t>(mean_degree * n / 2);
    for (std::size_t k = 0; k < count; ++k) {
      links.emplace_back(static_cast<std::uint32_t>(random.below(n)), static_cast<std::uint32_t>(random.below(n)));
    }
    const graph g = graph::from_edges(n, links);
    disjoint_sets sets(n);
    for (auto [a, b] : links) sets.unite(a, b);
    std::vector<std::uint32_t> label(n, ~0u);
    std::uint32_t components = 0;
    for (std::uint32_t s = 0; s < n; ++s) {
      if (label[s] != ~0u) continue;
      const auto d = bfs_distances(g, s);
      for (std::uint32_t v = 0; v < n; ++v) {
        if (d[v] != std::numeric_limits<std::uint32_t>::max()) label[v] = components;
      }
      ++components;
    }
    // Same set <=> same BFS component, checked through each node's root.
    std::vector<std::uint32_t> label_of_root(n, ~0u);
    std::uint32_t roots = 0;
    for (std::uint32_t v = 0; v < n; ++v) {
      const std::uint32_t r = sets.find(v);
      if (label_of_root[r] == ~0u) {
        label_of_root[r] = label[v];
        ++roots;
      }
      CHECK(label_of_root[r] == label[v]);
    }
    CHECK(roots == components);
    INFO("mean degree " << mean_degree << ": " << components << " components");
    CHECK(components > 1);
  }
}

TEST_CASE("a large shuffle draws and swaps as the plain Fisher-Yates shuffle", "[sim][topology]") {
  // rng::shuffle draws positions ahead on spans beyond 2^16 items (to overlap cache misses):
  // the same draws in the same order, so the same permutation and the same stream after it.
  for (const std::size_t n : {std::size_t{(1u << 16) + 1}, std::size_t{300'007}}) {
    std::vector<std::uint32_t> items(n), expected(n);
    for (std::size_t i = 0; i < n; ++i) items[i] = expected[i] = static_cast<std::uint32_t>(i);
    rng fast(12345 + n), plain(12345 + n);
    fast.shuffle(std::span<std::uint32_t>(items));
    for (std::size_t i = n; i > 1; --i) std::swap(expected[i - 1], expected[plain.below(i)]);
    CHECK(items == expected);
    CHECK(fast.next() == plain.next());
    std::size_t moved = 0;
    for (std::size_t i = 0; i < n; ++i) moved += items[i] != i ? std::size_t{1} : std::size_t{0};
    CHECK(moved > n * 9 / 10);
  }
}

TEST_CASE("a large edge list makes sorted, distinct lists without self-loops", "[sim][topology]") {
  // from_edges asks for the lines it will write early on large lists; what it writes is
  // checked against each node's neighbours collected and sorted the plain way.
  constexpr std::uint32_t n = 40'000;
  rng random(99);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
  for (int k = 0; k < 300'000; ++k) {
    const auto a = static_cast<std::uint32_t>(random.below(n));
    const auto b = k % 50 == 0 ? a : static_cast<std::uint32_t>(random.below(n));  // some self-loops
    edges.emplace_back(a, b);
    if (k % 20 == 0) edges.emplace_back(b, a);  // and some repeats
  }
  const graph g = graph::from_edges(n, edges);
  std::vector<std::vector<std::uint32_t>> expected(n);
  for (auto [a, b] : edges) {
    if (a == b) continue;
    expected[a].push_back(b);
    expected[b].push_back(a);
  }
  std::uint64_t ends = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    auto& e = expected[i];
    std::sort(e.begin(), e.end());
    e.erase(std::unique(e.begin(), e.end()), e.end());
    const auto got = g.neighbours(i);
    REQUIRE(std::vector<std::uint32_t>(got.begin(), got.end()) == e);
    ends += e.size();
  }
  CHECK(g.targets.size() == ends);
  CHECK(ends > 500'000);
}
