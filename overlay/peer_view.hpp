#pragma once
// A list of peers kept in 8 bytes a member rather than 18: the HyParView passive view, and
// the duplicate cache's list of the neighbours queries came from.
//
// An IPv4 member (nearly every peer on today's internet, and every simulated one) is packed
// into one 64-bit key: a mark bit, the address and the port. An IPv6 member's key is its
// place in a side list of whole addresses. "Is p a member?" then compares 64-bit keys, and a
// view of 30 fits in four cache lines instead of nine. The passive view was the largest thing
// a peer held besides the node itself (the simulator keeps a million of them), and every
// shuffle checks the peers it brings against it.
//
// Order is kept (members stay in insertion order; erase shifts the rest down), so that code
// which draws "the i-th member" at random sees the same list a plain vector would give.
// Members are read by value (view[i], iteration): the view holds no peer_addr to point to.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "overlay/types.hpp"

namespace hearsay {

class peer_view {
 public:
  static constexpr std::size_t npos = ~std::size_t{0};

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = peer_addr;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = peer_addr;

    iterator() = default;
    iterator(const peer_view* view, std::size_t i) : view_(view), i_(i) {}
    peer_addr operator*() const { return (*view_)[i_]; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++i_;
      return before;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.i_ == b.i_; }

   private:
    const peer_view* view_ = nullptr;
    std::size_t i_ = 0;
  };

  peer_view() = default;
  peer_view(const peer_view& o) { *this = o; }
  peer_view(peer_view&& o) noexcept { *this = std::move(o); }
  peer_view& operator=(const peer_view& o) {
    if (this == &o) return *this;
    size_ = 0;
    reserve(o.size_);
    if (o.size_ != 0) std::memcpy(keys_.get(), o.keys_.get(), o.size_ * sizeof(std::uint64_t));
    size_ = o.size_;
    wide_ = o.wide_ == nullptr ? nullptr : std::make_unique<std::vector<peer_addr>>(*o.wide_);
    return *this;
  }
  peer_view& operator=(peer_view&& o) noexcept {
    keys_ = std::move(o.keys_);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
    wide_ = std::move(o.wide_);
    return *this;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, size_}; }

  // The i-th member (i < size()).
  peer_addr operator[](std::size_t i) const {
    const std::uint64_t k = keys_[i];
    if ((k & ipv4_mark) != 0) {
      return peer_addr::from_ipv4(static_cast<std::uint32_t>(k >> 16), static_cast<std::uint16_t>(k));
    }
    return (*wide_)[k];
  }

  // The position of p, or npos.
  std::size_t find(const peer_addr& p) const {
    std::uint64_t want;
    if (p.is_ipv4()) {
      want = key_of_ipv4(p);
    } else {
      if (wide_ == nullptr) return npos;
      const auto at = std::find(wide_->begin(), wide_->end(), p);
      if (at == wide_->end()) return npos;
      want = static_cast<std::uint64_t>(at - wide_->begin());
    }
    const std::uint64_t* keys = keys_.get();
    const std::size_t n = size_;
    for (std::size_t i = 0; i < n; ++i) {
      if (keys[i] == want) return i;
    }
    return npos;
  }
  bool contains(const peer_addr& p) const { return find(p) != npos; }

  // How many IPv4 members have a key whose top bits, from `shift` up, equal those of p's
  // (p IPv4): with shift 24, the members in p's /24. Counting stops at `enough`.
  std::uint32_t count_ipv4_prefix(const peer_addr& p, unsigned shift, std::uint32_t enough) const {
    const std::uint64_t want = key_of_ipv4(p) >> shift;
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < size_; ++i) {
      if ((keys_[i] >> shift) == want && ++n >= enough) break;
    }
    return n;
  }
  // Whether the view has IPv6 members at all (a rare case that scans them whole).
  bool has_ipv6() const { return wide_ != nullptr && !wide_->empty(); }

  // Room for n members without growing (a view that fills up at once grows only once).
  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    auto grown = std::make_unique_for_overwrite<std::uint64_t[]>(n);
    if (size_ != 0) std::memcpy(grown.get(), keys_.get(), size_ * sizeof(std::uint64_t));
    keys_ = std::move(grown);
    capacity_ = static_cast<std::uint32_t>(n);
  }
  void push_back(const peer_addr& p) {
    if (size_ == capacity_) reserve(capacity_ == 0 ? 4 : 2 * std::size_t{capacity_});
    if (p.is_ipv4()) {
      keys_[size_++] = key_of_ipv4(p);
      return;
    }
    if (wide_ == nullptr) wide_ = std::make_unique<std::vector<peer_addr>>();
    keys_[size_++] = wide_->size();
    wide_->push_back(p);
  }
  void erase_at(std::size_t i) {
    const std::uint64_t k = keys_[i];
    std::memmove(keys_.get() + i, keys_.get() + i + 1, (size_ - i - 1) * sizeof(std::uint64_t));
    --size_;
    if ((k & ipv4_mark) != 0) return;
    // An IPv6 member: its address leaves the side list, and the members after it there move
    // down one place.
    wide_->erase(wide_->begin() + static_cast<std::ptrdiff_t>(k));
    for (std::size_t j = 0; j < size_; ++j) {
      if ((keys_[j] & ipv4_mark) == 0 && keys_[j] > k) --keys_[j];
    }
  }
  // Removes p if it is a member; whether it was.
  bool erase(const peer_addr& p) {
    const std::size_t i = find(p);
    if (i == npos) return false;
    erase_at(i);
    return true;
  }

  // Where the keys are, for a prefetch.
  const void* key_data() const { return keys_.get(); }
  std::size_t key_bytes() const { return size_ * sizeof(std::uint64_t); }

 private:
  static constexpr std::uint64_t ipv4_mark = std::uint64_t{1} << 63;
  static std::uint64_t key_of_ipv4(const peer_addr& p) {
    return ipv4_mark | (std::uint64_t{p.ipv4()} << 16) | p.port;
  }

  // 24 bytes in all: a peer holds two of these (its passive view, its duplicate cache's upstreams).
  std::unique_ptr<std::uint64_t[]> keys_;  // in member order
  std::uint32_t size_ = 0, capacity_ = 0;
  std::unique_ptr<std::vector<peer_addr>> wide_;  // the IPv6 members, in member order (made for the first)
};

}  // namespace hearsay
