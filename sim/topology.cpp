// Static topologies (see topology.hpp).

#include "sim/topology.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

namespace hearsay::sim {

result<> topology_spec::parse(std::string_view text) {
  const auto colon = text.find(':');
  const auto name = text.substr(0, colon);
  const auto arg = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (name == "hyparview" && arg.empty()) {
    shape = kind::hyparview;
    return {};
  }
  if (name == "file") {
    if (arg.empty()) return failure("topology: file:PATH needs a path");
    shape = kind::edge_list;
    path = arg;
    return {};
  }
  if (name == "kout") {
    const auto second = arg.find(':');
    if (second != std::string_view::npos) {
      if (arg.substr(second + 1) != "directed") {
        return failure("topology: expected kout:K or kout:K:directed, got '" + std::string(text) + "'");
      }
      return failure("topology: kout:K:directed is not supported: a peer of a fixed graph takes queries only from its "
                     "own neighbours, so a one-way link would carry nothing; kout:K makes the links undirected");
    }
  }
  double v = 0;
  auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), v);
  const bool number = !arg.empty() && ec == std::errc{} && end == arg.data() + arg.size() && v > 0;
  if (name == "regular" || name == "ba" || name == "ring" || name == "kout") {
    if (!number || v != std::floor(v) || v > 1000) {
      return failure("topology: " + std::string(name) + ":N needs a whole number 1..1000");
    }
    shape = name == "regular" ? kind::regular
            : name == "ba"    ? kind::barabasi_albert
            : name == "ring"  ? kind::ring
                              : kind::k_out;
  } else if (name == "er") {
    if (!number) return failure("topology: er:K needs a mean degree > 0");
    shape = kind::erdos_renyi;
  } else {
    return failure("topology: expected hyparview, regular:D, er:K, ba:M, ring:K, kout:K or file:PATH, got '" +
                   std::string(text) + "'");
  }
  param = v;
  return {};
}

std::string topology_spec::describe() const {
  char buf[256];
  switch (shape) {
    case kind::hyparview: return "HyParView (built by joins)";
    case kind::regular: std::snprintf(buf, sizeof buf, "random %g-regular graph", param); break;
    case kind::erdos_renyi: std::snprintf(buf, sizeof buf, "Erdos-Renyi graph, mean degree %g", param); break;
    case kind::barabasi_albert: std::snprintf(buf, sizeof buf, "Barabasi-Albert graph, m = %g", param); break;
    case kind::ring: std::snprintf(buf, sizeof buf, "ring lattice, %g neighbours each side", param); break;
    case kind::k_out:
      std::snprintf(buf, sizeof buf, "k-out graph, %g random links per peer, undirected", param);
      break;
    case kind::edge_list: std::snprintf(buf, sizeof buf, "edge list %s", path.c_str()); break;
  }
  return buf;
}

graph graph::from_edges(std::uint32_t n, std::vector<std::pair<std::uint32_t, std::uint32_t>> edges) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> both;
  both.reserve(edges.size() * 2);
  for (auto [a, b] : edges) {
    if (a == b) continue;
    both.emplace_back(a, b);
    both.emplace_back(b, a);
  }
  std::sort(both.begin(), both.end());
  both.erase(std::unique(both.begin(), both.end()), both.end());
  graph g;
  g.n = n;
  g.offsets.assign(n + 1, 0);
  g.targets.reserve(both.size());
  for (auto [a, b] : both) {
    ++g.offsets[a + 1];
    g.targets.push_back(b);
  }
  for (std::uint32_t i = 0; i < n; ++i) g.offsets[i + 1] += g.offsets[i];
  return g;
}

namespace {

using edge_list = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

// Random d-regular graph: pair up n*d stubs at random, restarting when the pairing gets
// stuck on self-loops or repeats (rare for small d).
result<edge_list> regular(std::uint32_t n, std::uint32_t d, rng& random) {
  if (d >= n || (static_cast<std::uint64_t>(n) * d) % 2 != 0) {
    return failure("topology: a " + std::to_string(d) + "-regular graph needs d < n and n*d even");
  }
  edge_list out;
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::vector<std::uint32_t> stubs;
    stubs.reserve(static_cast<std::size_t>(n) * d);
    for (std::uint32_t i = 0; i < n; ++i) stubs.insert(stubs.end(), d, i);
    std::vector<std::vector<std::uint32_t>> adj(n);
    out.clear();
    bool stuck = false;
    while (!stubs.empty() && !stuck) {
      bool paired = false;
      for (int tries = 0; tries < 100 && !paired; ++tries) {
        const auto i = static_cast<std::size_t>(random.below(stubs.size()));
        const auto j = static_cast<std::size_t>(random.below(stubs.size()));
        const auto a = stubs[i], b = stubs[j];
        if (i == j || a == b || std::find(adj[a].begin(), adj[a].end(), b) != adj[a].end()) continue;
        adj[a].push_back(b);
        adj[b].push_back(a);
        out.emplace_back(a, b);
        // Remove both stubs (the larger index first, so the smaller stays valid).
        for (auto k : {std::max(i, j), std::min(i, j)}) {
          stubs[k] = stubs.back();
          stubs.pop_back();
        }
        paired = true;
      }
      stuck = !paired;
    }
    if (!stuck) return out;
  }
  return failure("topology: could not draw a simple " + std::to_string(d) + "-regular graph");
}

// G(n, p) by geometric skips over the pairs (Batagelj & Brandes 2005): O(n + m).
void erdos_renyi(std::uint32_t n, double mean_degree, rng& random, edge_list& out) {
  const double p = std::min(1.0, mean_degree / std::max(1.0, static_cast<double>(n) - 1));
  if (p <= 0) return;
  const double log_q = std::log(1.0 - p);
  std::int64_t v = 1, w = -1;
  while (v < n) {
    const double r = random.uniform01();
    w += 1 + (p >= 1.0 ? 0 : static_cast<std::int64_t>(std::floor(std::log(1.0 - r) / log_q)));
    while (w >= v && v < n) {
      w -= v;
      ++v;
    }
    if (v < n) out.emplace_back(static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(w));
  }
}

// Preferential attachment: each new node links to m distinct earlier nodes chosen with
// probability proportional to degree, by sampling from the list of edge endpoints.
void barabasi_albert(std::uint32_t n, std::uint32_t m, rng& random, edge_list& out) {
  std::vector<std::uint32_t> ends;
  const std::uint32_t core = std::min(n, m + 1);
  for (std::uint32_t a = 0; a < core; ++a) {
    for (std::uint32_t b = a + 1; b < core; ++b) {
      out.emplace_back(a, b);
      ends.push_back(a);
      ends.push_back(b);
    }
  }
  std::vector<std::uint32_t> chosen;
  for (std::uint32_t v = core; v < n; ++v) {
    chosen.clear();
    while (chosen.size() < m) {
      const auto t = ends[static_cast<std::size_t>(random.below(ends.size()))];
      if (std::find(chosen.begin(), chosen.end(), t) == chosen.end()) chosen.push_back(t);
    }
    for (auto t : chosen) {
      out.emplace_back(v, t);
      ends.push_back(v);
      ends.push_back(t);
    }
  }
}

// k-out: node i draws k distinct others uniformly; a draw that repeats one of its earlier picks
// is drawn again. For a small k the picks are checked where they were just written; for a large
// one picked[j] == i marks j as taken by i (one load per check, but a miss in a large graph).
void k_out(std::uint32_t n, std::uint32_t k, rng& random, edge_list& out) {
  out.reserve(static_cast<std::size_t>(n) * k);
  const bool small = k <= 32;
  std::vector<std::uint32_t> picked(small ? 0 : n, std::numeric_limits<std::uint32_t>::max());
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::size_t mine = out.size();
    for (std::uint32_t c = 0; c < k; ++c) {
      std::uint32_t j = 0;
      for (;;) {
        j = static_cast<std::uint32_t>(random.below(n - 1));
        if (j >= i) ++j;  // the others: every index but i
        const bool taken = small ? std::any_of(out.begin() + static_cast<std::ptrdiff_t>(mine), out.end(),
                                               [j](const auto& e) { return e.second == j; })
                                 : picked[j] == i;
        if (!taken) break;
      }
      if (!small) picked[j] = i;
      out.emplace_back(i, j);
    }
  }
}

result<edge_list> load_edges(const std::string& path, std::uint32_t n) {
  std::ifstream in(path);
  if (!in) return failure(path + ": cannot open");
  edge_list out;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    unsigned long long a = 0, b = 0;
    char extra = 0;
    const int got = std::sscanf(line.c_str(), "%llu %llu %c", &a, &b, &extra);
    if (got <= 0) continue;  // blank or comment
    if (got != 2) return failure(path + ":" + std::to_string(number) + ": expected two node indices");
    if (a >= n || b >= n) {
      return failure(path + ":" + std::to_string(number) + ": node index out of range (peers = " + std::to_string(n) + ")");
    }
    out.emplace_back(static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b));
  }
  return out;
}

}  // namespace

result<graph> build_graph(const topology_spec& spec, std::uint32_t n, rng& random) {
  edge_list edges;
  const auto k = static_cast<std::uint32_t>(spec.param);
  switch (spec.shape) {
    case topology_spec::kind::hyparview:
      return failure("topology: hyparview is built by the protocol, not generated");
    case topology_spec::kind::regular: {
      auto drawn = regular(n, k, random);
      if (!drawn) return drawn.error();
      edges = std::move(*drawn);
      break;
    }
    case topology_spec::kind::erdos_renyi:
      erdos_renyi(n, spec.param, random, edges);
      break;
    case topology_spec::kind::barabasi_albert:
      if (k >= n) return failure("topology: ba:M needs M < peers");
      barabasi_albert(n, k, random, edges);
      break;
    case topology_spec::kind::ring:
      if (2 * k >= n) return failure("topology: ring:K needs 2K < peers");
      for (std::uint32_t i = 0; i < n; ++i) {
        for (std::uint32_t j = 1; j <= k; ++j) edges.emplace_back(i, (i + j) % n);
      }
      break;
    case topology_spec::kind::k_out:
      if (k >= n) return failure("topology: kout:K needs K < peers");
      k_out(n, k, random, edges);
      break;
    case topology_spec::kind::edge_list: {
      auto loaded = load_edges(spec.path, n);
      if (!loaded) return loaded.error();
      edges = std::move(*loaded);
      break;
    }
  }
  return graph::from_edges(n, std::move(edges));
}

std::vector<std::uint32_t> bfs_distances(const graph& g, std::uint32_t source) {
  std::vector<std::uint32_t> dist(g.n, std::numeric_limits<std::uint32_t>::max());
  std::vector<std::uint32_t> frontier{source};
  dist[source] = 0;
  for (std::size_t head = 0; head < frontier.size(); ++head) {
    const auto v = frontier[head];
    for (auto w : g.neighbours(v)) {
      if (dist[w] == std::numeric_limits<std::uint32_t>::max()) {
        dist[w] = dist[v] + 1;
        frontier.push_back(w);
      }
    }
  }
  return dist;
}

}  // namespace hearsay::sim
