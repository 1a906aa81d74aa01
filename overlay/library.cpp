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

// ---- catalogue ------------------------------------------------------------------------

catalogue::record catalogue::make_record(file_info file) {
  auto tokens = tokenize(file.name, 64);
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  const std::uint64_t signature = token_signature(tokens);
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
  const catalogue& all = records();
  for (const file_id id : ids_) {
    if (!all.matches(id, c)) continue;
    out.push_back(all.file(id));
    if (out.size() == max_results) break;
  }
  return out;
}

}  // namespace hearsay
