#pragma once
// The real node's side of the download engine (overlay/download.hpp): part files on disk
// (transport/part_file.hpp), SHA-256 through OpenSSL, transfers over the node's connections
// (through transfer_links), and the people waiting on a download (the CLI, the control
// endpoint). One engine serves every download of the node, one job per content digest.
//
// Before a download starts: content the node already shares or already downloaded is
// reported with its path and not fetched (unless asked `again`); the announced size must be
// within fetch.file_bytes_max and fit the free space of the download folder, with a margin,
// beside what the running downloads still need; the part file must be lockable (no other
// process downloading the same content into the same folder).
//
// Watchers: every fetch() call adds a watcher to its job (a second call for the same digest
// attaches to the running job) and sees its progress and end. A foreground watcher that goes
// away (the CLI was interrupted) cancels the job once no other foreground watcher is left;
// a detached one never does.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "overlay/download.hpp"
#include "overlay/result.hpp"
#include "transport/hash_worker.hpp"
#include "transport/log.hpp"
#include "transport/part_file.hpp"
#include "transport/sha256.hpp"

namespace hearsay::net {

class file_index;

// What the downloader needs of the node's connections. One transfer connection per (job,
// holder); requests on it are answered in order.
class transfer_links {
 public:
  virtual ~transfer_links() = default;
  // Sends a request to `holder` for `job`, dialling a transfer connection if there is none.
  // Bytes come back through downloader::on_data, failures through on_holder_failed.
  // `file_size` is the size the download expects: an answer announcing another is refused.
  virtual void request_range(job_id job, const peer_addr& holder, const msg_fetch_request& request,
                             std::uint64_t file_size) = 0;
  // Closes the transfer connection of (job, holder), if any.
  virtual void close_transfer(job_id job, const peer_addr& holder) = 0;
};

// A download as its watchers see it.
struct fetch_status {
  enum class state : std::uint8_t { running, done, failed, cancelled };
  state st = state::running;
  job_id id = 0;
  file_info file;
  std::uint64_t bytes = 0;           // stored so far
  std::uint64_t rate_bytes_per_s = 0;
  double eta_s = -1;                 // negative: unknown
  std::uint32_t holders_busy = 0, holders_known = 0;
  peer_addr holder;                  // a holder now sending (or the last one)
  std::filesystem::path path;        // done: where the verified file is
  bool existing = false;             // done without fetching: the node already had it
  std::string error;                 // failed: why
  std::chrono::microseconds elapsed{0};    // from start to the end (or now)
  std::chrono::microseconds sync_time{0};  // of that, the fsync before the rename
  std::uint32_t failovers = 0;
};

struct fetch_options {
  bool again = false;   // fetch even when the node already has the content
  bool detach = false;  // the watcher going away does not cancel the download
};

class downloader final : public download_host {
 public:
  using watcher = std::function<void(const fetch_status&)>;

  downloader(const fetch_config& cfg, std::filesystem::path download_dir, const file_index& shared,
             transfer_links& links, logger& log, std::function<micros()> clock, part_file_factory parts = {});
  ~downloader() override;
  downloader(const downloader&) = delete;
  downloader& operator=(const downloader&) = delete;

  // Reads the record of finished downloads and resumes the downloads a previous run left
  // (their part and state files), without watchers.
  void start();
  // Starts (or attaches to) the download of `file` from `holders`. The watcher sees progress
  // and the end; it may be called before fetch() returns (content already here, a refusal).
  // Returns a token for forget(), 0 when the download ended at once.
  std::uint64_t fetch(const file_info& file, std::span<const peer_addr> holders, const fetch_options& opts,
                      watcher w);
  // The watcher `token` goes away; a foreground one cancels its job if it was the last.
  void forget(std::uint64_t token);
  bool cancel(job_id id);
  std::size_t cancel_all();
  // Running downloads, then the most recent ended ones (newest first).
  std::vector<fetch_status> list() const;
  // About every quarter second: the engine's tick (once a second), progress to watchers,
  // state files of running jobs saved every few seconds.
  void tick();
  // The node stops: state saved, part files closed and kept for the next run.
  void stop();

  // From the transfer connections.
  void on_data(job_id job, const peer_addr& holder, std::uint64_t offset, std::span<const std::uint8_t> bytes);
  void on_holder_failed(job_id job, const peer_addr& holder, const std::string& reason, bool permanent);

  const std::filesystem::path& folder() const { return dir_; }
  std::uint64_t done() const { return done_; }
  std::uint64_t failed() const { return failed_; }
  std::size_t running() const { return engine_.size(); }

  // ---- download_host ----
  void request(job_id id, const peer_addr& holder, const file_info& file, std::uint64_t offset,
               std::uint32_t length) override;
  void release(job_id id, const peer_addr& holder) override;
  result<> write(job_id id, std::uint64_t offset, std::span<const std::uint8_t> bytes) override;
  void hash_written(job_id id, std::span<const std::uint8_t> bytes) override;
  result<> hash_stored(job_id id, std::uint64_t offset, std::uint64_t length) override;
  result<sha256_digest> hash_finish(job_id id) override;
  void hash_reset(job_id id) override;
  result<> commit(job_id id) override;
  void on_job_end(job_id id, const job_progress& p) override;

 private:
  struct job_files {
    std::unique_ptr<part_file> part;
    std::uint64_t hash_offset = 0;  // the next byte the digest takes
    std::filesystem::path placed;
    std::chrono::microseconds sync_time{0};
    std::vector<peer_addr> holders;  // as given, for the state file
    micros saved_at{0};
    std::uint64_t saved_stored = ~std::uint64_t{0};
  };
  struct watch {
    job_id job = 0;
    bool foreground = true;
    watcher w;
  };
  fetch_status status_of(const job_progress& p) const;
  void notify(job_id id, const fetch_status& s);
  void save_state(job_id id, job_files& f);
  // Checks size and free space: whether the download may start, or why not.
  result<> admit(const file_info& file, std::uint64_t stored) const;
  // Opens the part file and starts the job; its id, or why it cannot start.
  result<job_id> begin(const file_info& file, std::span<const peer_addr> holders, bool resume);

  const fetch_config& cfg_;
  std::filesystem::path dir_;
  const file_index& shared_;
  transfer_links& links_;
  logger& log_;
  std::function<micros()> clock_;
  part_file_factory parts_;
  downloads engine_;
  download_record record_;
  std::map<job_id, job_files> files_;
  std::map<std::uint64_t, watch> watches_;
  std::uint64_t next_token_ = 1;
  std::vector<fetch_status> recent_;  // ended, newest last, bounded
  micros last_engine_tick_{0};
  std::uint64_t done_ = 0, failed_ = 0;
  hash_worker hasher_;  // digests on a thread of their own
};

}  // namespace hearsay::net
