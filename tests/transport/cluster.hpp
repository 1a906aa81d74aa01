#pragma once
// Real nodes on 127.0.0.1 for the transport tests: a cluster of nodes sharing one io_context
// on the test's thread (polled until a condition holds or a deadline passes), temporary
// folders, and file helpers.

#include <catch2/catch.hpp>

#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "transport/net_node.hpp"

namespace hearsay::net::testing {

namespace fs = std::filesystem;

// A fresh folder under the build tree's working directory, removed at the end.
struct temp_dir {
  explicit temp_dir(const std::string& name) : path(fs::absolute("net-test-" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

inline std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return v;
}

inline void write_file(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::uint8_t> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct cluster {
  explicit cluster(const std::string& name) : dir(name), log(log_level::warn) {}

  net_node& add(bool with_seed = true) {
    const auto i = nodes.size();
    net_config cfg;
    cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
    cfg.network = "test";
    cfg.seed = 100 + i;
    cfg.shared_dir = dir.path / ("node" + std::to_string(i)) / "shared";
    cfg.download_dir = dir.path / ("node" + std::to_string(i)) / "downloads";
    fs::create_directories(cfg.shared_dir);
    cfg.overlay.membership.shuffle_period = micros{1'000'000};
    cfg.overlay.membership.repair_period = micros{500'000};
    cfg.overlay.fetch.piece_bytes = 64 * 1024;  // several pieces even for small files
    if (with_seed && !nodes.empty()) cfg.overlay.seeds = {nodes[0]->address()};
    if (tweak) tweak(cfg);
    configs.push_back(cfg);
    nodes.push_back(std::make_unique<net_node>(io, cfg, log));
    const auto started = nodes.back()->start();
    INFO((started ? std::string() : started.error().what()));
    REQUIRE(started);
    return *nodes.back();
  }

  void run_for(std::chrono::milliseconds d) {
    io.run_for(d);
    if (io.stopped()) io.restart();
  }

  // Runs the loop until pred() holds; false if the deadline passes first.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.run_for(std::chrono::milliseconds(5));
      if (io.stopped()) io.restart();
    }
    return true;
  }

  temp_dir dir;
  logger log;
  std::function<void(net_config&)> tweak;  // applied to every node's config
  asio::io_context io;
  std::vector<net_config> configs;
  std::vector<std::unique_ptr<net_node>> nodes;
};


}  // namespace hearsay::net::testing
