// The CLI's own client (transport/control_client.hpp) against a running node's control
// endpoint, over TCP and over a unix socket: requests, reply lines, errors, limits.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "transport/control.hpp"
#include "transport/control_client.hpp"
#include "transport/endpoint.hpp"
#include "transport/net_node.hpp"

using namespace hearsay;
using namespace hearsay::net;
namespace fs = std::filesystem;

namespace {

using fields = std::map<std::string, std::string>;

// Three nodes (the last one sharing a file) and node 0's control endpoint; the loop runs on
// its own thread so that the blocking client can be used as the CLI uses it.
struct control_fixture {
  // relative_folders: the nodes' shared and download folders given relative to the working
  // directory (as a node started with --downloads dl has them).
  explicit control_fixture(const std::string& endpoint_kind,
                           std::chrono::milliseconds idle = control_server::idle_timeout_default,
                           bool relative_folders = false)
      // A folder of its own (tests run in parallel processes; two fixtures in one test too).
      : root(fs::absolute("control-client-test-" + std::to_string(::getpid()) + "-" + std::to_string(++instances))),
        log(log_level::error) {
    fs::remove_all(root);
    for (int i = 0; i < 3; ++i) {
      net_config cfg;
      cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
      cfg.network = "ctl-client";
      cfg.seed = 31 + static_cast<std::uint64_t>(i);
      const fs::path folder = (relative_folders ? fs::path(root.filename()) : root) / ("n" + std::to_string(i));
      cfg.shared_dir = folder / "shared";
      cfg.download_dir = folder / "dl";
      cfg.overlay.search.query_timeout = micros{3'000'000};
      fs::create_directories(cfg.shared_dir);
      if (i > 0) cfg.overlay.seeds = {nodes[0]->address()};
      if (i == 2) std::ofstream(cfg.shared_dir / "annual budget.xlsx") << std::string(20'000, 'b');
      nodes.push_back(std::make_unique<net_node>(io, cfg, log));
      REQUIRE(nodes.back()->start());
    }
    control = std::make_unique<control_server>(io, *nodes[0], log);
    control->set_idle_timeout(idle);
    if (endpoint_kind == "unix") {
      endpoint = (root / "control.sock").string();
      REQUIRE(control->start(endpoint));
    } else {
      REQUIRE(control->start(std::string("127.0.0.1:0"), token));
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

  // One request through a fresh client, as one CLI invocation does (with the token first,
  // over TCP). `fd`: the file a share hands over.
  std::vector<fields> ask(const std::string& line, fields& end, int fd = -1) {
    control_client client;
    REQUIRE(client.connect(endpoint));
    if (!is_unix_socket_path(endpoint)) REQUIRE(client.authenticate(token));
    std::vector<fields> replies;
    auto answered = client.request(line, [&](const fields& f, const std::string&) {
      replies.push_back(f);
      if (f.at("event") == "send-fd") REQUIRE(client.send_fd(fd));
    });
    REQUIRE(answered);
    end = std::move(*answered);
    return replies;
  }

  std::string token = "0123456789abcdef0123456789abcdef";
  static inline int instances = 0;

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

TEST_CASE("a TCP control endpoint answers only a client that presents its token", "[net]") {
  control_fixture f("tcp");
  auto first_reply = [&](const std::vector<std::string>& lines) {
    control_client client;
    REQUIRE(client.connect(f.endpoint));
    fields end;
    for (const auto& line : lines) {
      auto answered = client.request(line);
      if (!answered) return fields{{"closed", answered.error().what()}};
      end = std::move(*answered);
    }
    return end;
  };
  auto no_token = first_reply({R"({"cmd":"status"})"});
  CHECK(no_token["ok"] == "false");
  CHECK(no_token["error"].find("authentication required") != std::string::npos);
  // Refused, the connection takes nothing more.
  auto after = first_reply({R"({"cmd":"status"})", R"({"cmd":"status"})"});
  {
    INFO("the second request of a refused client: " << (after.count("closed") ? after["closed"] : after["error"]));
    CHECK(after.count("closed") == 1);
  }
  // Nor lines that were already on their way when the refusal went out: a client that sends
  // its requests in one write gets the refusal alone, and the right token after a wrong
  // request opens nothing.
  {
    asio::io_context client_io;
    asio::ip::tcp::socket s(client_io);
    s.connect(to_endpoint(*peer_addr::parse(f.endpoint)));
    asio::write(s, asio::buffer(R"({"cmd":"status"})" "\n" R"({"cmd":"auth","token":")" + f.token + "\"}\n" +
                                R"({"cmd":"status"})" "\n"));
    std::string replies;
    std::array<char, 4096> buf{};
    bool closed = false;
    std::function<void()> pull = [&] {
      s.async_read_some(asio::buffer(buf), [&](const std::error_code& ec, std::size_t n) {
        if (ec) {
          closed = true;
          return;
        }
        replies.append(buf.data(), n);
        pull();
      });
    };
    pull();
    client_io.run_for(std::chrono::seconds(3));
    INFO("replies to three pipelined lines: " << replies);
    CHECK(closed);
    CHECK(std::count(replies.begin(), replies.end(), '\n') == 1);
    CHECK(replies.find("authentication required") != std::string::npos);
  }
  auto wrong = first_reply({R"({"cmd":"auth","token":"0123456789abcdef0123456789abcdeX"})"});
  CHECK(wrong["ok"] == "false");
  auto short_token = first_reply({R"({"cmd":"auth","token":"0123"})"});
  CHECK(short_token["ok"] == "false");
  auto right = first_reply({R"({"cmd":"auth","token":"0123456789abcdef0123456789abcdef"})", R"({"cmd":"status"})"});
  CHECK(right["ok"] == "true");
}

TEST_CASE("share hands the node an open file, never a path; over TCP it is refused", "[net]") {
  control_fixture f("unix");
  // A file the node could not open by its path: it is gone from the folder before the node
  // gets it (as a file only the caller may read would be), yet its open descriptor reads.
  const auto file = f.root / "caller" / "notes only I can read.txt";
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "the caller's own notes";
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  fs::remove(file);
  fields end;
  f.ask(R"({"cmd":"share","name":"notes only I can read.txt"})", end, fd);
  ::close(fd);
  CHECK(end["ok"] == "true");
  CHECK(end["files"] == "1");
  std::ifstream shared(f.root / "n0" / "shared" / "notes only I can read.txt");
  std::string text((std::istreambuf_iterator<char>(shared)), std::istreambuf_iterator<char>());
  CHECK(text == "the caller's own notes");
  // The same content again: no second copy.
  const int again = ::open((f.root / "n0" / "shared" / "notes only I can read.txt").c_str(), O_RDONLY | O_CLOEXEC);
  f.ask(R"({"cmd":"share","name":"copy.txt"})", end, again);
  ::close(again);
  CHECK(end["ok"] == "true");
  CHECK(end["already"].find("notes only I can read.txt") != std::string::npos);
  CHECK_FALSE(fs::exists(f.root / "n0" / "shared" / "copy.txt"));
  // A path (the old way) is not a file handed over.
  f.ask(R"({"cmd":"share","path":"/etc/hostname"})", end);
  CHECK(end["ok"] == "false");

  control_fixture t("tcp");
  t.ask(R"({"cmd":"share","name":"x.txt"})", end);
  CHECK(end["ok"] == "false");
  CHECK(end["error"].find("unix socket") != std::string::npos);
}

TEST_CASE("the CLI's client reports an absent node and a stale socket is replaced", "[net]") {
  const fs::path root = fs::absolute("control-client-absent");
  fs::remove_all(root);
  fs::create_directories(root);
  control_client client;
  const auto nobody = client.connect((root / "nobody.sock").string());
  REQUIRE_FALSE(nobody);
  CHECK(nobody.error().what().find("is hearsay-node running?") != std::string::npos);
  const auto refused = client.connect("127.0.0.1:1");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().what().find("127.0.0.1:1") != std::string::npos);
  const auto bad = client.connect("no-port-here");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what().find("bad control endpoint") != std::string::npos);
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
  REQUIRE(node.start());
  const std::string path = (root / "c.sock").string();
  {
    asio::local::stream_protocol::acceptor stale(io, asio::local::stream_protocol::endpoint(path));
  }  // closed, but the file stays
  REQUIRE(fs::exists(path));
  control_server first(io, node, log);
  REQUIRE(first.start(path));
  control_server second(io, node, log);
  const auto taken = second.start(path);
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code() == std::errc::address_in_use);
  first.stop();
  CHECK_FALSE(fs::exists(path));  // removed on stop
  fs::remove_all(root);
}

TEST_CASE("idle control clients neither lock the CLI out nor stay forever", "[net]") {
  control_fixture f("unix", std::chrono::milliseconds(600));
  // As many idle connections as there are places: a CLI invocation still gets its answer
  // (the longest-idle client makes room).
  std::vector<std::unique_ptr<control_client>> idle;
  for (std::size_t i = 0; i < control_server::sessions_max; ++i) {
    idle.push_back(std::make_unique<control_client>());
    REQUIRE(idle.back()->connect(f.endpoint));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  fields end;
  f.ask(R"({"cmd":"status"})", end);
  CHECK(end["ok"] == "true");
  // The one that made room is closed; and after the idle timeout, so are all the others.
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  std::size_t closed = 0;
  for (auto& c : idle) {
    if (!c->request(R"({"cmd":"status"})")) ++closed;
  }
  CHECK(closed == control_server::sessions_max);
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

TEST_CASE("a search matches parts of words, streams its hits and ends early", "[net]") {
  control_fixture f("unix");
  fields end;
  // Parts and starts of words, in any case (the real node matches substrings).
  for (const char* words : {"budg", "ANNUAL bud", "xlsx budget", "nual"}) {
    INFO(words);
    auto hits = f.ask(std::string(R"({"cmd":"search","wait_ms":5000,"first":1,"words":")") + words + "\"}", end);
    REQUIRE(hits.size() == 2);
    CHECK(hits[0]["name"] == "annual budget.xlsx");
  }
  // --first: the end comes with the first result, long before the wait.
  auto start = std::chrono::steady_clock::now();
  f.ask(R"({"cmd":"search","words":"budget","wait_ms":20000,"first":1})", end);
  CHECK(seconds_since(start) < 2.0);
  CHECK(end["ok"] == "true");
  CHECK(end["results"] == "1");
  CHECK(end["reason"] == "first");
  // The node closes the query after its query timeout (3 s here): the search ends then.
  start = std::chrono::steady_clock::now();
  f.ask(R"({"cmd":"search","words":"zebra","wait_ms":20000})", end);
  const double closed_after = seconds_since(start);
  CHECK(closed_after > 2.5);
  CHECK(closed_after < 8.0);
  CHECK(end["reason"] == "closed");
  CHECK(end["results"] == "0");
  // The wait is the most it takes.
  f.ask(R"({"cmd":"search","words":"zebra","wait_ms":200})", end);
  CHECK(end["reason"] == "wait");
  // Hits are sent as they come, not with the end.
  start = std::chrono::steady_clock::now();
  double hit_at = -1;
  {
    control_client client;
    REQUIRE(client.connect(f.endpoint));
    auto answered = client.request(R"({"cmd":"search","words":"budget","wait_ms":2000})",
                                   [&](const fields& r, const std::string&) {
                                     if (r.at("event") == "hit" && hit_at < 0) hit_at = seconds_since(start);
                                   });
    REQUIRE(answered);
    CHECK((*answered)["reason"] == "wait");
  }
  const double ended_at = seconds_since(start);
  CHECK(hit_at >= 0);
  CHECK(hit_at < ended_at - 1.0);
  // Bounded and meaningful: words of letters or digits, within criteria_bytes_max.
  f.ask(R"({"cmd":"search","words":"-- ..."})", end);
  CHECK(end["ok"] == "false");
  CHECK(end["error"].find("letters or digits") != std::string::npos);
  f.ask(R"({"cmd":"search","words":")" + std::string(300, 'a') + "\"}", end);
  CHECK(end["ok"] == "false");
  CHECK(end["error"].find("at most 256 bytes") != std::string::npos);
}

TEST_CASE("shared lists the node's files; the same content shared again keeps one copy and its name", "[net]") {
  control_fixture f("unix");
  const auto file = f.root / "caller" / "holiday photos.txt";
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "beach, sun, more beach";
  fields end;
  auto listed = f.ask(R"({"cmd":"shared"})", end);
  CHECK(listed.size() == 1);  // nothing shared yet: the end only
  CHECK(end["files"] == "0");

  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  f.ask(R"({"cmd":"share","name":"holiday photos.txt"})", end, fd);
  ::close(fd);
  CHECK(end["ok"] == "true");
  CHECK(end["files"] == "1");
  CHECK(end["name"] == "holiday photos.txt");
  CHECK(end["path"] == (f.root / "n0" / "shared" / "holiday photos.txt").string());
  CHECK(end.count("already") == 0);
  const std::string digest = end["sha256"];
  CHECK(digest.size() == 64);

  // Twice more, under its own name and under another: no copy, and the name it has stays.
  for (const char* name : {"holiday photos.txt", "beach.txt"}) {
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    f.ask(std::string(R"({"cmd":"share","name":")") + name + "\"}", end, fd);
    ::close(fd);
    CHECK(end["ok"] == "true");
    CHECK(end["files"] == "1");
    CHECK(end["name"] == "holiday photos.txt");
    CHECK(end["already"] == (f.root / "n0" / "shared" / "holiday photos.txt").string());
    CHECK(end["sha256"] == digest);
  }
  std::size_t in_folder = 0;
  for (const auto& e : fs::directory_iterator(f.root / "n0" / "shared")) in_folder += e.is_regular_file() ? 1u : 0u;
  CHECK(in_folder == 1);

  // Another file: listed by name, with its absolute path.
  std::ofstream(f.root / "n0" / "shared" / "a note.md") << "remember the towels";
  f.ask(R"({"cmd":"rescan"})", end);
  listed = f.ask(R"({"cmd":"shared"})", end);
  REQUIRE(listed.size() == 3);
  CHECK(listed[0]["event"] == "file");
  CHECK(listed[0]["name"] == "a note.md");
  CHECK(listed[0]["size"] == "19");
  CHECK(listed[1]["name"] == "holiday photos.txt");
  CHECK(listed[1]["sha256"] == digest);
  CHECK(listed[1]["path"] == (f.root / "n0" / "shared" / "holiday photos.txt").string());
  CHECK(end["files"] == "2");
  CHECK(end["bytes"] == std::to_string(19 + 22));
}

TEST_CASE("paths are absolute, and fetch takes a unique hash prefix of 8+ hex digits only", "[net]") {
  // The nodes' folders are relative to the working directory; what the node tells the CLI
  // names them from the root, whatever the CLI's own directory.
  control_fixture f("unix", control_server::idle_timeout_default, true);
  fields end;
  auto hits = f.ask(R"({"cmd":"search","words":"budget","wait_ms":3000,"first":1})", end);
  REQUIRE(hits.size() == 2);
  const std::string digest = hits[0]["sha256"];
  for (const char* target : {"1.5", "1abc", "1234567", "12345678901234567890123456789012345678901234567890123456789012345",
                             "-1", "0x1234567", "budget"}) {
    INFO(target);
    f.ask(std::string(R"({"cmd":"fetch","target":")") + target + "\"}", end);
    CHECK(end["ok"] == "false");
  }
  CHECK(end["error"].find("neither a result number nor a sha256") != std::string::npos);
  f.ask(R"({"cmd":"fetch","target":"00000000"})", end);  // a prefix of no result
  CHECK(end["ok"] == "false");
  // The 12 digits a search shows, in either case.
  std::string shown = digest.substr(0, 12);
  for (auto& c : shown) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  f.ask(R"({"cmd":"fetch","target":")" + shown + "\"}", end);
  REQUIRE(end["ok"] == "true");
  const fs::path saved = end["path"];
  CHECK(saved.is_absolute());
  CHECK(saved == fs::absolute(f.root / "n0" / "dl" / "annual budget.xlsx"));
  CHECK(fs::file_size(saved) == 20'000);
  auto listed = f.ask(R"({"cmd":"downloads"})", end);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["path"] == saved.string());
  f.ask(R"({"cmd":"fetch","target":")" + digest.substr(0, 8) + "\"}", end);  // already here: where
  CHECK(end["existing"] == "true");
  CHECK(end["path"] == saved.string());
  // A node's own shared files too.
  std::ofstream(f.root / "n0" / "shared" / "mine.txt") << "x";
  f.ask(R"({"cmd":"rescan"})", end);
  listed = f.ask(R"({"cmd":"shared"})", end);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["path"] == fs::absolute(f.root / "n0" / "shared" / "mine.txt").string());
}

namespace {
volatile std::sig_atomic_t alarm_rang = 0;
extern "C" void on_alarm(int) { alarm_rang = 1; }
}  // namespace

TEST_CASE("a request stops soon after its interrupt flag is set, and the node sees the client go", "[net]") {
  control_fixture f("unix");
  struct sigaction sa {}, old {};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  REQUIRE(::sigaction(SIGALRM, &sa, &old) == 0);
  // The flag is set by a signal handler 300 ms into a search that would wait 10 s, as Ctrl-C
  // sets the CLI's.
  alarm_rang = 0;
  itimerval in_300ms{};
  in_300ms.it_value.tv_usec = 300'000;
  REQUIRE(::setitimer(ITIMER_REAL, &in_300ms, nullptr) == 0);
  const auto start = std::chrono::steady_clock::now();
  control_client client;
  REQUIRE(client.connect(f.endpoint));
  client.stop_when([] { return alarm_rang != 0; });
  const auto answered = client.request(R"({"cmd":"search","words":"zebra","wait_ms":10000})");
  const double took = seconds_since(start);
  ::sigaction(SIGALRM, &old, nullptr);
  REQUIRE_FALSE(answered);
  CHECK(answered.error().code() == std::errc::interrupted);
  CHECK(took < 2.0);
  // The connection is closed: another request on it fails at once, and the node serves others.
  CHECK_FALSE(client.request(R"({"cmd":"status"})"));
  fields end;
  f.ask(R"({"cmd":"status"})", end);
  CHECK(end["ok"] == "true");
}

TEST_CASE("a request stops once its stop predicate answers true, which it asks while the node is silent", "[net]") {
  control_fixture f("unix");
  // A search that would wait 10 s; the predicate answers true the fifth time it is asked.
  int asked = 0;
  const auto start = std::chrono::steady_clock::now();
  control_client client;
  REQUIRE(client.connect(f.endpoint));
  client.stop_when([&] { return ++asked >= 5; });
  const auto answered = client.request(R"({"cmd":"search","words":"zebra","wait_ms":10000})");
  const double took = seconds_since(start);
  REQUIRE_FALSE(answered);
  CHECK(answered.error().code() == std::errc::interrupted);
  CHECK(asked == 5);
  CHECK(took < 5.0);  // asked every 100 ms or so, not once the search ends
  CHECK_FALSE(client.request(R"({"cmd":"status"})"));
  fields end;
  f.ask(R"({"cmd":"status"})", end);
  CHECK(end["ok"] == "true");
}
