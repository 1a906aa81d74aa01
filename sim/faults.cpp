// Faults in the simulator (see simulator.hpp and the scenario's [network] and [churn] keys):
// message loss and partitions, which the send path asks about; crashes, graceful leaves,
// late joins and the sessions of continuous churn, planned when the queries start and run as
// global events; a churned peer's return as a fresh process.

#include "sim/simulator.hpp"

#include <algorithm>
#include <cmath>

#include "sim/adversary.hpp"
#include "sim/downloads.hpp"

namespace hearsay::sim {

namespace {
// A session or an offline period drawn in seconds, in whole microseconds (at least one).
micros draw_micros(const duration_dist& d, rng& r) {
  return micros{std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(d.draw(r) * 1e6)))};
}
}  // namespace

bool simulator::lost(std::uint64_t key) const {
  // A draw per message from its key: the same whichever thread sends it.
  std::uint64_t h = (scenario_.seed ^ stream_loss * 0x9e3779b97f4a7c15ULL) + key * 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 31;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 29;
  return static_cast<double>(h >> 11) * 0x1.0p-53 < scenario_.loss;
}

bool simulator::partitioned(std::uint32_t a, std::uint32_t b, micros now) const {
  if (scenario_.partition_duration.count() == 0) return false;
  const micros from = queries_start_ + scenario_.partition_at;
  if (now < from || now >= from + scenario_.partition_duration) return false;
  const auto cut = static_cast<std::uint32_t>(scenario_.partition_fraction * static_cast<double>(size()));
  return (a < cut) != (b < cut);
}

void simulator::crash(std::uint32_t i) {
  HEARSAY_ASSERT(i < nodes_.size());
  if (!running_[i]) return;
  stop_peer(i);
  for (const auto& p : active_of(i)) {
    std::uint32_t j = 0;
    if (index_of(p, j) && running_[j]) {
      post<peer_down>(worker_of(i), j, now_ + link_latency(i, j), next_key(i), j, i);
    }
  }
}

void simulator::stop_peer(std::uint32_t i) {
  running_[i] = 0;
  if (downloads_ != nullptr) downloads_->peer_stopped(i, now_);
}

void simulator::restart_peer(std::uint32_t i) {
  // A churned peer comes back as a fresh process: new state, new random stream, the same
  // address and the same files, joining again through the seeds.
  ++incarnation_[i];
  const std::uint64_t node_seed = rng::stream(scenario_.seed, stream_peers + i).next() ^ (incarnation_[i] * 0x9e3779b97f4a7c15ULL);
  const std::span<const file_id> held = nodes_[i]->files().ids();
  std::vector<file_id> files(held.begin(), held.end());
  nodes_.rebuild(i, node_config_, address_of(i), node_seed, hosts_[i], stats_of_unit(i));
  if (!files.empty()) {
    nodes_[i]->files().share(catalogue_);
    nodes_[i]->files().assign(files);
  }
  running_[i] = 1;
  nodes_[i]->start(now_);
}

void simulator::on_fault(const fault& f) {
  auto pick_share = [&](double share) {
    std::vector<std::uint32_t> alive;
    for (std::uint32_t i = 0; i < honest_peers(); ++i) {  // (an attack's Sybils stay)
      if (running_[i]) alive.push_back(i);
    }
    fault_rng_.shuffle(std::span(alive));
    alive.resize(static_cast<std::size_t>(std::llround(share * static_cast<double>(alive.size()))));
    std::sort(alive.begin(), alive.end());
    return alive;
  };
  switch (f.what) {
    case fault::kind::crash_share:
      for (auto i : pick_share(scenario_.crash_fraction)) crash(i);
      break;
    case fault::kind::leave_share:
      for (auto i : pick_share(scenario_.leave_fraction)) {
        nodes_[i]->leave(now_);
        stop_peer(i);
      }
      break;
    case fault::kind::session_end:
      if (!running_[f.node]) break;
      if (fault_rng_.chance(scenario_.graceful_share)) {
        nodes_[f.node]->leave(now_);
        stop_peer(f.node);
      } else {
        crash(f.node);
      }
      post_global(now_ + draw_micros(scenario_.downtime, fault_rng_), fault{fault::kind::session_return, f.node});
      break;
    case fault::kind::session_return:
      restart_peer(f.node);
      post_global(now_ + draw_micros(scenario_.session_length, fault_rng_), fault{fault::kind::session_end, f.node});
      break;
    case fault::kind::sample: {
      const auto h = measure_health();
      samples_.push_back(
          time_sample{now_ - queries_start_, h.peers_running, h.largest_component, h.active_mean, measure_attack()});
      break;
    }
  }
}

std::uint32_t simulator::late_joiners() const {
  if (scenario_.topology.is_static()) return 0;
  const auto late = static_cast<std::uint32_t>(std::llround(scenario_.join_fraction * size()));
  return std::min(late, honest_peers() - std::min(honest_peers(), scenario_.seed_count));
}

void simulator::plan_faults(micros first) {
  queries_start_ = first;
  for (std::uint32_t i = honest_peers() - late_joiners(); i < honest_peers(); ++i) {
    const auto offset = static_cast<std::int64_t>(
        fault_rng_.below(static_cast<std::uint64_t>(std::max<std::int64_t>(1, scenario_.join_period.count()))));
    worker_of(i).queue.push(first + micros{offset}, next_global_key(), start_peer{i});
  }
  // An attack's Sybils join on their schedule, through the seeds.
  const micros attack_first = first + scenario_.attack.start;
  if (swarm_ != nullptr) swarm_->set_schedule(attack_first, scenario_.attack.join_period);
  for (std::uint32_t k = 0; k < plan_.sybils(); ++k) {
    const micros at = attack_first + micros{scenario_.attack.join_period.count() * static_cast<std::int64_t>(k) /
                                            static_cast<std::int64_t>(plan_.sybils())};
    HEARSAY_ASSERT(swarm_ == nullptr || at == swarm_->start_of(k));
    worker_of(plan_.first_sybil() + k).queue.push(at, next_global_key(), start_peer{plan_.first_sybil() + k});
  }
  if (scenario_.crash_fraction > 0) post_global(first + scenario_.crash_at, fault{fault::kind::crash_share, 0});
  if (scenario_.leave_fraction > 0) post_global(first + scenario_.leave_at, fault{fault::kind::leave_share, 0});
  if (scenario_.sessions) {
    // Seed nodes stay up (operators run them as stable services); every other peer starts a
    // session of random length now.
    for (std::uint32_t i = scenario_.seed_count; i < honest_peers(); ++i) {
      post_global(first + draw_micros(scenario_.session_length, fault_rng_), fault{fault::kind::session_end, i});
    }
  }
}

}  // namespace hearsay::sim
