// The CLI's own client (transport/control_client.hpp) against a running node's control
// endpoint, over TCP and over a unix socket: requests, reply lines, errors, limits.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "transport/control.hpp"
#include "transport/control_client.hpp"
#include "transport/net_node.hpp"

using namespace hearsay;
using namespace hearsay::net;
namespace fs = std::filesystem;

namespace {

using fields = std::map<std::string, std::string>;

// Three nodes (the last one sharing a file) and node 0's control endpoint; the loop runs on
// its own thread so that the blocking client can be used as the CLI uses it.
struct control_fixture {
  explicit control_fixture(const std::string& endpoint_kind) : root(fs::absolute("control-client-test")), log(log_level::error) {
    fs::remove_all(root);
    for (int i = 0; i < 3; ++i) {
      net_config cfg;
      cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
      cfg.network = "ctl-client";
      cfg.seed = 31 + static_cast<std::uint64_t>(i);
      cfg.shared_dir = root / ("n" + std::to_string(i)) / "shared";
      cfg.download_dir = root / ("n" + std::to_string(i)) / "dl";
      cfg.overlay.search.query_timeout = micros{3'000'000};
      fs::create_directories(cfg.shared_dir);
      if (i > 0) cfg.overlay.seeds = {nodes[0]->address()};
      if (i == 2) std::ofstream(cfg.shared_dir / "annual budget.xlsx") << std::string(20'000, 'b');
      nodes.push_back(std::make_unique<net_node>(io, cfg, log));
      REQUIRE_FALSE(nodes.back()->start());
    }
    control = std::make_unique<control_server>(io, *nodes[0], log);
    if (endpoint_kind == "unix") {
      endpoint = (root / "control.sock").string();
      REQUIRE_FALSE(control->start(endpoint));
    } else {
      REQUIRE_FALSE(control->start(std::string("127.0.0.1:0")));
      endpoint = control->address().to_string();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (nodes[0]->overlay().members().active().size() < 2 && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(5));
    }
    REQUIRE(nodes[0]->overlay().members().active().size() == 2);
    loop = std::thread([this] { io.run(); });
  }
  ~control_fixture() {
    io.stop();
    loop.join();
    control.reset();
    nodes.clear();
    fs::remove_all(root);
  }

  // One request through a fresh client, as one CLI invocation does.
  std::vector<fields> ask(const std::string& line, fields& end) {
    control_client client;
    std::string error;
    REQUIRE(client.connect(endpoint, error));
    std::vector<fields> replies;
    REQUIRE(client.request(line, [&](const fields& f, const std::string&) { replies.push_back(f); }, end, error));
    return replies;
  }

  fs::path root;
  logger log;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::vector<std::unique_ptr<net_node>> nodes;
  std::unique_ptr<control_server> control;
  std::string endpoint;
  std::thread loop;
};

}  // namespace

TEST_CASE("the CLI's client searches and fetches through the control endpoint", "[net]") {
  const auto kind = GENERATE(as<std::string>{}, "tcp", "unix");
  control_fixture f(kind);
  if (kind == "unix") {
    struct stat st{};
    REQUIRE(::stat(f.endpoint.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);  // owner only
  }
  fields end;
  auto hits = f.ask(R"({"cmd":"search","words":"annual budget","wait_ms":1000})", end);
  CHECK(end["ok"] == "true");
  CHECK(end["results"] == "1");
  REQUIRE(hits.size() == 2);  // the hit, then the end event
  CHECK(hits[0]["event"] == "hit");
  CHECK(hits[0]["name"] == "annual budget.xlsx");
  CHECK(hits[0]["holder"] == f.nodes[2]->address().to_string());

  auto fetch = f.ask(R"({"cmd":"fetch","target":"1"})", end);
  CHECK(end["ok"] == "true");
  CHECK(fs::file_size(end["path"]) == 20'000);
  CHECK(fetch.front()["event"] == "progress");

  // A search whose words match nothing reports no results, even when hits of the earlier
  // search (still open in the overlay) arrive meanwhile.
  f.ask(R"({"cmd":"search","words":"annual budget","wait_ms":1})", end);
  auto none = f.ask(R"({"cmd":"search","words":"zebra crossing","wait_ms":300})", end);
  CHECK(end["ok"] == "true");
  CHECK(end["results"] == "0");
  CHECK(none.size() == 1);
  f.ask(R"({"cmd":"results"})", end);
  auto listed = f.ask(R"({"cmd":"results"})", end);
  CHECK(listed.size() == 1);  // only the end event

  auto bad = f.ask(R"({"cmd":"fetch","target":"1"})", end);
  CHECK(end["ok"] == "false");
  CHECK(end["error"].find("no result number") != std::string::npos);
}

TEST_CASE("the CLI's client reports an absent node and a stale socket is replaced", "[net]") {
  const fs::path root = fs::absolute("control-client-absent");
  fs::remove_all(root);
  fs::create_directories(root);
  control_client client;
  std::string error;
  CHECK_FALSE(client.connect((root / "nobody.sock").string(), error));
  CHECK(error.find("is hearsay-node running?") != std::string::npos);
  CHECK_FALSE(client.connect("127.0.0.1:1", error));
  CHECK(error.find("127.0.0.1:1") != std::string::npos);
  CHECK_FALSE(client.connect("no-port-here", error));
  CHECK(error.find("bad control endpoint") != std::string::npos);
  CHECK(is_unix_socket_path("/run/hearsay.sock"));
  CHECK(is_unix_socket_path("./hearsay.sock"));
  CHECK_FALSE(is_unix_socket_path("127.0.0.1:7001"));

  // A socket file left by a node that died does not stop the next one from starting; a
  // socket a live node answers on does.
  logger log(log_level::error);
  asio::io_context io;
  net_config cfg;
  cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
  net_node node(io, cfg, log);
  REQUIRE_FALSE(node.start());
  const std::string path = (root / "c.sock").string();
  {
    asio::local::stream_protocol::acceptor stale(io, asio::local::stream_protocol::endpoint(path));
  }  // closed, but the file stays
  REQUIRE(fs::exists(path));
  control_server first(io, node, log);
  REQUIRE_FALSE(first.start(path));
  control_server second(io, node, log);
  CHECK(second.start(path) == std::make_error_code(std::errc::address_in_use));
  first.stop();
  CHECK_FALSE(fs::exists(path));  // removed on stop
  fs::remove_all(root);
}

TEST_CASE("control clients are bounded", "[net]") {
  logger log(log_level::error);
  asio::io_context io;
  net_config cfg;
  cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
  net_node node(io, cfg, log);
  REQUIRE_FALSE(node.start());
  control_server control(io, node, log);
  REQUIRE_FALSE(control.start(std::string("127.0.0.1:0")));
  std::vector<asio::ip::tcp::socket> clients;
  for (std::size_t i = 0; i < control_server::sessions_max + 1; ++i) {
    clients.emplace_back(io);
    clients.back().connect({asio::ip::make_address("127.0.0.1"), control.address().port});
    io.run_for(std::chrono::milliseconds(5));
  }
  // The last one is closed by the server; the others still get answers.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::error_code ec;
  std::array<char, 16> buf{};
  clients.back().non_blocking(true);
  while (std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    clients.back().read_some(asio::buffer(buf), ec);
    if (ec != asio::error::would_block) break;
  }
  CHECK(ec == asio::error::eof);
  asio::write(clients.front(), asio::buffer(std::string("{\"cmd\":\"status\"}\n")));
  asio::streambuf reply;
  clients.front().non_blocking(true);
  bool answered = false;
  while (!answered && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    asio::read_until(clients.front(), reply, "\"event\":\"end\"", ec);
    answered = !ec;
  }
  CHECK(answered);
}
