// Real nodes on loopback, in this process: 30 hearsay nodes on one io_context (one thread),
// joined through a seed. Measures time from search to first hit (p50/p99, and per overlay
// hop), how many query copies the cluster handles per second, and fetch throughput with
// SHA-256 verification. Then one node alone on its own thread, fed by bare TLS connections: how many
// queries per second it takes in and forwards, also per second of its own CPU time.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <time.h>

#include "overlay/codec.hpp"
#include "transport/endpoint.hpp"
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
      if (auto started = nodes.back()->start(); !started) {
        throw std::runtime_error("cannot start a node: " + started.error().what());
      }
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
    if (auto scanned = nodes[i]->rescan(); !scanned) throw std::runtime_error(scanned.error().what());
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

// Both nodes run on this one thread, so this is the cost of a transfer's both ends together;
// bench/fetch.sh measures real nodes in processes of their own.
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
    net::fetch_options again;
    again.again = true;  // the same content each iteration, fetched anew
    c.nodes[0]->fetch(info, {c.nodes[1]->address()}, [&](const net::fetch_status& s) { last = s; }, again);
    c.run_until([&] { return last.st != net::fetch_status::state::running; }, std::chrono::seconds(120));
    if (last.st != net::fetch_status::state::done) state.SkipWithError(last.error.c_str());
    total += bytes;
    std::error_code ec;
    fs::remove(last.path, ec);
  }
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(total) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(bm_real_fetch_throughput)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- one node's forwarding throughput ----------------------------------------------------
//
// The node under test runs alone on its own io_context and thread. Its neighbours are plain
// TLS connections in the benchmark thread that speak just enough of the protocol (HELLO, then a
// NEIGHBOR request) to sit in its active view: one source that streams new queries into it
// with TTL 2, and `sinks` that only read and count the copies it forwards with TTL 1 (which
// a real peer would not forward any further). The neighbours do no overlay work of their
// own, so the benchmark thread's core is spent on writing and reading bytes, and what is
// measured is the node: its own counters and the CPU time of its thread. The node shares no
// files, so it answers nothing: the figure is receiving, duplicate checking and forwarding.
// The sinks never speak after their request, so a rig must not live as long as the node's
// keepalive timeout (45 s); one run takes about 5 s.

// Counts length-prefixed frames in a byte stream without decoding them.
struct frame_counter {
  std::uint64_t frames = 0;
  std::uint32_t body_left = 0;  // bytes of the current frame's body still to come
  std::uint32_t prefix = 0;     // the length prefix being assembled, little-endian
  std::uint32_t prefix_have = 0;

  void feed(std::span<const std::uint8_t> bytes) {
    std::size_t i = 0;
    while (i < bytes.size()) {
      if (body_left > 0) {
        const auto k = std::min<std::size_t>(body_left, bytes.size() - i);
        body_left -= static_cast<std::uint32_t>(k);
        i += k;
        if (body_left == 0) ++frames;
        continue;
      }
      prefix |= std::uint32_t{bytes[i++]} << (8 * prefix_have);
      if (++prefix_have == codec::prefix_bytes) {
        body_left = prefix;
        prefix = 0;
        prefix_have = 0;
        if (body_left == 0) ++frames;
      }
    }
  }
};

// A neighbour of the node under test that is only a TLS connection (every link is, since
// protocol 2).
struct raw_peer {
  raw_peer(asio::io_context& io, asio::ssl::context& ctx) : stream(io, ctx) {}
  asio::ssl::stream<asio::ip::tcp::socket> stream;
  peer_addr self;            // its advertised address: the socket's own local address
  frame_counter counter;     // frames the node sent it
  std::uint64_t baseline = 0;  // frames counted before the measurement (HELLO, NEIGHBOR_REPLY)
  std::array<std::uint8_t, 1 << 16> buffer{};
};

class forwarding_rig {
 public:
  // What the node under test says about itself, read on its own thread.
  struct sample {
    node_stats overlay;
    net::transport_stats transport;
    std::size_t active = 0;
    std::chrono::nanoseconds cpu{0};        // its thread, user and system
    std::chrono::microseconds cpu_system{0};  // of which in the kernel
    // Time its thread was ready to run but waited for a core (Linux schedstat; -1 when
    // unknown): on a shared machine, what keeps the node below one core.
    std::chrono::nanoseconds runqueue_wait{-1};
  };
  struct measurement {
    sample before, after;
    std::chrono::nanoseconds wall{0};
    std::uint64_t sent = 0;       // queries the source wrote
    std::uint64_t delivered = 0;  // query copies the sinks read, all together
  };

  // Queries in flight (written by the source, not yet read back at every sink). A bound, so
  // that the node's per-link send queues (net_limits::send_queue_frames_max, 8192) never
  // fill while the node keeps up; 2048 queries are ~25 ms of work for it at fan-out 4, enough
  // to keep it busy between the benchmark thread's turns.
  static constexpr std::uint64_t window = 2048;
  // Queries per write on the source's socket.
  static constexpr std::uint64_t batch = 64;
  // What the node sends a neighbour that connects and asks to be its neighbour: HELLO, then
  // NEIGHBOR_REPLY.
  static constexpr std::uint64_t handshake_frames = 2;

  // The node on its own thread, with the source and `sinks` in its active view, or why not.
  static result<std::unique_ptr<forwarding_rig>> make(std::size_t sinks) {
    std::unique_ptr<forwarding_rig> rig(new forwarding_rig());
    if (auto ready = rig->set_up(sinks); !ready) return ready.error();
    return rig;
  }

  ~forwarding_rig() {
    guard_.reset();
    node_io_.stop();
    if (node_thread_.joinable()) node_thread_.join();
    // The node's loop has stopped: the node is destroyed on this thread, then its peers.
    node_.reset();
    for (auto& p : peers_) {
      std::error_code ec;
      p->stream.next_layer().close(ec);
    }
  }
  forwarding_rig(const forwarding_rig&) = delete;
  forwarding_rig& operator=(const forwarding_rig&) = delete;

  // Streams queries into the node for `duration`, then waits until every sink has read every
  // query sent, so the counters cover whole queries.
  result<measurement> run(std::chrono::milliseconds duration) {
    measurement r;
    for (auto& p : peers_) p->baseline = p->counter.frames;
    sent_ = 0;
    sending_ = true;
    r.before = snapshot();
    const auto t0 = std::chrono::steady_clock::now();
    pump();
    while (error_.empty() && std::chrono::steady_clock::now() - t0 < duration) {
      io_.run_for(std::chrono::milliseconds(10));
    }
    sending_ = false;
    const auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (error_.empty() && (writing_ || delivered_min() < sent_) &&
           std::chrono::steady_clock::now() < drain_deadline) {
      io_.run_for(std::chrono::milliseconds(1));
    }
    r.wall = std::chrono::steady_clock::now() - t0;
    r.after = snapshot();
    r.sent = sent_;
    for (std::size_t i = 1; i < peers_.size(); ++i) r.delivered += peers_[i]->counter.frames - peers_[i]->baseline;
    if (!error_.empty()) return failure(error_);
    return r;
  }

 private:
  forwarding_rig() : log_(net::log_level::error) {}

  result<> set_up(std::size_t sinks) {
    auto key = net::identity::ephemeral();
    if (!key) return key.error().prefix("cannot make the neighbours' key");
    me_ = std::move(*key);
    if (auto configured = me_.configure(ctx_.native_handle()); !configured) {
      return configured.error().prefix("cannot make the neighbours' TLS context");
    }
    net::net_config cfg;
    cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
    cfg.network = "bench";
    cfg.seed = 7;
    cfg.overlay.search.queries_per_neighbor_per_s = 0;  // the subject, not a limit, is measured
    cfg.overlay.search.fanout = 4;
    node_ = std::make_unique<net::net_node>(node_io_, cfg, log_);
    if (auto started = node_->start(); !started) return started.error().prefix("cannot start the node");
    node_thread_ = std::thread([this] { node_io_.run(); });
    for (std::size_t i = 0; i <= sinks; ++i) {
      if (auto linked = connect(); !linked) return linked;
    }
    for (auto& p : peers_) read(*p);
    // The node takes each NEIGHBOR request while its active view has room (source + sinks
    // must fit in view_size_active).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (error_.empty() && snapshot().active < peers_.size() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(5));
    }
    if (!error_.empty()) return failure(error_);
    if (snapshot().active != peers_.size()) {
      return failure("the node's active view did not take the source and every sink");
    }
    // Each neighbour reads the node's HELLO and its NEIGHBOR_REPLY before a run takes its
    // baseline: read later, they were counted as forwarded copies (not_delivered, below, came
    // out at -2 per sink that was still reading them).
    const auto answered = [this] {
      return std::all_of(peers_.begin(), peers_.end(), [](const auto& p) { return p->counter.frames >= handshake_frames; });
    };
    while (error_.empty() && !answered() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(1));
    }
    if (!error_.empty()) return failure(error_);
    if (!answered()) return failure("a neighbour did not read the node's HELLO and NEIGHBOR_REPLY");
    return {};
  }

  // Reads the node's counters and its thread's CPU time on that thread (the node is not
  // thread-safe), while this thread waits.
  sample snapshot() {
    std::promise<sample> taken;
    asio::post(node_io_, [this, &taken] {
      sample s;
      s.overlay = node_->overlay().stats();
      s.transport = node_->stats();
      s.active = node_->overlay().members().active().size();
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      s.cpu = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
      rusage ru{};
      getrusage(RUSAGE_THREAD, &ru);
      s.cpu_system = std::chrono::seconds(ru.ru_stime.tv_sec) + std::chrono::microseconds(ru.ru_stime.tv_usec);
      std::ifstream schedstat("/proc/thread-self/schedstat");
      std::int64_t on_cpu_ns = 0, waiting_ns = 0;
      if (schedstat >> on_cpu_ns >> waiting_ns) s.runqueue_wait = std::chrono::nanoseconds(waiting_ns);
      taken.set_value(s);
    });
    return taken.get_future().get();
  }

  // Opens a link to the node and asks to be its neighbour (peers_[0] is the source).
  result<> connect() {
    auto p = std::make_unique<raw_peer>(io_, ctx_);
    std::error_code ec;
    auto& socket = p->stream.next_layer();
    socket.connect(net::to_endpoint(node_->address()), ec);
    if (!ec) socket.set_option(asio::ip::tcp::no_delay(true), ec);
    if (!ec) p->self = net::from_endpoint(socket.local_endpoint(ec));
    // The node answers the handshake on its own thread; this one waits for it.
    if (!ec) p->stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return failure(ec, "cannot connect to the node");
    auto sent = send_now(*p, msg_hello{"bench", p->self, "bench", false});
    if (sent) sent = send_now(*p, msg_neighbor{false});
    if (!sent) return sent.error().prefix("cannot connect to the node");
    peers_.push_back(std::move(p));
    return {};
  }

  result<> send_now(raw_peer& p, const message& m) {
    const auto frame = encoder_.encode(p.self, m);
    std::error_code ec;
    asio::write(p.stream, asio::buffer(frame.data(), frame.size()), ec);
    return check(ec);
  }

  void read(raw_peer& p) {
    p.stream.async_read_some(asio::buffer(p.buffer), [this, &p](const std::error_code& ec, std::size_t n) {
      if (ec) {
        if (error_.empty()) error_ = "the node closed a link: " + ec.message();
        return;
      }
      p.counter.feed(std::span<const std::uint8_t>(p.buffer.data(), n));
      pump();
      read(p);
    });
  }

  // Query copies read by the slowest sink since the measurement began.
  std::uint64_t delivered_min() const {
    std::uint64_t least = std::numeric_limits<std::uint64_t>::max();
    for (std::size_t i = 1; i < peers_.size(); ++i) {
      least = std::min(least, peers_[i]->counter.frames - peers_[i]->baseline);
    }
    return least;
  }

  // Writes the next batch of queries when the window has room for it. Every query is new
  // (its own id and words), so the node forwards each one rather than dropping a duplicate.
  void pump() {
    if (!sending_ || writing_ || !error_.empty() || sent_ + batch > delivered_min() + window) return;
    raw_peer& source = *peers_[0];
    out_.clear();
    for (std::uint64_t k = 0; k < batch; ++k) {
      msg_query q;
      q.id = next_id_++;
      q.origin = source.self;
      q.ttl = 2;
      q.hops = 1;
      q.criteria = "bench query " + std::to_string(q.id);
      const auto frame = encoder_.encode(source.self, q);
      out_.insert(out_.end(), frame.begin(), frame.end());
    }
    sent_ += batch;
    writing_ = true;
    asio::async_write(source.stream, asio::buffer(out_), [this](const std::error_code& ec, std::size_t) {
      writing_ = false;
      if (ec) {
        if (error_.empty()) error_ = "cannot write to the node: " + ec.message();
        return;
      }
      pump();
    });
  }

  net::logger log_;
  asio::io_context node_io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(node_io_);
  std::unique_ptr<net::net_node> node_;
  std::thread node_thread_;

  asio::io_context io_;  // the neighbours, on the benchmark thread
  net::identity me_;  // one key for all of them, each at its own address
  asio::ssl::context ctx_{asio::ssl::context::tls};
  std::vector<std::unique_ptr<raw_peer>> peers_;
  codec::encoder encoder_;
  std::vector<std::uint8_t> out_;
  query_id next_id_ = 1;
  std::uint64_t sent_ = 0;
  bool sending_ = false;
  bool writing_ = false;
  std::string error_;  // the first failure of a read or write on the neighbours' links
};

// Arg: the number of sinks, i.e. the fan-out the node achieves (source + sinks must fit in
// its active view of 5).
void bm_real_forwarding_throughput(benchmark::State& state) {
  auto rig = forwarding_rig::make(static_cast<std::size_t>(state.range(0)));
  if (!rig) {
    const std::string why = rig.error().what();
    state.SkipWithError(why.c_str());
    return;
  }
  result<forwarding_rig::measurement> run = forwarding_rig::measurement{};
  for (auto _ : state) run = (*rig)->run(std::chrono::seconds(4));
  if (!run) {
    const std::string why = run.error().what();
    state.SkipWithError(why.c_str());
    return;
  }
  const forwarding_rig::measurement& r = *run;
  const auto delta = [&](std::uint64_t node_stats::*field) {
    return static_cast<double>(r.after.overlay.*field - r.before.overlay.*field);
  };
  const double wall_s = std::chrono::duration<double>(r.wall).count();
  const double cpu_s = std::chrono::duration<double>(r.after.cpu - r.before.cpu).count();
  const double system_s = std::chrono::duration<double>(r.after.cpu_system - r.before.cpu_system).count();
  const double in = delta(&node_stats::queries_received);
  const double out = delta(&node_stats::queries_forwarded);
  state.SetItemsProcessed(static_cast<std::int64_t>(in));
  state.counters["in/s"] = in / wall_s;
  state.counters["out/s"] = out / wall_s;
  state.counters["fanout"] = in > 0 ? out / in : 0.0;
  // Per core: queries per second of the node thread's own CPU time (user + system).
  state.counters["in/core_s"] = cpu_s > 0 ? in / cpu_s : 0.0;
  state.counters["out/core_s"] = cpu_s > 0 ? out / cpu_s : 0.0;
  state.counters["cpu_us/query"] = in > 0 ? cpu_s * 1e6 / in : 0.0;
  state.counters["node_core_use"] = cpu_s / wall_s;  // 1.0: the node had a core to itself
  if (r.before.runqueue_wait.count() >= 0 && r.after.runqueue_wait.count() >= 0) {
    // Share of the time the node was ready to work but had no core (the rest of the time
    // not on a core, it waited for input).
    state.counters["node_waiting_core"] =
        std::chrono::duration<double>(r.after.runqueue_wait - r.before.runqueue_wait).count() / wall_s;
  }
  state.counters["system_share"] = cpu_s > 0 ? system_s / cpu_s : 0.0;
  // Checks: nothing dropped as a duplicate, over a rate, or for coming from a stranger, and
  // everything the source wrote was received and forwarded.
  state.counters["duplicates"] = delta(&node_stats::queries_duplicate);
  state.counters["rate_limited"] = delta(&node_stats::queries_rate_limited);
  state.counters["unexpected"] = delta(&node_stats::messages_unexpected) + delta(&node_stats::messages_invalid);
  state.counters["not_received"] = static_cast<double>(r.sent) - in;
  state.counters["not_delivered"] = out - static_cast<double>(r.delivered);
  state.counters["slow_readers_cut"] =
      static_cast<double>(r.after.transport.slow_readers_cut - r.before.transport.slow_readers_cut);
}
BENCHMARK(bm_real_forwarding_throughput)->Arg(1)->Arg(4)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
