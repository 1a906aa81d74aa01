// Local file records and the query matching rule (see library.hpp).

#include "overlay/library.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "overlay/assert.hpp"

namespace hearsay {

namespace {
constexpr bool is_alnum_ascii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
constexpr char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr std::string_view digest_prefix = "sha256:";
}  // namespace

namespace {
// Calls f(run) for each of the first tokens_max alphanumeric runs of text.
template <typename F>
void for_each_run(std::string_view text, std::size_t tokens_max, F&& f) {
  std::size_t found = 0;
  std::size_t i = 0;
  while (i < text.size() && found < tokens_max) {
    while (i < text.size() && !is_alnum_ascii(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && is_alnum_ascii(text[i])) ++i;
    if (i > start) {
      f(text.substr(start, i - start));
      ++found;
    }
  }
}

// Per byte: its lower-case form if it is an ASCII letter or digit, else 0 (may_match's scan).
constexpr std::array<std::uint8_t, 256> folded_alnum = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    if (is_alnum_ascii(ch)) t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(lower_ascii(ch));
  }
  return t;
}();

// A token's bit in a signature: FNV-1a of its lower-case bytes, stable across runs and
// platforms.
constexpr std::uint64_t fnv_basis = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;
std::uint64_t bit_of(std::uint64_t fnv) { return std::uint64_t{1} << ((fnv ^ (fnv >> 32)) & 63); }
std::uint64_t token_bit(std::string_view run) {
  std::uint64_t h = fnv_basis;
  for (char c : run) h = (h ^ static_cast<std::uint8_t>(lower_ascii(c))) * fnv_prime;
  return bit_of(h);
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

bool is_digest_form(std::string_view trimmed) {
  return trimmed.size() == digest_prefix.size() + 64 && trimmed.substr(0, digest_prefix.size()) == digest_prefix;
}

// Substring matching's alphabet: per byte, its letter (a-z: 0-25, A-Z the same, 0-9: 26-35),
// or `letters` for any other byte.
constexpr std::size_t letters = 36;
constexpr std::array<std::uint8_t, 256> letter_index = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(static_cast<std::uint8_t>(letters));
  for (int c = 0; c < 26; ++c) {
    t[static_cast<std::size_t>('a' + c)] = static_cast<std::uint8_t>(c);
    t[static_cast<std::size_t>('A' + c)] = static_cast<std::uint8_t>(c);
  }
  for (int c = 0; c < 10; ++c) t[static_cast<std::size_t>('0' + c)] = static_cast<std::uint8_t>(26 + c);
  return t;
}();
std::uint8_t letter_of(char c) { return letter_index[static_cast<std::uint8_t>(c)]; }

// The filter bit of a letter, or of a pair of adjacent letters (Fibonacci hashing of its
// code to 6 bits).
std::uint64_t gram_bit(std::size_t code) { return std::uint64_t{1} << ((code * 0x9E3779B97F4A7C15ULL) >> 58); }
std::uint64_t letter_bit(std::uint8_t a) { return gram_bit(a); }
std::uint64_t pair_bit(std::uint8_t a, std::uint8_t b) { return gram_bit(letters + std::size_t{a} * letters + b); }

// What a criteria token needs of a name's filter: its letter when it is one letter long,
// else its pairs (the letters are in the pairs' names then).
std::uint64_t token_grams(std::string_view token) {
  if (token.size() == 1) return letter_bit(letter_of(token[0]));
  std::uint64_t bits = 0;
  for (std::size_t i = 1; i < token.size(); ++i) bits |= pair_bit(letter_of(token[i - 1]), letter_of(token[i]));
  return bits;
}

// The same for criteria text, in one pass without building its tokens (the first
// criteria::tokens_max alphanumeric runs, as tokenize takes them).
std::uint64_t text_grams(std::string_view text) {
  std::uint64_t bits = 0;
  std::size_t run = 0, runs = 0;
  std::uint8_t previous = 0;
  for (const char c : text) {
    if (const std::uint8_t l = letter_of(c); l < letters) {
      if (run > 0) bits |= pair_bit(previous, l);
      previous = l;
      ++run;
      continue;
    }
    if (run == 0) continue;
    if (run == 1) bits |= letter_bit(previous);
    run = 0;
    if (++runs == criteria::tokens_max) return bits;
  }
  if (run == 1) bits |= letter_bit(previous);
  return bits;
}
}  // namespace

std::vector<std::string> tokenize(std::string_view text, std::size_t tokens_max) {
  std::vector<std::string> tokens;
  for_each_run(text, tokens_max, [&](std::string_view run) {
    std::string& t = tokens.emplace_back(run);
    for (char& c : t) c = lower_ascii(c);
  });
  return tokens;
}

std::uint64_t token_signature(const std::vector<std::string>& tokens) {
  std::uint64_t bits = 0;
  for (const auto& t : tokens) bits |= token_bit(t);
  return bits;
}

criteria criteria::parse(std::string_view text) {
  criteria c;
  text = trim_spaces(text);
  if (is_digest_form(text)) {
    c.digest = sha256_digest::from_hex(text.substr(digest_prefix.size()));
    if (c.digest) return c;
  }
  c.tokens = tokenize(text, tokens_max);
  std::sort(c.tokens.begin(), c.tokens.end());
  c.tokens.erase(std::unique(c.tokens.begin(), c.tokens.end()), c.tokens.end());
  c.signature = token_signature(c.tokens);
  return c;
}

// ---- substring matching ---------------------------------------------------------------

static_assert(substring_matcher::tokens_max == criteria::tokens_max);
static_assert(substring_matcher::tokens_max <= 32, "a token's bit in a 32-bit set");

substring_matcher::substring_matcher(const std::vector<std::string>& tokens) {
  HEARSAY_ASSERT(tokens.size() <= tokens_max);
  // The trie of the tokens, state 0 its root; while it is built, 0 as a transition means
  // "none" (the root is nobody's child).
  next_.emplace_back();
  found_.push_back(0);
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    std::uint32_t state = 0;
    for (const char c : tokens[k]) {
      const std::uint8_t l = letter_of(c);
      HEARSAY_ASSERT(l < letters);  // criteria tokens are alphanumeric
      if (next_[state][l] == 0) {
        next_[state][l] = static_cast<std::uint32_t>(next_.size());
        next_.emplace_back();
        found_.push_back(0);
      }
      state = next_[state][l];
    }
    found_[state] |= std::uint32_t{1} << k;
    all_ |= std::uint32_t{1} << k;
    signature_ |= token_grams(tokens[k]);
  }
  // Breadth first, so that a state's failure link (its longest proper suffix in the trie) is
  // complete before the state: the state takes the tokens found there, and the link's
  // transitions for the letters it has none of. Scanning then never follows a link.
  std::vector<std::uint32_t> link(next_.size(), 0);
  std::vector<std::uint32_t> queue;
  queue.reserve(next_.size());
  for (const std::uint32_t child : next_[0]) {
    if (child != 0) queue.push_back(child);
  }
  for (std::size_t i = 0; i < queue.size(); ++i) {
    const std::uint32_t state = queue[i];
    found_[state] |= found_[link[state]];
    for (std::size_t l = 0; l < letters; ++l) {
      const std::uint32_t child = next_[state][l];
      if (child == 0) {
        next_[state][l] = next_[link[state]][l];
      } else {
        link[child] = next_[link[state]][l];
        queue.push_back(child);
      }
    }
  }
}

bool substring_matcher::matches(const std::vector<std::string>& name_tokens) const {
  std::uint32_t found = 0;
  for (const auto& token : name_tokens) {
    std::uint32_t state = 0;  // a criteria token lies inside one name token, never across two
    for (const char c : token) {
      state = next_[state][letter_of(c)];
      found |= found_[state];
    }
    if (found == all_) return true;
  }
  return found == all_;
}

std::uint64_t gram_signature(const std::vector<std::string>& name_tokens) {
  std::uint64_t bits = 0;
  for (const auto& token : name_tokens) {
    for (std::size_t i = 0; i < token.size(); ++i) {
      bits |= letter_bit(letter_of(token[i]));
      if (i > 0) bits |= pair_bit(letter_of(token[i - 1]), letter_of(token[i]));
    }
  }
  return bits;
}

// ---- catalogue ------------------------------------------------------------------------

catalogue::record catalogue::make_record(file_info file) const {
  auto tokens = tokenize(file.name, 64);
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  const std::uint64_t signature = mode_ == match_mode::substrings ? gram_signature(tokens) : token_signature(tokens);
  return record{std::move(file), std::move(tokens), signature};
}

file_id catalogue::add(file_info file) {
  HEARSAY_ASSERT(records_.size() < std::numeric_limits<file_id>::max());
  records_.push_back(make_record(std::move(file)));
  return static_cast<file_id>(records_.size() - 1);
}

void catalogue::replace(file_id id, file_info file) { records_[id] = make_record(std::move(file)); }

bool catalogue::matches(file_id id, const criteria& c) const {
  const record& r = records_[id];
  if (c.digest) return r.file.sha256 == *c.digest;
  // Both token lists are sorted and unique: one merge pass decides inclusion.
  return (c.signature & ~r.signature) == 0 &&
         std::includes(r.tokens.begin(), r.tokens.end(), c.tokens.begin(), c.tokens.end());
}

// ---- library --------------------------------------------------------------------------

void library::set_mode(match_mode mode) {
  HEARSAY_ASSERT(shared_ == nullptr && ids_.empty());
  own_ = std::make_unique<catalogue>(mode);
}

void library::add(file_info file) {
  HEARSAY_ASSERT(shared_ == nullptr);
  if (own_ == nullptr) own_ = std::make_unique<catalogue>();
  for (const file_id id : ids_) {
    if (own_->file(id).sha256 == file.sha256) {
      own_->replace(id, std::move(file));
      update_signatures();
      return;
    }
  }
  ids_.push_back(own_->add(std::move(file)));
  any_signature_ |= own_->signature(ids_.back());
}

bool library::remove(const sha256_digest& digest) {
  HEARSAY_ASSERT(shared_ == nullptr);
  for (std::size_t k = 0; k < ids_.size(); ++k) {
    if (own_->file(ids_[k]).sha256 != digest) continue;
    // Keep ids_[k] == k and the order of the rest: move the record to the end, then drop it.
    for (std::size_t j = k; j + 1 < ids_.size(); ++j) {
      own_->swap_records(static_cast<file_id>(j), static_cast<file_id>(j + 1));
    }
    own_->erase_last();
    ids_.pop_back();
    update_signatures();
    return true;
  }
  return false;
}

void library::share(const catalogue& shared) {
  HEARSAY_ASSERT(ids_.empty() && own_ == nullptr);
  shared_ = &shared;
}

void library::add(file_id id) {
  HEARSAY_ASSERT(shared_ != nullptr && id < shared_->size());
  ids_.push_back(id);
  any_signature_ |= shared_->signature(id);
}

void library::assign(std::span<const file_id> ids) {
  HEARSAY_ASSERT(shared_ != nullptr);
  ids_.assign(ids.begin(), ids.end());
  ids_.shrink_to_fit();
  update_signatures();
}

void library::clear() {
  ids_.clear();
  any_signature_ = 0;
  if (own_ != nullptr) own_->clear();
}

void library::update_signatures() {
  any_signature_ = 0;
  for (const file_id id : ids_) any_signature_ |= records().signature(id);
}

bool library::may_match(std::string_view criteria_text) const {
  if (ids_.empty()) return false;
  const std::string_view text = trim_spaces(criteria_text);
  if (is_digest_form(text)) return true;
  if (substrings()) return (text_grams(text) & ~any_signature_) == 0;
  // The signature criteria::parse would compute (the same tokens, order and repeats aside),
  // without building the token list: one pass, hashing each run's lower-case bytes as
  // token_bit does. Every query copy a node with files receives asks this.
  std::uint64_t bits = 0;
  std::uint64_t h = fnv_basis;
  bool in_run = false;
  std::size_t runs = 0;
  for (const char c : text) {
    if (const std::uint8_t folded = folded_alnum[static_cast<std::uint8_t>(c)]; folded != 0) {
      h = (h ^ folded) * fnv_prime;
      in_run = true;
      continue;
    }
    if (!in_run) continue;
    bits |= bit_of(h);
    h = fnv_basis;
    in_run = false;
    if (++runs == criteria::tokens_max) break;
  }
  if (in_run) bits |= bit_of(h);
  return (bits & ~any_signature_) == 0;
}

const file_info* library::find(const sha256_digest& digest) const {
  for (const file_id id : ids_) {
    if (records().file(id).sha256 == digest) return &records().file(id);
  }
  return nullptr;
}

std::vector<file_info> library::match(const criteria& c, std::size_t max_results) const {
  std::vector<file_info> out;
  if (c.empty() || max_results == 0) return out;
  if (!c.digest && substrings()) return match_substrings(c, max_results);
  const catalogue& all = records();
  for (const file_id id : ids_) {
    if (!all.matches(id, c)) continue;
    out.push_back(all.file(id));
    if (out.size() == max_results) break;
  }
  return out;
}

// Every file's name tokens against one automaton of the criteria tokens: one step per byte
// of each name that passes the filter.
std::vector<file_info> library::match_substrings(const criteria& c, std::size_t max_results) const {
  std::vector<file_info> out;
  const substring_matcher wanted(c.tokens);
  for (const file_id id : ids_) {
    const catalogue::record& r = own_->records_[id];
    if ((wanted.signature() & ~r.signature) != 0 || !wanted.matches(r.tokens)) continue;
    out.push_back(r.file);
    if (out.size() == max_results) break;
  }
  return out;
}

}  // namespace hearsay
