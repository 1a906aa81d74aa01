// Hashing downloads off the io thread (see hash_worker.hpp).

#include "transport/hash_worker.hpp"

#include <unistd.h>

#include <cerrno>
#include <vector>

#include "overlay/assert.hpp"

namespace hearsay::net {

hash_worker::hash_worker() : thread_([this] { run(); }) {}

hash_worker::~hash_worker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void hash_worker::open(std::uint64_t key, int fd) {
  std::lock_guard lock(mutex_);
  auto& s = states_[key];
  HEARSAY_ASSERT(s.queued == 0);
  s.fd = fd;
  s.digest.reset();
  s.error.clear();
}

void hash_worker::add(std::uint64_t key, std::uint64_t offset, std::uint64_t length) {
  if (length == 0) return;
  {
    std::lock_guard lock(mutex_);
    auto it = states_.find(key);
    HEARSAY_ASSERT(it != states_.end());
    ++it->second.queued;
    tasks_.push_back({key, offset, length});
  }
  work_.notify_one();
}

void hash_worker::wait_idle(std::unique_lock<std::mutex>& lock, std::uint64_t key) {
  done_.wait(lock, [&] {
    auto it = states_.find(key);
    return it == states_.end() || it->second.queued == 0;
  });
}

result<sha256_digest> hash_worker::finish(std::uint64_t key) {
  std::unique_lock lock(mutex_);
  wait_idle(lock, key);
  auto& s = states_.at(key);
  const std::error_code ec = s.error;
  const sha256_digest digest = s.digest.finish();
  s.error.clear();
  if (ec) return failure(ec, "cannot read the download back");
  return digest;
}

void hash_worker::reset(std::uint64_t key) {
  std::unique_lock lock(mutex_);
  wait_idle(lock, key);
  auto& s = states_.at(key);
  s.digest.reset();
  s.error.clear();
}

void hash_worker::close(std::uint64_t key) {
  std::unique_lock lock(mutex_);
  wait_idle(lock, key);
  states_.erase(key);
}

void hash_worker::run() {
  std::vector<std::uint8_t> buffer(1u << 20);
  std::unique_lock lock(mutex_);
  while (true) {
    work_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping, nothing left
    const task t = tasks_.front();
    tasks_.pop_front();
    digest_state& s = states_.at(t.key);  // stays put: close() waits for queued == 0
    const int fd = s.fd;
    const bool failed = static_cast<bool>(s.error);
    lock.unlock();
    // The digest is this thread's while ranges of its key are queued.
    std::error_code ec;
    for (std::uint64_t offset = t.offset, left = t.length; left > 0 && !failed && !ec;) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
      const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ec = n < 0 ? std::error_code(errno, std::generic_category()) : std::make_error_code(std::errc::io_error);
        break;
      }
      s.digest.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
      offset += static_cast<std::uint64_t>(n);
      left -= static_cast<std::uint64_t>(n);
    }
    lock.lock();
    if (ec) s.error = ec;
    --s.queued;
    done_.notify_all();
  }
}

}  // namespace hearsay::net
