#pragma once
// A node's shared files as the overlay sees them: name, size and SHA-256 per file, and the
// matching rule for query criteria. Scanning a folder and hashing files is I/O and lives in
// the driver (transport/ for the real node, sim/ places synthetic files); the overlay only
// keeps the records and answers "which of my files match these criteria?".
//
// Matching rule: criteria are split into lower-case alphanumeric tokens; a file matches when
// every token occurs among the tokens of its name. Criteria of the form "sha256:<64 hex>"
// match exactly the file with that digest.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "overlay/messages.hpp"

namespace hearsay {

// Lower-case alphanumeric tokens of text, in order; at most tokens_max of them.
std::vector<std::string> tokenize(std::string_view text, std::size_t tokens_max = 32);

// A 64-bit set with one bit per token (a one-hash Bloom filter): if the tokens of a query
// are all among a file's, the query's bits are all among the file's.
std::uint64_t token_signature(const std::vector<std::string>& tokens);

// Parsed query criteria.
struct criteria {
  std::vector<std::string> tokens;
  std::optional<sha256_digest> digest;
  // One bit per token (token_signature): a file whose own bits miss one of these cannot
  // match, which library::match checks before comparing strings. 0 skips that check.
  std::uint64_t signature = 0;
  bool empty() const { return tokens.empty() && !digest; }
  static constexpr std::size_t tokens_max = 32;  // tokens beyond these are ignored
  static criteria parse(std::string_view text);
};

// File records stored once and named by 32-bit ids: what a hit lists (file_info) and what
// matching reads (the name's sorted, unique tokens and their signature). The simulator keeps
// one catalogue for all its peers, whose libraries are then lists of ids (4 bytes a replica,
// where a record of its own costs a name, a token list and a digest); a real node's library
// keeps a catalogue of its own.
using file_id = std::uint32_t;

class catalogue {
 public:
  file_id add(file_info file);
  void replace(file_id id, file_info file);
  void erase_last() { records_.pop_back(); }
  void clear() { records_.clear(); }

  const file_info& file(file_id id) const { return records_[id].file; }
  std::uint64_t signature(file_id id) const { return records_[id].signature; }
  // Whether the record matches c (see the matching rule above).
  bool matches(file_id id, const criteria& c) const;
  std::size_t size() const { return records_.size(); }

 private:
  struct record {
    file_info file;
    std::vector<std::string> tokens;  // sorted, unique
    std::uint64_t signature = 0;      // token_signature of tokens
  };
  static record make_record(file_info file);
  void swap_records(file_id a, file_id b) { std::swap(records_[a], records_[b]); }
  friend class library;

  std::vector<record> records_;
};

// The files one node shares: ids in a catalogue, in the order they were added.
class library {
 public:
  library() = default;

  // A library of its own catalogue (the default): add(file_info) adds or replaces by digest.
  void add(file_info file);
  bool remove(const sha256_digest& digest);
  // A library naming records of a catalogue shared with other nodes (the simulator's), which
  // must outlive it: share() once, while the library is empty, then add ids.
  void share(const catalogue& shared);
  void add(file_id id);
  void assign(std::span<const file_id> ids);
  void reserve(std::size_t n) { ids_.reserve(n); }

  void clear();

  const file_info* find(const sha256_digest& digest) const;
  // Files matching c, in insertion order, at most max_results of them.
  std::vector<file_info> match(const criteria& c, std::size_t max_results) const;
  // False when no file can match criteria_text: a check of token bits against all files'
  // at once, without parsing (most copies of a query reach peers that hold nothing for
  // it). True says only "parse and match".
  bool may_match(std::string_view criteria_text) const;

  std::size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  std::span<const file_id> ids() const { return ids_; }
  template <typename F>
  void for_each(F&& f) const {
    for (const file_id id : ids_) f(records().file(id));
  }

 private:
  const catalogue& records() const { return shared_ != nullptr ? *shared_ : *own_; }
  void update_signatures();

  // What may_match reads comes first: the emptiness of ids_ and the signature union.
  std::vector<file_id> ids_;
  std::uint64_t any_signature_ = 0;  // the union of the files' signatures
  const catalogue* shared_ = nullptr;
  // A library's own records (made on its first add), one for each of its ids: ids_[k] == k.
  std::unique_ptr<catalogue> own_;
};

}  // namespace hearsay
