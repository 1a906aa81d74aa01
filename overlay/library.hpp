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
#include <optional>
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

class library {
 public:
  // Adds or replaces (by digest) a file record.
  void add(file_info file);
  bool remove(const sha256_digest& digest);
  void clear() {
    entries_.clear();
    any_signature_ = 0;
  }

  const file_info* find(const sha256_digest& digest) const;
  // Files matching c, in insertion order, at most max_results of them.
  std::vector<file_info> match(const criteria& c, std::size_t max_results) const;
  // False when no file can match criteria_text: a check of token bits against all files'
  // at once, without parsing (most copies of a query reach peers that hold nothing for
  // it). True says only "parse and match".
  bool may_match(std::string_view criteria_text) const;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& e : entries_) f(e.file);
  }

 private:
  struct entry {
    file_info file;
    std::vector<std::string> tokens;  // sorted, unique
    std::uint64_t signature = 0;      // token_signature of tokens
  };
  void update_signatures();

  std::vector<entry> entries_;
  std::uint64_t any_signature_ = 0;  // the union of the entries' signatures
};

}  // namespace hearsay
