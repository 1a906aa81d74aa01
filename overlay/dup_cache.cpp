// The duplicate cache of flooding search (see dup_cache.hpp).

#include "overlay/dup_cache.hpp"

#include <algorithm>
#include <cstring>

#include "overlay/assert.hpp"
#include "overlay/small_vector.hpp"

namespace hearsay {

dup_cache::dup_cache(std::uint32_t capacity, micros lifetime)
    : lifetime_(lifetime), capacity_(capacity) {
  HEARSAY_ASSERT(capacity_ > 0);
  HEARSAY_ASSERT(lifetime_.count() >= 0);
  while ((lifetime_.count() >> tick_log2_) >= (std::int64_t{1} << 30)) ++tick_log2_;
}

std::uint32_t dup_cache::ticks(micros now) {
  if (!epoch_set_) {
    // The epoch sits a lifetime before the first insert, so that times a little earlier than
    // it (a driver's clock is monotonic, but tests replay old times) still have a tick.
    epoch_ = now - lifetime_;
    epoch_set_ = true;
  }
  if (now < epoch_) return 0;
  const std::int64_t limit = std::int64_t{1} << 31;
  if (((now - epoch_).count() >> tick_log2_) >= limit) {
    // Move the epoch up to a lifetime before now: every live time stays representable, and
    // an expired one becomes tick 0, which is still expired (it reads as older than it is).
    const micros next = now - lifetime_ - micros{std::int64_t{1} << tick_log2_};
    for (slot& s : table()) {
      if (s.id == 0) continue;
      const micros t = time_of(s.seen);
      s.seen = t < next ? 0 : static_cast<std::uint32_t>((t - next).count() >> tick_log2_);
    }
    epoch_ = next;
  }
  return static_cast<std::uint32_t>((now - epoch_).count() >> tick_log2_);
}

std::size_t dup_cache::home(query_id id) const {
  // Query ids are random, but a peer may choose them: mix before masking.
  std::uint64_t h = id;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<std::size_t>(h) & (slot_count() - 1);
}

std::size_t dup_cache::probe(query_id id) const {
  const std::size_t mask = slot_count() - 1;
  const std::size_t start = home(id);
  const std::size_t offset = start & (slots_per_line - 1);
  for (std::size_t line = start - offset;; line = (line + slots_per_line) & mask) {
#pragma GCC unroll 4
    for (std::size_t k = 0; k < slots_per_line; ++k) {
      const std::size_t i = line | ((offset + k) & (slots_per_line - 1));
      if (slots_[i].id == id || slots_[i].id == 0) return i;
    }
  }
}

void dup_cache::allocate_table(std::size_t n) {
  HEARSAY_ASSERT(n >= slots_per_line && (n & (n - 1)) == 0);
  storage_ = std::make_unique<slot[]>(n + slots_per_line - 1);  // all free (id 0)
  const auto address = reinterpret_cast<std::uintptr_t>(storage_.get());
  slots_ = storage_.get() + ((64 - address % 64) % 64) / sizeof(slot);
  slot_count_ = n;
}

std::size_t dup_cache::lookup(query_id id) const {
  if (slot_count() == 0 || id == 0) return none;
  const std::size_t i = probe(id);
  return slots_[i].id == id ? i : none;
}

dup_cache::entry* dup_cache::find(query_id id, micros now) {
  const std::size_t i = lookup(id);
  if (i == none || expired(slots_[i].seen, now)) return nullptr;
  return &slots_[i].value;
}

dup_cache::slot& dup_cache::place(const slot& s) {
  const std::size_t i = probe(s.id);  // s.id is not in the table: a free slot
  slots_[i] = s;
  return slots_[i];
}

std::size_t dup_cache::upstream_home(const peer_addr& a) const {
  // The address's last eight bytes tell peers apart (an IPv4-mapped one's first eight are
  // zero), with the port: mixed, then masked.
  std::uint64_t tail;
  std::memcpy(&tail, a.ip.data() + 8, 8);
  std::uint64_t h = (tail ^ (std::uint64_t{a.port} << 48)) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 29;
  return static_cast<std::size_t>(h) & (upstream_slots_.size() - 1);
}

void dup_cache::index_upstreams() {
  upstream_slots_.clear();
  if (upstreams_.size() <= upstreams_scanned) return;
  std::size_t slots = 16;
  while (slots < 4 * upstreams_.size()) slots *= 2;
  upstream_slots_.assign(slots, no_upstream);
  const std::size_t mask = slots - 1;
  for (std::size_t k = 0; k < upstreams_.size(); ++k) {
    std::size_t j = upstream_home(upstreams_[k]);
    while (upstream_slots_[j] != no_upstream) j = (j + 1) & mask;
    upstream_slots_[j] = static_cast<std::uint16_t>(k);
  }
}

std::uint16_t dup_cache::upstream_index(const peer_addr& a) {
  const std::size_t n = upstreams_.size();
  if (upstream_slots_.empty()) {
    // A few: scanned (as packed keys).
    if (const std::size_t k = upstreams_.find(a); k != peer_view::npos) return static_cast<std::uint16_t>(k);
  } else {
    // Many (a hub of a static topology hears from thousands of neighbours): hashed.
    const std::size_t mask = upstream_slots_.size() - 1;
    for (std::size_t j = upstream_home(a); upstream_slots_[j] != no_upstream; j = (j + 1) & mask) {
      if (upstreams_[upstream_slots_[j]] == a) return upstream_slots_[j];
    }
  }
  if (n >= upstreams_max) return no_upstream;
  upstreams_.push_back(a);
  if (upstreams_.size() > upstreams_scanned) {
    if (2 * upstreams_.size() > upstream_slots_.size()) {
      index_upstreams();  // at most half full
    } else {
      const std::size_t mask = upstream_slots_.size() - 1;
      std::size_t j = upstream_home(a);
      while (upstream_slots_[j] != no_upstream) j = (j + 1) & mask;
      upstream_slots_[j] = static_cast<std::uint16_t>(n);
    }
  }
  return static_cast<std::uint16_t>(n);
}

void dup_cache::make_room(micros now) {
  // An id is live when its tick is at least `fresh` (the same test as expired(), on ticks).
  const std::int64_t expired_before = (now - lifetime_ - epoch_).count();  // us since the epoch
  const std::int64_t tick_us = std::int64_t{1} << tick_log2_;
  const std::int64_t first_live = expired_before <= 0 ? 0 : (expired_before + tick_us - 1) >> tick_log2_;
  const auto fresh = static_cast<std::uint64_t>(first_live);
  auto live = [&](const slot& s) { return s.id != 0 && s.seen >= fresh; };
  std::size_t keep = 0;
  for (const slot& s : table()) keep += live(s) ? 1u : 0u;
  // Full of live ids: the oldest eighth goes (at least one), by the time of its last insert;
  // among equal times, those met first in the table. Ids inserted before `cut` go, and the
  // first `at_cut` of those inserted at `cut`.
  std::uint32_t cut = 0;
  std::size_t at_cut = 0;
  if (keep >= capacity_) {
    std::vector<std::uint32_t> times;
    times.reserve(keep);
    for (const slot& s : table()) {
      if (live(s)) times.push_back(s.seen);
    }
    const std::size_t drop = std::max<std::size_t>(1, capacity_ / 8) + (keep - capacity_);
    std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(drop - 1), times.end());
    cut = times[drop - 1];  // the drop-th oldest time
    const auto older = std::count_if(times.begin(), times.end(), [&](std::uint32_t t) { return t < cut; });
    at_cut = drop - static_cast<std::size_t>(older);
    keep -= drop;
  }
  // Size the table so that the live ids fill at most 3/8 of it: the next sweep is at least
  // that many inserts away. It shrinks again when most of it has expired.
  // Every id live and kept: the table only grows. Out of the first table it skips a size
  // (16 slots to 64): a node that fills 3/4 of 16 slots within a lifetime most likely goes on
  // taking ids, and each re-lay costs a fresh table and a pass over the old one (at 10^5
  // peers in the scale scenario, where nodes hold about 65 ids, this saves one re-lay in three;
  // bench/HISTORY.md).
  const bool growing = keep == count_;
  std::size_t slots = growing && slot_count_ == first_slots ? 4 * first_slots : first_slots;
  while (keep * 8 > slots * 3) slots *= 2;
  const std::unique_ptr<slot[]> old_storage = std::move(storage_);
  const std::span<slot> old(slots_, slot_count_);
  allocate_table(slots);
  if (growing) {
    // No id leaves, so neither does any upstream: their numbers, and the links' memos of
    // them, stay right. Only the slots move.
    for (const slot& s : old) {
      if (s.id != 0) place(s);
    }
    return;
  }
  // The upstreams the kept ids name stay, in their order: first marked, then numbered, then
  // copied into a new list when any left. Most nodes have a few dozen at most, counted in a
  // table on the stack.
  const std::size_t n = upstreams_.size();
  small_vector<std::uint16_t, 64> renumbered;
  renumbered.assign(n, no_upstream);
  auto kept = [&](const slot& s) {
    if (!live(s) || s.seen < cut) return false;
    if (s.seen == cut && at_cut > 0) {
      --at_cut;
      return false;
    }
    return true;
  };
  for (slot& s : old) {
    if (!kept(s)) {
      s.id = 0;  // dropped: the second pass skips it
      continue;
    }
    if (s.value.upstream < n) renumbered[s.value.upstream] = 0;
  }
  std::size_t used = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (renumbered[k] == no_upstream) continue;
    renumbered[k] = static_cast<std::uint16_t>(used++);
  }
  if (used != n) {
    ++numbering_;  // an upstream left: the numbers of those after it moved down
    peer_view kept_upstreams;
    kept_upstreams.reserve(used);
    for (std::size_t k = 0; k < n; ++k) {
      if (renumbered[k] != no_upstream) kept_upstreams.push_back(upstreams_[k]);
    }
    upstreams_ = std::move(kept_upstreams);
  }
  for (slot s : old) {
    if (s.id == 0) continue;
    if (s.value.upstream < n) s.value.upstream = renumbered[s.value.upstream];
    place(s);
  }
  index_upstreams();
  count_ = static_cast<std::uint32_t>(keep);  // keep <= capacity_
}

dup_cache::entry& dup_cache::insert(query_id id, micros now, const peer_addr& upstream, std::uint8_t ttl_best,
                                    std::uint64_t* memo) {
  HEARSAY_ASSERT(id != 0);
  // One probe finds the id or the free slot that ends its run.
  return insert_at(slot_count() == 0 ? none : probe(id), id, now, upstream, ttl_best, memo);
}

dup_cache::entry& dup_cache::find_or_insert(query_id id, micros now, const peer_addr& upstream,
                                            std::uint8_t ttl_best, std::uint64_t* memo, bool& found) {
  HEARSAY_ASSERT(id != 0);
  const std::size_t i = slot_count() == 0 ? none : probe(id);
  found = i != none && slots_[i].id == id && !expired(slots_[i].seen, now);
  if (found) return slots_[i].value;
  return insert_at(i, id, now, upstream, ttl_best, memo);
}

dup_cache::entry& dup_cache::insert_at(std::size_t i, query_id id, micros now, const peer_addr& upstream,
                                       std::uint8_t ttl_best, std::uint64_t* memo) {
  const std::uint32_t tick = ticks(now);
  if (i == none || slots_[i].id != id) {
    if (needs_room()) {
      make_room(now);
      slot fresh;
      fresh.id = id;
      i = static_cast<std::size_t>(&place(fresh) - slots_);
    } else {
      slots_[i].id = id;
    }
    ++count_;
  }
  // New, or still here (live, or expired and not swept out yet): (re)written in place.
  slot& s = slots_[i];
  s.seen = tick;
  std::uint16_t up = 0;
  if (memo != nullptr && *memo >> 16 == numbering_) {
    up = static_cast<std::uint16_t>(*memo);
  } else {
    up = upstream_index(upstream);
    // A full table of upstreams gives no number: nothing to remember, the next insert asks again.
    if (memo != nullptr && up != no_upstream) *memo = numbering_ << 16 | up;
  }
  s.value = entry{ttl_best, 0, up};
  return s.value;
}

}  // namespace hearsay
