#pragma once
// SHA-256 of downloads on a thread of its own. The node's io thread receives bytes and writes
// them to part files; hashing them too would make it the bottleneck of a fast download
// (SHA-256 costs about as much as receiving and storing together). So the io thread only
// names the ranges to hash, in file order, and this thread reads them back from the part
// file (from the page cache: they were just written) and hashes them: the digest is always
// over the bytes that are in the file. finish() waits for the ranges still queued.
//
// One thread serves every download of the node; each download has its own digest.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "overlay/result.hpp"
#include "overlay/types.hpp"
#include "transport/sha256.hpp"

namespace hearsay::net {

class hash_worker {
 public:
  hash_worker();
  ~hash_worker();
  hash_worker(const hash_worker&) = delete;
  hash_worker& operator=(const hash_worker&) = delete;

  // A digest for `key`, reading from file descriptor `fd` (which must stay open until
  // close(key)).
  void open(std::uint64_t key, int fd);
  // Hashes [offset, offset + length) of the file next, after what was queued before.
  void add(std::uint64_t key, std::uint64_t offset, std::uint64_t length);
  // Waits for the queued ranges, then the digest of everything since the last reset (the
  // digest then starts over), or the read error that stopped it.
  result<sha256_digest> finish(std::uint64_t key);
  // Waits for the queued ranges, then starts the digest over.
  void reset(std::uint64_t key);
  // Forgets `key`, waiting for a range being hashed.
  void close(std::uint64_t key);

 private:
  struct task {
    std::uint64_t key = 0, offset = 0, length = 0;
  };
  struct digest_state {
    int fd = -1;
    sha256_stream digest;
    std::uint64_t queued = 0;  // tasks not yet done
    std::error_code error;
  };
  void run();
  void wait_idle(std::unique_lock<std::mutex>& lock, std::uint64_t key);

  std::mutex mutex_;
  std::condition_variable work_, done_;
  std::deque<task> tasks_;
  std::map<std::uint64_t, digest_state> states_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hearsay::net
