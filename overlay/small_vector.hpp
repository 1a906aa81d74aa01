#pragma once
// A vector that keeps its first N elements inside the object and moves to the heap only when
// it grows past them. For views: a node's active view is a handful of addresses read on every
// message, and a simulation holds a million nodes, so keeping it inline saves a pointer chase
// (a cache miss) per message and an allocation per node. Trivially copyable elements only.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>

#include "overlay/assert.hpp"

namespace hearsay {

template <typename T, std::size_t N>
class small_vector {
  static_assert(std::is_trivially_copyable_v<T>, "small_vector holds trivially copyable elements");
  static_assert(N > 0);

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  small_vector() = default;
  small_vector(const small_vector& o) { assign(o.begin(), o.end()); }
  small_vector& operator=(const small_vector& o) {
    if (this != &o) {
      size_ = 0;
      assign(o.begin(), o.end());
    }
    return *this;
  }
  small_vector(small_vector&& o) noexcept { take(o); }
  small_vector& operator=(small_vector&& o) noexcept {
    if (this != &o) {
      heap_.reset();
      capacity_ = N;
      size_ = 0;
      take(o);
    }
    return *this;
  }

  T* data() { return heap_ ? heap_.get() : inline_; }
  const T* data() const { return heap_ ? heap_.get() : inline_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  T& operator[](std::size_t i) {
    HEARSAY_ASSERT(i < size_);
    return data()[i];
  }
  const T& operator[](std::size_t i) const {
    HEARSAY_ASSERT(i < size_);
    return data()[i];
  }
  T& back() { return (*this)[size_ - 1]; }

  void push_back(const T& v) {
    if (size_ == capacity_) {
      const T copy = v;  // v may live in this vector
      grow(capacity_ * 2);
      data()[size_++] = copy;
      return;
    }
    data()[size_++] = v;
  }
  void pop_back() {
    HEARSAY_ASSERT(size_ > 0);
    --size_;
  }
  // Removes the element at `at`, keeping the order of the rest; returns the next position.
  T* erase(T* at) {
    HEARSAY_ASSERT(at >= begin() && at < end());
    std::memmove(static_cast<void*>(at), at + 1, static_cast<std::size_t>(end() - (at + 1)) * sizeof(T));
    --size_;
    return at;
  }
  // Removes every element for which pred holds, keeping the order of the rest.
  template <typename Pred>
  std::size_t erase_if(Pred pred) {
    T* out = begin();
    for (T* in = begin(); in != end(); ++in) {
      if (!pred(*in)) *out++ = *in;
    }
    const auto removed = static_cast<std::size_t>(end() - out);
    size_ -= removed;
    return removed;
  }
  void clear() { size_ = 0; }
  // n copies of v, replacing what was there.
  void assign(std::size_t n, const T& v) {
    size_ = 0;
    reserve(n);
    std::fill_n(data(), n, v);
    size_ = n;
  }
  void reserve(std::size_t n) {
    if (n > capacity_) grow(n);
  }

 private:
  void assign(const T* first, const T* last) {
    reserve(static_cast<std::size_t>(last - first));
    std::copy(first, last, data());
    size_ = static_cast<std::size_t>(last - first);
  }
  void take(small_vector& o) {
    if (o.heap_) {
      heap_ = std::move(o.heap_);
      capacity_ = o.capacity_;
      size_ = o.size_;
    } else {
      std::copy(o.inline_, o.inline_ + o.size_, inline_);
      size_ = o.size_;
    }
    o.capacity_ = N;
    o.size_ = 0;
  }
  void grow(std::size_t n) {
    auto bigger = std::make_unique_for_overwrite<T[]>(n);
    std::copy(begin(), end(), bigger.get());
    heap_ = std::move(bigger);
    capacity_ = n;
  }

  std::unique_ptr<T[]> heap_;
  std::size_t size_ = 0;
  std::size_t capacity_ = N;
  T inline_[N];
};

}  // namespace hearsay
