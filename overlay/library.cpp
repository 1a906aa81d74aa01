// Local file records and the query matching rule (see library.hpp).

#include "overlay/library.hpp"

#include <algorithm>

namespace hearsay {

namespace {
bool is_alnum_ascii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr std::string_view digest_prefix = "sha256:";
}  // namespace

std::vector<std::string> tokenize(std::string_view text, std::size_t tokens_max) {
  std::vector<std::string> tokens;
  std::string current;
  for (char c : text) {
    if (is_alnum_ascii(c)) {
      current.push_back(lower_ascii(c));
      continue;
    }
    if (!current.empty()) {
      if (tokens.size() == tokens_max) return tokens;
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty() && tokens.size() < tokens_max) tokens.push_back(std::move(current));
  return tokens;
}

std::uint64_t token_signature(const std::vector<std::string>& tokens) {
  std::uint64_t bits = 0;
  for (const auto& t : tokens) {
    std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a: stable across runs and platforms
    for (char c : t) h = (h ^ static_cast<std::uint8_t>(c)) * 0x100000001b3ULL;
    bits |= std::uint64_t{1} << ((h ^ (h >> 32)) & 63);
  }
  return bits;
}

criteria criteria::parse(std::string_view text) {
  criteria c;
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.size() == digest_prefix.size() + 64 && text.substr(0, digest_prefix.size()) == digest_prefix) {
    c.digest = sha256_digest::from_hex(text.substr(digest_prefix.size()));
    if (c.digest) return c;
  }
  c.tokens = tokenize(text);
  std::sort(c.tokens.begin(), c.tokens.end());
  c.tokens.erase(std::unique(c.tokens.begin(), c.tokens.end()), c.tokens.end());
  c.signature = token_signature(c.tokens);
  return c;
}

void library::add(file_info file) {
  auto tokens = tokenize(file.name, 64);
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  const std::uint64_t signature = token_signature(tokens);
  for (auto& e : entries_) {
    if (e.file.sha256 == file.sha256) {
      e.file = std::move(file);
      e.tokens = std::move(tokens);
      e.signature = signature;
      return;
    }
  }
  entries_.push_back(entry{std::move(file), std::move(tokens), signature});
}

bool library::remove(const sha256_digest& digest) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const entry& e) { return e.file.sha256 == digest; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

const file_info* library::find(const sha256_digest& digest) const {
  for (const auto& e : entries_) {
    if (e.file.sha256 == digest) return &e.file;
  }
  return nullptr;
}

std::vector<file_info> library::match(const criteria& c, std::size_t max_results) const {
  std::vector<file_info> out;
  if (c.empty() || max_results == 0) return out;
  for (const auto& e : entries_) {
    bool hit = false;
    if (c.digest) {
      hit = e.file.sha256 == *c.digest;
    } else if ((c.signature & ~e.signature) == 0) {
      // Both token lists are sorted and unique: one merge pass decides inclusion.
      hit = std::includes(e.tokens.begin(), e.tokens.end(), c.tokens.begin(), c.tokens.end());
    }
    if (hit) {
      out.push_back(e.file);
      if (out.size() == max_results) break;
    }
  }
  return out;
}

}  // namespace hearsay
