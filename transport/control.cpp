// The local control endpoint (see control.hpp).

#include "transport/control.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <deque>
#include <list>
#include <map>
#include <thread>

#include <asio.hpp>

#include "transport/control_client.hpp"
#include "transport/file_index.hpp"
#include "transport/endpoint.hpp"
#include "transport/fd_message.hpp"
#include "transport/json.hpp"
#include "transport/part_file.hpp"
#include "transport/sha256.hpp"
#include "transport/text.hpp"
#include "transport/last_error.hpp"

namespace hearsay::net {

namespace fs = std::filesystem;
using asio::ip::tcp;
// One code path for TCP and unix sockets: Asio's generic stream protocol carries either.
using stream = asio::generic::stream_protocol;

namespace {
using json::object;

// Seconds and milliseconds to the microsecond, as they were sent when they were formatted
// with "%.3f": the same number, written in its shortest form.
double num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return std::strtod(buf, nullptr);
}
std::string end_ok(const object& extra = object::object()) {
  object j = {{"event", "end"}, {"ok", true}};
  for (const auto& [k, v] : extra.items()) j[k] = v;
  return json::line(j);
}
std::string end_error(const std::string& error) {
  return json::line({{"event", "end"}, {"ok", false}, {"error", error}});
}

// A path as the CLI prints it: absolute (the node's working directory is not the user's),
// without "." or ".." steps.
std::string shown(const fs::path& p) {
  std::error_code ignored;
  return fs::absolute(p, ignored).lexically_normal().string();
}


// A file being shared, copied into the shared folder under a hidden temporary name.
struct copied_file {
  fs::path tmp;
  sha256_digest digest;
};

// Copies the open file `fd` into `dir`, hashing it on the way. Nothing is left behind when
// it fails.
result<copied_file> copy_into(int fd, const fs::path& dir) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return failure("share: not a regular file");
  copied_file c;
  c.tmp = dir / (".hearsay-share-" + std::to_string(::getpid()) + "-" + std::to_string(fd) + "-" +
                 std::to_string(st.st_ino));
  const std::string cannot_write = "cannot write into the shared folder " + dir.string();
  const int out = ::open(c.tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) return failure(last_error(), cannot_write);
  sha256_stream h;
  std::vector<std::uint8_t> buf(1u << 20);
  result<> copying;
  while (copying) {
    const ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      copying = failure(last_error(), "cannot read the file");
      break;
    }
    if (got == 0) break;
    h.update(std::span(buf.data(), static_cast<std::size_t>(got)));
    std::size_t written = 0;
    while (written < static_cast<std::size_t>(got)) {
      const ssize_t put = ::write(out, buf.data() + written, static_cast<std::size_t>(got) - written);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) {
        copying = failure(put < 0 ? last_error() : std::make_error_code(std::errc::no_space_on_device), cannot_write);
        break;
      }
      written += static_cast<std::size_t>(put);
    }
  }
  if (::close(out) != 0 && copying) copying = failure(last_error(), cannot_write);
  if (!copying) {
    std::error_code ignored;
    fs::remove(c.tmp, ignored);
    return copying.error();
  }
  c.digest = h.finish();
  return c;
}
}  // namespace

struct remembered {
  file_info file;
  std::vector<peer_addr> holders;
};

struct session : std::enable_shared_from_this<session> {
  session(stream::socket s, control_server::impl& o) : socket(std::move(s)), owner(o), wait(socket.get_executor()) {}
  stream::socket socket;
  control_server::impl& owner;
  asio::streambuf in{1 << 16};
  std::deque<std::string> out;
  bool writing = false;
  bool busy = false;  // a request is being answered
  asio::steady_timer wait;
  query_id search_id = 0;  // the search this session is answering, 0 when none
  std::uint64_t fetch_token = 0;  // the download this session watches in the foreground, 0 when none
  bool authenticated = false;  // a unix socket's clients are; a TCP client after its token
  // A client that failed to authenticate: nothing more it sent is read (lines it pipelined
  // behind the refusal included), and the connection closes once the refusal is written.
  bool refused = false;
  bool unix_socket = false;
  std::string share_name;      // a share waiting for its file descriptor
  std::chrono::steady_clock::time_point last_active = std::chrono::steady_clock::now();

  // Lines waiting for a client that does not read are bounded: past this, progress lines
  // (which the next one supersedes anyway) are skipped.
  static constexpr std::size_t pending_lines_max = 64;

  void send(std::string line, bool droppable = false) {
    if (droppable && out.size() >= pending_lines_max) return;
    line += '\n';
    out.push_back(std::move(line));
    flush();
  }
  void flush() {
    if (writing || out.empty()) return;
    writing = true;
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(out.front()), [self](const std::error_code& ec, std::size_t) {
      self->writing = false;
      if (ec) return;
      self->out.pop_front();
      if (self->out.empty() && self->refused) {
        std::error_code ignored;
        self->socket.close(ignored);
        return;
      }
      self->flush();
    });
  }
};

struct control_server::impl {
  impl(asio::io_context& io_, net_node& node_, logger& log_) : io(io_), node(node_), log(log_), acceptor(io_) {}
  asio::io_context& io;
  net_node& node;
  logger& log;
  asio::basic_socket_acceptor<stream> acceptor;
  fs::path unix_path;  // the socket file to remove on stop, when the endpoint is a unix socket
  std::string token;   // what a TCP client must present first (empty: none)
  std::chrono::milliseconds idle_timeout = control_server::idle_timeout_default;
  std::function<std::string()> web_login;  // see set_web_login
  asio::steady_timer sweep{io};  // closes idle clients
  // Copies of shared files run off the io thread; each is joined once done (by the sweep),
  // and all of them before the server goes.
  struct copier {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
  };
  std::list<copier> copiers;
  std::vector<std::weak_ptr<session>> sessions;
  std::vector<remembered> results;  // of the last search, numbered from 1
  query_id results_search = 0;      // the search whose hits `results` collects
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // Queued handlers hold a weak reference and do nothing once the server is gone.
  std::shared_ptr<int> alive = std::make_shared<int>(0);

  void accept() {
    acceptor.async_accept([this, w = std::weak_ptr<int>(alive)](const std::error_code& ec, stream::socket s) {
      if (w.expired() || ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) admit(std::move(s));
      accept();
    });
  }

  void admit(stream::socket s) {
    std::erase_if(sessions, [](const std::weak_ptr<session>& w) { return w.expired(); });
    if (sessions.size() >= control_server::sessions_max) {
      // The client idle longest makes room; if every one is answering a request, the new
      // client is refused.
      std::shared_ptr<session> idlest;
      for (auto& w : sessions) {
        auto sess = w.lock();
        if (sess && !sess->busy && (!idlest || sess->last_active < idlest->last_active)) idlest = sess;
      }
      if (!idlest) {
        log.warn("control: refusing a client, {} busy already", sessions.size());
        std::error_code ignored;
        s.close(ignored);
        return;
      }
      close_session(idlest);
      std::erase_if(sessions, [](const std::weak_ptr<session>& w) { return w.expired(); });
    }
    auto sess = std::make_shared<session>(std::move(s), *this);
    sess->unix_socket = !unix_path.empty();
    sess->authenticated = sess->unix_socket || token.empty();
    sessions.push_back(sess);
    read(sess);
  }

  void close_session(const std::shared_ptr<session>& sess) {
    std::error_code ignored;
    sess->wait.cancel();
    sess->socket.close(ignored);
    if (sess->fetch_token != 0) node.forget_fetch(std::exchange(sess->fetch_token, 0));
    std::erase_if(sessions, [&](const std::weak_ptr<session>& w) { return w.lock() == sess; });
  }

  void start_sweep() {
    sweep.expires_after(std::min<std::chrono::milliseconds>(std::chrono::seconds(5), idle_timeout / 4 + std::chrono::milliseconds(1)));
    sweep.async_wait([this, w = std::weak_ptr<int>(alive)](const std::error_code& ec) {
      if (ec || w.expired()) return;
      const auto now = std::chrono::steady_clock::now();
      std::vector<std::shared_ptr<session>> idle;
      for (auto& weak : sessions) {
        auto sess = weak.lock();
        if (sess && !sess->busy && now - sess->last_active > idle_timeout) idle.push_back(sess);
      }
      for (auto& sess : idle) close_session(sess);
      for (auto it = copiers.begin(); it != copiers.end();) {
        if (it->done->load()) {
          it->thread.join();
          it = copiers.erase(it);
        } else {
          ++it;
        }
      }
      start_sweep();
    });
  }

  void close_sessions() {
    for (auto& w : sessions) {
      if (auto sess = w.lock()) {
        std::error_code ignored;
        sess->wait.cancel();
        sess->socket.close(ignored);
      }
    }
    sessions.clear();
  }

  void read(const std::shared_ptr<session>& s) {
    asio::async_read_until(s->socket, s->in, '\n', [this, s](const std::error_code& ec, std::size_t n) {
      if (ec) {
        // Closed (an interrupted CLI), or a line over 64 KiB: a download it was watching in
        // the foreground is cancelled, unless someone else watches it too.
        if (s->fetch_token != 0) node.forget_fetch(std::exchange(s->fetch_token, 0));
        return;
      }
      std::string line(asio::buffers_begin(s->in.data()), asio::buffers_begin(s->in.data()) + static_cast<std::ptrdiff_t>(n));
      s->in.consume(n);
      s->last_active = std::chrono::steady_clock::now();
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      if (s->refused) return;  // never read past a refusal
      if (s->busy) {
        s->send(end_error("one request at a time"));
      } else if (!line.empty()) {
        handle(s, line);
      }
      // A share waits for its descriptor, which a plain read would throw away.
      if (!s->share_name.empty()) {
        receive_fd(s);
        return;
      }
      if (s->socket.is_open() && !s->refused) read(s);
    });
  }

  void handle(const std::shared_ptr<session>& s, const std::string& line) {
    auto parsed = json::parse_flat(line);
    if (!parsed) return s->send(end_error("bad request: " + parsed.error().what()));
    std::map<std::string, std::string>& req = *parsed;
    const std::string cmd = req["cmd"];
    if (!s->authenticated) {
      // A TCP client proves itself first, with the token only the node's user can read.
      const std::string& given = req["token"];
      const bool ok = cmd == "auth" && given.size() == token.size() &&
                      CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
      if (!ok) {
        s->send(end_error("authentication required: send {\"cmd\":\"auth\",\"token\":...} with the token from the "
                          "node's control.token file first"));
        s->refused = true;
        return;
      }
      s->authenticated = true;
      return s->send(end_ok());
    }
    if (cmd == "auth") return s->send(end_ok());
    if (cmd == "search") {
      return search(s, req["words"], req.count("wait_ms") ? std::atoll(req["wait_ms"].c_str()) : 3000,
                    req.count("first") ? std::atoll(req["first"].c_str()) : 0);
    }
    if (cmd == "fetch") return fetch(s, req["target"], req["again"] == "true", req["detach"] == "true");
    if (cmd == "downloads") return downloads(s);
    if (cmd == "cancel") return cancel(s, req["id"]);
    if (cmd == "results") return list_results(s);
    if (cmd == "peers") return peers(s);
    if (cmd == "status") return status(s);
    if (cmd == "rescan") return rescan(s);
    if (cmd == "shared") return shared(s);
    if (cmd == "unshare") return unshare(s, req["target"]);
    if (cmd == "webui-url") {
      if (!web_login) return s->send(end_error("this node serves no web interface (web.enabled = false)"));
      return s->send(end_ok({{"url", web_login()}}));
    }
    if (cmd == "share") return share(s, req["name"]);
    s->send(end_error("unknown command '" + cmd + "'"));
  }

  std::string hit_line(std::size_t n, const remembered& r, const search_hit* h) {
    object j = {{"event", "hit"},   {"n", n},
                {"name", r.file.name}, {"size", r.file.size},
                {"sha256", r.file.sha256.to_hex()}, {"holders", r.holders.size()}};
    if (h != nullptr) {
      j["holder"] = h->holder.to_string();
      j["hops"] = static_cast<unsigned>(h->hops);
      j["latency_ms"] = num(static_cast<double>(h->latency.count()) / 1000.0);
    }
    return json::line(j);
  }

  // Answers with hits as they come, and ends when the first `first` results (distinct files;
  // 0: no limit) are in, when the node closes the query (its query timeout), or after
  // wait_ms, whichever comes first; the end event says which ("reason").
  void search(const std::shared_ptr<session>& s, const std::string& words, long long wait_ms, long long first) {
    if (tokenize(words, 1).empty()) {
      return s->send(end_error("nothing to search for: the words need letters or digits"));
    }
    if (words.size() > node.config().overlay.search.criteria_bytes_max) {
      return s->send(end_error("a search is at most " + std::to_string(node.config().overlay.search.criteria_bytes_max) +
                               " bytes long"));
    }
    wait_ms = std::clamp<long long>(wait_ms, 1, 120'000);
    const std::size_t wanted = first > 0 ? static_cast<std::size_t>(first) : 0;
    results.clear();
    s->busy = true;
    std::weak_ptr<session> weak = s;
    // The query id is known only once search() returns, but no callback can run before that
    // (the node never calls back synchronously); the box lets the callbacks check it.
    auto id_box = std::make_shared<query_id>(0);
    // The node may outlive this server and still hold these callbacks: they check `alive`.
    auto finish = [this, weak, id_box, w = std::weak_ptr<int>(alive)](const char* reason) {
      if (w.expired()) return;
      auto sess = weak.lock();
      // A session that has moved on to another request is not ended by an old query.
      if (!sess || !sess->busy || sess->search_id != *id_box) return;
      sess->busy = false;
      sess->search_id = 0;
      sess->wait.cancel();
      sess->send(end_ok({{"results", results_search == *id_box ? results.size() : 0}, {"reason", reason}}));
    };
    const query_id id = node.search(
        words,
        [this, weak, id_box, wanted, finish, w = std::weak_ptr<int>(alive)](const search_hit& h) {
          // Hits of an older search still open in the overlay are not mixed into the results
          // of the newest one.
          if (w.expired() || h.id != results_search) return;
          // One numbered result per distinct file; more holders join its entry.
          // (Holders announcing another size for the same digest are another result: at most
          // one of them can be right, and the download takes the size it was given.)
          auto it = std::find_if(results.begin(), results.end(), [&](const remembered& r) {
            return r.file.sha256 == h.file.sha256 && r.file.size == h.file.size;
          });
          std::size_t n;
          if (it == results.end()) {
            results.push_back({h.file, {h.holder}});
            n = results.size();
          } else {
            if (std::find(it->holders.begin(), it->holders.end(), h.holder) == it->holders.end()) {
              it->holders.push_back(h.holder);
            }
            n = static_cast<std::size_t>(it - results.begin()) + 1;
          }
          auto sess = weak.lock();
          if (sess && sess->busy && sess->search_id == *id_box) sess->send(hit_line(n, results[n - 1], &h));
          // Later hits still join the remembered results (more holders for a fetch).
          if (wanted > 0 && results.size() >= wanted) finish("first");
        },
        [finish](std::uint32_t) { finish("closed"); });
    *id_box = id;
    results_search = id;
    s->search_id = id;
    s->wait.expires_after(std::chrono::milliseconds(wait_ms));
    s->wait.async_wait([finish](const std::error_code& ec) {
      if (!ec) finish("wait");
    });
  }

  void list_results(const std::shared_ptr<session>& s) {
    for (std::size_t i = 0; i < results.size(); ++i) s->send(hit_line(i + 1, results[i], nullptr));
    s->send(end_ok());
  }

  // A result number of the last search ("2"), a whole digest, or a unique prefix of one (at
  // least 8 hex digits) among the last search's results.
  result<const remembered*> pick(const std::string& target) const {
    const auto digits = [&](const std::string& t, auto accept) {
      return !t.empty() && std::all_of(t.begin(), t.end(), [&](char c) { return accept(static_cast<unsigned char>(c)); });
    };
    if (digits(target, [](unsigned char c) { return std::isdigit(c) != 0; }) && target.size() <= 6) {
      const auto n = static_cast<std::size_t>(std::stoul(target));
      if (n >= 1 && n <= results.size()) return &results[n - 1];
      return failure("no result number " + target + " (the last search had " + std::to_string(results.size()) + ")");
    }
    if (!digits(target, [](unsigned char c) { return std::isxdigit(c) != 0; }) || target.size() < 8 || target.size() > 64) {
      return failure("'" + target + "' is neither a result number nor a sha256 (or a prefix of at least 8 hex digits)");
    }
    std::string lower = target;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const remembered* found = nullptr;
    for (const auto& r : results) {
      if (r.file.sha256.to_hex().compare(0, lower.size(), lower) != 0) continue;
      if (found != nullptr && found->file.sha256 != r.file.sha256) {
        return failure("'" + target + "' matches several results: give more digits");
      }
      found = &r;
    }
    if (found == nullptr) return failure("no holder known for " + target + ": search for it first");
    return found;
  }

  static std::string progress_line(const fetch_status& st) {
    return json::line({{"event", "progress"},
                       {"id", st.id},
                       {"name", st.file.name},
                       {"bytes", st.bytes},
                       {"size", st.file.size},
                       {"rate", st.rate_bytes_per_s},
                       {"eta_s", num(st.eta_s)},
                       {"holders", st.holders_busy},
                       {"holders_known", st.holders_known},
                       {"holder", st.holder.to_string()}});
  }

  static std::string end_of_fetch(const fetch_status& st) {
    if (st.st == fetch_status::state::done) {
      return end_ok({{"id", st.id},
                     {"path", shown(st.path)},
                     {"size", st.file.size},
                     {"sha256", st.file.sha256.to_hex()},
                     {"verified", true},
                     {"existing", st.existing},
                     {"elapsed_ms", num(static_cast<double>(st.elapsed.count()) / 1000.0)},
                     {"sync_ms", num(static_cast<double>(st.sync_time.count()) / 1000.0)}});
    }
    return end_error(st.st == fetch_status::state::cancelled ? "cancelled" : st.error);
  }

  void fetch(const std::shared_ptr<session>& s, const std::string& target, bool again, bool detach) {
    const auto picked = pick(target);
    if (!picked) return s->send(end_error(picked.error().what()));
    const remembered* r = *picked;
    s->busy = true;
    std::weak_ptr<session> weak = s;
    fetch_options opts;
    opts.again = again;
    opts.detach = detach;
    auto box = std::make_shared<bool>(false);  // set once this session has answered
    const auto watch = node.fetch(r->file, r->holders, [weak, box, detach](const fetch_status& st) {
      auto sess = weak.lock();
      if (!sess || *box) return;
      if (st.st == fetch_status::state::running) {
        if (detach) {
          // Detached: say which download it is and let the client go; it runs on.
          *box = true;
          sess->busy = false;
          sess->send(end_ok({{"id", st.id}, {"detached", true}}));
          return;
        }
        sess->send(progress_line(st), true);
        return;
      }
      *box = true;
      sess->busy = false;
      sess->fetch_token = 0;
      sess->send(end_of_fetch(st));
    }, opts);
    if (!*box && !detach) s->fetch_token = watch;
  }

  void downloads(const std::shared_ptr<session>& s) {
    for (const auto& st : node.fetches()) {
      object j = {{"event", "download"},
                  {"id", st.id},
                  {"state", to_string(st.st)},
                  {"name", st.file.name},
                  {"sha256", st.file.sha256.to_hex()},
                  {"bytes", st.bytes},
                  {"size", st.file.size},
                  {"rate", st.rate_bytes_per_s},
                  {"eta_s", num(st.eta_s)},
                  {"holders", st.holders_busy},
                  {"holders_known", st.holders_known},
                  {"failovers", st.failovers}};
      if (st.st == fetch_status::state::done) j["path"] = shown(st.path);
      if (!st.error.empty()) j["error"] = st.error;
      s->send(json::line(j));
    }
    s->send(end_ok());
  }

  void cancel(const std::shared_ptr<session>& s, const std::string& id) {
    if (id == "all") return s->send(end_ok({{"cancelled", node.cancel_all_fetches()}}));
    const bool number = !id.empty() && id.size() <= 18 &&
                        std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!number) return s->send(end_error("cancel takes a download number or 'all', not '" + id + "'"));
    if (!node.cancel_fetch(std::stoull(id))) return s->send(end_error("no running download " + id));
    s->send(end_ok({{"cancelled", 1}}));
  }

  static const char* to_string(fetch_status::state st) {
    switch (st) {
      case fetch_status::state::running: return "running";
      case fetch_status::state::done: return "done";
      case fetch_status::state::failed: return "failed";
      case fetch_status::state::cancelled: return "cancelled";
    }
    return "?";
  }

  // Each view entry with the node id proven at its address ("" while none is: a passive
  // entry learnt from a shuffle and never dialled).
  void peers(const std::shared_ptr<session>& s) {
    auto line = [&](const char* view, const peer_addr& p) {
      const auto id = node.id_of(p);
      object j = {{"event", "peer"}, {"view", view}, {"addr", p.to_string()}, {"id", id ? id->to_hex() : std::string()}};
      // An open link: how long it has been open and the bytes that crossed it.
      if (const auto l = node.link_of(p)) {
        j["age_s"] = num(static_cast<double>(l->age.count()) / 1e6);
        j["bytes_in"] = l->bytes_in;
        j["bytes_out"] = l->bytes_out;
      }
      return json::line(j);
    };
    for (const auto& p : node.overlay().members().active()) s->send(line("active", p));
    for (const auto& p : node.overlay().members().passive()) s->send(line("passive", p));
    s->send(end_ok());
  }

  void status(const std::shared_ptr<session>& s) {
    const auto& o = node.overlay().stats();
    const auto& t = node.stats();
    const auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    object j = {{"event", "status"},
                {"id", node.id().to_hex()},
                {"address", node.address().to_string()},
                {"network", node.config().network},
                {"uptime_s", num(uptime)},
                {"active", node.overlay().members().active().size()},
                {"passive", node.overlay().members().passive().size()},
                {"shared_files", node.shared_files()},
                {"shared_bytes", node.shared_bytes()}};
    const std::pair<const char*, std::uint64_t> counters[] = {
        {"messages_sent", o.messages_sent},       {"messages_received", o.messages_received},
        {"queries_originated", o.queries_originated}, {"queries_received", o.queries_received},
        {"queries_duplicate", o.queries_duplicate}, {"queries_forwarded", o.queries_forwarded},
        {"queries_rate_limited", o.queries_rate_limited}, {"hits_sent", o.hits_sent},
        {"hits_relayed", o.hits_relayed},         {"hits_received", o.hits_received},
        {"peers_failed", o.peers_failed},         {"connections_accepted", t.connections_accepted},
        {"connections_refused", t.connections_refused}, {"connections_plaintext", t.connections_plaintext},
        {"addresses_withheld", t.addresses_withheld},
        {"frames_bad", t.frames_bad},
        {"fetches_served", t.fetches_served},     {"fetch_bytes_served", t.fetch_bytes_served},
        {"fetches_done", t.fetches_done},         {"fetches_failed", t.fetches_failed},
        {"fetch_requests_refused", t.fetch_requests_refused}, {"downloads_running", node.fetches_running()}};
    for (const auto& [name, value] : counters) j[name] = value;
    s->send(json::line(j));
    s->send(end_ok());
  }

  void rescan(const std::shared_ptr<session>& s, const object& extra = object::object()) {
    const auto problems = node.rescan();
    if (!problems) return s->send(end_error("rescan failed: " + problems.error().what()));
    for (const auto& p : *problems) s->send(json::line({{"event", "warning"}, {"text", p}}));
    object end = {{"files", node.shared_files()}};
    for (const auto& [k, v] : extra.items()) end[k] = v;
    s->send(end_ok(end));
  }

  // The node's own shared files, by name.
  void shared(const std::shared_ptr<session>& s) {
    for (const indexed_file* f : node.shared_list()) {
      s->send(json::line({{"event", "file"},
                          {"name", f->info.name},
                          {"size", f->info.size},
                          {"sha256", f->info.sha256.to_hex()},
                          {"path", shown(f->path)}}));
    }
    s->send(end_ok({{"files", node.shared_files()}, {"bytes", node.shared_bytes()}}));
  }

  // Stops sharing a file: the shared file whose sha256 is `target` (or starts with it, 8+ hex
  // digits naming one file) is deleted from the shared folder, then the folder is indexed
  // again. Only a file in the node's index can be named, never another path.
  void unshare(const std::shared_ptr<session>& s, std::string target) {
    std::transform(target.begin(), target.end(), target.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool hex = target.size() >= 8 && target.size() <= 64 &&
                     std::all_of(target.begin(), target.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    if (!hex) return s->send(end_error("unshare takes a shared file's sha256, or 8 or more hex digits of one"));
    const indexed_file* found = nullptr;
    for (const indexed_file* f : node.shared_list()) {
      if (f->info.sha256.to_hex().rfind(target, 0) != 0) continue;
      if (found != nullptr && found->info.sha256 != f->info.sha256) {
        return s->send(end_error("'" + target + "' names more than one shared file: give more digits"));
      }
      found = f;
    }
    if (found == nullptr) return s->send(end_error("no shared file has a sha256 starting with " + target));
    const std::string name = found->info.name;
    const fs::path path = found->path;
    std::error_code ec;
    fs::remove(path, ec);  // a link is removed, not what it points to
    if (ec) return s->send(end_error("cannot remove " + shown(path) + ": " + ec.message()));
    rescan(s, {{"removed", name}, {"path", shown(path)}});
  }

  void share(const std::shared_ptr<session>& s, const std::string& name) {
    if (node.config().shared_dir.empty()) return s->send(end_error("this node has no shared folder"));
    if (!s->unix_socket) {
      return s->send(end_error("share needs the node's unix socket: the file is handed over open, never read by the "
                               "node with its own rights"));
    }
    if (name.empty() || name.size() > 255) return s->send(end_error("share needs the file's name (1 to 255 bytes)"));
    s->busy = true;
    s->share_name = name;
    s->send(json::line({{"event", "send-fd"}}));
  }

  // Receives the descriptor of a file to share (SCM_RIGHTS with one byte), then copies it
  // into the shared folder on a thread of its own.
  void receive_fd(const std::shared_ptr<session>& s) {
    s->socket.async_wait(stream::socket::wait_read, [this, s](const std::error_code& ec) {
      if (ec) return close_session(s);
      fd_message in;
      const ssize_t n = ::recvmsg(s->socket.native_handle(), &in.msg, MSG_CMSG_CLOEXEC);
      const int fd = in.received();
      const std::string name = std::exchange(s->share_name, {});
      if (n != 1 || fd < 0) {
        if (fd >= 0) ::close(fd);
        s->busy = false;
        s->send(end_error("share: no file descriptor came with the request"));
        read(s);
        return;
      }
      copy_in(s, fd, name);
      read(s);
    });
  }

  void copy_in(const std::shared_ptr<session>& s, int fd, const std::string& name) {
    const fs::path dir = node.config().shared_dir;
    std::weak_ptr<session> weak = s;
    auto& c = copiers.emplace_back();
    c.thread = std::thread([this, fd, name, dir, weak, done = c.done, w = std::weak_ptr<int>(alive)] {
      // Off the io thread: a large file would stall the node. Hashed while copied.
      auto r = copy_into(fd, dir);
      ::close(fd);
      asio::post(io, [this, r = std::move(r), name, dir, weak, w] {
        if (w.expired()) return;
        auto sess = weak.lock();
        std::error_code ignored;
        auto answer = [&](const std::string& line) {
          if (sess) {
            sess->busy = false;
            sess->send(line);
          }
        };
        if (!r) return answer(end_error(r.error().what()));
        if (const indexed_file* f = node.shared_file(r->digest); f != nullptr) {
          // The same content is shared once, under the name it has: no second copy, and no
          // second name (a hit lists one name per file).
          fs::remove(r->tmp, ignored);
          return answer(end_ok({{"files", node.shared_files()},
                                {"name", f->info.name},
                                {"path", shown(f->path)},
                                {"sha256", r->digest.to_hex()},
                                {"already", shown(f->path)}}));
        }
        auto placed = move_into_place(r->tmp, dir, safe_file_name(name));
        if (!placed) {
          fs::remove(r->tmp, ignored);
          return answer(end_error("cannot move into the shared folder: " + placed.error().what()));
        }
        if (!sess) return;
        sess->busy = false;
        rescan(sess, {{"name", placed->filename().string()}, {"path", shown(*placed)}, {"sha256", r->digest.to_hex()}});
      });
      done->store(true);
    });
  }
};

control_server::control_server(asio::io_context& io, net_node& node, logger& log)
    : impl_(std::make_unique<impl>(io, node, log)) {}
control_server::~control_server() { stop(); }

result<> control_server::start(const peer_addr& endpoint, std::string token) {
  impl& m = *impl_;
  m.token = std::move(token);
  m.start_sweep();
  const stream::endpoint ep(to_endpoint(endpoint));
  std::error_code ec;
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(16, ec);
  if (ec) return failure(ec, "cannot open the control endpoint " + endpoint.to_string());
  m.accept();
  return {};
}

result<> control_server::start(const std::string& endpoint, std::string token) {
  const std::string context = "cannot open the control endpoint " + endpoint;
  if (!is_unix_socket_path(endpoint)) {
    auto a = peer_addr::parse(endpoint, 0, true);
    if (!a) return failure(std::make_error_code(std::errc::invalid_argument), context);
    return start(*a, std::move(token));
  }
  impl& m = *impl_;
  m.start_sweep();
  const fs::path path(endpoint);
  std::error_code ec;
  if (fs::is_socket(path, ec)) {
    // A socket file is left behind when a node dies. If nobody answers on it, it is stale.
    asio::local::stream_protocol::socket probe(m.io);
    probe.connect(asio::local::stream_protocol::endpoint(endpoint), ec);
    if (!ec) return failure(std::make_error_code(std::errc::address_in_use), context);
    fs::remove(path, ec);
  }
  const stream::endpoint ep{asio::local::stream_protocol::endpoint(endpoint)};
  ec.clear();
  m.acceptor.open(ep.protocol(), ec);
  // Owner only from the start (whoever can connect can make the node fetch files and write
  // into its folders): created under a umask that leaves nobody else a bit, then made 0600.
  const mode_t old_mask = ::umask(0177);
  if (!ec) m.acceptor.bind(ep, ec);
  ::umask(old_mask);
  if (ec) return failure(ec, context);
  m.unix_path = path;
  if (::chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0) return failure(last_error(), context);
  m.acceptor.listen(16, ec);
  if (ec) return failure(ec, context);
  m.accept();
  return {};
}

void control_server::set_idle_timeout(std::chrono::milliseconds t) { impl_->idle_timeout = t; }
void control_server::set_web_login(std::function<std::string()> login_url) { impl_->web_login = std::move(login_url); }

void control_server::stop() {
  if (!impl_) return;
  std::error_code ec;
  impl_->acceptor.close(ec);
  impl_->sweep.cancel();
  impl_->close_sessions();
  for (auto& c : impl_->copiers) c.thread.join();
  impl_->copiers.clear();
  if (!impl_->unix_path.empty()) {
    fs::remove(impl_->unix_path, ec);
    impl_->unix_path.clear();
  }
}

peer_addr control_server::address() const {
  std::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec || (ep.protocol().family() != AF_INET && ep.protocol().family() != AF_INET6)) return {};
  tcp::endpoint t;
  if (ep.size() > t.capacity()) return {};
  std::memcpy(t.data(), ep.data(), ep.size());
  t.resize(ep.size());
  return from_endpoint(t);
}

}  // namespace hearsay::net
