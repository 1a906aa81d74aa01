#pragma once
// Overlay topologies for study. "hyparview" lets the real membership protocol build the
// overlay through joins; the others are fixed graphs installed as every peer's neighbours,
// so search strategies can be compared on graphs of known shape:
//   regular:D   random D-regular graph (pairing model, Bollobas 1980)
//   er:K        Erdos-Renyi G(n, p) with mean degree K, p = K / (n - 1) (Erdos & Renyi 1959)
//   ba:M        Barabasi-Albert preferential attachment, M links per new node (Barabasi &
//               Albert, Science 1999), generated as in Batagelj & Brandes, Phys. Rev. E 2005
//   ring:K      a ring lattice, each node linked to its K nearest on either side
//   kout:K      every node picks K distinct others at random and links to them (PeerSim's
//               WireKOut, the graph most PeerSim configurations start from); the links are
//               taken as undirected and without repeats, so degrees are K and up (mean about
//               2K). kout:K:directed, one-way links, is refused: a peer of a fixed graph takes
//               queries only from its own neighbours, so a link its far end does not have would
//               carry nothing
//   file:PATH   an undirected edge list, text or binary (below)
//
// Edge-list files. Text: one "a b" pair of node indices per line, separated by blanks; '#'
// starts a comment; blank lines are skipped. Binary (what `hearsay-sim topology --convert`
// writes): the 8 bytes "HSYEDGE1", the peer count (u32), the edge count m (u64), then m pairs
// of node indices (u32 each), all little-endian; every index is below the peer count. Either
// form is read whole and parsed in place, without a stream or an allocation per line
// (bench/edges.sh measures both; figures in bench/HISTORY.md).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "overlay/result.hpp"
#include "overlay/rng.hpp"
#include "sim/huge_pages.hpp"

namespace hearsay::sim {

struct topology_spec {
  enum class kind : std::uint8_t { hyparview, regular, erdos_renyi, barabasi_albert, ring, edge_list, k_out };
  kind shape = kind::hyparview;
  double param = 0;  // D, K, M, K or K, by shape
  std::string path;  // edge_list

  result<> parse(std::string_view text);
  std::string describe() const;
  bool is_static() const { return shape != kind::hyparview; }
};

// An undirected graph in compressed adjacency form: node i's neighbours are
// targets[offsets[i] .. offsets[i+1]), sorted, without self-loops or repeats.
struct graph {
  std::uint32_t n = 0;
  // Read at random by every search and measurement: large blocks in huge pages.
  std::vector<std::uint64_t, large_allocator<std::uint64_t>> offsets;
  std::vector<std::uint32_t, large_allocator<std::uint32_t>> targets;

  std::span<const std::uint32_t> neighbours(std::uint32_t i) const {
    return {targets.data() + offsets[i], targets.data() + offsets[i + 1]};
  }
  std::uint32_t degree(std::uint32_t i) const { return static_cast<std::uint32_t>(offsets[i + 1] - offsets[i]); }
  std::uint64_t edges() const { return targets.size() / 2; }

  // Builds the graph from undirected edges (a, b), dropping self-loops and repeats. Linear in
  // the edges (a counting sort into the lists, then each short list sorted on its own).
  static graph from_edges(std::uint32_t n, std::span<const std::pair<std::uint32_t, std::uint32_t>> edges);
};

// Generates the static topology for n nodes, or says what is wrong with the spec or the file.
result<graph> build_graph(const topology_spec& spec, std::uint32_t n, rng& random);

// An edge-list file as read: the peers it is for (text: the highest index + 1; binary: its
// header) and its edges as written, repeats and self-loops included.
struct edge_file {
  std::uint32_t peers = 0;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
};
// Reads an edge list, text or binary, whose node indices are all below peers_max. Problems
// come as "PATH:LINE: what" for text, "PATH: what" for binary.
result<edge_file> read_edge_file(const std::string& path, std::uint32_t peers_max);
// Writes g in the binary form, each edge once (a < b), for g.n peers.
result<> write_edge_file(const std::string& path, const graph& g);

// Disjoint sets of nodes, for connected components: union-find with path halving.
class disjoint_sets {
 public:
  explicit disjoint_sets(std::uint32_t n) : parent_(n) {
    for (std::uint32_t i = 0; i < n; ++i) parent_[i] = i;
  }
  // The representative of x's set.
  std::uint32_t find(std::uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  // Rem's algorithm with splicing (Patwary, Blair and Manne, SEA 2010): a parent always has a
  // higher index than its child, so a set's root is its highest member; the two paths are
  // climbed together, the lower one first, each node passed re-hung under the other path's
  // higher parent, and the climb stops as soon as the paths meet, often well below the roots.
  // On a graph of 10^7 nodes, a cache miss a step, it takes fewer steps than finding both
  // roots would.
  void unite(std::uint32_t a, std::uint32_t b) {
    while (parent_[a] != parent_[b]) {
      if (parent_[a] > parent_[b]) std::swap(a, b);
      const std::uint32_t up = parent_[a];
      parent_[a] = parent_[b];
      if (up == a) return;  // a was a root: now hung under b's path
      a = up;
    }
  }
  // Where x's entry lies, to prefetch it.
  const std::uint32_t* entry(std::uint32_t x) const { return &parent_[x]; }

 private:
  std::vector<std::uint32_t> parent_;
};

// Hop distances from source (unreachable: UINT32_MAX), by breadth-first search.
std::vector<std::uint32_t> bfs_distances(const graph& g, std::uint32_t source);

// The shape of a graph, from samples: the mean local clustering coefficient of nodes drawn at
// random (Watts & Strogatz, Nature 1998: the share of a node's pairs of neighbours that are
// linked; a node with fewer than two neighbours counts 0, as in networkx's
// average_clustering), and the hop distances from source nodes drawn at random, by BFS.
struct graph_structure {
  std::uint32_t nodes = 0;
  std::uint64_t edges = 0;
  std::uint32_t clustering_samples = 0;  // nodes the clustering is the mean of
  double clustering = 0;
  std::uint32_t sources = 0;  // BFS sources
  // Over the pairs (source, node it reaches), the source itself left out: the mean hop
  // distance, its 99th percentile (nearest rank) and the largest seen.
  double distance_mean = 0;
  std::uint32_t distance_p99 = 0, distance_max = 0;
  // The nodes a source reaches, but itself, as a share of the others; averaged over sources.
  double reached_share = 0;
  // pairs_at_distance[d - 1]: the (source, node) pairs at distance d.
  std::vector<std::uint64_t> pairs_at_distance;
};

// Measures g on `clustering_samples` nodes and `sources` BFS sources drawn with `random` (every
// node when g has no more: then the figures are exact).
graph_structure sample_structure(const graph& g, std::uint32_t clustering_samples, std::uint32_t sources,
                                 rng& random);
// Makes the draws sample_structure makes on a graph of n nodes, and nothing else: `random`
// is then where sample_structure would have left it, so that what comes after it can run at
// the same time on a copy.
void skip_structure_draws(std::uint32_t n, std::uint32_t clustering_samples, std::uint32_t sources, rng& random);

// A random graph with g's degree sequence (the configuration model, Bender & Canfield 1978,
// Molloy & Reed 1995): every node gets as many stubs as its degree, the stubs are paired at
// random, and self-loops and repeated edges are dropped, so a few nodes end with slightly
// fewer links than in g (for a D-regular graph, about (D - 1) / 2 + (D - 1)^2 / 4 edges in
// all, whatever its size).
graph configuration_model(const graph& g, rng& random);

// A measured graph beside a random graph with the same degrees.
struct structure_comparison {
  graph_structure overlay;
  graph_structure random;
};

}  // namespace hearsay::sim
