// hearsay-node's web interface (see web.hpp).

#include "apps/node/web.hpp"

#include <fcntl.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "transport/control_client.hpp"
#include "transport/json.hpp"
#include "transport/paths.hpp"

namespace hearsay::app {

namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

constexpr const char* cookie_name = "hs_session";
constexpr std::size_t sessions_max = 32;
constexpr std::size_t body_bytes_max = 64 * 1024;  // every request body but an upload

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) return {};
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool same_secret(const std::string& a, const std::string& b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

result<std::string> read_small_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return failure(std::make_error_code(std::errc::no_such_file_or_directory), "cannot read " + p.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// Writes text to p, owner-only, replacing it.
result<> write_private_file(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR);
  if (fd < 0) return failure(std::error_code(errno, std::generic_category()), "cannot write " + tmp.string());
  const std::string line = text + "\n";
  const bool ok = ::fchmod(fd, S_IRUSR | S_IWUSR) == 0 &&
                  ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const int err = errno;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), p.c_str()) != 0) {
    return failure(std::error_code(ok ? errno : err, std::generic_category()), "cannot write " + p.string());
  }
  return {};
}

// The token of the web interface: kept across restarts (a bookmarked login link keeps working),
// made on first start.
result<std::string> web_token(const fs::path& state_dir) {
  const fs::path file = net::web_token_in(state_dir);
  if (auto existing = read_small_file(file); existing && existing->size() == 64 &&
      std::all_of(existing->begin(), existing->end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
    ::chmod(file.c_str(), S_IRUSR | S_IWUSR);
    return *existing;
  }
  std::string token = random_hex(32);
  if (token.empty()) return failure(std::make_error_code(std::errc::io_error), "cannot draw a web token");
  if (auto w = write_private_file(file, token); !w) return w.error();
  return token;
}

// The host part of a Host header ("localhost:8385" -> "localhost", "[::1]:80" -> "::1").
std::string host_part(const std::string& host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return close == std::string::npos ? std::string() : host.substr(1, close - 1);
  }
  return host.substr(0, host.find(':'));
}

// Whether a Host header may name this interface: an address literal or "localhost". A domain
// name is what DNS rebinding needs (a page of evil.example whose name now resolves to
// 127.0.0.1), so none is accepted.
bool host_allowed(const std::string& header) {
  if (header.empty() || header.size() > 255) return false;
  const std::string h = host_part(header);
  if (h == "localhost") return true;
  unsigned char buf[16];
  return ::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  std::size_t at = 0;
  while (at < header.size()) {
    std::size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(at, end - at);
    part.erase(0, part.find_first_not_of(' '));
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    at = end + 1;
  }
  return {};
}

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

std::string end_error(const std::string& text) {
  return "[" + net::json::line({{"event", "end"}, {"ok", false}, {"error", text}}) + "]";
}

std::string sse(const std::string& event, const std::string& data) {
  return (event.empty() ? std::string() : "event: " + event + "\n") + "data: " + data + "\n\n";
}

}  // namespace

struct web_ui::impl {
  impl(web_options o, const net::logger& l) : opt(std::move(o)), log(l) {}

  web_options opt;
  const net::logger& log;
  httplib::Server server;
  std::thread thread;
  std::string token;
  std::uint16_t bound = 0;

  struct session {
    std::string csrf;
    clock::time_point last;
    std::size_t streams = 0;
  };
  std::mutex mu;
  std::condition_variable wake;  // live streams wait on it between updates
  std::map<std::string, session> sessions;
  std::size_t streams = 0;
  bool stopping = false;

  // ---- the node, through its control endpoint ----------------------------------------------

  using line_handler = std::function<void(const std::map<std::string, std::string>&, const std::string&,
                                          net::control_client&)>;
  // One control request: every reply line (the end event last), or why none came. `stop`,
  // asked at least every 100 ms while the node is silent, abandons the request when true.
  result<std::vector<std::string>> call(const net::json::object& request, const line_handler& each = {},
                                        std::function<bool()> stop = {}) {
    net::control_client client;
    if (auto c = client.connect(opt.control); !c) return c.error();
    if (!opt.control_token.empty()) {
      if (auto a = client.authenticate(opt.control_token); !a) return a.error();
    }
    client.stop_when(std::move(stop));
    std::vector<std::string> lines;
    auto end = client.request(net::json::line(request), [&](const auto& f, const std::string& line) {
      lines.push_back(line);
      if (each) each(f, line, client);
    });
    if (!end) return end.error();
    return lines;
  }
  static std::string array_of(const std::vector<std::string>& lines) {
    std::string out = "[";
    for (std::size_t i = 0; i < lines.size(); ++i) out += (i ? "," : "") + lines[i];
    return out + "]";
  }
  void reply(httplib::Response& res, const net::json::object& request) {
    auto lines = call(request);
    if (!lines) return send_json(res, 503, end_error("the node does not answer: " + lines.error().what()));
    send_json(res, 200, array_of(*lines));
  }

  // ---- who may ask what -----------------------------------------------------------------------

  enum class need { host, session, change };
  // Whether the request may go on; otherwise res says why. sid: the session's id.
  bool admit(const httplib::Request& req, httplib::Response& res, need n, std::string* sid = nullptr) {
    const std::string host = req.get_header_value("Host");
    if (!host_allowed(host)) {
      res.status = 421;
      res.set_content("This interface answers to its address or localhost only.\n", "text/plain");
      return false;
    }
    if (n == need::host) return true;
    // A page of another origin may not read or change anything (its requests carry no
    // session cookie anyway: SameSite=Strict).
    const std::string origin = req.get_header_value("Origin");
    if ((n == need::change || !origin.empty()) && origin != "http://" + host) {
      send_json(res, 403, end_error("requests must come from this interface's own pages"));
      return false;
    }
    const std::string id = cookie_value(req, cookie_name);
    std::lock_guard lock(mu);
    auto it = sessions.find(id);
    if (id.empty() || it == sessions.end()) {
      send_json(res, 401, end_error("not logged in: open the link `hearsay webui-url` prints"));
      return false;
    }
    if (n == need::change && !same_secret(req.get_header_value("X-Hearsay-Token"), it->second.csrf)) {
      send_json(res, 403, end_error("missing or wrong X-Hearsay-Token"));
      return false;
    }
    it->second.last = clock::now();
    if (sid != nullptr) *sid = id;
    return true;
  }

  // A place for a live stream of session sid, or false when all are taken.
  bool take_stream(const std::string& sid) {
    std::lock_guard lock(mu);
    auto it = sessions.find(sid);
    if (stopping || it == sessions.end() || streams >= opt.streams_max || it->second.streams >= opt.streams_per_session) {
      log.debug("web: a live stream refused ({} open, {} of this session's)", streams,
               it == sessions.end() ? 0 : it->second.streams);
      return false;
    }
    ++streams;
    ++it->second.streams;
    return true;
  }
  void give_stream(const std::string& sid) {
    std::lock_guard lock(mu);
    --streams;
    if (auto it = sessions.find(sid); it != sessions.end()) --it->second.streams;
  }

  // ---- routes ---------------------------------------------------------------------------------

  void login(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, need::host)) return;
    if (!same_secret(req.get_param_value("token"), token)) {
      res.status = 403;
      res.set_content("Wrong or missing token: open the link `hearsay webui-url` prints.\n", "text/plain");
      return;
    }
    const std::string id = random_hex(32);
    {
      std::lock_guard lock(mu);
      if (sessions.size() >= sessions_max) {
        // The longest unused session without live streams makes room.
        auto oldest = sessions.end();
        for (auto it = sessions.begin(); it != sessions.end(); ++it) {
          if (it->second.streams == 0 && (oldest == sessions.end() || it->second.last < oldest->second.last)) oldest = it;
        }
        if (oldest == sessions.end()) {
          res.status = 503;
          res.set_content("Too many sessions with live streams.\n", "text/plain");
          return;
        }
        sessions.erase(oldest);
      }
      sessions[id] = session{random_hex(32), clock::now(), 0};
    }
    res.set_header("Set-Cookie", std::string(cookie_name) + "=" + id + "; Path=/; HttpOnly; SameSite=Strict");
    res.set_redirect("/", 303);
  }

  void page(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, need::host)) return;
    const std::string id = cookie_value(req, cookie_name);
    std::string csrf;
    {
      std::lock_guard lock(mu);
      if (auto it = sessions.find(id); !id.empty() && it != sessions.end()) csrf = it->second.csrf;
    }
    if (csrf.empty()) {
      res.status = 401;
      res.set_content(
          "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>hearsay</title></head><body>"
          "<p>Not logged in. Run <code>hearsay webui-url</code> on the node's machine and open the link it prints.</p>"
          "</body></html>\n",
          "text/html; charset=utf-8");
      return;
    }
    const web_asset* a = find_web_asset("/");
    std::string body(a->body);
    // The anti-forgery token, for the page's own requests (hex: nothing to escape).
    const std::string mark = "{{csrf}}";
    if (const auto at = body.find(mark); at != std::string::npos) body.replace(at, mark.size(), csrf);
    res.set_content(body, std::string(a->type));
  }

  void asset(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, need::host)) return;
    const web_asset* a = find_web_asset(req.path);
    if (a == nullptr) {
      res.status = 404;
      return;
    }
    res.set_content(std::string(a->body), std::string(a->type));
  }

  void get_command(const httplib::Request& req, httplib::Response& res, const char* cmd) {
    if (!admit(req, res, need::session)) return;
    reply(res, {{"cmd", cmd}});
  }

  // A JSON object body with string fields, or an error reply.
  static bool body_fields(const httplib::Request& req, httplib::Response& res, std::map<std::string, std::string>& out) {
    if (req.body.size() > body_bytes_max) {
      send_json(res, 413, end_error("request too large"));
      return false;
    }
    auto parsed = net::json::parse_flat(req.body.empty() ? std::string_view("{}") : std::string_view(req.body));
    if (!parsed) {
      send_json(res, 400, end_error("bad request: " + parsed.error().what()));
      return false;
    }
    out = std::move(*parsed);
    return true;
  }

  void fetch(const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> f;
    if (!admit(req, res, need::change) || !body_fields(req, res, f)) return;
    // Detached: the download goes on in the node; its progress comes on the live stream.
    reply(res, {{"cmd", "fetch"}, {"target", f["target"]}, {"detach", "true"}});
  }

  void cancel(const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> f;
    if (!admit(req, res, need::change) || !body_fields(req, res, f)) return;
    reply(res, {{"cmd", "cancel"}, {"id", f["id"]}});
  }

  void post_command(const httplib::Request& req, httplib::Response& res, const char* cmd) {
    std::map<std::string, std::string> f;
    if (!admit(req, res, need::change) || !body_fields(req, res, f)) return;
    net::json::object request = {{"cmd", cmd}};
    for (const auto& [k, v] : f) {
      if (k != "cmd") request[k] = v;
    }
    reply(res, request);
  }

  // An upload: the bytes go to a file with no name in the state folder, and the node copies
  // them into the shared folder from its descriptor, as for `hearsay share`.
  void share(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    if (!admit(req, res, need::change)) return;
    const std::string name = req.get_param_value("name");
    if (name.empty()) return send_json(res, 400, end_error("share needs ?name=FILE_NAME"));
    std::string pattern = (opt.state_dir / "upload-XXXXXX").string();
    const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) return send_json(res, 500, end_error("cannot store the upload in " + opt.state_dir.string()));
    ::unlink(pattern.c_str());
    std::uint64_t total = 0;
    bool ok = true;
    std::string why;
    reader([&](const char* data, std::size_t len) {
      total += len;
      if (total > opt.upload_bytes_max) {
        ok = false;
        why = "the file is larger than the upload limit";
        return false;
      }
      for (std::size_t done = 0; done < len;) {
        const ssize_t n = ::write(fd, data + done, len - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          ok = false;
          why = std::string("cannot store the upload: ") + std::strerror(errno);
          return false;
        }
        done += static_cast<std::size_t>(n);
      }
      return true;
    });
    if (!ok) {
      ::close(fd);
      return send_json(res, 413, end_error(why));
    }
    ::lseek(fd, 0, SEEK_SET);
    auto lines = call({{"cmd", "share"}, {"name", name}}, [&](const auto& f, const std::string&, net::control_client& c) {
      if (auto it = f.find("event"); it != f.end() && it->second == "send-fd") {
        if (auto sent = c.send_fd(fd); !sent) log.warn("web: cannot hand an upload to the node: {}", sent.error().what());
      }
    });
    ::close(fd);
    if (!lines) return send_json(res, 503, end_error("the node does not answer: " + lines.error().what()));
    send_json(res, 200, array_of(*lines));
  }

  // Search hits as they arrive, one event each, the end event last.
  void search(const httplib::Request& req, httplib::Response& res) {
    std::string sid;
    if (!admit(req, res, need::session, &sid)) return;
    net::json::object request = {{"cmd", "search"}, {"words", req.get_param_value("words")}};
    for (const char* key : {"wait_ms", "first"}) {
      if (req.has_param(key)) request[key] = req.get_param_value(key);
    }
    if (!take_stream(sid)) return send_json(res, 503, end_error("too many live streams; close another page"));
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, request](std::size_t, httplib::DataSink& sink) {
          bool open = true;
          auto wrote = clock::now();
          auto lines = call(
              request,
              [&](const auto&, const std::string& line, net::control_client&) {
                if (open) {
                  const std::string e = sse("", line);
                  open = sink.write(e.data(), e.size());
                  wrote = clock::now();
                }
              },
              [&] {
                // While no hit comes, a comment line (which pages ignore) every second: a write
                // is how a page that has gone shows, and the search then stops at once rather
                // than holding its place among the live streams until the node ends it.
                if (open && clock::now() - wrote >= std::chrono::seconds(1)) {
                  open = sink.write(":\n\n", 3);
                  wrote = clock::now();
                }
                return !open;
              });
          if (!lines && open) {
            const std::string e = sse("", net::json::line({{"event", "end"}, {"ok", false}, {"error", lines.error().what()}}));
            sink.write(e.data(), e.size());
          }
          sink.done();
          return true;
        },
        [this, sid](bool) { give_stream(sid); });
  }

  // The node's status and its downloads, every second, for as long as the page stays (up to
  // stream_lifetime; the browser then reconnects).
  void events(const httplib::Request& req, httplib::Response& res) {
    std::string sid;
    if (!admit(req, res, need::session, &sid)) return;
    if (!take_stream(sid)) return send_json(res, 503, end_error("too many live streams; close another page"));
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this](std::size_t, httplib::DataSink& sink) {
          const auto until = clock::now() + opt.stream_lifetime;
          // Browsers reconnect after this many milliseconds when the stream ends.
          std::string text = "retry: 1000\n\n";
          bool open = sink.write(text.data(), text.size());
          while (open && clock::now() < until) {
            auto status = call({{"cmd", "status"}});
            auto downloads = call({{"cmd", "downloads"}});
            if (status && !status->empty()) {
              text = sse("status", status->front());
              open = sink.write(text.data(), text.size());
            }
            if (open && downloads) {
              downloads->pop_back();  // the end event
              text = sse("downloads", array_of(*downloads));
              open = sink.write(text.data(), text.size());
            }
            std::unique_lock lock(mu);
            if (wake.wait_for(lock, std::chrono::seconds(1), [this] { return stopping; })) break;
          }
          sink.done();
          return true;
        },
        [this, sid](bool) { give_stream(sid); });
  }

  void routes() {
    server.Get("/login", [this](const auto& req, auto& res) { login(req, res); });
    server.Get("/", [this](const auto& req, auto& res) { page(req, res); });
    server.Get("/app.js", [this](const auto& req, auto& res) { asset(req, res); });
    server.Get("/style.css", [this](const auto& req, auto& res) { asset(req, res); });
    for (const char* cmd : {"status", "peers", "downloads", "results", "shared"}) {
      server.Get(std::string("/api/") + cmd, [this, cmd](const auto& req, auto& res) { get_command(req, res, cmd); });
    }
    server.Get("/api/search", [this](const auto& req, auto& res) { search(req, res); });
    server.Get("/api/events", [this](const auto& req, auto& res) { events(req, res); });
    server.Post("/api/fetch", [this](const auto& req, auto& res) { fetch(req, res); });
    server.Post("/api/cancel", [this](const auto& req, auto& res) { cancel(req, res); });
    server.Post("/api/rescan", [this](const auto& req, auto& res) { post_command(req, res, "rescan"); });
    server.Post("/api/unshare", [this](const auto& req, auto& res) { post_command(req, res, "unshare"); });
    server.Post("/api/share", [this](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) { share(req, res, reader); });
    // What every answer says about itself: never cached, never framed, nothing from elsewhere.
    server.set_post_routing_handler([](const auto&, auto& res) {
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                     "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("X-Frame-Options", "DENY");
      if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
    });
  }
};

web_ui::web_ui(web_options options, const net::logger& log) : impl_(std::make_unique<impl>(std::move(options), log)) {}

web_ui::~web_ui() { stop(); }

result<> web_ui::start() {
  impl& m = *impl_;
  auto token = web_token(m.opt.state_dir);
  if (!token) return token.error();
  m.token = std::move(*token);
  const std::size_t threads = m.opt.streams_max + 4;
  m.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  m.server.set_payload_max_length(m.opt.upload_bytes_max);
  m.server.set_read_timeout(std::chrono::seconds(30));
  m.server.set_keep_alive_max_count(100);
  m.routes();
  const int port = m.opt.port == 0 ? m.server.bind_to_any_port(m.opt.host) : (m.server.bind_to_port(m.opt.host, m.opt.port) ? m.opt.port : -1);
  if (port <= 0) {
    return failure(std::make_error_code(std::errc::address_in_use),
                   "cannot listen on " + m.opt.host + ":" + std::to_string(m.opt.port) + " for the web interface");
  }
  m.bound = static_cast<std::uint16_t>(port);
  const std::string host = m.opt.host.find(':') != std::string::npos ? "[" + m.opt.host + "]" : m.opt.host;
  const std::string shown = host == "0.0.0.0" || host == "[::]" ? "127.0.0.1" : host;
  if (auto w = write_private_file(net::web_url_in(m.opt.state_dir), "http://" + shown + ":" + std::to_string(m.bound) + "/"); !w) {
    m.server.stop();
    return w.error();
  }
  m.thread = std::thread([&m] { m.server.listen_after_bind(); });
  return {};
}

void web_ui::stop() {
  impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
  }
  m.wake.notify_all();
  if (m.thread.joinable()) {
    m.server.stop();
    m.thread.join();
  }
}

std::uint16_t web_ui::port() const { return impl_->bound; }

std::string web_ui::login_url() const {
  auto url = read_small_file(net::web_url_in(impl_->opt.state_dir));
  return (url ? *url : std::string()) + "login?token=" + impl_->token;
}

}  // namespace hearsay::app
