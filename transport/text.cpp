// Remote text made safe (see text.hpp).

#include "transport/text.hpp"

#include <cstdint>

namespace hearsay::net {

namespace {

// The length of the valid UTF-8 sequence starting at text[i] (1-4), or 0 if the bytes there
// are not one (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    cp = c & 0x1fu;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    cp = c & 0x0fu;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3fu);
  }
  static constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < smallest[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// A C1 control character (U+0080-U+009F), two bytes in UTF-8.
bool is_c1(std::string_view text, std::size_t i, std::size_t n) {
  return n == 2 && static_cast<std::uint8_t>(text[i]) == 0xc2 && static_cast<std::uint8_t>(text[i + 1]) < 0xa0;
}

void append_hex(std::string& out, std::uint8_t c) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\x";
  out += digits[c >> 4];
  out += digits[c & 15];
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<std::uint8_t>(text[i]);
    const std::size_t n = utf8_length(text, i);
    if (n == 0 || c < 0x20 || c == 0x7f || c == '\\' || is_c1(text, i, n)) {
      for (std::size_t k = 0; k < (n == 0 ? 1 : n); ++k) append_hex(out, static_cast<std::uint8_t>(text[i + k]));
      i += n == 0 ? 1 : n;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string safe_file_name(std::string_view remote, std::size_t bytes_max) {
  // Characters, each kept whole, with the unsafe ones replaced.
  std::string name;
  name.reserve(remote.size());
  std::size_t last_dot = std::string::npos;
  for (std::size_t i = 0; i < remote.size();) {
    const auto c = static_cast<std::uint8_t>(remote[i]);
    const std::size_t n = utf8_length(remote, i);
    if (n == 0 || c < 0x20 || c == 0x7f || c == '/' || c == '\\' || is_c1(remote, i, n)) {
      name += '_';
      i += n == 0 ? 1 : n;
      continue;
    }
    if (c == '.') last_dot = name.size();
    name.append(remote.substr(i, n));
    i += n;
  }
  if (name.empty()) return "download";
  if (name[0] == '.') name[0] = '_';
  if (name.size() <= bytes_max) return name;
  // Too long: shorten the stem, keep an extension of reasonable length.
  std::string ext;
  if (last_dot != std::string::npos && last_dot > 0 && name.size() - last_dot <= 32) ext = name.substr(last_dot);
  std::string stem = name.substr(0, name.size() - ext.size());
  std::size_t keep = bytes_max > ext.size() ? bytes_max - ext.size() : 0;
  // Back up to the start of a character (never cut a UTF-8 sequence in two).
  while (keep > 0 && keep < stem.size() && (static_cast<std::uint8_t>(stem[keep]) & 0xc0) == 0x80) --keep;
  stem.resize(std::min(keep, stem.size()));
  if (stem.empty()) stem = "download";
  return stem + ext;
}

}  // namespace hearsay::net
