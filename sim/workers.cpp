// The parallel event loop's workers (see simulator.hpp): the helper threads and how they wait
// for each other, the windows of virtual time they run in step, the hand-over of the events
// one worker schedules for another's peers, and the fall-back to one worker for a network tap.

#include "sim/simulator.hpp"

#include <algorithm>
#include <limits>

#include "sim/spin_wait.hpp"

namespace hearsay::sim {


void simulator::helper_loop(unsigned index) {
  std::uint32_t seen = 0;
  spin_budget budget;
  while (true) {
    seen = wait_for_change(window_generation_, seen, budget);  // the next window
    if (stopping_.load(std::memory_order_acquire)) return;
    run_worker(*workers_[index], window_end_);
    window_done_.fetch_add(1, std::memory_order_acq_rel);
    window_done_.notify_one();
  }
}

void simulator::stop_helpers() {
  if (helpers_.empty()) return;
  stopping_.store(true, std::memory_order_release);
  window_generation_.fetch_add(1, std::memory_order_acq_rel);
  window_generation_.notify_all();
  for (auto& t : helpers_) t.join();
  helpers_.clear();
}

void simulator::run_window(micros end) {
  // This window writes the outbox set the previous-but-one window wrote, which the previous
  // window's workers took in at its start: empty now.
  for (auto& w : workers_) w->outbox_earliest[parity_] = micros{std::numeric_limits<std::int64_t>::max()};
  in_window_ = true;
  if (helpers_.empty()) {
    // One worker, or helpers stopped (after a run): the workers' windows one after another,
    // which gives the same results, as within a window they do not hear from each other.
    for (auto& w : workers_) run_worker(*w, end);
  } else {
    window_end_ = end;
    window_done_.store(0, std::memory_order_relaxed);
    window_generation_.fetch_add(1, std::memory_order_acq_rel);  // publishes window_end_
    window_generation_.notify_all();
    run_worker(*workers_[0], end);
    const auto others = static_cast<unsigned>(workers_.size() - 1);
    static thread_local spin_budget budget;  // the calling thread's
    for (unsigned done = 0; (done = window_done_.load(std::memory_order_acquire)) != others;) {
      wait_for_change(window_done_, done, budget);
    }
  }
  in_window_ = false;
  return_slots();
  // What each worker scheduled for the others' peers stays in its outboxes: each worker takes
  // in its own share at the start of the next window, in parallel with the others.
  parity_ ^= 1;
}

void simulator::take_incoming(worker& w) {
  // The set the previous window wrote, in a fixed order of senders (the keys decide the
  // events' order; this keeps the slab's use, and so memory, reproducible).
  const unsigned set = parity_ ^ 1;
  for (auto& from : workers_) {
    auto& box = from->outbox[set][w.index];
    for (const auto& o : box) w.queue.push_from(o.at, o.key, from->index + 1, o.slot);
    box.clear();
  }
}

void simulator::return_slots() {
  for (auto& w : workers_) {
    for (auto& from : workers_) {
      if (from == w) continue;
      auto& back = w->queue.returned(from->index + 1);
      slab<event>& s = *from->slabs[w->index];
      for (auto slot : back) s.release(slot);
      back.clear();
    }
  }
}

void simulator::take_all_incoming() {
  for (unsigned set : {parity_ ^ 1, parity_}) {
    for (auto& from : workers_) {
      for (std::size_t k = 0; k < from->outbox[set].size(); ++k) {
        for (const auto& o : from->outbox[set][k]) workers_[k]->queue.push_from(o.at, o.key, from->index + 1, o.slot);
        from->outbox[set][k].clear();
      }
      from->outbox_earliest[set] = micros{std::numeric_limits<std::int64_t>::max()};
    }
  }
}

micros simulator::next_time_of(worker& w) {
  // Between windows the set the last window wrote is parity_ ^ 1 (parity_ has flipped).
  micros next = w.queue.empty() ? micros{std::numeric_limits<std::int64_t>::max()} : w.queue.next_time();
  const unsigned set = parity_ ^ 1;
  for (auto& from : workers_) {
    if (!from->outbox[set][w.index].empty()) next = std::min(next, from->outbox_earliest[set]);
  }
  return next;
}

void simulator::set_tap(network_tap* tap) {
  HEARSAY_ASSERT(!compact());  // a compact run has no messages to show (scenario engine = nodes)
  // A tap observes messages in one global order: the run goes on with a single worker. The
  // events keep their keys, so the run is the same.
  if (tap != nullptr && workers_.size() > 1) {
    stop_helpers();
    take_all_incoming();
    auto one = std::make_unique<worker>();
    one->outbox[0].resize(1);
    one->outbox[1].resize(1);
    one->slabs.resize(1);
    one->queue.add_source(nullptr);
    one->counts.assign(queries_.size(), {});
    for (auto& w : workers_) {
      // Copies out of the other workers' slabs, which go with them.
      while (!w->queue.empty()) {
        const auto e = w->queue.take();
        one->queue.push(e.at, e.key, std::move(e.payload));
        w->queue.release(e.slot);
      }
      for (std::size_t k = 0; k < w->counts.size(); ++k) w->counts[k].add_to(one->counts[k]);
      one->hits.insert(one->hits.end(), w->hits.begin(), w->hits.end());  // sorted when handed over
      one->now = w->now;
      one->events += w->events;
    }
    workers_.clear();
    workers_.push_back(std::move(one));
    set_worker_count(1);
    assign_hosts();
  }
  tap_ = tap;
}

}  // namespace hearsay::sim
