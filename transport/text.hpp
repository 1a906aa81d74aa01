#pragma once
// Text that came from the network, made safe for where it goes. A remote peer chooses the
// names of the files it shares: any bytes a POSIX file name allows (anything but '/' and
// NUL), including escape sequences a terminal would obey and bytes that are not UTF-8.

#include <cstddef>
#include <string>
#include <string_view>

namespace hearsay::net {

// For a terminal or a log line: control characters (C0, DEL and the C1 range), backslashes
// and bytes that are not part of valid UTF-8 become \xNN; every printable character of any
// script is kept as it is.
std::string printable(std::string_view text);

// A remote file name as a file name in a local folder: '/', '\', control characters and
// invalid UTF-8 bytes become '_', a leading '.' becomes '_' (no hidden files, never "." or
// ".."), an empty name becomes "download", and a name longer than bytes_max is shortened in
// its stem (at a character boundary), keeping its extension, so that " (N)" can still be
// appended within the 255 bytes a file name may have.
std::string safe_file_name(std::string_view remote, std::size_t bytes_max = 240);

}  // namespace hearsay::net
