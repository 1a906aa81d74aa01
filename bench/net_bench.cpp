// Real nodes on loopback, in this process: 30 hearsay nodes on one io_context (one thread),
// joined through a seed. Measures time from search to first hit (p50/p99, and per overlay
// hop), how many query copies the cluster handles per second, and fetch throughput with
// SHA-256 verification.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "transport/net_node.hpp"

namespace {

namespace fs = std::filesystem;
using namespace hearsay;

struct cluster {
  explicit cluster(std::size_t n, const std::string& name) : root(fs::absolute("bench-" + name)), log(net::log_level::error) {
    fs::remove_all(root);
    for (std::size_t i = 0; i < n; ++i) {
      net::net_config cfg;
      cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
      cfg.network = "bench";
      cfg.seed = 1 + i;
      cfg.shared_dir = root / ("n" + std::to_string(i)) / "shared";
      cfg.download_dir = root / ("n" + std::to_string(i)) / "dl";
      cfg.overlay.search.ttl = 6;
      cfg.overlay.search.queries_per_neighbor_per_s = 0;
      fs::create_directories(cfg.shared_dir);
      if (i > 0) cfg.overlay.seeds = {nodes[0]->address()};
      configs.push_back(cfg);
      nodes.push_back(std::make_unique<net::net_node>(io, cfg, log));
      if (nodes.back()->start()) throw std::runtime_error("cannot start a node");
    }
    // Let the views fill and settle.
    run_for(std::chrono::seconds(3));
  }
  ~cluster() {
    nodes.clear();
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  void run_for(std::chrono::milliseconds d) {
    io.run_for(d);
    if (io.stopped()) io.restart();
  }
  bool run_until(const std::function<bool()>& pred, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) run_for(std::chrono::milliseconds(1));
    return pred();
  }
  void share(std::size_t i, const std::string& name, std::size_t bytes) {
    std::ofstream f(configs[i].shared_dir / name, std::ios::binary);
    std::vector<char> buf(1 << 16);
    for (std::size_t k = 0; k < buf.size(); ++k) buf[k] = static_cast<char>(k * 31 + i);
    for (std::size_t left = bytes; left > 0;) {
      const auto n = std::min(left, buf.size());
      f.write(buf.data(), static_cast<std::streamsize>(n));
      left -= n;
    }
    f.close();
    std::vector<std::string> problems;
    nodes[i]->rescan(problems);
  }

  fs::path root;
  net::logger log;
  asio::io_context io;
  std::vector<net::net_config> configs;
  std::vector<std::unique_ptr<net::net_node>> nodes;
};

void bm_real_query_latency(benchmark::State& state) {
  cluster c(30, "latency");
  for (std::size_t i = 0; i < 30; ++i) c.share(i, "file-" + std::to_string(i) + ".dat", 1000);
  std::vector<double> latency_us, per_hop_us;
  std::uint64_t searches = 0, k = 0;
  const auto forwarded_before = [&] {
    std::uint64_t t = 0;
    for (auto& n : c.nodes) t += n->overlay().stats().queries_received;
    return t;
  };
  const auto copies0 = forwarded_before();
  const auto wall0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const std::size_t origin = k % 30, target = (k * 7 + 3) % 30;
    ++k;
    if (origin == target) continue;
    bool got = false;
    c.nodes[origin]->search("file " + std::to_string(target) + " dat", [&](const net::search_hit& h) {
      if (got) return;
      got = true;
      latency_us.push_back(static_cast<double>(h.latency.count()));
      per_hop_us.push_back(static_cast<double>(h.latency.count()) / std::max<int>(1, h.hops));
    });
    c.run_until([&] { return got; }, std::chrono::seconds(2));
    ++searches;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const auto copies = forwarded_before() - copies0;
  std::sort(latency_us.begin(), latency_us.end());
  std::sort(per_hop_us.begin(), per_hop_us.end());
  auto pct = [](const std::vector<double>& v, double p) {
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
  };
  state.counters["first_hit_p50_us"] = pct(latency_us, 0.50);
  state.counters["first_hit_p99_us"] = pct(latency_us, 0.99);
  state.counters["per_hop_p50_us"] = pct(per_hop_us, 0.50);
  state.counters["found"] = static_cast<double>(latency_us.size()) / static_cast<double>(std::max<std::uint64_t>(1, searches));
  state.counters["query_copies/s"] = static_cast<double>(copies) / wall;
}
BENCHMARK(bm_real_query_latency)->Iterations(300)->Unit(benchmark::kMillisecond);

void bm_real_fetch_throughput(benchmark::State& state) {
  cluster c(2, "fetch");
  const std::size_t bytes = 64u << 20;
  c.share(1, "big.bin", bytes);
  file_info info;
  bool found = false;
  c.nodes[0]->search("big bin", [&](const net::search_hit& h) {
    info = h.file;
    found = true;
  });
  c.run_until([&] { return found; }, std::chrono::seconds(5));
  std::uint64_t total = 0;
  for (auto _ : state) {
    net::fetch_status last;
    c.nodes[0]->fetch(info, {c.nodes[1]->address()}, [&](const net::fetch_status& s) { last = s; });
    c.run_until([&] { return last.st != net::fetch_status::state::running; }, std::chrono::seconds(120));
    if (last.st != net::fetch_status::state::done) state.SkipWithError(last.error.c_str());
    total += bytes;
    std::error_code ec;
    fs::remove(last.path, ec);
  }
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(total) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(bm_real_fetch_throughput)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
