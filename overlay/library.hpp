#pragma once
// A node's shared files as the overlay sees them: name, size and SHA-256 per file, and the
// matching rule for query criteria. Scanning a folder and hashing files is I/O and lives in
// the driver (transport/ for the real node, sim/ places synthetic files); the overlay only
// keeps the records and answers "which of my files match these criteria?".
//
// Matching rule: criteria are split into lower-case alphanumeric tokens; a file matches when
// every token occurs among the tokens of its name (match_mode::words, the simulator's), or,
// in a library set to match_mode::substrings (the real node's), when every token occurs
// inside one of its name's tokens: "photo" finds "holiday photos.txt", "medium" finds
// "medium10mb.bin". Criteria of the form "sha256:<64 hex>" match exactly the file with that
// digest in either mode.

#include <array>
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

// How a library compares criteria tokens with a name's tokens (see the matching rule above).
// A substring match costs one pass over each name that passes a 64-bit filter of its
// letter pairs, whatever the number of tokens (substring_matcher); a query's size is bounded
// by the criteria (tokens_max, and the overlay's criteria_bytes_max).
enum class match_mode : std::uint8_t { words, substrings };

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

// Finds criteria tokens inside name tokens in one pass over a name's bytes: the tokens'
// Aho-Corasick automaton over the 36 lower-case letters and digits, completed into a table,
// so that each byte of a name is one step, with no going back. Built once per query, in
// steps proportional to the tokens' bytes.
class substring_matcher {
 public:
  static constexpr std::size_t tokens_max = 32;  // criteria::tokens_max
  // Lower-case alphanumeric tokens (criteria::tokens); at most tokens_max.
  explicit substring_matcher(const std::vector<std::string>& tokens);
  // Whether every token occurs inside one of these lower-case alphanumeric name tokens.
  bool matches(const std::vector<std::string>& name_tokens) const;
  // The filter bits every name whose tokens contain all of the tokens has (see
  // gram_signature): a name missing one of them cannot match.
  std::uint64_t signature() const { return signature_; }
  // States of the automaton: at most one more than the tokens' bytes (the cost of building
  // it, and of its table: 144 bytes a state).
  std::size_t states() const { return next_.size(); }

 private:
  static constexpr std::size_t letters = 36;
  std::vector<std::array<std::uint32_t, letters>> next_;  // state x letter -> state; 0 is the root
  std::vector<std::uint32_t> found_;                      // per state: bit k when token k ends there
  std::uint32_t all_ = 0;                                 // every token's bit
  std::uint64_t signature_ = 0;
};

// A name's substring filter: one bit for each letter and each pair of adjacent letters of
// its tokens (a 64-bit one-hash Bloom filter). A token inside one of the name's tokens has
// its letters (when it is one letter long) or its pairs among them.
std::uint64_t gram_signature(const std::vector<std::string>& name_tokens);

// File records stored once and named by 32-bit ids: what a hit lists (file_info) and what
// matching reads (the name's sorted, unique tokens and their signature). The simulator keeps
// one catalogue for all its peers, whose libraries are then lists of ids (4 bytes a replica,
// where a record of its own costs a name, a token list and a digest); a real node's library
// keeps a catalogue of its own.
using file_id = std::uint32_t;

class catalogue {
 public:
  explicit catalogue(match_mode mode = match_mode::words) : mode_(mode) {}
  match_mode mode() const { return mode_; }

  file_id add(file_info file);
  void replace(file_id id, file_info file);
  void erase_last() { records_.pop_back(); }
  void clear() { records_.clear(); }

  const file_info& file(file_id id) const { return records_[id].file; }
  // The record's filter bits: its tokens' signature (words), or its letters' and letter
  // pairs' (substrings).
  std::uint64_t signature(file_id id) const { return records_[id].signature; }
  // Whether the record matches c by words (see the matching rule above); a catalogue of
  // match_mode::substrings is matched through library::match.
  bool matches(file_id id, const criteria& c) const;
  std::size_t size() const { return records_.size(); }

 private:
  struct record {
    file_info file;
    std::vector<std::string> tokens;  // sorted, unique
    std::uint64_t signature = 0;      // token_signature of tokens
  };
  record make_record(file_info file) const;
  void swap_records(file_id a, file_id b) { std::swap(records_[a], records_[b]); }
  friend class library;

  std::vector<record> records_;
  match_mode mode_ = match_mode::words;
};

// The files one node shares: ids in a catalogue, in the order they were added.
class library {
 public:
  library() = default;

  // A library of its own catalogue (the default): add(file_info) adds or replaces by digest.
  void add(file_info file);
  // Matches its own records by `mode` from now on (before the first add; the default is
  // words). clear() keeps the mode.
  void set_mode(match_mode mode);
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
  // Whether this library matches substrings (its own records only: a shared catalogue is the
  // simulator's, matched by words).
  bool substrings() const { return own_ != nullptr && own_->mode() == match_mode::substrings; }
  std::vector<file_info> match_substrings(const criteria& c, std::size_t max_results) const;
  void update_signatures();

  // What may_match reads comes first: the emptiness of ids_ and the signature union.
  std::vector<file_id> ids_;
  std::uint64_t any_signature_ = 0;  // the union of the files' signatures
  const catalogue* shared_ = nullptr;
  // A library's own records (made on its first add), one for each of its ids: ids_[k] == k.
  std::unique_ptr<catalogue> own_;
};

}  // namespace hearsay
