// Flat JSON objects for the control protocol (see json.hpp).

#include "transport/json.hpp"

#include <cstdio>

namespace hearsay::net::json {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

namespace {
struct parser {
  std::string_view s;
  std::size_t i = 0;
  std::string error;

  void skip() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
  }
  bool expect(char c) {
    skip();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    error = std::string("expected '") + c + "' at " + std::to_string(i);
    return false;
  }
  bool string(std::string& out) {
    if (!expect('"')) return false;
    while (i < s.size() && s[i] != '"') {
      char c = s[i++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) break;
      const char e = s[i++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i + 4 > s.size()) break;
          unsigned v = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = s[i++];
            v = v * 16 + static_cast<unsigned>(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
          }
          // Only the ASCII range is needed here; other code points are kept as UTF-8.
          if (v < 0x80) {
            out += static_cast<char>(v);
          } else if (v < 0x800) {
            out += static_cast<char>(0xc0 | (v >> 6));
            out += static_cast<char>(0x80 | (v & 0x3f));
          } else {
            out += static_cast<char>(0xe0 | (v >> 12));
            out += static_cast<char>(0x80 | ((v >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (v & 0x3f));
          }
          break;
        }
        default: out += e;
      }
    }
    if (i >= s.size()) {
      error = "unterminated string";
      return false;
    }
    ++i;
    return true;
  }
  bool scalar(std::string& out) {
    skip();
    if (i < s.size() && s[i] == '"') return string(out);
    const std::size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ' ') ++i;
    out = std::string(s.substr(start, i - start));
    if (out.empty() || out == "[" || out[0] == '{' || out[0] == '[') {
      error = "only flat values are supported";
      return false;
    }
    return true;
  }
};
}  // namespace

bool parse_flat(std::string_view text, std::vector<std::pair<std::string, std::string>>& out, std::string& error) {
  parser p{text, 0, {}};
  if (text.size() > (1u << 16)) {
    error = "request too long";
    return false;
  }
  if (!p.expect('{')) {
    error = p.error;
    return false;
  }
  // Nothing may follow the object but white space.
  auto at_end = [&] {
    ++p.i;
    p.skip();
    if (p.i == text.size()) return true;
    error = "text after the object at " + std::to_string(p.i);
    return false;
  };
  p.skip();
  if (p.i < text.size() && text[p.i] == '}') return at_end();
  while (true) {
    std::string k, v;
    if (!p.string(k) || !p.expect(':') || !p.scalar(v)) {
      error = p.error;
      return false;
    }
    out.emplace_back(std::move(k), std::move(v));
    p.skip();
    if (p.i < text.size() && text[p.i] == ',') {
      ++p.i;
      continue;
    }
    if (p.i >= text.size() || text[p.i] != '}') {
      p.expect('}');
      error = p.error;
      return false;
    }
    return at_end();
  }
}

bool parse_flat(std::string_view text, std::map<std::string, std::string>& out, std::string& error) {
  std::vector<std::pair<std::string, std::string>> fields;
  if (!parse_flat(text, fields, error)) return false;
  // A repeated key keeps its last value, as before.
  for (auto& [k, v] : fields) out[k] = std::move(v);
  return true;
}

}  // namespace hearsay::net::json
