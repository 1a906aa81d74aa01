// Static topologies (see topology.hpp).

#include "sim/topology.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <system_error>

#include "overlay/prefetch.hpp"

namespace hearsay::sim {

namespace {

constexpr char edge_magic[8] = {'H', 'S', 'Y', 'E', 'D', 'G', 'E', '1'};
constexpr std::size_t edge_header_bytes = 8 + 4 + 8;

}  // namespace

result<> topology_spec::parse(std::string_view text) {
  const auto colon = text.find(':');
  const auto name = text.substr(0, colon);
  auto arg = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
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

namespace {

// graph::from_edges over any list of m edges, edge(k) giving the k-th as a pair: the
// configuration model reads its pairs straight from the shuffled stubs, without an edge list
// as large as the graph.
template <typename Edge>
graph graph_from_edges(std::uint32_t n, std::size_t m, Edge edge) {
  graph g;
  g.n = n;
  // A counting sort: offsets[i] first counts i's ends, then (summed) marks the end of its
  // list; each edge is written from the back of its two lists, leaving offsets[i] at the start.
  // On a large graph both passes touch two random places an edge, each a cache miss: the
  // counts of the edge `ahead` on, and (once its counts have arrived) the list slots of the
  // edge `ahead` / 2 on, are asked for early, so that many misses are in flight at once.
  constexpr std::size_t ahead = 16;
  auto ask_counts = [&](std::size_t k) {
    if (k + ahead >= m) return;
    const auto [a, b] = edge(k + ahead);
    prefetch_line(&g.offsets[a]);
    prefetch_line(&g.offsets[b]);
  };
  g.offsets.assign(static_cast<std::size_t>(n) + 1, 0);
  for (std::size_t k = 0; k < m; ++k) {
    ask_counts(k);
    const auto [a, b] = edge(k);
    if (a == b) continue;
    ++g.offsets[a];
    ++g.offsets[b];
  }
  for (std::uint32_t i = 1; i <= n; ++i) g.offsets[i] += g.offsets[i - 1];
  g.targets.resize(g.offsets[n]);
  for (std::size_t k = 0; k < m; ++k) {
    ask_counts(k);
    if (k + ahead / 2 < m) {
      // The slot its list's next write goes to (a hint: a count still to fall by the edges
      // before it names a slot on the same line, or the one before). A count is 0 only for a
      // node whose every end is a self-loop, which writes nothing.
      const auto [a, b] = edge(k + ahead / 2);
      if (g.offsets[a] > 0) prefetch_line(&g.targets[g.offsets[a] - 1]);
      if (g.offsets[b] > 0) prefetch_line(&g.targets[g.offsets[b] - 1]);
    }
    const auto [a, b] = edge(k);
    if (a == b) continue;
    g.targets[--g.offsets[a]] = b;
    g.targets[--g.offsets[b]] = a;
  }
  // Each list sorted and its repeats dropped, closing the gaps (the write position never
  // passes the read position).
  std::uint64_t write = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto first = g.targets.begin() + static_cast<std::ptrdiff_t>(g.offsets[i]);
    const auto last = g.targets.begin() + static_cast<std::ptrdiff_t>(g.offsets[i + 1]);
    if (last - first <= 24) {
      // Most lists are short: an insertion sort, without std::sort's set-up per call.
      for (auto it = first; it != last; ++it) {
        const std::uint32_t v = *it;
        auto hole = it;
        for (; hole != first && *(hole - 1) > v; --hole) *hole = *(hole - 1);
        *hole = v;
      }
    } else {
      std::sort(first, last);
    }
    const auto kept = std::unique(first, last);
    g.offsets[i] = write;
    const auto out = g.targets.begin() + static_cast<std::ptrdiff_t>(write);
    if (out != first) std::copy(first, kept, out);
    write += static_cast<std::uint64_t>(kept - first);
  }
  g.offsets[n] = write;
  g.targets.resize(write);
  return g;
}

}  // namespace

graph graph::from_edges(std::uint32_t n, std::span<const std::pair<std::uint32_t, std::uint32_t>> edges) {
  return graph_from_edges(n, edges.size(), [edges](std::size_t k) { return edges[k]; });
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
    // Each node's neighbours so far, in a row of d slots (one block, not a vector a node:
    // at 10^6 nodes the vectors' allocations took most of the time).
    std::vector<std::uint32_t> adj(static_cast<std::size_t>(n) * d);
    std::vector<std::uint32_t> linked(n, 0);
    auto row = [&](std::uint32_t v) { return adj.begin() + static_cast<std::ptrdiff_t>(std::size_t{v} * d); };
    out.clear();
    out.reserve(stubs.size() / 2);
    bool stuck = false;
    while (!stubs.empty() && !stuck) {
      bool paired = false;
      for (int tries = 0; tries < 100 && !paired; ++tries) {
        const auto i = static_cast<std::size_t>(random.below(stubs.size()));
        const auto j = static_cast<std::size_t>(random.below(stubs.size()));
        const auto a = stubs[i], b = stubs[j];
        if (i == j || a == b || std::find(row(a), row(a) + linked[a], b) != row(a) + linked[a]) continue;
        row(a)[linked[a]++] = b;
        row(b)[linked[b]++] = a;
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

// The whole file, read at once.
result<std::vector<char>> read_whole(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return failure(std::error_code(errno, std::generic_category()), path + ": cannot open");
  struct stat st {};
  std::vector<char> data;
  // The size as the file system gives it, then whatever more arrives (a pipe has none).
  std::size_t capacity = ::fstat(fileno(f), &st) == 0 && st.st_size > 0 ? static_cast<std::size_t>(st.st_size) + 1 : 1 << 16;
  std::size_t size = 0;
  for (;;) {
    data.resize(capacity);
    size += std::fread(data.data() + size, 1, capacity - size, f);
    if (size < capacity) break;
    capacity *= 2;
  }
  const bool failed = std::ferror(f) != 0;
  const int saved = errno;
  std::fclose(f);
  if (failed) return failure(std::error_code(saved, std::generic_category()), path + ": cannot read");
  data.resize(size);
  return data;
}

std::uint32_t load_u32(const char* p) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}
std::uint64_t load_u64(const char* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}
void store_u32(char* p, std::uint32_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  std::memcpy(p, &v, sizeof v);
}
void store_u64(char* p, std::uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
}

result<edge_file> parse_binary(const std::string& path, const std::vector<char>& data, std::uint32_t peers_max) {
  if (data.size() < edge_header_bytes) return failure(path + ": truncated header");
  edge_file out;
  out.peers = load_u32(data.data() + 8);
  const std::uint64_t m = load_u64(data.data() + 12);
  const std::uint64_t body = data.size() - edge_header_bytes;
  if (body % 8 != 0 || body / 8 != m) {
    return failure(path + ": the header announces " + std::to_string(m) + " edges, the file holds " +
                   std::to_string(body / 8) + (body % 8 != 0 ? " and a part" : ""));
  }
  if (out.peers > peers_max) {
    return failure(path + ": edges among " + std::to_string(out.peers) + " peers (peers = " + std::to_string(peers_max) +
                   ")");
  }
  out.edges.resize(m);
  const char* p = data.data() + edge_header_bytes;
  std::uint32_t highest = 0;
  for (auto& e : out.edges) {
    e.first = load_u32(p);
    e.second = load_u32(p + 4);
    highest = std::max({highest, e.first, e.second});
    p += 8;
  }
  if (m > 0 && highest >= out.peers) {
    // Found only now, to keep the loop above free of branches: name the first such edge.
    for (std::size_t k = 0; k < out.edges.size(); ++k) {
      if (out.edges[k].first >= out.peers || out.edges[k].second >= out.peers) {
        return failure(path + ": edge " + std::to_string(k + 1) + ": node index out of range (the header says " +
                       std::to_string(out.peers) + " peers)");
      }
    }
  }
  return out;
}

// Text, parsed in place: blanks, '#' comments to the end of the line, two decimal indices per
// line that has anything else.
result<edge_file> parse_text(const std::string& path, const std::vector<char>& data, std::uint32_t peers_max) {
  const char* p = data.data();
  const char* const end = p + data.size();
  edge_file out;
  out.edges.reserve(static_cast<std::size_t>(std::count(p, end, '\n')) + 1);
  std::size_t line = 1;
  auto problem = [&](const std::string& what) {
    return failure(path + ":" + std::to_string(line) + ": " + what);
  };
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  auto skip_blanks = [&] {
    while (p < end && blank(*p)) ++p;
  };
  auto line_ends = [&] { return p == end || *p == '\n' || *p == '#'; };
  std::uint64_t highest = 0;
  while (p < end) {
    skip_blanks();
    if (p < end && *p == '#') {
      const void* newline = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
      p = newline == nullptr ? end : static_cast<const char*>(newline);
    }
    if (p == end) break;
    if (*p == '\n') {
      ++p;
      ++line;
      continue;
    }
    std::uint64_t ends[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      if (k == 1) {
        const char* before = p;
        skip_blanks();
        if (p == before && !line_ends()) return problem("expected two node indices");
      }
      const auto [next, ec] = std::from_chars(p, end, ends[k]);
      if (ec == std::errc::result_out_of_range) {
        return problem("node index out of range (peers = " + std::to_string(peers_max) + ")");
      }
      if (ec != std::errc{}) return problem("expected two node indices");
      p = next;
    }
    skip_blanks();
    if (!line_ends()) return problem("expected two node indices");
    if (ends[0] >= peers_max || ends[1] >= peers_max) {
      return problem("node index out of range (peers = " + std::to_string(peers_max) + ")");
    }
    highest = std::max({highest, ends[0], ends[1]});
    out.edges.emplace_back(static_cast<std::uint32_t>(ends[0]), static_cast<std::uint32_t>(ends[1]));
  }
  out.peers = out.edges.empty() ? 0 : static_cast<std::uint32_t>(highest + 1);
  return out;
}

}  // namespace

result<edge_file> read_edge_file(const std::string& path, std::uint32_t peers_max) {
  auto data = read_whole(path);
  if (!data) return data.error();
  if (data->size() >= sizeof edge_magic && std::memcmp(data->data(), edge_magic, sizeof edge_magic) == 0) {
    return parse_binary(path, *data, peers_max);
  }
  return parse_text(path, *data, peers_max);
}

result<> write_edge_file(const std::string& path, const graph& g) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return failure(std::error_code(errno, std::generic_category()), "cannot write " + path);
  // Written a block at a time: the header, then the edges a < b in the order of a.
  std::vector<char> block(1 << 20);
  std::size_t used = 0;
  int error = 0;  // the first failure's errno
  auto flush = [&] {
    if (error == 0 && std::fwrite(block.data(), 1, used, f) != used) error = errno != 0 ? errno : EIO;
    used = 0;
  };
  std::memcpy(block.data(), edge_magic, sizeof edge_magic);
  store_u32(block.data() + 8, g.n);
  store_u64(block.data() + 12, g.edges());
  used = edge_header_bytes;
  for (std::uint32_t a = 0; a < g.n; ++a) {
    for (auto b : g.neighbours(a)) {
      if (b < a) continue;
      if (used + 8 > block.size()) flush();
      store_u32(block.data() + used, a);
      store_u32(block.data() + used + 4, b);
      used += 8;
    }
  }
  flush();
  if (std::fclose(f) != 0 && error == 0) error = errno != 0 ? errno : EIO;
  if (error != 0) return failure(std::error_code(error, std::generic_category()), "cannot write " + path);
  return {};
}

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
      auto loaded = read_edge_file(spec.path, n);
      if (!loaded) return loaded.error();
      edges = std::move(loaded->edges);
      break;
    }
  }
  return graph::from_edges(n, edges);
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

namespace {

// The local clustering coefficient of v: links among its neighbours over the pairs of them.
// Its neighbours are marked with `stamp`; each neighbour u's own list is then scanned for
// marks, or, when it is much longer than v's (a hub), searched for each of v's neighbours.
double local_clustering(const graph& g, std::uint32_t v, std::vector<std::uint32_t>& mark, std::uint32_t stamp) {
  const auto around = g.neighbours(v);
  const std::uint64_t d = around.size();
  if (d < 2) return 0;
  for (auto u : around) mark[u] = stamp;
  std::uint64_t ends = 0;  // each link among the neighbours is seen from both of its ends
  for (auto u : around) {
    const auto theirs = g.neighbours(u);
    if (theirs.size() > 8 * d) {
      for (auto w : around) ends += std::binary_search(theirs.begin(), theirs.end(), w) ? 1u : 0u;
    } else {
      for (auto w : theirs) ends += mark[w] == stamp ? 1u : 0u;
    }
  }
  return static_cast<double>(ends) / static_cast<double>(d * (d - 1));
}

// The state of up to 32 breadth-first searches run together: per node, a bit per search.
struct bfs_scratch {
  explicit bfs_scratch(std::uint32_t n) : bits(n), visit(n, 0) {}
  // Per node, side by side (a top-down expansion reads a random neighbour's `seen` and writes
  // its `next`, one cache line):
  struct node_bits {
    std::uint32_t seen = 0;   // the searches that have reached the node
    std::uint32_t next = 0;   // those that reach it at the next level
  };
  std::vector<node_bits> bits;
  // Per node, the searches that reached it at the current level, apart: a bottom-up level
  // (most of the work on a large graph) reads only these, of random neighbours, and 16 of
  // them to a cache line are 3 times as many as when they lay with the rest.
  std::vector<std::uint32_t> visit;
  std::vector<std::uint32_t> frontier, next_frontier;  // the nodes with visit, next bits
};

// Breadth-first searches from up to 32 sources at once, one bit each (the multi-source BFS of
// Then et al., VLDB 2015): a node's neighbours are read once per level at which any of the
// searches reach it, for all of those together, rather than once per search; a level that
// reaches many nodes is expanded in node order, so the lists are read in the order they lie
// in memory (see below). Adds the (source, node) pairs found at each distance to pairs_at_distance and
// returns how many there were. Leaves scratch's visit and next cleared.
std::uint64_t bfs_batch(const graph& g, std::span<const std::uint32_t> sources, bfs_scratch& sc,
                        std::vector<std::uint64_t>& pairs_at_distance) {
  auto& bits = sc.bits;
  auto& visit = sc.visit;
  for (auto& b : bits) b.seen = 0;
  sc.frontier.clear();
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const std::uint32_t v = sources[i];
    if (visit[v] == 0) sc.frontier.push_back(v);
    visit[v] |= 1u << i;
    bits[v].seen |= 1u << i;
  }
  // Each neighbour's bits are a cache miss on a large graph: asked for `ahead` list entries
  // before they are read (the lists of the nodes expanded next lie just after), so that many
  // misses are in flight at once rather than one.
  constexpr std::size_t ahead = 16;
  const std::uint32_t* targets = g.targets.data();
  const std::size_t target_count = g.targets.size();
  std::uint64_t reached = 0;
  for (std::size_t level = 1; !sc.frontier.empty(); ++level) {
    sc.next_frontier.clear();
    auto expand = [&](std::uint32_t v) {
      const std::uint32_t from = visit[v];
      const std::size_t first = g.offsets[v], last = g.offsets[v + 1];
      for (std::size_t k = first; k < last; ++k) {
        if (k + ahead < target_count) prefetch_line(&bits[targets[k + ahead]]);
        const std::uint32_t w = targets[k];
        const std::uint32_t fresh = from & ~bits[w].seen;
        if (fresh == 0) continue;
        if (bits[w].next == 0) sc.next_frontier.push_back(w);
        bits[w].next |= fresh;
      }
    };
    if (sc.frontier.size() > g.n / 64) {
      // A level that reaches many nodes goes bottom-up (Beamer, Asanovic and Patterson, SC
      // 2012): every node some search has not reached yet gathers the bits of its neighbours
      // at this level. The lists are read in the order they lie in memory, so each
      // neighbour's bits can be asked for well ahead, and the nodes reached come out in order.
      const std::uint32_t all = sources.size() >= 32 ? ~0u : (1u << sources.size()) - 1;
      for (std::uint32_t w = 0; w < g.n; ++w) {
        const std::uint32_t missing = all & ~bits[w].seen;
        if (missing == 0) continue;
        std::uint32_t got = 0;
        const std::size_t first = g.offsets[w], last = g.offsets[w + 1];
        for (std::size_t k = first; k < last; ++k) {
          if (k + ahead < target_count) prefetch_line(&visit[targets[k + ahead]]);
          got |= visit[targets[k]];
        }
        got &= missing;
        if (got != 0) {
          bits[w].next = got;
          sc.next_frontier.push_back(w);
        }
      }
    } else {
      for (auto v : sc.frontier) expand(v);
    }
    for (auto v : sc.frontier) visit[v] = 0;
    std::uint64_t found = 0;
    for (auto w : sc.next_frontier) {
      const std::uint32_t fresh = bits[w].next;
      bits[w].next = 0;
      bits[w].seen |= fresh;
      visit[w] = fresh;
      found += static_cast<std::uint64_t>(std::popcount(fresh));
    }
    if (found > 0) {
      if (pairs_at_distance.size() < level) pairs_at_distance.resize(level, 0);
      pairs_at_distance[level - 1] += found;
      reached += found;
    }
    std::swap(sc.frontier, sc.next_frontier);
  }
  return reached;
}

}  // namespace

void skip_structure_draws(std::uint32_t n, std::uint32_t clustering_samples, std::uint32_t sources, rng& random) {
  if (n == 0) return;
  // sample_structure's picks, in its order: clustering nodes, then BFS sources.
  for (std::uint32_t k = 0; k < std::min(n, clustering_samples); ++k) {
    if (n > clustering_samples) static_cast<void>(random.below(n));
  }
  for (std::uint32_t k = 0; k < std::min(n, sources); ++k) {
    if (n > sources) static_cast<void>(random.below(n));
  }
}

graph_structure sample_structure(const graph& g, std::uint32_t clustering_samples, std::uint32_t sources,
                                 rng& random) {
  graph_structure s;
  s.nodes = g.n;
  s.edges = g.edges();
  if (g.n == 0) return s;
  // Every node when there are no more than asked for (exact); otherwise drawn with
  // replacement, which leaves the mean unbiased.
  auto pick = [&](std::uint32_t k, std::uint32_t wanted) {
    return g.n <= wanted ? k : static_cast<std::uint32_t>(random.below(g.n));
  };
  std::vector<std::uint32_t> mark(g.n, std::numeric_limits<std::uint32_t>::max());
  s.clustering_samples = std::min(g.n, clustering_samples);
  double sum = 0;
  for (std::uint32_t k = 0; k < s.clustering_samples; ++k) sum += local_clustering(g, pick(k, clustering_samples), mark, k);
  s.clustering = s.clustering_samples == 0 ? 0 : sum / s.clustering_samples;

  // Breadth-first searches, 32 at a time.
  s.sources = std::min(g.n, sources);
  std::vector<std::uint32_t> drawn(s.sources);
  for (std::uint32_t k = 0; k < s.sources; ++k) drawn[k] = pick(k, sources);
  bfs_scratch scratch(g.n);
  std::uint64_t reached = 0;
  for (std::uint32_t first = 0; first < s.sources; first += 32) {
    const auto batch = std::span<const std::uint32_t>(drawn).subspan(first, std::min(32u, s.sources - first));
    reached += bfs_batch(g, batch, scratch, s.pairs_at_distance);
  }
  if (g.n > 1 && s.sources > 0) {
    s.reached_share = static_cast<double>(reached) / (static_cast<double>(s.sources) * (g.n - 1));
  }
  std::uint64_t pairs = 0;
  double distance_sum = 0;
  for (std::size_t d = 0; d < s.pairs_at_distance.size(); ++d) {
    pairs += s.pairs_at_distance[d];
    distance_sum += static_cast<double>(d + 1) * static_cast<double>(s.pairs_at_distance[d]);
  }
  if (pairs == 0) return s;
  s.distance_mean = distance_sum / static_cast<double>(pairs);
  s.distance_max = static_cast<std::uint32_t>(s.pairs_at_distance.size());
  // Nearest rank: the smallest distance with at least 99 % of the pairs at or below it.
  const auto rank = static_cast<std::uint64_t>(std::ceil(0.99 * static_cast<double>(pairs)));
  std::uint64_t seen = 0;
  for (std::size_t d = 0; d < s.pairs_at_distance.size(); ++d) {
    seen += s.pairs_at_distance[d];
    if (seen >= rank) {
      s.distance_p99 = static_cast<std::uint32_t>(d + 1);
      break;
    }
  }
  return s;
}

graph configuration_model(const graph& g, rng& random) {
  std::vector<std::uint32_t> stubs;
  stubs.reserve(g.targets.size());
  for (std::uint32_t i = 0; i < g.n; ++i) stubs.insert(stubs.end(), g.degree(i), i);
  random.shuffle(std::span<std::uint32_t>(stubs));
  // Stubs 2k and 2k + 1 make edge k (an odd last stub is left out).
  const std::uint32_t* pairs = stubs.data();
  return graph_from_edges(g.n, stubs.size() / 2, [pairs](std::size_t k) {
    return std::pair<std::uint32_t, std::uint32_t>(pairs[2 * k], pairs[2 * k + 1]);
  });
}

}  // namespace hearsay::sim
