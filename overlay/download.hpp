#pragma once
// The download engine: fetching one file, named by its SHA-256, from the holders a search
// found. Sans-I/O like the membership and search cores: it is told what happens (holders
// found, bytes arrived, a holder failed, a second passed, a user cancelled) and answers only
// through download_host (ask a holder for a range, write bytes, hash bytes, commit, report
// the end). No sockets, no clock, no files: the real node drives it with Asio connections
// and a part file (transport/), the simulator with a bandwidth model (sim/).
//
// How a file is fetched (after the swarming of Gnutella servents and BitTorrent clients):
// - The file is cut into pieces of fetch_config::piece_bytes. Up to holders_at_once holders
//   are asked at once, each for up to pieces_per_holder pieces in flight; every holder sends
//   the ranges it was asked for in the order asked, so one slow or lying holder costs little.
// - A piece keeps the bytes it already has when its holder fails or is dropped: the next
//   holder is asked for the rest of it (resume at the stored offset, never from zero).
// - A holder below rate_min over rate_window while it has requests outstanding, or that
//   fails holder_failures_max times, is dropped for the job; a failure short of that rests
//   the holder for retry_delay (doubling). When no holder is left the job fails.
// - End game: when nothing is left to ask for and an idle holder is more than twice as fast
//   as one still holding pieces, the slow one's pieces move to the fast one.
//
// What "verified" means. The digest is computed over the bytes stored in the part file, in
// file order: bytes written at the end of the hashed prefix are hashed as written, bytes
// stored out of order (another holder's piece, a resumed part file) are read back from the
// part file when the prefix reaches them. Only when every byte is stored and hashed and the
// digest equals the file's name does the engine ask the host to commit (fsync, rename), and
// only a successful commit ends the job as done. Nothing is ever written twice at one offset
// within an attempt. When the digest does not match: bytes from a single holder condemn that
// holder; bytes from several holders (or a resumed part file) cannot tell who lied, so the
// job starts over from zero taking one holder at a time, which then names the liar.
//
// One job per content hash: start() for a digest already being fetched attaches to that job.
//
// Guarantees the host gets: the engine never calls back into itself from a host call (no
// re-entrancy); ranges requested from one holder never overlap ranges in flight elsewhere;
// write() offsets never repeat within an attempt; on_job_end() is called exactly once per
// job, after which the job is forgotten (its part file is the host's to keep or remove).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "overlay/config.hpp"
#include "overlay/messages.hpp"
#include "overlay/result.hpp"
#include "overlay/types.hpp"

namespace hearsay {

using job_id = std::uint64_t;

enum class job_state : std::uint8_t { running, done, failed, cancelled };
const char* describe(job_state s);

// One holder of a job, as a listing shows it.
struct holder_progress {
  peer_addr addr;
  enum class state : std::uint8_t { waiting, busy, idle, resting, dropped } st = state::waiting;
  std::uint64_t bytes = 0;          // bytes this holder delivered in this job
  std::uint64_t rate_bytes_per_s = 0;  // over the last few seconds
  std::uint32_t in_flight = 0;      // pieces asked for and not yet complete
  std::uint32_t failures = 0;
  std::string last_error;
};
const char* describe(holder_progress::state s);

// A job as the CLI, the web page and the simulator's report see it.
struct job_progress {
  job_id id = 0;
  file_info file;
  job_state state = job_state::running;
  std::uint64_t bytes_stored = 0;    // bytes in the part file (any order)
  std::uint64_t bytes_verified = 0;  // the hashed prefix
  std::uint64_t bytes_received = 0;  // from holders, over all attempts
  std::uint64_t rate_bytes_per_s = 0;  // over the last few seconds
  micros started{0};
  micros ended{0};         // when it ended; 0 while running
  std::uint32_t attempts = 1;   // 1 + restarts from zero after a digest mismatch
  std::uint32_t failovers = 0;  // holders that failed or were dropped while holding pieces
  bool single_source = false;   // taking one holder at a time (after a mismatch)
  std::string error;       // why it failed
  std::vector<holder_progress> holders;
  // Seconds left at the current rate; negative when unknown.
  double eta_s() const;
};

// What a driver provides. Calls never re-enter the engine.
class download_host {
 public:
  virtual ~download_host() = default;
  // Ask `holder` for bytes [offset, offset + length) of the job's file. The bytes come back
  // in order through downloads::on_data (in as many parts as the driver likes); if the
  // holder cannot be reached or breaks off, through downloads::on_holder_failed. Requests to
  // one holder are answered in the order they were made.
  virtual void request(job_id id, const peer_addr& holder, const file_info& file, std::uint64_t offset,
                       std::uint32_t length) = 0;
  // Nothing more is wanted from `holder` for this job: drop its outstanding requests (close
  // the transfer). No on_holder_failed is expected for it afterwards; one that comes is ignored.
  virtual void release(job_id id, const peer_addr& holder) = 0;
  // Store bytes at offset in the job's part file.
  virtual result<> write(job_id id, std::uint64_t offset, std::span<const std::uint8_t> bytes) = 0;
  // The job's running digest: bytes just written at the end of the hashed prefix, exactly as
  // written; or bytes stored earlier, read back from the part file.
  virtual void hash_written(job_id id, std::span<const std::uint8_t> bytes) = 0;
  virtual result<> hash_stored(job_id id, std::uint64_t offset, std::uint64_t length) = 0;
  // The digest of everything hashed since the last reset; the digest then starts over. A
  // failure (the part file could not be read back) ends the job as failed.
  virtual result<sha256_digest> hash_finish(job_id id) = 0;
  // Start the digest over (a restart from zero).
  virtual void hash_reset(job_id id) = 0;
  // Every byte is stored and the digest matched: make the file durable and visible under its
  // name. A failure ends the job as failed with its reason (the system's message when it
  // carries an error code).
  virtual result<> commit(job_id id) = 0;
  // The job ended (done, failed or cancelled); `p` is its final state. Called once per job.
  virtual void on_job_end(job_id id, const job_progress& p) = 0;
};

// The engine: every job of one node (or, in the simulator, of one peer).
class downloads {
 public:
  downloads(const fetch_config& cfg, download_host& host);
  downloads(const downloads&) = delete;
  downloads& operator=(const downloads&) = delete;
  ~downloads();

  struct started {
    job_id id = 0;
    bool attached = false;  // a job for this digest was already running
  };
  // Starts fetching `file` from `holders` (in order of preference), or attaches to the job
  // already fetching that digest (then the holders are added to it). `stored` lists byte
  // ranges [offset, offset + length) a part file already holds from an earlier run; they are
  // read back for the digest, never trusted without it. Refused: size over file_bytes_max,
  // too many jobs, no holder (the failure says which).
  result<started> start(micros now, const file_info& file, std::span<const peer_addr> holders,
                std::span<const std::pair<std::uint64_t, std::uint64_t>> stored = {});
  // More holders for a running job (hits that came later). Unknown jobs are ignored.
  void add_holders(micros now, job_id id, std::span<const peer_addr> holders);
  // Bytes from `holder` at `offset`, for the range it was asked for first among those still
  // outstanding. Bytes that do not fit that range (another offset, past its end) drop the
  // holder as broken.
  void on_data(micros now, job_id id, const peer_addr& holder, std::uint64_t offset,
               std::span<const std::uint8_t> bytes);
  // `holder` failed: unreachable, broken off, or it answered with an error. `permanent`: it
  // says it does not have the file (or cannot serve it), so it is not asked again.
  void on_holder_failed(micros now, job_id id, const peer_addr& holder, std::string_view reason,
                        bool permanent = false);
  // About once a second: rates, dropped holders, rests that ended, the end game.
  void on_tick(micros now);
  // Stops a job: its holders are released and it ends as cancelled. False if unknown.
  bool cancel(micros now, job_id id);

  bool running(job_id id) const { return jobs_.count(id) != 0; }
  // The running job for a digest, or 0.
  job_id find(const sha256_digest& digest) const;
  // A running job's state; false if unknown.
  bool progress(micros now, job_id id, job_progress& out) const;
  std::vector<job_progress> list(micros now) const;
  // Byte ranges [offset, offset + length) a running job has stored, for a driver that
  // remembers them across restarts.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> stored_ranges(job_id id) const;
  std::size_t size() const { return jobs_.size(); }
  // The id the next start() of a new job will take (a driver may prepare its state for it).
  job_id next_id() const { return next_id_; }

  struct job;  // (download.cpp)

 private:
  struct entry;
  void add_holders_to(job& j, std::span<const peer_addr> holders);
  void pump(micros now, job& j);
  void fail(micros now, job& j, std::string error);
  void end(micros now, job& j, job_state st, std::string error = {});
  void holder_lost(micros now, job& j, std::size_t h, std::string_view reason, bool permanent, bool count);
  void advance_hash(micros now, job& j);
  void verify(micros now, job& j);
  void restart_from_zero(micros now, job& j);
  job* find_job(job_id id);

  const fetch_config& cfg_;
  download_host& host_;
  std::map<job_id, std::unique_ptr<job>> jobs_;
  job_id next_id_ = 1;
  // Jobs that ended inside a call, destroyed on the way out (no job is destroyed while one
  // of its own functions is on the stack).
  std::vector<std::unique_ptr<job>> ended_;
  int depth_ = 0;  // public calls on the stack
};

}  // namespace hearsay
