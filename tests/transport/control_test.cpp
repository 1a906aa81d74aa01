// The control endpoint end to end: a client speaking JSON lines to a running node, as the
// `hearsay` CLI does; and the shared-folder index.

#include <catch2/catch.hpp>

#include <asio.hpp>
#include <filesystem>
#include <fstream>
#include <array>
#include <thread>

#include "transport/control.hpp"
#include "transport/file_index.hpp"
#include "transport/json.hpp"
#include "transport/metrics.hpp"
#include "transport/net_node.hpp"
#include "transport/sha256.hpp"

using namespace hearsay;
using namespace hearsay::net;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// Sends one request line and collects the reply lines up to the end event.
std::vector<std::map<std::string, std::string>> ask(std::uint16_t port, const std::string& request) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(request + "\n"));
  asio::streambuf buf;
  std::vector<std::map<std::string, std::string>> out;
  while (true) {
    asio::read_until(s, buf, '\n');
    std::istream in(&buf);
    std::string line;
    std::getline(in, line);
    auto f = json::parse_flat(line);
    REQUIRE(f);
    out.push_back(*f);
    if ((*f)["event"] == "end") return out;
  }
}

}  // namespace

TEST_CASE("the control endpoint answers search, fetch, downloads, cancel, peers, status and rescan", "[net]") {
  const fs::path root = fs::absolute("control-test");
  fs::remove_all(root);
  logger log(log_level::warn);
  asio::io_context io;
  std::vector<std::unique_ptr<net_node>> nodes;
  std::vector<net_config> cfgs;
  for (int i = 0; i < 3; ++i) {
    net_config cfg;
    cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
    cfg.network = "ctl";
    cfg.seed = 7 + static_cast<std::uint64_t>(i);
    cfg.shared_dir = root / ("n" + std::to_string(i)) / "shared";
    cfg.download_dir = root / ("n" + std::to_string(i)) / "dl";
    fs::create_directories(cfg.shared_dir);
    if (i > 0) cfg.overlay.seeds = {nodes[0]->address()};
    if (i == 2) write_text(cfg.shared_dir / "quarterly report.pdf", std::string(70'000, 'q'));
    // A remote name need not be UTF-8: the JSON lines must carry it all the same.
    if (i == 2) write_text(cfg.shared_dir / "mixed \xff\xfe name.txt", "not utf-8");
    if (i == 2) cfg.limits.upload_bytes_per_s = 4u << 20;  // a large download takes a while
    cfgs.push_back(cfg);
    nodes.push_back(std::make_unique<net_node>(io, cfg, log));
    REQUIRE(nodes.back()->start());
  }
  control_server control(io, *nodes[0], log);
  REQUIRE(control.start(*peer_addr::parse("127.0.0.1:0", 0, true), ""));  // loopback, no token: a test
  const auto port = control.address().port;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (nodes[0]->overlay().members().active().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
  }
  REQUIRE(nodes[0]->overlay().members().active().size() == 2);

  metrics_server metrics(io, *nodes[0], log);
  REQUIRE(metrics.start(*peer_addr::parse("127.0.0.1:0", 0, true)));
  auto guard = asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });

  auto http_get = [&](const std::string& path) {
    asio::io_context client;
    asio::ip::tcp::socket s(client);
    s.connect({asio::ip::make_address("127.0.0.1"), metrics.address().port});
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    asio::write(s, asio::buffer(request));
    std::string response;
    std::error_code ec;
    std::array<char, 4096> buf{};
    while (true) {
      const auto n = s.read_some(asio::buffer(buf), ec);
      response.append(buf.data(), n);
      if (ec) break;
    }
    return response;
  };
  const auto page = http_get("/metrics");
  CHECK(page.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(page.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(page.find("# TYPE hearsay_peers_active gauge\nhearsay_peers_active 2\n") != std::string::npos);
  CHECK(page.find("hearsay_queries_received_total ") != std::string::npos);
  CHECK(http_get("/health").find("200 OK") != std::string::npos);
  CHECK(http_get("/nope").rfind("HTTP/1.1 404", 0) == 0);

  auto search = ask(port, R"({"cmd":"search","words":"quarterly report","wait_ms":1500})");
  REQUIRE(search.size() == 2);
  CHECK(search[0]["event"] == "hit");
  CHECK(search[0]["n"] == "1");
  CHECK(search[0]["name"] == "quarterly report.pdf");
  CHECK(search[0]["size"] == "70000");
  CHECK(search[0]["holder"] == nodes[2]->address().to_string());
  CHECK(search[1]["ok"] == "true");
  CHECK(search[1]["results"] == "1");

  auto results = ask(port, R"({"cmd":"results"})");
  REQUIRE(results.size() == 2);
  CHECK(results[0]["sha256"] == search[0]["sha256"]);

  auto fetch = ask(port, R"({"cmd":"fetch","target":"1"})");
  REQUIRE(fetch.size() >= 2);
  CHECK(fetch.front()["event"] == "progress");
  CHECK(fetch.back()["ok"] == "true");
  CHECK(fetch.back()["path"] == (cfgs[0].download_dir / "quarterly report.pdf").string());
  CHECK(fs::file_size(cfgs[0].download_dir / "quarterly report.pdf") == 70'000);

  CHECK(fetch.back()["verified"] == "true");
  CHECK(fetch.back()["existing"] == "false");

  // The same content again: reported where it is, not fetched; by digest, by a prefix.
  auto by_digest = ask(port, R"({"cmd":"fetch","target":")" + search[0]["sha256"] + "\"}");
  CHECK(by_digest.back()["ok"] == "true");
  CHECK(by_digest.back()["existing"] == "true");
  CHECK(by_digest.back()["path"] == fetch.back()["path"]);
  auto by_prefix = ask(port, R"({"cmd":"fetch","target":")" + search[0]["sha256"].substr(0, 8) + "\"}");
  CHECK(by_prefix.back()["existing"] == "true");
  auto again = ask(port, R"({"cmd":"fetch","target":"1","again":true})");
  CHECK(again.back()["ok"] == "true");
  CHECK(again.back()["existing"] == "false");
  CHECK(again.back()["path"] == (cfgs[0].download_dir / "quarterly report (2).pdf").string());
  for (const char* target : {"9", "1.5", "1abc", "0", "abcd", ""}) {
    INFO(target);
    auto bad = ask(port, std::string(R"({"cmd":"fetch","target":")") + target + "\"}");
    CHECK(bad.back()["ok"] == "false");
  }
  CHECK(ask(port, R"({"cmd":"fetch","target":"9"})").back()["error"].find("no result number") != std::string::npos);

  auto list = ask(port, R"({"cmd":"downloads"})");
  REQUIRE(list.size() == 3);  // the two finished downloads, newest first, then the end
  CHECK(list[0]["event"] == "download");
  CHECK(list[0]["state"] == "done");
  CHECK(list[0]["path"] == again.back()["path"]);
  CHECK(list[1]["path"] == fetch.back()["path"]);
  auto cancel_none = ask(port, R"({"cmd":"cancel","id":"42"})");
  CHECK(cancel_none.back()["ok"] == "false");
  CHECK(ask(port, R"({"cmd":"cancel","id":"all"})").back()["cancelled"] == "0");
  CHECK(ask(port, R"({"cmd":"cancel","id":"x"})").back()["ok"] == "false");

  auto peers = ask(port, R"({"cmd":"peers"})");
  std::size_t active = 0;
  for (auto& p : peers) active += p["view"] == "active" ? 1u : 0u;
  CHECK(active == 2);

  auto status = ask(port, R"({"cmd":"status"})");
  REQUIRE(status.size() == 2);
  CHECK(status[0]["address"] == nodes[0]->address().to_string());
  CHECK(status[0]["fetches_done"] == "2");
  CHECK(status[0]["active"] == "2");

  // The bytes of a name that are not UTF-8 arrive as U+FFFD, in a line that parses.
  auto mixed = ask(port, R"({"cmd":"search","words":"mixed name","wait_ms":1500})");
  REQUIRE(mixed.size() == 2);
  CHECK(mixed[0]["event"] == "hit");
  CHECK(mixed[0]["name"] == "mixed \xef\xbf\xbd\xef\xbf\xbd name.txt");
  CHECK(mixed[1]["results"] == "1");

  // Share takes an open file over the unix socket only (control_client_test.cpp); a path over
  // TCP is refused, and the node reads nothing of it.
  write_text(root / "outside.txt", "shared through the CLI");
  auto share = ask(port, R"({"cmd":"share","path":")" + (root / "outside.txt").string() + "\"}");
  CHECK(share.back()["ok"] == "false");
  CHECK_FALSE(fs::exists(cfgs[0].shared_dir / "outside.txt"));

  // A client that goes away in the middle of a fetch (an interrupted CLI) cancels it; a
  // detached fetch answers at once and runs on.
  write_text(cfgs[2].shared_dir / "slow movie.mkv", std::string(30u << 20, 'm'));
  asio::post(io, [&] { nodes[2]->rescan().ignore(); });  // the search below finds the file, or fails
  auto slow = ask(port, R"({"cmd":"search","words":"slow movie","wait_ms":1500})");
  REQUIRE(slow.size() == 2);
  {
    asio::io_context client;
    asio::ip::tcp::socket s(client);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    asio::write(s, asio::buffer(std::string(R"({"cmd":"fetch","target":"1"})") + "\n"));
    asio::streambuf buf;
    asio::read_until(s, buf, '\n');  // the first progress line: the download runs
  }  // closed here
  auto cancelled = [&] {
    auto now = ask(port, R"({"cmd":"downloads"})");
    return now.size() >= 2 && now[0]["name"] == "slow movie.mkv" && now[0]["state"] == "cancelled";
  };
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    seen = cancelled();
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(seen);
  auto detached = ask(port, R"({"cmd":"fetch","target":"1","detach":true})");
  REQUIRE(detached.size() == 1);
  CHECK(detached[0]["ok"] == "true");
  CHECK(detached[0]["detached"] == "true");

  auto unknown = ask(port, R"({"cmd":"dance"})");
  CHECK(unknown.back()["ok"] == "false");
  auto garbage = ask(port, "this is not json");
  CHECK(garbage.back()["ok"] == "false");

  io.stop();
  loop.join();
  fs::remove_all(root);
}

TEST_CASE("the shared folder index hashes files and skips hidden ones", "[net]") {
  const fs::path dir = fs::absolute("index-test");
  fs::remove_all(dir);
  write_text(dir / "a.txt", "abc");
  write_text(dir / "sub" / "b.bin", std::string(100'000, 'b'));
  write_text(dir / ".hidden", "secret");
  write_text(dir / ".a.txt.12345678.part", "partial");
  file_index index;
  const auto problems = index.scan(dir);
  REQUIRE(problems);
  CHECK(problems->empty());
  CHECK(index.size() == 2);
  const auto abc = sha256_stream::of(std::string_view("abc"));
  const indexed_file* a = index.find(abc);
  REQUIRE(a != nullptr);
  CHECK(a->info.name == "a.txt");
  CHECK(a->info.size == 3);
  CHECK(a->info.sha256.to_hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  library lib;
  index.fill(lib);
  CHECK(lib.size() == 2);
  CHECK(lib.match(criteria::parse("b bin"), 10).size() == 1);
  // A changed file is re-hashed on rescan; a removed one disappears.
  write_text(dir / "a.txt", "abcd");
  fs::remove(dir / "sub" / "b.bin");
  REQUIRE(index.scan(dir));
  CHECK(index.size() == 1);
  CHECK(index.find(abc) == nullptr);
  const auto missing = index.scan(dir / "missing");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code());  // the system's reason is kept
  CHECK(index.size() == 1);  // unchanged
  fs::remove_all(dir);
}

TEST_CASE("a line with a name that is not UTF-8 is written, not thrown", "[net]") {
  const std::string name = "a\xff\xc3(b\xed\xa0\x80.txt";  // a stray byte, a cut sequence, a surrogate
  std::string line;
  REQUIRE_NOTHROW(line = json::line({{"event", "hit"}, {"name", name}, {"n", 1}}));
  CHECK(line.rfind(R"({"event":"hit","name":")", 0) == 0);  // the order the fields were given
  const auto parsed = json::parse_flat(line);
  REQUIRE(parsed);
  CHECK(parsed->at("name").find('\xff') == std::string::npos);
  CHECK(parsed->at("name").find("\xef\xbf\xbd") != std::string::npos);
  CHECK(parsed->at("n") == "1");
  // A request that is not UTF-8 is refused, not thrown.
  CHECK_FALSE(json::parse_flat("{\"name\":\"a\xff\"}"));
  // Numbers come back as written.
  CHECK(json::parse_flat(R"({"x":12.500,"y":-3})")->at("x") == "12.500");
}

TEST_CASE("a control line is one flat JSON object and nothing after it", "[net]") {
  CHECK(json::parse_flat(R"({"cmd":"status"})"));
  const auto spaced = json::parse_flat(R"( {"cmd":"status", "n":3 }  )");
  REQUIRE(spaced);
  CHECK(spaced->at("n") == "3");
  CHECK(json::parse_flat("{}"));
  for (const char* bad : {R"({"cmd":"status"}})", R"({"cmd":"status"} x)", "{} {}", R"({"a":{"b":1}})", "{", ""}) {
    INFO(bad);
    const auto refused = json::parse_flat(bad);
    REQUIRE_FALSE(refused);
    CHECK_FALSE(refused.error().what().empty());
  }
}
