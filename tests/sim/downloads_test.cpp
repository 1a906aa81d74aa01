// Downloads in the simulator: the flow model against hand-computed times, several holders,
// failover under churn, determinism, scenario keys and the capacity and size distributions.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "sim/downloads.hpp"
#include "sim/report.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {

// A static graph, one latency for every link, and searches far enough apart that no two
// downloads share a holder or a searcher: each download has its links to itself.
scenario quiet(std::uint32_t peers) {
  scenario s;
  s.peers = peers;
  REQUIRE(s.topology.parse("regular:6").ok());
  REQUIRE(s.latency.parse("constant:10").ok());
  s.files = 20;
  s.replication = 5;
  s.queries = 20;
  s.query_interval = micros{3'000'000};
  s.download.enabled = true;
  return s;
}

// Four files of 1 MB, as the simulator's catalogue holds them.
catalogue four_files() {
  catalogue c;
  for (std::uint32_t f = 0; f < 4; ++f) c.add(catalogue_file(f, 1'000'000));
  return c;
}

// The download world alone, on hand-made records: peers 0..n-1, all running, one link latency.
struct world_rig {
  explicit world_rig(std::uint32_t peers, const scenario& s = scenario{}, micros latency = micros{1'000})
      : running(peers, 1),
        files(four_files()),
        world(s, 7, running, files, records, [latency](std::uint32_t, std::uint32_t) { return latency; }) {}
  // A search by `origin` for file `file`, issued at time 0.
  std::uint32_t search(std::uint32_t origin, std::uint32_t file) {
    query_record r;
    r.id = records.size() + 1;
    r.origin = origin;
    r.file = file;
    r.issued = micros{0};
    records.push_back(r);
    return static_cast<std::uint32_t>(records.size() - 1);
  }
  void hits(std::vector<download_hit> h) {
    std::sort(h.begin(), h.end());
    world.add_hits(h);
  }
  std::vector<std::uint8_t> running;
  catalogue files;
  std::vector<query_record> records;
  download_world world;
};

scenario rig_scenario(const char* upload, const char* download) {
  scenario s;
  s.download.enabled = true;
  REQUIRE(s.download.upload.parse(upload).ok());
  REQUIRE(s.download.download.parse(download).ok());
  return s;
}

}  // namespace

TEST_CASE("a holder's upload is shared equally by the searchers it serves", "[sim][downloads]") {
  // Holder 0 uploads 8 Mbit/s (1,000,000 bytes/s); searchers 1 and 2 ask it for a 1,000,000-byte
  // file at once. Each request takes 1 ms to arrive, each flow then gets half the upload for
  // 2 s, and the last bytes take 1 ms back: done at 2.002 s, to the microsecond (the model
  // counts whole bytes per microsecond in integers).
  world_rig rig(3, rig_scenario("constant:8", "constant:100"));
  const auto a = rig.search(1, 0), b = rig.search(2, 0);
  rig.hits({{micros{0}, a, 0}, {micros{0}, b, 0}});
  rig.world.run_before(micros{10'000'000});
  for (const auto k : {a, b}) {
    const auto& r = rig.records[k];
    CHECK(r.download == download_outcome::done);
    CHECK(r.file_done == micros{2'002'000});
    CHECK(r.download_bytes == 1'000'000);
    CHECK(r.download_failovers == 0);
  }
  CHECK_FALSE(rig.world.busy());
  CHECK(rig.world.transfers_open() == 0);
  CHECK(rig.world.flows_active() == 0);
}

TEST_CASE("a searcher's download capacity is shared by its flows, and a flow takes the lesser share", "[sim][downloads]") {
  // Searcher 0 downloads 8 Mbit/s; it fetches two files from holders 1 and 2 (upload 100
  // Mbit/s each) at once: each flow gets 500,000 bytes/s at the searcher's end.
  world_rig rig(3, rig_scenario("constant:100", "constant:8"));
  const auto a = rig.search(0, 0), b = rig.search(0, 1);
  rig.hits({{micros{0}, a, 1}, {micros{0}, b, 2}});
  rig.world.run_before(micros{10'000'000});
  CHECK(rig.records[a].file_done == micros{2'002'000});
  CHECK(rig.records[b].file_done == micros{2'002'000});
  // When the second starts later, the first runs alone at the full 1,000,000 bytes/s until then.
  world_rig later(3, rig_scenario("constant:100", "constant:8"));
  const auto c = later.search(0, 0), d = later.search(0, 1);
  later.hits({{micros{0}, c, 1}});
  later.world.run_before(micros{499'000});
  later.hits({{micros{499'000}, d, 2}});
  later.world.run_before(micros{10'000'000});
  // c: 1 ms to ask; 499,000 bytes alone by 0.5 s (d's request arrives then); the other
  // 501,000 at half rate take 1.002 s: sent at 1.502 s, arrived at 1.503 s.
  CHECK(later.records[c].file_done == micros{1'503'000});
  // d: from 0.5 s, 501,000 bytes at half rate until c's flow ends at 1.502 s (1.002 s), then
  // 499,000 alone (0.499 s): sent at 2.001 s, arrived at 2.002 s.
  CHECK(later.records[d].file_done == micros{2'002'000});
}

TEST_CASE("a holder that crashes mid-transfer hands over what it sent; the next holder sends the rest", "[sim][downloads]") {
  // Searcher 0 finds the file on holders 1 and 2 (8 Mbit/s up each). The file is one piece,
  // asked of holder 1, which crashes at 0.5 s having sent 499,000 bytes: they arrive at
  // 0.501 s with the failure; holder 2 is asked for the other 501,000 (arrives 0.502 s, sent
  // by 1.003 s, arrived 1.004 s). Every byte is received once.
  world_rig rig(3, rig_scenario("constant:8", "constant:100"));
  const auto k = rig.search(0, 0);
  rig.hits({{micros{0}, k, 1}, {micros{0}, k, 2}});
  rig.world.run_before(micros{500'000});
  rig.running[1] = 0;
  rig.world.peer_stopped(1, micros{500'000});
  rig.world.run_before(micros{10'000'000});
  const auto& r = rig.records[k];
  CHECK(r.download == download_outcome::done);
  CHECK(r.file_done == micros{1'004'000});
  CHECK(r.download_bytes == 1'000'000);
  CHECK(r.download_failovers == 1);
  CHECK(rig.world.transfers_open() == 0);

  // A searcher that leaves abandons its download.
  world_rig gone(3, rig_scenario("constant:8", "constant:100"));
  const auto g = gone.search(0, 0);
  gone.hits({{micros{0}, g, 1}});
  gone.world.run_before(micros{300'000});
  gone.running[0] = 0;
  gone.world.peer_stopped(0, micros{300'000});
  gone.world.run_before(micros{10'000'000});
  CHECK(gone.records[g].download == download_outcome::abandoned);
  CHECK(gone.records[g].file_done.count() < 0);
  CHECK_FALSE(gone.world.busy());
  CHECK(gone.world.transfers_open() == 0);
  CHECK(gone.world.flows_active() == 0);
}

TEST_CASE("a busy holder turns requests away; a download with nowhere else to go fails", "[sim][downloads]") {
  auto s = rig_scenario("constant:8", "constant:100");
  s.download.uploads_max = 1;
  s.node.fetch.holder_failures_max = 1;
  world_rig rig(3, s);
  const auto a = rig.search(1, 0), b = rig.search(2, 0);
  rig.hits({{micros{0}, a, 0}, {micros{0}, b, 0}});
  rig.world.run_before(micros{10'000'000});
  // Searcher 1's request reached holder 0 first (same instant, lower key): served alone.
  CHECK(rig.records[a].download == download_outcome::done);
  CHECK(rig.records[a].file_done == micros{1'002'000});
  CHECK(rig.records[b].download == download_outcome::failed);
  CHECK(rig.records[b].download_bytes == 0);
}

TEST_CASE("downloads on a quiet network: time to file is first hit, two link latencies and size over rate", "[sim][downloads]") {
  // Each download is one request (files are under a piece) to the first hit's holder: 10 ms
  // to ask, the file at the lesser of the holder's upload and the searcher's download, 10 ms
  // for the last byte to arrive. The searches are 3 s apart and a download takes about 1-2 s,
  // so no flow shares an end with another: the times are exact to the microsecond.
  auto s = quiet(300);
  s.bandwidth_mbps = 8;  // the shorthand: 1,000,000 bytes/s up and down
  simulator sim(s);
  const auto r = sim.run();
  std::size_t done = 0;
  for (const auto& q : r.queries) {
    if (q.hits == 0) continue;
    REQUIRE(q.download == download_outcome::done);
    REQUIRE(q.download_start == q.first_hit);
    REQUIRE(q.file_bytes == 1'000'000 + q.file);  // the default sizes
    REQUIRE(q.file_done == q.first_hit + micros{20'000} + micros{1'000'000 + q.file});
    REQUIRE(q.download_bytes == q.file_bytes);
    ++done;
  }
  CHECK(done >= 15);
  CHECK(sim.downloads()->transfers_open() == 0);

  // Upload 8, download 4 Mbit/s: the searcher's end sets the pace (500,000 bytes/s).
  s.bandwidth_mbps = 0;
  REQUIRE(s.download.upload.parse("constant:8").ok());
  REQUIRE(s.download.download.parse("constant:4").ok());
  simulator slow(s);
  const auto slow_r = slow.run();
  for (const auto& q : slow_r.queries) {
    if (q.hits == 0) continue;
    REQUIRE(q.file_done == q.first_hit + micros{20'000} + micros{2 * (1'000'000 + q.file)});
  }
  const auto report = format_report(s, slow_r);
  CHECK(report.find("time to file p50 (ms)") != std::string::npos);
}

TEST_CASE("several holders at once shorten a download when the holders' upload is the bottleneck", "[sim][downloads]") {
  // 8 MB files (8 pieces), holders upload 8 Mbit/s (1 MB/s), searchers download 100 Mbit/s.
  // One holder takes 8 s; four holders of 2 pieces each about a quarter of that.
  auto s = quiet(400);
  s.files = 10;
  s.replication = 20;
  s.queries = 15;
  s.query_interval = micros{20'000'000};
  REQUIRE(s.file_size.parse("constant:8000000").ok());
  REQUIRE(s.download.upload.parse("constant:8").ok());
  REQUIRE(s.download.download.parse("constant:100").ok());
  s.node.fetch.pieces_per_holder = 2;
  auto run = [](const scenario& sc, run_results& out) {
    simulator sim(sc);
    out = sim.run();
    return summarize(sc, out);
  };
  run_results one_r, four_r;
  s.node.fetch.holders_at_once = 1;
  const auto one = run(s, one_r);
  s.node.fetch.holders_at_once = 4;
  const auto four = run(s, four_r);
  CHECK(one.downloads_done >= 12);
  CHECK(four.downloads_done == one.downloads_done);
  // One holder: the file at 1,000,000 bytes/s without a pause (two pieces in flight keep it
  // busy), plus the two latencies; each of the 8 ranges may end up to 1 us late (rounding).
  for (const auto& q : one_r.queries) {
    if (q.download != download_outcome::done) continue;
    const auto expected = q.first_hit + micros{20'000} + micros{8'000'000};
    REQUIRE(q.file_done >= expected);
    REQUIRE(q.file_done <= expected + micros{8});
  }
  CHECK(four.file_p50_us < one.file_p50_us / 2);
  CHECK(four.download_rate_p50_mbps > 2 * one.download_rate_p50_mbps);
}

namespace {
scenario churning() {
  scenario s;
  s.peers = 1'500;
  // An overlay grown as a deployment grows (joins that do not overlap), where searches find
  // what they look for: the downloads are what is measured here.
  s.join_interval = micros{20'000};
  s.stabilize = micros{20'000'000};
  s.files = 50;
  s.replication = 15;
  s.queries = 300;
  s.query_interval = micros{20'000};  // 6 s of searches
  s.download.enabled = true;
  REQUIRE(s.file_size.parse("constant:20000000").ok());  // 20 MB: several seconds each
  REQUIRE(s.download.upload.parse("constant:20").ok());
  REQUIRE(s.download.download.parse("constant:100").ok());
  return s;
}
}  // namespace

TEST_CASE("downloads under a mass crash fail over to other holders and mostly complete", "[sim][downloads][churn]") {
  auto s = churning();
  s.crash_fraction = 0.3;
  s.crash_at = micros{4'000'000};  // while most downloads run
  simulator sim(s);
  const auto r = sim.run();
  const auto m = summarize(s, r);
  INFO(format_report(s, r));
  CHECK(m.downloads_started > 250);
  CHECK(m.download_failovers > 20);
  CHECK(m.downloads_abandoned > 10);  // searchers among the crashed
  // Of the downloads whose searcher survived, nearly all complete from the remaining holders.
  const double kept = m.downloads_started - m.downloads_abandoned;
  CHECK(m.downloads_done / kept > 0.95);
  CHECK(m.downloads_timed_out == 0);
  // A done download received its file once, failovers included (the next holder resumes at
  // the bytes stored). Two searches of one searcher for one file at once share a download,
  // whose bytes count with the first.
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> received;
  for (const auto& q : r.queries) {
    if (q.download == download_outcome::done) received[{q.origin, q.file}] += q.download_bytes;
  }
  for (const auto& [search, bytes] : received) {
    REQUIRE(bytes > 0);
    REQUIRE(bytes % 20'000'000 == 0);
  }
  CHECK_FALSE(sim.downloads()->busy());
  CHECK(sim.downloads()->transfers_open() == 0);
  CHECK(sim.downloads()->flows_active() == 0);
}

TEST_CASE("downloads under continuous churn: failovers, and most complete", "[sim][downloads][churn]") {
  auto s = churning();
  s.sessions = true;
  REQUIRE(s.session_length.parse("exp:30").ok());
  REQUIRE(s.downtime.parse("exp:10").ok());
  s.graceful_share = 0.5;
  simulator sim(s);
  const auto r = sim.run();
  const auto m = summarize(s, r);
  INFO(format_report(s, r));
  CHECK(m.download_failovers > 10);
  const double kept = m.downloads_started - m.downloads_abandoned;
  CHECK(m.downloads_done / kept > 0.85);
  CHECK(sim.downloads()->transfers_open() == 0);
}

TEST_CASE("downloads: same seed, same bytes, whatever the number of threads", "[sim][downloads]") {
  // Downloads under every kind of fault that stops peers, with capacities and sizes drawn
  // from distributions; uniform latency has a positive minimum, so parallel windows are used.
  scenario s;
  s.peers = 1'200;
  s.stabilize = micros{20'000'000};
  s.files = 100;
  s.replication = 10;
  s.queries = 150;
  s.download.enabled = true;
  REQUIRE(s.file_size.parse("lognormal:8000000:1").ok());
  REQUIRE(s.download.upload.parse("classes:ec2").ok());
  REQUIRE(s.download.download.parse("lognormal:50:0.8").ok());
  s.crash_fraction = 0.05;
  s.crash_at = micros{1'000'000};
  s.leave_fraction = 0.05;
  s.leave_at = micros{1'500'000};
  s.sessions = true;
  REQUIRE(s.session_length.parse("exp:20").ok());
  REQUIRE(s.downtime.parse("exp:5").ok());
  s.graceful_share = 0.5;
  s.report_interval = micros{250'000};
  std::vector<std::string> reports;
  for (std::uint32_t threads : {1u, 2u, 3u, 1u}) {
    s.threads = threads;
    simulator sim(s);
    CHECK(sim.threads() == threads);
    reports.push_back(format_report(s, sim.run()));
  }
  CHECK(reports[0] == reports[1]);
  CHECK(reports[0] == reports[2]);
  CHECK(reports[0] == reports[3]);
  CHECK(reports[0].find("failovers") != std::string::npos);
  // start = hits_wanted takes another path through the world; it too is thread-independent.
  s.download.start = scenario::download_settings::start_kind::hits_wanted;
  s.hits_wanted = 3;
  std::vector<std::string> waited;
  for (std::uint32_t threads : {1u, 2u}) {
    s.threads = threads;
    simulator sim(s);
    waited.push_back(format_report(s, sim.run()));
  }
  CHECK(waited[0] == waited[1]);
  CHECK(waited[0] != reports[0]);
}

TEST_CASE("downloads off: their settings change nothing", "[sim][downloads]") {
  scenario s;
  s.peers = 800;
  s.stabilize = micros{20'000'000};
  s.files = 100;
  s.replication = 10;
  s.queries = 60;
  simulator plain(s);
  const auto a = format_report(s, plain.run());
  CHECK(plain.downloads() == nullptr);
  REQUIRE(load_scenario_text("[workload]\nfile_size = \"pareto:1.2:100000\"\n[download]\nupload = \"classes:ec2\"\n"
                             "timeout_s = 5\n[fetch]\npiece_bytes = 65536\n",
                             "off.toml", s)
              .ok());
  CHECK_FALSE(downloads_enabled(s));
  simulator other(s);
  CHECK(format_report(s, other.run()) == a);
  CHECK(a.find("downloads") == std::string::npos);
}

TEST_CASE("download keys load, and bad values are refused with the key named", "[sim][downloads]") {
  scenario s;
  REQUIRE(load_scenario_text("[download]\nenabled = true\nupload = \"uniform:10:50\"\ndownload = \"classes:ec2\"\n"
                             "start = \"hits_wanted\"\ntimeout_s = 60\nuploads_max = 4\n[fetch]\nholders_at_once = 2\n"
                             "[workload]\nfile_size = \"pareto:1.5:500000\"\n",
                             "t.toml", s)
              .ok());
  CHECK(downloads_enabled(s));
  CHECK(s.download.upload.shape == capacity_dist::kind::uniform);
  CHECK(s.download.download.shape == capacity_dist::kind::ec2_classes);
  CHECK(s.download.start == scenario::download_settings::start_kind::hits_wanted);
  CHECK(s.download.timeout == micros{60'000'000});
  CHECK(s.download.uploads_max == 4);
  CHECK(s.node.fetch.holders_at_once == 2);
  CHECK(s.file_size.shape == size_dist::kind::pareto);
  // The shorthand turns downloads on at one constant rate, over the [download] capacities.
  scenario b;
  REQUIRE(set_key(b, "network.bandwidth_mbps", "25").ok());
  CHECK(downloads_enabled(b));
  CHECK(upload_capacity(b).shape == capacity_dist::kind::constant);
  CHECK(upload_capacity(b).a == 25);
  CHECK(download_capacity(b).a == 25);

  const std::pair<const char*, const char*> bad[] = {
      {"[download]\nupload = \"constant:0\"\n", "bad.toml:2: download.upload: "},
      {"[download]\ndownload = \"fast\"\n", "bad.toml:2: download.download: expected constant:MBIT_S"},
      {"[download]\nupload = \"uniform:50:10\"\n", "bad.toml:2: download.upload: "},
      {"[download]\nupload = \"lognormal:20:9\"\n", "bad.toml:2: download.upload: "},
      {"[download]\nstart = \"later\"\n", "bad.toml:2: download.start: expected first_hit or hits_wanted"},
      {"[download]\ntimeout_s = 0\n", "bad.toml:2: download.timeout_s: must be between"},
      {"[download]\nenabled = 1\n", "bad.toml:2: download.enabled: expected true or false"},
      {"[download]\nslots = 3\n", "bad.toml:2: unknown key 'download.slots'"},
      {"[workload]\nfile_size = \"gauss:1\"\n", "bad.toml:2: workload.file_size: expected indexed:BASE"},
      {"[workload]\nfile_size = \"constant:0\"\n", "bad.toml:2: workload.file_size: "},
      {"[workload]\nfile_size = \"pareto:0:1000\"\n", "bad.toml:2: workload.file_size: "},
      {"[workload]\nfile_size = \"uniform:9:x\"\n", "bad.toml:2: workload.file_size: "},
      {"[fetch]\npiece_bytes = 10\n", "bad.toml:2: fetch.piece_bytes: must be between"},
      {"[network]\nbandwidth_mbps = -1\n", "bad.toml:2: network.bandwidth_mbps: "},
  };
  for (const auto& [text, expected] : bad) {
    scenario t;
    INFO(text);
    const auto loaded = load_scenario_text(text, "bad.toml", t);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error().what().rfind(expected, 0) == 0);
  }
  const auto set = set_key(s, "download.upload", "classes:gcp");
  REQUIRE_FALSE(set.ok());
  CHECK(set.error().what().rfind("download.upload: ", 0) == 0);
}

TEST_CASE("capacity and file-size distributions match their parameters", "[sim][downloads]") {
  const std::uint32_t n = 20'000;
  std::vector<std::uint8_t> running(n, 1);
  catalogue files;
  std::vector<query_record> records;
  auto latency = [](std::uint32_t, std::uint32_t) { return micros{1'000}; };
  {
    // EC2 classes: the same for upload and download of a peer; shares as listed.
    auto s = rig_scenario("classes:ec2", "classes:ec2");
    download_world w(s, 3, running, files, records, latency);
    std::map<std::uint64_t, std::uint32_t> count;
    for (std::uint32_t i = 0; i < n; ++i) {
      REQUIRE(w.upload_bytes_per_s(i) == w.download_bytes_per_s(i));
      ++count[w.upload_bytes_per_s(i)];
    }
    CHECK(count.size() == 6);
    CHECK(std::abs(count[8'000'000] / double(n) - 0.30) < 0.015);     // t3.micro, 64 Mbit/s
    CHECK(std::abs(count[156'250'000] / double(n) - 0.05) < 0.01);    // m5.xlarge, 1250 Mbit/s
  }
  {
    auto s = rig_scenario("lognormal:40:0.5", "uniform:10:30");
    download_world w(s, 3, running, files, records, latency);
    std::vector<std::uint64_t> up;
    double down_sum = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      up.push_back(w.upload_bytes_per_s(i));
      const auto d = w.download_bytes_per_s(i);
      REQUIRE(d >= 1'250'000);
      REQUIRE(d <= 3'750'000);
      down_sum += static_cast<double>(d);
    }
    std::sort(up.begin(), up.end());
    CHECK(std::abs(static_cast<double>(up[n / 2]) / 5'000'000 - 1) < 0.03);  // median 40 Mbit/s
    CHECK(std::abs(down_sum / n / 2'500'000 - 1) < 0.01);                  // mean 20 Mbit/s
  }
  rng r(5);
  size_dist d;
  REQUIRE(d.parse("indexed:1000000").ok());
  const auto indexed = d.draw_all(5, r);
  CHECK(indexed == std::vector<std::uint64_t>{1'000'000, 1'000'001, 1'000'002, 1'000'003, 1'000'004});
  REQUIRE(d.parse("pareto:2:1000000").ok());
  const auto pareto = d.draw_all(n, r);
  const auto above = std::count_if(pareto.begin(), pareto.end(), [](std::uint64_t x) { return x > 2'000'000; });
  CHECK(*std::min_element(pareto.begin(), pareto.end()) >= 1'000'000);
  CHECK(std::abs(static_cast<double>(above) / n - 0.25) < 0.015);  // (1/2)^2
  REQUIRE(d.parse("lognormal:5000000:1").ok());
  auto logn = d.draw_all(n, r);
  std::sort(logn.begin(), logn.end());
  CHECK(std::abs(static_cast<double>(logn[n / 2]) / 5e6 - 1) < 0.05);
}
