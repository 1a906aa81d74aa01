// File transfers of the real node (see net_node_impl.hpp): serving ranges of shared files,
// and the transfer connections downloads are fetched through.
//
// On a transfer connection the fetching side pipelines requests for byte ranges; the holder
// answers each, in order, with a FetchData frame and then exactly that many raw bytes of the
// file, both inside the connection's TLS (no sendfile: the bytes are encrypted here, since
// the kernel's TLS offload is not there to count on). The fetching side reads
// the raw bytes straight into a large buffer and hands them to the download engine, which
// writes them to the part file and hashes them.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "transport/net_node_impl.hpp"
#include "transport/text.hpp"

namespace hearsay::net {

namespace {

// Raw bytes per read from the file and write through TLS: large enough to keep system calls
// few, small enough that one connection does not hold the loop for long.
constexpr std::uint64_t send_step_bytes = 256u << 10;
// With an upload limit, a connection waits until at least this much budget is there.
constexpr std::uint64_t upload_step_bytes = 64u << 10;
}  // namespace

// ---- serving ---------------------------------------------------------------------------

void net_node::impl::serve(const link_ptr& l, const msg_fetch_request& req) {
  if (l->closing) return;
  if (l->serve_queue.size() >= cfg.limits.fetch_requests_queued_max) {
    ++stats.fetch_requests_refused;
    enqueue(l, msg_fetch_error{req.sha256, fetch_error_code::busy, "too many requests queued"});
    close_after_flush(l);
    return;
  }
  l->serve_queue.push_back(req);
  serve_continue(l);
}

void net_node::impl::stop_serving(const link_ptr& l) {
  if (l->serve_fd < 0) return;
  ::close(l->serve_fd);
  l->serve_fd = -1;
  --serving_count;
}

void net_node::impl::serve_continue(const link_ptr& l) {
  // Raw bytes go out only behind every frame already queued (the FetchData that announces them).
  if (l->dead || l->closing || l->writing || !l->queue.empty() || l->raw_waiting || l->hold_armed) return;
  if (l->serve_left > 0) {
    send_raw(l);
    return;
  }
  if (l->serve_queue.empty()) return;
  const msg_fetch_request req = l->serve_queue.front();
  l->serve_queue.pop_front();
  auto refuse = [&](fetch_error_code code, const std::string& text) {
    ++stats.fetch_requests_refused;
    enqueue(l, msg_fetch_error{req.sha256, code, text});
    close_after_flush(l);
  };
  if (l->serve_fd >= 0 && l->serve_digest != req.sha256) {
    stop_serving(l);  // one file at a time per connection: the next range is of another file
  }
  if (l->serve_fd < 0) {
    const indexed_file* f = index.find(req.sha256);
    if (f == nullptr) return refuse(fetch_error_code::not_found, "not shared here");
    if (serving_count >= cfg.limits.fetches_served_max) return refuse(fetch_error_code::busy, "too many transfers");
    const int fd = ::open(f->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return refuse(fetch_error_code::read_failed, "cannot read the file");
    // The file served must be the one indexed, unchanged: not another file put in its place
    // (a link swapped in after the scan), not an edited one.
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != f->device || st.st_ino != f->inode ||
        static_cast<std::uint64_t>(st.st_size) != f->info.size ||
        std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec != f->modified_ns) {
      ::close(fd);
      log.warn("not serving {}: it changed since it was indexed (rescan to share it again)", printable(f->path.string()));
      return refuse(fetch_error_code::read_failed, "the file changed since it was indexed");
    }
    if (l->serve_queue.empty() && !l->outbound) {
      log.info("serving {} to {}", printable(f->info.name), l->peer);
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    l->serve_fd = fd;
    l->serve_digest = req.sha256;
    l->serve_size = f->info.size;
    ++serving_count;
    ++stats.fetches_served;
  }
  if (req.offset > l->serve_size || req.length > l->serve_size - req.offset) {
    return refuse(fetch_error_code::bad_offset, "the range is past the end of the file");
  }
  const std::uint64_t length = req.length == 0 ? l->serve_size - req.offset : req.length;
  l->serve_offset = req.offset;
  l->serve_left = length;
  // The header first; its write completion comes back here and the raw bytes follow.
  enqueue(l, msg_fetch_data{req.sha256, req.offset, length, l->serve_size});
  if (length == 0) serve_continue(l);
}

std::uint64_t net_node::impl::upload_allowance() {
  const std::uint64_t rate = cfg.limits.upload_bytes_per_s;
  if (rate == 0) return send_step_bytes;
  const micros t = now();
  const double cap = std::max<double>(static_cast<double>(rate) / 4, static_cast<double>(upload_step_bytes));
  upload_budget = std::min(cap, upload_budget + static_cast<double>(rate) * static_cast<double>((t - upload_refilled).count()) / 1e6);
  upload_refilled = t;
  return static_cast<std::uint64_t>(upload_budget);
}

void net_node::impl::send_raw(const link_ptr& l) {
  if (l->serve_left == 0 || l->dead) return;
  const std::uint64_t allowance = upload_allowance();
  if (allowance < std::min(upload_step_bytes, l->serve_left)) {
    // Over the upload limit: come back when the budget has refilled enough.
    const double missing = static_cast<double>(std::min(upload_step_bytes, l->serve_left) - allowance);
    const auto wait = micros{static_cast<std::int64_t>(missing * 1e6 / static_cast<double>(cfg.limits.upload_bytes_per_s)) + 1};
    l->hold_armed = true;
    l->hold.expires_after(wait);
    l->hold.async_wait([this, l](const std::error_code& ec) {
      l->hold_armed = false;
      if (!ec && !l->dead) serve_continue(l);
    });
    return;
  }
  if (!l->serve_buf) l->serve_buf = std::make_unique<std::uint8_t[]>(send_step_bytes);
  const auto step = static_cast<std::size_t>(std::min({l->serve_left, send_step_bytes, allowance}));
  ssize_t n = 0;
  do {
    n = ::pread(l->serve_fd, l->serve_buf.get(), step, static_cast<off_t>(l->serve_offset));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    // The file shrank or failed under us. The answer promised bytes that cannot come, so the
    // connection ends; the fetching side moves on.
    fail(l, n == 0 ? "file changed while served" : std::strerror(errno));
    return;
  }
  const auto got = static_cast<std::uint64_t>(n);
  if (cfg.limits.upload_bytes_per_s > 0) upload_budget -= static_cast<double>(got);
  l->raw_waiting = true;
  l->write_started = now();
  // A reader that stops taking bytes leaves this write pending: the stall rule in tend()
  // cuts it off.
  asio::async_write(l->tls, asio::buffer(l->serve_buf.get(), static_cast<std::size_t>(got)),
                    [this, l, got](const std::error_code& ec, std::size_t) {
                      l->raw_waiting = false;
                      if (l->dead) return;
                      if (ec) {
                        fail(l, ec.message().c_str());
                        return;
                      }
                      l->serve_offset += got;
                      l->serve_left -= got;
                      l->last_tx = now();
                      stats.bytes_out += got;
                      stats.fetch_bytes_served += got;
                      // Frames queued meanwhile (a PONG) go first; their write comes back to
                      // serve_continue. Otherwise more of this range, or the next one.
                      if (!l->queue.empty()) {
                        write(l);
                      } else {
                        serve_continue(l);
                      }
                    });
}

// ---- fetching --------------------------------------------------------------------------

void net_node::impl::request_range(job_id job, const peer_addr& holder, const msg_fetch_request& request,
                                   std::uint64_t file_size) {
  link_ptr l;
  if (auto it = transfers.find({job, holder}); it != transfers.end() && !it->second->dead) {
    l = it->second;
  } else {
    l = holder == self ? nullptr : dial(holder, link::role::fetch_client);
    if (!l) {
      const std::string why = holder == self ? "that is this node" : "over the connection limit";
      asio::post(io, [this, job, holder, why, w = std::weak_ptr<int>(alive)] {
        if (!w.expired()) downloads.on_holder_failed(job, holder, why, holder == self);
      });
      return;
    }
    l->job = job;
    l->file_size = file_size;
    transfers[{job, holder}] = l;
  }
  l->asked.push_back(request);
  enqueue(l, request);
}

void net_node::impl::close_transfer(job_id job, const peer_addr& holder) {
  auto it = transfers.find({job, holder});
  if (it == transfers.end()) return;
  link_ptr l = it->second;
  transfers.erase(it);
  close_now(l);
}

void net_node::impl::on_fetch_data(const link_ptr& l, const msg_fetch_data& d) {
  if (l->raw_left > 0 || l->asked.empty()) {
    fail(l, "sent data nobody asked for");
    return;
  }
  const msg_fetch_request want = l->asked.front();
  l->asked.pop_front();
  // The answer must be the range asked for, whole: the engine counts on it.
  if (d.sha256 != want.sha256 || d.offset != want.offset || (want.length != 0 && d.length != want.length)) {
    fail(l, "answered another range than the one asked for");
    return;
  }
  if (d.total_size != l->file_size) {
    // The holder has another file under this digest's name than the hit announced: not one
    // the download can take bytes from.
    const job_id job = l->job;
    const peer_addr holder = l->peer;
    transfers.erase({job, holder});
    close_now(l);
    downloads.on_holder_failed(job, holder, "announces another size (" + std::to_string(d.total_size) + " bytes)", true);
    return;
  }
  l->raw_left = d.length;
  l->raw_offset = d.offset;
}

void net_node::impl::on_fetch_error(const link_ptr& l, const msg_fetch_error& e) {
  auto it = transfers.find({l->job, l->peer});
  if (it == transfers.end() || it->second != l) return;
  transfers.erase(it);
  const bool permanent = e.code == fetch_error_code::not_found || e.code == fetch_error_code::bad_offset;
  const std::string reason = "refused: " + printable(e.text());
  const job_id job = l->job;
  const peer_addr holder = l->peer;
  close_now(l);
  downloads.on_holder_failed(job, holder, reason, permanent);
}

bool net_node::impl::deliver_raw(const link_ptr& l, std::span<const std::uint8_t> bytes) {
  const std::uint64_t offset = l->raw_offset;
  l->raw_left -= bytes.size();
  l->raw_offset += bytes.size();
  stats.fetch_bytes_received += bytes.size();
  // The engine may release this holder (closing the link) or ask it for more from here.
  downloads.on_data(l->job, l->peer, offset, bytes);
  return !l->dead;
}

void net_node::impl::read_raw(const link_ptr& l) {
  if (!l->raw_buf) l->raw_buf = std::make_unique<std::uint8_t[]>(link::raw_buf_bytes);
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(l->raw_left, link::raw_buf_bytes));
  // TLS hands over one record (16 KiB) per read; gathering 64 KiB before the bytes go on to
  // the download engine quarters the handlers and part-file writes, and keeps even a holder
  // at the engine's lowest acceptable rate (16 KiB/s) delivering every few seconds.
  const std::size_t at_least = std::min<std::size_t>(want, 64u << 10);
  asio::async_read(l->tls, asio::buffer(l->raw_buf.get(), want), asio::transfer_at_least(at_least),
                   [this, l](const std::error_code& ec, std::size_t n) {
    if (l->dead) return;
    if (ec) {
      fail(l, closed_by_peer(ec) ? "closed by peer" : ec.message().c_str());
      return;
    }
    stats.bytes_in += n;
    l->last_rx = l->last_frame = now();
    if (!deliver_raw(l, std::span(l->raw_buf.get(), n))) return;
    read(l);
  });
}

}  // namespace hearsay::net
